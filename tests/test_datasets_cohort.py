"""Tests of the manifest loader ``load_cohort``."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from sksurv.util import Surv

from sarcoma_survival._schema import CLINICAL_COLUMNS
from sarcoma_survival.datasets import load_cohort
from sarcoma_survival.datasets._cohort import CohortError

ROWS = [
    # patient_id, age, sex, size, depth, grade, histology, location, volume, chemo, mets, rt,
    # os_event, os_time, dm_event, dm_time
    ("P01", "61", "F", "8.5", "deep", "high", "myxofibrosarcoma", "lower_extremity", "150.2", "no", "0", "preop",
     "1", "400", "True", "200"),
    ("P02", "45.5", "M", "", "Superficial", "LOW", "", "axial", "", "YES", "false", "postop",
     "0", "1200", "0", "1200"),
    ("P03", "", "", "12", "", "", "synovial sarcoma", "upper_extremity", "600", "", "1", "",
     "yes", "35.5", "no", "35.5"),
]
HEADER = ["patient_id", *CLINICAL_COLUMNS, "os_event", "os_time", "dm_event", "dm_time"]


def _write_images(folder, pid, *, t2=True):
    image = sitk.Image(6, 5, 4, sitk.sitkInt16)
    image.SetSpacing((1.0, 1.0, 3.0))
    out = {}
    (folder / "img" / pid).mkdir(parents=True, exist_ok=True)
    for name in ("t1", "t2", "mask") if t2 else ("t1", "mask"):
        sitk.WriteImage(image, str(folder / "img" / pid / f"{name}.nii.gz"))
        out[name] = f"img/{pid}/{name}.nii.gz"
    return out


def _manifest(folder, rows=ROWS, header=HEADER, *, images=True, t2=True, drop=(), edit=None):
    frame = pd.DataFrame(rows, columns=header).astype(object)
    if images:
        paths = [_write_images(folder, pid, t2=t2) for pid in frame["patient_id"]]
        for column in paths[0]:
            frame[column] = [p[column] for p in paths]
    frame = frame.drop(columns=list(drop))
    if edit is not None:
        edit(frame)
    path = folder / "cohort.csv"
    frame.to_csv(path, index=False)
    return path


def test_round_trip_types_and_values(tmp_path):
    cohort = load_cohort(_manifest(tmp_path))
    X = cohort.X
    assert list(X.index) == ["P01", "P02", "P03"]
    assert X.index.name == "patient_id"
    assert list(X.columns) == [*CLINICAL_COLUMNS, "t1", "t2", "mask"]
    for column in ("age", "tumor_size_cm", "tumor_volume_cm3", "neoadjuvant_chemo", "mets_at_presentation"):
        assert X[column].dtype == np.float64, column
    np.testing.assert_array_equal(X["age"], [61.0, 45.5, np.nan])
    np.testing.assert_array_equal(X["neoadjuvant_chemo"], [0.0, 1.0, np.nan])
    np.testing.assert_array_equal(X["mets_at_presentation"], [0.0, 0.0, 1.0])
    # categories matched case-insensitively, stored canonically; missing stays NaN
    assert X["tumor_depth"].tolist()[:2] == ["deep", "superficial"]
    assert X["grade"].tolist()[:2] == ["high", "low"]
    assert X[["sex", "tumor_depth", "grade", "rt_timing"]].loc["P03"].isna().all()
    assert pd.isna(X.loc["P02", "histology"]) and X.loc["P03", "histology"] == "synovial sarcoma"
    # y's equal what scikit-survival builds from the same numbers
    expected = Surv.from_arrays([True, False, True], [400.0, 1200.0, 35.5])
    np.testing.assert_array_equal(cohort.y_os, expected)
    assert cohort.y_os.dtype == expected.dtype
    np.testing.assert_array_equal(cohort.y_dm, Surv.from_arrays([True, False, False], [200.0, 1200.0, 35.5]))
    assert cohort.manifest == (tmp_path / "cohort.csv").resolve()


def test_written_table_reloads_identically(tmp_path):
    """A cohort written back as a manifest (absolute paths) loads to the same table."""
    first = load_cohort(_manifest(tmp_path))
    frame = first.X.copy()
    frame["os_event"] = first.y_os["event"]
    frame["os_time"] = first.y_os["time"]
    other = tmp_path / "copy"
    other.mkdir()
    frame.to_csv(other / "again.csv", index_label="patient_id")
    second = load_cohort(other / "again.csv")
    pd.testing.assert_frame_equal(first.X, second.X)
    np.testing.assert_array_equal(first.y_os, second.y_os)
    assert second.y_dm is None


def test_relative_paths_resolve_against_manifest_folder(tmp_path, monkeypatch):
    path = _manifest(tmp_path)
    monkeypatch.chdir(tmp_path / "img")  # somewhere else
    X = load_cohort(path).X
    assert X.loc["P02", "t1"] == str((tmp_path / "img" / "P02" / "t1.nii.gz").resolve())
    assert all(sitk.ReadImage(p).GetSize() == (6, 5, 4) for p in X["mask"])


def test_t1_only_cohort_and_no_images(tmp_path):
    X = load_cohort(_manifest(tmp_path, t2=False)).X
    assert list(X.columns[-2:]) == ["t1", "mask"] and "t2" not in X
    X = load_cohort(_manifest(tmp_path, images=False)).X
    assert list(X.columns) == list(CLINICAL_COLUMNS)


def test_outcomes_optional_per_pair(tmp_path):
    cohort = load_cohort(_manifest(tmp_path, drop=("dm_event", "dm_time")))
    assert cohort.y_dm is None and len(cohort.y_os) == 3
    cohort = load_cohort(_manifest(tmp_path, drop=("os_event", "os_time", "dm_event", "dm_time")))
    assert cohort.y_os is None and cohort.y_dm is None
    with pytest.raises(CohortError, match="'dm_time' is present but 'dm_event' is missing"):
        load_cohort(_manifest(tmp_path, drop=("dm_event",)))


def test_extra_columns_kept(tmp_path):
    def edit(frame):
        frame["site_detail"] = ["thigh", "arm", "back"]
        frame["necrosis_pct"] = ["10", "", "35"]

    X = load_cohort(_manifest(tmp_path, edit=edit)).X
    assert X["site_detail"].tolist() == ["thigh", "arm", "back"]
    np.testing.assert_array_equal(X["necrosis_pct"], [10.0, np.nan, 35.0])


def test_missing_columns_named(tmp_path):
    with pytest.raises(CohortError, match=r"missing column\(s\): grade, rt_timing"):
        load_cohort(_manifest(tmp_path, drop=("grade", "rt_timing")))
    with pytest.raises(CohortError, match="missing column.*patient_id"):
        load_cohort(_manifest(tmp_path, drop=("patient_id",)))


def test_unknown_category_names_patient_value_column_and_allowed(tmp_path):
    def edit(frame):
        frame.loc[1, "location"] = "retroperitoneum"

    with pytest.raises(CohortError) as info:
        load_cohort(_manifest(tmp_path, edit=edit))
    message = str(info.value)
    for part in ("'location'", "P02", "'retroperitoneum'", "axial, upper_extremity, lower_extremity"):
        assert part in message


@pytest.mark.parametrize("bad, shown", [("", "empty, NaN"), ("-3", "P02 (-3)"), ("0", "P02 (0)"), ("soon", "'soon'")])
def test_bad_times_named(tmp_path, bad, shown):
    def edit(frame):
        frame.loc[1, "os_time"] = bad

    with pytest.raises(CohortError, match="os_time") as info:
        load_cohort(_manifest(tmp_path, edit=edit))
    assert "P02" in str(info.value) and shown in str(info.value)


@pytest.mark.parametrize("bad", ["2", "dead", ""])
def test_bad_events_named(tmp_path, bad):
    def edit(frame):
        frame.loc[2, "dm_event"] = bad

    with pytest.raises(CohortError, match="dm_event") as info:
        load_cohort(_manifest(tmp_path, edit=edit))
    assert "P03" in str(info.value)


def test_bad_clinical_values_named(tmp_path):
    def not_boolean(frame):
        frame.loc[0, "neoadjuvant_chemo"] = "maybe"

    with pytest.raises(CohortError, match=r"neoadjuvant_chemo.*P01 \('maybe'\)"):
        load_cohort(_manifest(tmp_path, edit=not_boolean))

    def not_numeric(frame):
        frame.loc[2, "age"] = "sixty"

    with pytest.raises(CohortError, match=r"'age' must be numeric.*P03 \('sixty'\)"):
        load_cohort(_manifest(tmp_path, edit=not_numeric))

    def negative(frame):
        frame.loc[0, "tumor_size_cm"] = "-1"

    with pytest.raises(CohortError, match=r"'tumor_size_cm' must not be negative.*P01"):
        load_cohort(_manifest(tmp_path, edit=negative))


def test_duplicate_and_empty_ids(tmp_path):
    rows = [ROWS[0], ROWS[1], ("P01", *ROWS[2][1:])]
    with pytest.raises(CohortError, match=r"duplicate patient id\(s\): P01 \(2 rows\)"):
        load_cohort(_manifest(tmp_path, rows=rows, images=False))
    rows = [ROWS[0], ("", *ROWS[1][1:])]
    with pytest.raises(CohortError, match=r"empty 'patient_id' on CSV line\(s\): 3"):
        load_cohort(_manifest(tmp_path, rows=rows, images=False))


def test_missing_image_file_names_patient_and_path(tmp_path):
    path = _manifest(tmp_path)
    missing = tmp_path / "img" / "P03" / "t2.nii.gz"
    missing.unlink()
    with pytest.raises(CohortError) as info:
        load_cohort(path)
    assert "patient P03" in str(info.value) and str(missing.resolve()) in str(info.value)

    def empty(frame):
        frame.loc[0, "mask"] = ""

    with pytest.raises(CohortError, match="patient P01: column 'mask' is empty"):
        load_cohort(_manifest(tmp_path, edit=empty))


def test_image_column_sets(tmp_path):
    with pytest.raises(CohortError, match="without 'mask'"):
        load_cohort(_manifest(tmp_path, drop=("mask",)))
    with pytest.raises(CohortError, match="without 't1'"):
        load_cohort(_manifest(tmp_path, drop=("t1",)))


def test_missing_manifest_file(tmp_path):
    with pytest.raises(CohortError, match="does not exist"):
        load_cohort(tmp_path / "nope.csv")
    assert issubclass(CohortError, ValueError)
