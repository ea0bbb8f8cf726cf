"""Own cohorts through the command line: time origin, shared image options, imports, progress."""
from __future__ import annotations

import resource
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sarcoma_survival import load_model
from sarcoma_survival.cli import main
from sarcoma_survival.datasets import CohortError, load_cohort

# A child that runs the command line and, when it ends, prints which heavy packages it imported.
CHILD = ("import atexit, sys\n"
         "atexit.register(lambda: print('IMPORTED', sorted(m for m in ('torch', 'skorch', 'monai', 'sklearn', "
         "'pandas', 'dask') if m in sys.modules), file=sys.stderr))\n"
         "from sarcoma_survival.cli import main\n"
         "sys.exit(main())\n")


def _child(argv, cwd):
    """(exit status, stdout, stderr, imported heavy packages, CPU seconds) of the command in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, "-c", CHILD, *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=600)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    line = next(line for line in proc.stderr.splitlines() if line.startswith("IMPORTED "))
    return proc.returncode, proc.stdout, proc.stderr, eval(line.removeprefix("IMPORTED ")), cpu


def _clinical_manifest(path, n=30, seed=0, **extra):
    rng = np.random.default_rng(seed)
    table = pd.DataFrame({
        "patient_id": [f"P{i:03d}" for i in range(n)], "age": rng.uniform(30, 80, n).round(1),
        "sex": rng.choice(["F", "M"], n), "tumor_size_cm": rng.uniform(2, 20, n).round(1),
        "tumor_depth": rng.choice(["deep", "superficial"], n), "grade": rng.choice(["low", "high"], n),
        "histology": rng.choice(["liposarcoma", "leiomyosarcoma"], n),
        "location": rng.choice(["axial", "lower_extremity"], n), "tumor_volume_cm3": rng.uniform(10, 500, n).round(1),
        "neoadjuvant_chemo": rng.choice([0, 1], n), "mets_at_presentation": 0,
        "rt_timing": rng.choice(["preop", "postop"], n), "os_event": np.arange(n) % 2,
        "os_time": rng.uniform(30, 3000, n).round(), **extra,
    })
    table.to_csv(path, index=False)
    return path


def _image_manifest(tiny_cohort, folder, **extra):
    """The tiny synthetic cohort's manifest with absolute image paths (and extra columns) in ``folder``."""
    table = pd.read_csv(tiny_cohort.manifest)
    source = Path(tiny_cohort.manifest).parent
    for column in ("t1", "t2", "mask"):
        table[column] = [str(source / p) for p in table[column]]
    for key, value in extra.items():
        table[key] = value
    path = folder / "manifest.csv"
    table.to_csv(path, index=False)
    return path


# ------------------------------------------------------------------ imports and start-up
def test_a_clinical_model_imports_no_torch(tmp_path):
    _clinical_manifest(tmp_path / "cohort.csv")
    status, out, err, imported, _ = _child(["fit", "cohort.csv", "--model", "sarculator-coxph",
                                            "--output", "m.ssm"], tmp_path)
    assert status == 0, err
    assert "torch" not in imported and "skorch" not in imported and "dask" not in imported
    for argv in (["predict", "cohort.csv", "--model-file", "m.ssm", "--times", "365"],
                 ["evaluate", "cohort.csv", "--model-file", "m.ssm"],
                 ["compare", "cohort.csv", "--models", "sarculator-coxph,clinical-rsf", "--outcomes", "os",
                  "--cv", "2", "--quiet"]):
        status, out, err, imported, _ = _child(argv, tmp_path)
        assert status == 0, err
        assert "torch" not in imported, argv


def test_a_radiomics_model_imports_no_torch(tiny_cohort, tmp_path):
    manifest = _image_manifest(tiny_cohort, tmp_path)
    status, out, err, imported, _ = _child(["fit", str(manifest), "--model", "radiomics-rsf", "--no-n4", "--quiet",
                                            "--param", "n_estimators=10", "--output", "r.ssm"], tmp_path)
    assert status == 0, err
    assert "torch" not in imported and "skorch" not in imported


