"""The model card of every model file (issue 26) and the warning for patients unlike the training set."""
from __future__ import annotations

import json
import os
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from sarcoma_survival import SarculatorCoxPH, load_model, read_model_card, save_model
from sarcoma_survival.cli import main
from sarcoma_survival.preprocessing import (
    OutOfTrainingRangeWarning,
    out_of_training_range,
    summarize_inputs,
    warn_out_of_training_range,
)

SARCULATOR = ["age", "grade", "histology", "tumor_size_cm"]
OLD_FILES = os.path.join(os.path.dirname(__file__), "fixtures", "model_files")


@pytest.fixture(scope="module")
def coxph_file(tiny_cohort, tmp_path_factory):
    model = SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_os)
    return save_model(model, tmp_path_factory.mktemp("card") / "coxph.ssm",
                      validation={"c_index": 0.62, "ci_low": 0.55, "ci_high": 0.69,
                                  "method": "5-fold cross-validation", "n_patients": 24})


def test_fit_keeps_a_summary_of_the_columns_it_reads(tiny_cohort):
    model = SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_os)
    summary = model.training_summary_
    event, time = tiny_cohort.y_os["event"], tiny_cohort.y_os["time"]
    assert summary["cohort"]["n_patients"] == 24 and summary["cohort"]["n_events"] == int(event.sum())
    assert summary["cohort"]["follow_up_max_days"] == float(time.max())
    assert summary["cohort"]["time_origin"] == "not stated"
    assert sorted(summary["clinical"]) == ["age", "grade", "histology", "tumor_size_cm"]  # Sarculator's 4
    assert summary["clinical"]["age"]["min"] == tiny_cohort.X["age"].min()
    assert summary["images"] == {}  # a clinical model reads no image
    json.dumps(summary)  # JSON-ready


def test_reverse_kaplan_meier_follow_up_and_time_origin():
    from sksurv.util import Surv

    X = pd.DataFrame({"age": [50.0] * 4, "time_origin": "date of surgery"}, index=list("abcd"))
    y = Surv.from_arrays([True, False, False, True], [100.0, 200.0, 300.0, 400.0])
    cohort = summarize_inputs(X, y)["cohort"]
    # censoring as the event: reverse KM falls to 1/2 at 300 days (S = 1 * 2/3 * 1/2 ... at 200, 300)
    assert cohort["follow_up_median_days"] == 300.0 and cohort["time_origin"] == "surgery"


def test_model_file_carries_its_card(coxph_file, tiny_cohort):
    card = read_model_card(coxph_file)
    assert card["estimator"] == "SarculatorCoxPH" and card["card_version"] == 1
    assert card["training"] == load_model(coxph_file).training_summary_
    assert card["validation"] == {"c_index": 0.62, "ci_low": 0.55, "ci_high": 0.69,
                                  "method": "5-fold cross-validation", "n_patients": 24}
    assert card["preprocessing"][0]["step"] == "ClinicalEncoder"
    assert card["training_run"] is None  # not a network
    with zipfile.ZipFile(coxph_file) as archive:  # under a clear key of the manifest, for other readers
        assert json.loads(archive.read("manifest.json"))["model_card"] == card


def test_info_prints_the_card(coxph_file, capsys):
    assert main(["info", str(coxph_file)]) == 0
    out = capsys.readouterr().out
    assert "SarculatorCoxPH trained on 24 patients" in out
    assert "C-index 0.620 [0.550, 0.690] (5-fold cross-validation)" in out
    assert "time zero: not stated" in out and "age:" in out


@pytest.mark.parametrize("validation, match", [
    ({"c_index": 0.6}, "'c_index' and 'method'"),
    ({"c_index": 0.6, "method": "cv", "auc": 0.7}, "unknown key"),
    ({"c_index": float("nan"), "method": "cv"}, "c_index must be a finite number"),
])
def test_a_bad_validation_record_is_refused(tiny_cohort, tmp_path, validation, match):
    model = SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_os)
    with pytest.raises(ValueError, match=match):
        save_model(model, tmp_path / "m.ssm", validation=validation)
    assert not (tmp_path / "m.ssm").exists()


