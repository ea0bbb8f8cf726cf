"""build_manifest / ``sarcoma-survival manifest``: generated folder trees (DICOM + RTSTRUCT, DICOM + SEG,
NIfTI, broken patients) and the real raw STS_001 DICOM; DICOM SEG reading."""
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from dicom_writers import contours_of, reference_series, write_mr_series, write_seg
from test_preprocessing_volume import write_rtstruct

from sarcoma_survival.cli import main
from sarcoma_survival.datasets import CohortError, build_manifest, load_cohort
from sarcoma_survival.preprocessing import (
    ImageReadError,
    read_image,
    read_mask,
    tumor_largest_diameter_cm,
    tumor_volume_cm3,
)

SHAPE = (8, 14, 12)  # z, y, x
SPACING = (1.5, 1.2, 3.0)
BOX = (slice(2, 6), slice(3, 10), slice(4, 9))  # 4 slices x 7 rows x 5 columns


def _image(seed, array=None):
    rng = np.random.default_rng(seed)
    array = rng.integers(100, 900, SHAPE).astype(np.float32) if array is None else array
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(SPACING)
    image.SetOrigin((-10.0, 5.0, 20.0))
    return image


def _box_mask():
    array = np.zeros(SHAPE, np.uint8)
    array[BOX] = 1
    return array


def _box_size_cm():  # centres: (5 - 1) x 1.5, (7 - 1) x 1.2, (4 - 1) x 3 mm
    return np.sqrt((4 * 1.5) ** 2 + (6 * 1.2) ** 2 + (3 * 3.0) ** 2) / 10


def _box_volume_cm3():
    return 4 * 7 * 5 * np.prod(SPACING) / 1000


def _dicom_patient(folder, patient, mask_kind, seed):
    t1_uid = write_mr_series(_image(seed), folder / "MR" / "t1_post", "T1 FS POST GD", patient_id=patient)
    t2_uid = write_mr_series(_image(seed + 1), folder / "MR" / "t2_fs", "T2 FAT SAT", patient_id=patient)
    t1 = read_image(folder / "MR" / "t1_post")
    if mask_kind == "rtstruct":
        (folder / "RT").mkdir()
        for name, uid in (("on_t1.dcm", t1_uid), ("on_t2.dcm", t2_uid)):  # one contoured on each series
            write_rtstruct(folder / "RT" / name, {"GTV_Mass": contours_of(_box_mask(), t1)})
            reference_series(folder / "RT" / name, uid)
    else:
        (folder / "SEG").mkdir()
        write_seg(folder / "SEG" / "seg.dcm", t1, _box_mask(), t1_uid, patient_id=patient)