def test_help_and_argument_errors_come_before_the_heavy_imports(tmp_path):
    _clinical_manifest(tmp_path / "cohort.csv")
    for argv in (["--help"], ["fit", "--help"], ["compare", "--help"]):
        status, out, err, imported, cpu = _child(argv, tmp_path)
        assert status == 0 and "usage: sarcoma-survival" in out
        assert imported == [], argv  # no numpy-stack library: the answer takes a fraction of a second
        assert cpu < 1.0, (argv, cpu)
    refused = {
        ("fit", "cohort.csv", "--model", "no-such-model"): "unknown model 'no-such-model'",
        ("fit", "cohort.csv", "--model", "densenet", "--param", "oops"): "NAME=VALUE",
        ("fit", "cohort.csv", "--model", "densenet", "--image-size", "0"): "--image-size",
        ("fit", "cohort.csv", "--model", "densenet", "--normalize", "zscore"): "--normalize",
        ("fit", "cohort.csv", "--model", "densenet", "--time-origin", "lunch"): "unknown time origin 'lunch'",
        ("fit", "cohort.csv", "--model", "densenet", "--output", "no/such/folder/m.ssm"): "no/such/folder",
        ("compare", "cohort.csv", "--models", "densenet,nope"): "unknown model 'nope'",
    }
    for argv, message in refused.items():
        status, out, err, imported, _ = _child(list(argv), tmp_path)
        assert status == 2 and message in err, (argv, err)
        assert "torch" not in imported and "sklearn" not in imported, (argv, imported)


# ------------------------------------------------------------------ time origin
def test_the_manifest_states_the_time_origin(tmp_path):
    cohort = load_cohort(_clinical_manifest(tmp_path / "a.csv", time_origin="Date of surgery"))
    assert cohort.time_origin == "surgery" and set(cohort.X["time_origin"]) == {"surgery"}
    plain = load_cohort(_clinical_manifest(tmp_path / "b.csv"))
    assert plain.time_origin == "not stated" and "time_origin" not in plain.X.columns
    assert load_cohort(tmp_path / "b.csv", time_origin="biopsy").X["time_origin"].eq("biopsy").all()
    with pytest.raises(CohortError, match="says the times start at surgery, but time_origin='biopsy'"):
        load_cohort(tmp_path / "a.csv", time_origin="biopsy")
    mixed = ["surgery"] * 29 + ["biopsy"]
    with pytest.raises(CohortError, match=r"more than one time origin: surgery .* P029 \(biopsy\)"):
        load_cohort(_clinical_manifest(tmp_path / "c.csv", time_origin=mixed))
    with pytest.raises(CohortError, match=r"patient P000: unknown time origin 'lunch'; expected one of surgery"):
        load_cohort(_clinical_manifest(tmp_path / "d.csv", time_origin="lunch"))


def test_every_fit_records_the_time_origin_and_the_model_file_keeps_it(tmp_path, capsys):
    from sarcoma_survival import ClinicalRSF, SarculatorCoxPH, SeedEnsemble
    from sarcoma_survival.competing_risks import SarculatorFineGray, competing_y
    from sarcoma_survival.nn import ClinicalMLPSurvival

    cohort = load_cohort(_clinical_manifest(tmp_path / "a.csv", time_origin="biopsy"))
    X, y = cohort.X, cohort.y_os
    assert SarculatorCoxPH().fit(X, y).time_origin_ == "biopsy"
    assert SarculatorCoxPH().fit(X.drop(columns="time_origin"), y).time_origin_ == "not stated"
    assert SeedEnsemble(ClinicalRSF(n_estimators=5), random_states=[0, 1]).fit(X, y).time_origin_ == "biopsy"
    y_competing = competing_y(np.where(y["event"], 1 + np.arange(len(y)) % 2, 0), y["time"])
    assert SarculatorFineGray().fit(X, y_competing).time_origin_ == "biopsy"
    assert ClinicalMLPSurvival(max_epochs=1, random_state=0).fit(X, y).time_origin_ == "biopsy"

    assert main(["fit", str(tmp_path / "a.csv"), "--model", "sarculator-coxph",
                 "--output", str(tmp_path / "m.ssm")]) == 0
    assert "time origin: biopsy (times are days since biopsy)" in capsys.readouterr().out
    assert load_model(tmp_path / "m.ssm").time_origin_ == "biopsy"
    # predicting a cohort that counts from another day 0 is said, not silently done
    other = _clinical_manifest(tmp_path / "b.csv", time_origin="surgery")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["predict", str(other), "--model-file", str(tmp_path / "m.ssm"), "--times", "365",
                     "--output", str(tmp_path / "p.csv")]) == 0
    captured = capsys.readouterr()
    assert "the model counts time from biopsy, this manifest from surgery" in captured.err
    assert "(survival at days since biopsy)" in captured.out

    plain = _clinical_manifest(tmp_path / "c.csv")
    assert main(["fit", str(plain), "--model", "sarculator-coxph", "--time-origin", "MRI",
                 "--output", str(tmp_path / "n.ssm")]) == 0
    assert load_model(tmp_path / "n.ssm").time_origin_ == "mri"
    assert main(["fit", str(plain), "--model", "sarculator-coxph", "--output", str(tmp_path / "o.ssm")]) == 0
    assert "time origin: not stated (give the manifest a time_origin column" in capsys.readouterr().out