def test_a_file_written_before_model_cards_still_loads(tiny_cohort, capsys):
    path = os.path.join(OLD_FILES, "coxph_written_by_30c2254.ssm")
    assert read_model_card(path) is None
    model = load_model(path)
    assert not hasattr(model, "training_summary_")
    X = pd.DataFrame({"age": [95.0], "tumor_size_cm": [5.0], "grade": ["high"], "histology": ["liposarcoma"]},
                     index=["P1"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_out_of_training_range(model, X) == []  # nothing to compare with: nothing said
        assert np.isfinite(model.predict(X)).all()
    assert main(["info", path]) == 0
    assert "model card: none" in capsys.readouterr().out


def test_clinical_values_far_outside_are_named():
    X = pd.DataFrame({"age": [40.0, 60.0, 70.0], "tumor_size_cm": [3.0, 8.0, 12.0],
                      "grade": ["low", "high", "high"]}, index=["A", "B", "C"])
    summary = summarize_inputs(X)
    new = pd.DataFrame({"age": [55.0, 150.0], "tumor_size_cm": [5.0, 40.0], "grade": ["high", "intermediate"]},
                       index=["N1", "N2"])
    findings = out_of_training_range(summary, new)
    assert {(f["patient"], f["quantity"]) for f in findings} == {
        ("N2", "age"), ("N2", "tumor_size_cm"), ("N2", "grade")}


# ------------------------------------------- a full-field series against a crop-trained model
def _crop(image, mask, margin_mm):
    """The box of the tumour plus ``margin_mm``, as the IBSI crops of the TCIA cohort."""
    array = sitk.GetArrayViewFromImage(mask)
    where = np.argwhere(array)
    margin = np.ceil(margin_mm / np.asarray(image.GetSpacing())[::-1]).astype(int)
    low = np.maximum(where.min(axis=0) - margin, 0)
    high = np.minimum(where.max(axis=0) + margin + 1, array.shape)
    index, size = [int(v) for v in low[::-1]], [int(v) for v in (high - low)[::-1]]
    return sitk.RegionOfInterest(image, size, index), sitk.RegionOfInterest(mask, size, index)


def _full_field(image, mask, fov_mm=480.0):
    """The patient's image in a 480 mm field of view, as a raw scanner series (air around)."""
    size = np.asarray(image.GetSize())
    extra = np.maximum(np.ceil(fov_mm / np.asarray(image.GetSpacing())) - size, 0).astype(int)
    low = [int(v) for v in extra // 2]
    high = [int(v) for v in extra - extra // 2]
    return sitk.ConstantPad(image, low, high, 0.0), sitk.ConstantPad(mask, low, high, 0)


@pytest.fixture(scope="module")
def crop_cohort(tiny_cohort, tmp_path_factory):
    """The tiny cohort as tumour crops (T1 + mask, 20 mm margin), plus one full-field series."""
    folder = tmp_path_factory.mktemp("crops")
    rows = {}
    for patient, row in tiny_cohort.X.iterrows():
        image, mask = sitk.ReadImage(row["t1"]), sitk.ReadImage(row["mask"])
        image_crop, mask_crop = _crop(image, mask, 20.0)
        for name, img in (("t1", image_crop), ("mask", mask_crop)):
            sitk.WriteImage(img, str(folder / f"{patient}_{name}.nii.gz"))
        rows[patient] = {"t1": str(folder / f"{patient}_t1.nii.gz"), "mask": str(folder / f"{patient}_mask.nii.gz")}
        if patient == tiny_cohort.X.index[-1]:
            full, full_mask = _full_field(image, mask)
            sitk.WriteImage(full, str(folder / "FULL_t1.nii.gz"))
            sitk.WriteImage(full_mask, str(folder / "FULL_mask.nii.gz"))
    X = tiny_cohort.X.drop(columns=["t1", "t2", "mask"]).join(pd.DataFrame.from_dict(rows, orient="index"))
    full = X.iloc[[-1]].rename(index={X.index[-1]: "FULL"})
    full["t1"], full["mask"] = str(folder / "FULL_t1.nii.gz"), str(folder / "FULL_mask.nii.gz")
    return X, full, folder


def test_full_field_series_is_named_against_crops(crop_cohort, tiny_cohort):
    X, full, _ = crop_cohort
    summary = summarize_inputs(X.iloc[:-1], columns=["t1", "mask"])
    assert out_of_training_range(summary, X.iloc[[-1]]) == []  # a crop like the others: nothing said
    findings = out_of_training_range(summary, full)
    named = {f["quantity"] for f in findings}
    # the tumour fills a far smaller part of the image, and the field of view is far larger
    assert "t1.mask_fraction" in named and named & {"t1.extent_min_mm", "t1.extent_max_mm"}, findings
    assert all(f["patient"] == "FULL" for f in findings)


def test_predict_and_evaluate_warn_on_a_full_field_series(crop_cohort, tiny_cohort, tmp_path, capsys):
    from sarcoma_survival import DenseNetSurvival
    from sarcoma_survival.preprocessing import VolumePreprocessor

    X, full, folder = crop_cohort
    model = DenseNetSurvival(preprocessor=VolumePreprocessor(16, n4=False), max_epochs=1, batch_size=6,
                             module__init_features=8, module__growth_rate=4, module__block_config=(2, 2),
                             random_state=0).fit(X, tiny_cohort.y_os)
    assert model.training_summary_["images"]["t1"]["extent_max_mm"]["n"] == 24
    card = read_model_card(save_model(model, tmp_path / "densenet.ssm"))
    assert card["training_run"]["kept_epoch"] == 1 and card["training_run"]["epochs_run"] == 1
    with pytest.warns(OutOfTrainingRangeWarning) as record:
        findings = warn_out_of_training_range(model, full)
    messages = [str(w.message) for w in record]
    assert len(messages) == len(findings) and all(m.startswith("patient FULL: t1 ") for m in messages)
    assert any("side of the field of view" in m for m in messages)
    assert any("fraction of the image inside the tumour mask" in m for m in messages)

    table = pd.concat([X.iloc[:3], full])
    table.index.name = "patient_id"
    table["os_event"] = [True, False, True, False]
    table["os_time"] = [300.0, 900.0, 500.0, 700.0]
    manifest = tmp_path / "manifest.csv"
    table.to_csv(manifest)
    for command in (["predict", str(manifest), "--output", str(tmp_path / "p.csv")],
                    ["evaluate", str(manifest)]):
        assert main([*command, "--model-file", str(tmp_path / "densenet.ssm")]) == 0
        captured = capsys.readouterr()
        assert "model card: DenseNetSurvival trained on 24 patients" in captured.out
        warned = [line for line in captured.err.splitlines() if "warning:" in line]
        assert warned and all("patient FULL:" in line for line in warned), captured.err
        assert any("field of view" in line for line in warned)


@pytest.mark.realdata
def test_the_raw_dicom_series_of_a_tcia_patient_against_the_ibsi_crops(validation_dir):
    """Real data: the raw scanner series of STS_001 (DICOM + RTSTRUCT, native resolution) against
    the summary of the 51 IBSI-processed crops (resampled onto the PET/CT grid)."""
    from sarcoma_survival.datasets import load_tcia_sts

    cohort = load_tcia_sts(validation_dir / "sts_tcia")
    summary = summarize_inputs(cohort.X, cohort.y_os, columns=["t1", "mask"])
    assert summary["cohort"]["time_origin"] == "biopsy" and summary["cohort"]["n_events"] == 15
    raw = validation_dir / "sts_tcia" / "raw_STS_001" / "MR_T1"
    X = pd.DataFrame({"t1": [str(raw / "image")], "mask": [str(raw / "mask" / "1-1.dcm")]}, index=["raw_STS_001"])
    findings = out_of_training_range(summary, X)
    # its 0.39 mm pixels are far finer than the crops' 0.98-1.17 mm: the one quantity named
    assert [f["quantity"] for f in findings] == ["t1.spacing_min_mm"]
    assert out_of_training_range(summary, cohort.X.iloc[:5]) == []


def test_files_the_package_cannot_read_are_left_out_of_the_summary(tmp_path):
    """A model may read its images through its own preprocessor (a user's format): the summary
    leaves out what the package's reader cannot open instead of failing the fit."""
    np.save(tmp_path / "p1.npy", np.zeros((4, 4, 4), np.float32))
    X = pd.DataFrame({"age": [50.0, 60.0], "t1": [str(tmp_path / "p1.npy"), str(tmp_path / "absent.nii.gz")]},
                     index=["P1", "P2"])
    summary = summarize_inputs(X)
    assert summary["images"] == {} and summary["clinical"]["age"]["n"] == 2


def test_an_unchanged_image_is_read_once_for_all_fits(tiny_cohort, monkeypatch):
    """Every fit records its summary: the folds of a cross-validation must not read each image
    again; a rewritten file is read again."""
    from sarcoma_survival.preprocessing import _summary

    calls = []
    real = _summary.image_measures
    monkeypatch.setattr(_summary, "image_measures", lambda *a, **k: calls.append(a) or real(*a, **k))
    _summary._file_measures.cache_clear()
    X = tiny_cohort.X.iloc[:3][["t1", "mask"]]
    first = summarize_inputs(X)
    assert summarize_inputs(X) == first and len(calls) == 3
    path = X.iloc[0]["t1"]
    before = os.stat(path)
    os.utime(path, ns=(1, 1))  # the file changed: read again
    try:
        summarize_inputs(X)
    finally:  # the shared cohort's other readers see the file as it was
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert len(calls) == 4


def test_a_malformed_card_in_a_model_file_is_named_not_a_crash():
    from sarcoma_survival._model_card import validation_text
    from sarcoma_survival.report._model_info import _mapping

    assert validation_text({"c_index": "high", "method": "cv"}).startswith(
        "validation: the model file's record is unreadable (validation: c_index must be a finite number")
    assert validation_text({"c_index": 0.62, "method": "cv", "ci_low": 0.55, "ci_high": 0.69}) == (
        "C-index 0.620 [0.550, 0.690] (cv)")
    assert _mapping("not a card") == {} and _mapping([1]) == {}
    from sarcoma_survival.web._provenance import provenance

    rows = provenance({"os": {"estimator": "SarculatorCoxPH", "validation": {"c_index": "high"}}})
    assert rows[0]["validation"].startswith("the model file's validation record is unreadable")


@pytest.mark.parametrize("name", ["FineGrayCoxPH", "CauseSpecificCoxPH", "SarculatorFineGray"])
def test_competing_risks_models_carry_a_card_too(name, tiny_cohort, tmp_path, capsys):
    from sarcoma_survival import competing_risks, models

    y = competing_risks.dm_competing_y(tiny_cohort.y_os, tiny_cohort.y_dm)
    if name == "SarculatorFineGray":
        model, read = models.SarculatorFineGray(min_frequency=1).fit(tiny_cohort.X, y), SARCULATOR
    else:
        model, read = getattr(competing_risks, name)(columns=["age", "grade"]).fit(tiny_cohort.X, y), ["age", "grade"]
    cohort = model.training_summary_["cohort"]
    assert cohort["n_patients"] == 24 and cohort["n_events"] == int((y["event"] != 0).sum())  # any cause
    assert sorted(model.training_summary_["clinical"]) == read
    path = save_model(model, tmp_path / "cr.ssm")
    assert read_model_card(path)["training"] == model.training_summary_
    assert main(["info", str(path)]) == 0
    assert f"{name} trained on 24 patients" in capsys.readouterr().out
    far = tiny_cohort.X.iloc[:1].assign(age=150.0)
    with pytest.warns(OutOfTrainingRangeWarning, match="age"):
        warn_out_of_training_range(load_model(path), far)
    if name != "SarculatorFineGray":  # numeric covariates: the cohort's size only
        numeric = getattr(competing_risks, name)().fit(tiny_cohort.X[["age"]].to_numpy(), y)
        assert numeric.training_summary_["cohort"]["n_patients"] == 24