def _nifti_patient(folder, seed, *, names=("T1_image.nii.gz", "T2_image.nii.gz", "T1_mask.nii.gz")):
    folder.mkdir(parents=True)
    images = (_image(seed), _image(seed + 1), _image(0, _box_mask()))
    for name, image in zip(names, images):
        if name:
            sitk.WriteImage(image, str(folder / name))


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("hospital")
    patients = root / "patients"
    _dicom_patient(patients / "P_RT", "P_RT", "rtstruct", 1)
    _dicom_patient(patients / "P_SEG", "P_SEG", "seg", 3)
    for i in range(8):
        _nifti_patient(patients / f"P_NII{i}", 10 + i)
    _nifti_patient(patients / "P_NOMASK", 30, names=("T1_image.nii.gz", "T2_image.nii.gz", None))
    _nifti_patient(patients / "P_TWO_T1", 40, names=("T1_pre.nii.gz", "T2.nii.gz", "T1_mask.nii.gz"))
    sitk.WriteImage(_image(41), str(patients / "P_TWO_T1" / "T1_post.nii.gz"))
    _nifti_patient(patients / "P_BAD", 50)
    bad = patients / "P_BAD" / "T1_image.nii.gz"
    bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])  # truncated: unreadable
    ids = ["P_RT", "P_SEG", *[f"P_NII{i}" for i in range(8)], "P_NOMASK", "P_TWO_T1", "P_BAD", "P_GHOST"]
    rng = np.random.default_rng(0)
    clinical = pd.DataFrame({
        "patient_id": ids,
        "age": rng.integers(30, 80, len(ids)),
        "sex": ["F", "M"] * (len(ids) // 2),
        "grade": ["Grade 3", "1", "high"] + ["high", "low", "high"] * 3 + ["high", "low"],
        "histology": ["MFH", "Myxoid/round cell liposarcoma", *["leiomyosarcoma"] * (len(ids) - 2)],
        "location": "lower_extremity",
        "tumor_size_cm": ["", "", "7.5", *[""] * (len(ids) - 3)],  # P_NII0 has a pathology size
        "os_event": [1, 0] * (len(ids) // 2),
        "os_time": rng.integers(100, 3000, len(ids)),
        "surname": "not copied",
    })
    clinical.to_csv(root / "clinical.csv", index=False)
    return root


@pytest.fixture(scope="module")
def built(tree):
    return build_manifest(tree / "patients", tree / "out" / "manifest.csv", clinical=tree / "clinical.csv")


def test_complete_patients_and_their_files(built, tree):
    assert sorted(built.table.index) == ["P_NII0", "P_NII1", "P_NII2", "P_NII3", "P_NII4", "P_NII5", "P_NII6",
                                         "P_NII7", "P_RT", "P_SEG"]
    written = pd.read_csv(built.manifest, dtype=str).set_index("patient_id")
    assert written.loc["P_RT", "t1"] == "../patients/P_RT/MR/t1_post"  # relative to the manifest
    assert written.loc["P_RT", "t2"] == "../patients/P_RT/MR/t2_fs"
    assert written.loc["P_RT", "mask"] == "../patients/P_RT/RT/on_t1.dcm"  # the one drawn on the T1
    assert written.loc["P_SEG", "mask"] == "../patients/P_SEG/SEG/seg.dcm"
    assert written.loc["P_NII3", "mask"] == "../patients/P_NII3/T1_mask.nii.gz"
    assert written.loc["P_NII3", "t2"] == "../patients/P_NII3/T2_image.nii.gz"
    assert "surname" not in written.columns


def test_measurements_fill_only_empty_cells(built):
    table = built.table
    for patient in ("P_RT", "P_SEG", "P_NII1"):  # all three mask kinds give the same box
        assert float(table.loc[patient, "tumor_size_cm"]) == pytest.approx(_box_size_cm(), rel=1e-3)
        assert float(table.loc[patient, "tumor_volume_cm3"]) == pytest.approx(_box_volume_cm3(), rel=1e-3)
    assert table.loc["P_NII0", "tumor_size_cm"] == "7.5"  # the clinical value is kept


def test_categories_are_written_in_their_canonical_spelling(built):
    table = built.table
    assert table.loc["P_RT", "histology"] == "undifferentiated pleomorphic sarcoma"  # MFH
    assert table.loc["P_SEG", "histology"] == "myxoid liposarcoma"
    assert table.loc[["P_RT", "P_SEG"], "grade"].tolist() == ["high", "low"]  # FNCLCC 3 and 1


def test_report_names_every_patient_left_out_and_why(built):
    report = pd.read_csv(built.report)
    assert list(report.columns) == ["patient_id", "status", "problem"]
    excluded = report[report["status"] == "excluded"].set_index("patient_id")["problem"]
    assert set(excluded.index) == {"P_NOMASK", "P_TWO_T1", "P_BAD", "P_GHOST"}
    assert excluded["P_NOMASK"].startswith("no mask")
    assert "2 T1 candidates" in excluded["P_TWO_T1"] and "T1_post.nii.gz" in excluded["P_TWO_T1"]
    assert "patient P_BAD, column 't1'" in excluded["P_BAD"] and "truncated" in excluded["P_BAD"]
    assert "no folder 'P_GHOST'" in excluded["P_GHOST"]
    cohort_notes = report.loc[report["patient_id"] == "(cohort)", "problem"].tolist()
    assert any("surname" in note for note in cohort_notes)
    # a measurement the clinical table lacks is filled from the masks, not "left empty"
    assert "measured from the masks: tumor_volume_cm3" in " ".join(cohort_notes)
    empty = next(note for note in cohort_notes if "left empty" in note)
    assert "tumor_depth" in empty and "tumor_volume_cm3" not in empty


def test_manifest_loads_and_a_model_fits_through_the_cli(built, tree, capsys):
    cohort = load_cohort(built.manifest)
    assert len(cohort.X) == 10 and list(cohort.X.columns[-3:]) == ["t1", "t2", "mask"]
    assert Path(cohort.X.loc["P_RT", "t1"]).is_dir() and cohort.y_os is not None and cohort.y_dm is None
    out = tree / "cli"
    out.mkdir()
    manifest = out / "m.csv"
    assert main(["manifest", str(tree / "patients"), "--output", str(manifest),
                 "--clinical", str(tree / "clinical.csv")]) == 0
    captured = capsys.readouterr()
    assert "(10 patients); 4 patient(s) left out" in captured.out and (out / "m-report.csv").is_file()
    progress = captured.err.splitlines()  # one line per patient folder, with its time
    assert len(progress) == 13 and progress[0].startswith("[1/13] P_BAD: left out: patient P_BAD, column 't1'")
    assert any(line.startswith("[5/13] P_NII3: ok (") for line in progress)
    pd.testing.assert_frame_equal(pd.read_csv(manifest), pd.read_csv(built.manifest))  # same as the function
    model = out / "model.ssm"
    assert main(["fit", str(manifest), "--model", "sarculator-coxph", "--output", str(model)]) == 0
    assert model.is_file() and "fitted sarculator-coxph on 10 patients" in capsys.readouterr().out


def test_an_image_model_fits_from_the_built_manifest_with_the_options_of_preprocess(built, tree, capsys):
    """The issue's path: folder tree (DICOM + RTSTRUCT, DICOM + SEG, NIfTI) -> manifest -> preprocess
    -> fit of an image network with the same image options, which then reads the cached volumes."""
    import os

    from sarcoma_survival import load_model

    options = ["--image-size", "12", "--no-n4", "--normalize", "tumor"]
    assert main(["preprocess", str(built.manifest), *options, "--quiet"]) == 0
    assert "preprocessed 10 patients into shape (2, 12, 12, 12)" in capsys.readouterr().out
    cache = Path(os.environ["SARCOMA_SURVIVAL_CACHE"])
    cached = sorted(p for p in cache.rglob("*") if p.is_file())
    model_file = tree / "densenet.ssm"
    assert main(["fit", str(built.manifest), "--model", "densenet", *options, "--quiet", "--param", "max_epochs=1",
                 "--param", "module__growth_rate=4", "--param", "module__block_config=[1]",
                 "--output", str(model_file)]) == 0
    assert sorted(p for p in cache.rglob("*") if p.is_file()) == cached  # nothing preprocessed again
    pre = load_model(model_file).preprocessor_
    assert (pre.size, pre.n4, pre.normalize) == (12, False, "tumor")


def test_rules_t1_only_and_measure_never(tree):
    built = build_manifest(tree / "patients", tree / "rules" / "m.csv", clinical=tree / "clinical.csv",
                           rules={"t1": r"t1_post|T1 FS POST|T1_image"}, sequences=("t1",), measure="never")
    assert "P_TWO_T1" in built.table.index  # the narrower rule picks T1_post.nii.gz
    assert "t2" not in built.table.columns
    assert built.table.loc["P_TWO_T1", "t1"].endswith("T1_post.nii.gz")
    assert built.table["tumor_volume_cm3"].eq("").all()
    notes = pd.read_csv(built.report).query("patient_id == '(cohort)'")["problem"]
    assert any("left empty" in note and "tumor_volume_cm3" in note for note in notes)


def test_without_clinical_table_and_clear_errors(tree, tmp_path, capsys):
    built = build_manifest(tree / "patients", tmp_path / "m.csv")
    assert "P_GHOST" not in set(built.problems["patient_id"]) and len(built.table) == 10
    assert load_cohort(tmp_path / "m.csv").y_os is None  # prediction only
    with pytest.raises(CohortError, match="the t1 rule '\\(' is not a regular expression"):
        build_manifest(tree / "patients", tmp_path / "m.csv", rules={"t1": "("})
    with pytest.raises(CohortError, match="no 'mrn' column"):
        build_manifest(tree / "patients", tmp_path / "m.csv", clinical=tree / "clinical.csv", id_column="mrn")
    empty = tmp_path / "empty"
    (empty / "P1").mkdir(parents=True)
    with pytest.raises(CohortError, match="no patient of .* is complete"):
        build_manifest(empty, tmp_path / "m2.csv")
    report = pd.read_csv(tmp_path / "m2-report.csv")
    assert report.loc[0, "patient_id"] == "P1" and "no T1 image" in report.loc[0, "problem"]
    assert main(["manifest", str(empty), "--output", str(tmp_path / "m3.csv")]) == 2
    assert "sarcoma-survival manifest: error: no patient of" in capsys.readouterr().err


def test_series_sharing_a_folder_is_reported(tmp_path):
    patient = tmp_path / "root" / "P1"
    write_mr_series(_image(1), patient / "export", "T1 POST", patient_id="P1")
    write_mr_series(_image(2), patient / "export2", "T2 FS", patient_id="P1")
    for path in (patient / "export2").iterdir():  # both series in one folder, as PACS exports do
        shutil.move(path, patient / "export" / f"t2-{path.name}")
    sitk.WriteImage(_image(0, _box_mask()), str(patient / "mask.nii.gz"))
    with pytest.raises(CohortError, match="no patient"):
        build_manifest(tmp_path / "root", tmp_path / "m.csv")
    problem = pd.read_csv(tmp_path / "m-report.csv")["problem"].iloc[0]
    assert "shares its folder with 1 other series" in problem


# ---------------------------------------------------------------------------- DICOM SEG reading
def test_seg_is_read_onto_the_reference_grid(tmp_path):
    uid = write_mr_series(_image(1), tmp_path / "t1", "T1")
    t1 = read_image(tmp_path / "t1")
    labels = _box_mask()
    labels[6, 1:3, 1:3] = 2  # a second segment
    write_seg(tmp_path / "seg.dcm", t1, labels, uid, labels=("Oedema", "GTV_Mass"))
    mask = sitk.GetArrayFromImage(read_mask(tmp_path / "seg.dcm", t1))  # GTV_Mass: segment 2
    assert mask.sum() == 4 and mask[6, 1:3, 1:3].all()
    tumour = sitk.GetArrayFromImage(read_mask(tmp_path, t1, roi_name="oedema"))  # folder, case-insensitive
    np.testing.assert_array_equal(tumour, _box_mask())
    assert tumor_volume_cm3(read_mask(tmp_path, t1, roi_name="Oedema")) == pytest.approx(_box_volume_cm3())
    with pytest.raises(ImageReadError, match=r"patient P3, column 'mask'.*segment 'Tumour' not found.*Oedema"):
        read_mask(tmp_path / "seg.dcm", t1, roi_name="Tumour", patient="P3")


# ---------------------------------------------------------------------------- real data
@pytest.mark.realdata
def test_real_raw_sts_001_dicom(validation_dir, tmp_path):
    raw = validation_dir / "sts_tcia" / "raw_STS_001"
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "STS_001").symlink_to(raw, target_is_directory=True)
    built = build_manifest(tmp_path / "root", tmp_path / "manifest.csv")
    row = load_cohort(built.manifest).X.loc["STS_001"]
    assert Path(row["t1"]) == raw / "MR_T1" / "image" and Path(row["t2"]) == raw / "MR_T2" / "image"
    assert Path(row["mask"]) == raw / "MR_T1" / "mask" / "1-1.dcm"  # by its reference to the T1 series
    # the rasterised RTSTRUCT agrees with the IBSI NIfTI mask of the same patient (365.3 cm3)
    assert row["tumor_volume_cm3"] == pytest.approx(365.3, rel=0.01)
    nifti_mask = validation_dir / "sts_tcia" / "nifti" / "STS_001" / "MR_T1_mask.nii.gz"
    assert row["tumor_size_cm"] == pytest.approx(tumor_largest_diameter_cm(nifti_mask), abs=0.2)  # 11.31 vs 11.36 cm
    assert built.problems.empty


def test_cli_help_lists_the_manifest_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["manifest", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: sarcoma-survival manifest") and "--clinical" in out and "--t1-only" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "manifest" in capsys.readouterr().out
    with pytest.raises(SystemExit) as exit_info:
        main(["manifest", "root", "--measure", "sometimes"])
    assert exit_info.value.code == 2 and "invalid choice: 'sometimes'" in capsys.readouterr().err


@pytest.mark.realdata
def test_the_51_tcia_nifti_patients_give_the_built_in_loader_cohort(validation_dir, tmp_path):
    """The TCIA cohort walked through the new path: its NIfTI folders + a clinical CSV -> the
    same table and outcomes as load_tcia_sts (sizes and volumes measured by the same functions)."""
    from sarcoma_survival.datasets import load_tcia_sts

    reference = load_tcia_sts(validation_dir / "sts_tcia")
    clinical = reference.X.drop(columns=["t1", "mask", "tumor_size_cm", "tumor_volume_cm3", "time_origin"])
    for outcome in ("os", "dm"):
        y = reference[f"y_{outcome}"]
        clinical[f"{outcome}_event"], clinical[f"{outcome}_time"] = y["event"].astype(int), y["time"]
    clinical.to_csv(tmp_path / "clinical.csv")
    built = build_manifest(validation_dir / "sts_tcia" / "nifti", tmp_path / "manifest.csv",
                           clinical=tmp_path / "clinical.csv", sequences=("t1",), time_origin="biopsy")
    assert built.problems["status"].eq("warning").all()  # only: no size/volume column in the table
    cohort = load_cohort(built.manifest)
    # the sheet rounds mask volumes to 0.001 cm3 (1.3e-5 relative at most, measured)
    pd.testing.assert_frame_equal(cohort.X, reference.X, check_dtype=False, rtol=5e-5)
    np.testing.assert_array_equal(cohort.y_os, reference.y_os)
    np.testing.assert_array_equal(cohort.y_dm, reference.y_dm)


def test_ambiguous_and_damaged_candidates_are_reported(tmp_path):
    root = tmp_path / "root"
    _nifti_patient(root / "P_BOTH", 1, names=("t1_t2_fused.nii.gz", None, "T1_mask.nii.gz"))
    _nifti_patient(root / "P_OK", 2)
    (root / "P_OK" / "notes.dcm").write_bytes(b"not a DICOM file")  # reported, the patient is kept
    (root / "P_OK" / "README.txt").write_text("ignored")  # not DICOM, not .dcm: silently ignored
    built = build_manifest(root, tmp_path / "m.csv")
    assert list(built.table.index) == ["P_OK"]
    problems = built.problems.set_index("patient_id")
    assert "matches both the t1 and the t2 rule" in problems.loc["P_BOTH", "problem"]
    assert problems.loc["P_OK", "status"] == "warning"
    assert problems.loc["P_OK", "problem"] == "file 'notes.dcm' is not a readable DICOM file"


def test_the_documented_default_rules_are_the_rules():
    from sarcoma_survival.datasets._manifest import DEFAULT_RULES

    guide = (Path(__file__).parents[1] / "docs" / "user_guide" / "cohort.rst").read_text()
    for pattern in DEFAULT_RULES.values():
        assert f"``{pattern}``" in build_manifest.__doc__.replace("\n        ", " ") and f"``{pattern}``" in guide


def test_dicom_files_without_preamble_are_found(tmp_path):
    import pydicom

    patient = tmp_path / "root" / "P1"
    write_mr_series(_image(1), patient / "t1", "T1 POST", patient_id="P1")
    for path in (patient / "t1").iterdir():  # rewrite without the 128-byte preamble and "DICM"
        ds = pydicom.dcmread(path)
        ds.preamble = None
        del ds.file_meta  # a bare data set, implicit VR little endian, as old exports write
        path.unlink()
        ds.save_as(path, enforce_file_format=False, implicit_vr=True, little_endian=True)
        assert path.read_bytes()[128:132] != b"DICM"
    sitk.WriteImage(_image(0, _box_mask()), str(patient / "mask.nii.gz"))
    built = build_manifest(tmp_path / "root", tmp_path / "m.csv", sequences=("t1",))
    assert built.table.loc["P1", "t1"] == "root/P1/t1"
    assert float(built.table.loc["P1", "tumor_volume_cm3"]) == pytest.approx(_box_volume_cm3(), rel=1e-5)