def test_figures_say_what_day_0_is():
    from sksurv.util import Surv

    from sarcoma_survival.plotting import plot_kaplan_meier_by_risk, plot_survival_curve

    assert plot_survival_curve([0.9, 0.5], times=[100, 900]).get_xlabel() == "time (days)"
    assert plot_survival_curve([0.9, 0.5], times=[100, 900], time_origin="surgery").get_xlabel() == \
        "days since surgery"
    y = Surv.from_arrays([True, False, True, True], [100.0, 200.0, 300.0, 400.0])
    ax = plot_kaplan_meier_by_risk(y, [1.0, 2.0, 3.0, 4.0], time_origin="not stated")
    assert ax.get_xlabel() == "days (time origin not stated)"


# ------------------------------------------------------------------ shared image options
def test_image_options_reach_the_default_preprocessor(tiny_cohort, tmp_path, capsys):
    manifest = _image_manifest(tiny_cohort, tmp_path, time_origin="surgery")
    options = ["--image-size", "12", "--no-n4", "--normalize", "tumor"]
    assert main(["preprocess", str(manifest), *options, "--quiet"]) == 0
    assert "into shape (2, 12, 12, 12)" in capsys.readouterr().out
    model_file = tmp_path / "densenet.ssm"
    assert main(["fit", str(manifest), "--model", "densenet", *options, "--param", "max_epochs=2",
                 "--param", "module__growth_rate=4", "--param", "module__block_config=[1,1]",
                 "--output", str(model_file)]) == 0
    captured = capsys.readouterr()
    assert "DenseNetSurvival: fitted on 24 patients, 2 epochs in" in captured.err  # one line per fit
    model = load_model(model_file)
    assert (model.preprocessor_.size, model.preprocessor_.n4, model.preprocessor_.normalize) == (12, False, "tumor")
    assert model.time_origin_ == "surgery"
    # evaluate checks the options against the model file
    assert main(["evaluate", str(manifest), "--model-file", str(model_file), *options]) == 0
    assert main(["evaluate", str(manifest), "--model-file", str(model_file), "--image-size", "16"]) == 2
    assert "--image-size says 16 but the model preprocesses its images with size=12" in capsys.readouterr().err
    # a nested parameter of the default ("auto") preprocessor
    assert main(["fit", str(manifest), "--model", "densenet", "--no-n4", "--param", "preprocessor__size=8",
                 "--param", "max_epochs=1", "--param", "module__growth_rate=4", "--param",
                 "module__block_config=[1]", "--quiet", "--output", str(tmp_path / "d8.ssm")]) == 0
    assert load_model(tmp_path / "d8.ssm").preprocessor_.size == 8
    assert "DenseNetSurvival: fitted" not in capsys.readouterr().err  # --quiet


def test_image_options_on_models_without_images(tmp_path, capsys):
    from sarcoma_survival._registry import make_model, set_image_options

    _clinical_manifest(tmp_path / "cohort.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["fit", str(tmp_path / "cohort.csv"), "--model", "clinical-rsf", "--image-size", "32",
                     "--output", str(tmp_path / "m.ssm")]) == 0
    assert "--image-size not used: model 'clinical-rsf' has no image preprocessing" in capsys.readouterr().err
    # the clinical MLP's preprocessor="auto" is its clinical encoder: not an image preprocessor
    mlp = make_model("clinical-mlp")
    assert set_image_options(mlp, {"size": 32, "n4": False}) == [] and mlp.preprocessor == "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["fit", str(tmp_path / "cohort.csv"), "--model", "clinical-mlp", "--no-n4", "--param",
                     "max_epochs=2", "--output", str(tmp_path / "mlp.ssm")]) == 0
    captured = capsys.readouterr()
    assert "--no-n4 not used: model 'clinical-mlp'" in captured.err
    assert "ClinicalMLPSurvival: fitted on 30 patients, 2 epochs in " in captured.err
    assert load_model(tmp_path / "mlp.ssm").preprocessor == "auto"
    # a radiomics model reads its images on their own grid: size is not its option, n4 is
    radiomics = make_model("radiomics-rsf")
    assert set_image_options(radiomics, {"size": 32}) == [] and radiomics.extractor is None
    assert set_image_options(radiomics, {"size": 32, "n4": False}) == ["extractor"]
    assert radiomics.get_params()["extractor__preprocessor__n4"] is False
    assert radiomics.get_params()["extractor__preprocessor__size"] == 48


# ------------------------------------------------------------------ progress
def test_compare_prints_a_line_per_fit(tmp_path, capsys):
    _clinical_manifest(tmp_path / "cohort.csv", time_origin="surgery")
    assert main(["compare", str(tmp_path / "cohort.csv"), "--models", "sarculator-coxph", "--outcomes", "os",
                 "--cv", "2"]) == 0
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("fit ")]
    assert len(lines) == 2
    assert lines[0].startswith("fit 1/2: sarculator-coxph, OS, cv fold 1: fit ") and "C-index 0." in lines[0]
    assert "left" in lines[0] and "left" not in lines[1]
    assert "time origin: surgery" in captured.out


def test_fit_summary_lines(tmp_path):
    from sarcoma_survival.nn import ClinicalMLPSurvival, FitSummary

    cohort = load_cohort(_clinical_manifest(tmp_path / "a.csv"))
    lines = []
    ClinicalMLPSurvival(max_epochs=4, random_state=0,
                        callbacks=[("fit_summary", FitSummary(every=2, sink=lines.append))]).fit(cohort.X, cohort.y_os)
    assert len(lines) == 2
    assert lines[0].startswith("ClinicalMLPSurvival: epoch 2/4, ") and "left; train_loss " in lines[0]
    assert lines[1].startswith("ClinicalMLPSurvival: fitted on 30 patients, 4 epochs in ")
    assert "best epoch" in lines[1]


def test_radiomics_extraction_reports_its_time_per_patient(tiny_cohort, tmp_path, capsys):
    from sarcoma_survival.radiomics import RadiomicsExtractor

    X = tiny_cohort.X.iloc[:2]
    extractor = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path, verbose=1)
    extractor.fit_transform(X)
    err = capsys.readouterr().err
    assert "radiomics: extracted 2 patient(s) in " in err and " s per patient); 0 read from the cache" in err
    extractor.transform(X)  # all cached: nothing extracted, nothing said
    assert "radiomics: extracted" not in capsys.readouterr().err


def test_manifest_writes_the_time_origin(tmp_path, capsys):
    import SimpleITK as sitk

    rng = np.random.default_rng(0)
    for patient in ("P1", "P2"):
        folder = tmp_path / "hospital" / patient
        folder.mkdir(parents=True)
        label = np.zeros((8, 10, 10), np.uint8)
        label[2:6, 3:7, 3:7] = 1
        for name, array in (("T1_image.nii.gz", rng.normal(100, 20, label.shape).astype(np.float32)),
                            ("T1_mask.nii.gz", label)):
            image = sitk.GetImageFromArray(array)
            image.SetSpacing((1.0, 1.0, 2.0))
            sitk.WriteImage(image, str(folder / name))
    clinical = _clinical_manifest(tmp_path / "clinical.csv", n=2)
    pd.read_csv(clinical).assign(patient_id=["P1", "P2"]).to_csv(clinical, index=False)
    output = tmp_path / "manifest.csv"
    assert main(["manifest", str(tmp_path / "hospital"), "--clinical", str(clinical), "--t1-only", "--quiet",
                 "--time-origin", "Date of biopsy", "--output", str(output)]) == 0
    cohort = load_cohort(output)
    assert cohort.time_origin == "biopsy" and list(cohort.X["time_origin"]) == ["biopsy", "biopsy"]
