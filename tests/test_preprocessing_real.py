"""VolumePreprocessor on the real TCIA soft-tissue-sarcoma MRIs (skipped without ../shared/validation)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from sarcoma_survival.preprocessing import VolumePreprocessor, read_image
from sarcoma_survival.preprocessing._geometry import resample
from sarcoma_survival.preprocessing._io import read_mask

pytestmark = pytest.mark.realdata


def tcia_frame(validation_dir, patients=None):
    root = validation_dir / "sts_tcia" / "nifti"
    patients = patients or sorted(p.name for p in root.iterdir() if p.is_dir())
    return pd.DataFrame({
        "t1": [str(root / p / "MR_T1_image.nii.gz") for p in patients],
        "mask": [str(root / p / "MR_T1_mask.nii.gz") for p in patients],
    }, index=patients)


def dice(a, b):
    return 2 * np.logical_and(a, b).sum() / (a.sum() + b.sum())


def check_cohort_crops(validation_dir, X):
    clinical = pd.read_csv(validation_dir / "sts_tcia" / "clinical.csv", index_col="patient_id")
    pre = VolumePreprocessor(size=32, n4=False, margin_mm=10, cache=False).fit(X)
    vol = pre.transform(X)
    assert vol.shape == (len(X), 1, 32, 32, 32)
    for i, (patient, row) in enumerate(X.iterrows()):
        t1 = read_image(row["t1"])
        mask = read_mask(row["mask"], t1, patient=patient)
        volume_cm3 = sitk.GetArrayViewFromImage(mask).sum() * np.prod(t1.GetSpacing()) / 1000
        assert volume_cm3 == pytest.approx(clinical.loc[patient, "mask_volume_cm3"], rel=1e-3)
        # the whole tumour falls inside the output grid, away from its border
        geometry = vol.geometry(i)
        grid = vol.to_image(i, np.zeros((32, 32, 32), np.float32))
        on_grid = sitk.GetArrayFromImage(resample(mask, grid, interpolator=sitk.sitkNearestNeighbor))
        assert on_grid[[0, -1]].sum() == on_grid[:, [0, -1]].sum() == on_grid[:, :, [0, -1]].sum() == 0
        tumour_cm3 = on_grid.sum() * geometry["spacing"][0] ** 3 / 1000
        assert tumour_cm3 == pytest.approx(volume_cm3, rel=0.15), patient
        out = vol[i][0]
        assert np.isfinite(out).all() and out.std() > 0.1
        # the tumour's bounding box lies inside the recorded crop box
        lo, hi = (np.array(v) for v in geometry["box_mm"])
        assert np.all(hi - lo > 20)


def test_sts_subset_loads_aligns_and_crops_the_whole_tumour(validation_dir):
    # STS_019 has the odd 1.17 mm grid; STS_009/STS_020 were rebuilt from DICOM
    check_cohort_crops(validation_dir, tcia_frame(validation_dir, ["STS_009", "STS_019", "STS_020", "STS_042"]))


@pytest.mark.slow
def test_all_51_sts_t1_volumes_load_align_and_crop_the_whole_tumor(validation_dir):
    X = tcia_frame(validation_dir)
    assert len(X) == 51
    check_cohort_crops(validation_dir, X)


def test_raw_sts_001_dicom_t1_t2_with_rtstruct_give_an_aligned_two_channel_tensor(validation_dir):
    raw = validation_dir / "sts_tcia" / "raw_STS_001"
    X = pd.DataFrame({"t1": [str(raw / "MR_T1" / "image")], "t2": [str(raw / "MR_T2" / "image")],
                      "mask": [str(raw / "MR_T1" / "mask" / "1-1.dcm")]}, index=["STS_001"])
    t1 = read_image(X.loc["STS_001", "t1"])
    t2 = read_image(X.loc["STS_001", "t2"])
    mask_t1 = read_mask(X.loc["STS_001", "mask"], t1)
    mask_t2 = read_mask(raw / "MR_T2" / "mask", t2)  # contoured separately on the T2 fat-sat
    # rasterised RTSTRUCT volume agrees with the IBSI NIfTI mask of the same patient (365.3 cm3)
    volume_cm3 = sitk.GetArrayViewFromImage(mask_t1).sum() * np.prod(t1.GetSpacing()) / 1000
    assert volume_cm3 == pytest.approx(365.3, rel=0.01)
    pre = VolumePreprocessor(size=32, n4=False, cache=False).fit(X)
    vol = pre.transform(X)
    assert vol.shape == (1, 2, 32, 32, 32) and pre.channels_ == ["t1", "t2"]
    grid = vol.to_image(0, vol[0][0])
    a = sitk.GetArrayFromImage(resample(mask_t1, grid, interpolator=sitk.sitkNearestNeighbor)) > 0
    b = sitk.GetArrayFromImage(resample(mask_t2, grid, interpolator=sitk.sitkNearestNeighbor)) > 0
    assert dice(a, b) > 0.95  # the two independently drawn contours coincide on the output grid
    # and the T2 sits inside its own field of view over the whole tumour
    t2_out = vol[0][1]
    assert np.abs(t2_out[a]).sum() > 0 and np.isfinite(t2_out).all()
    # ignoring the (oblique, ~2 degree) direction would misalign them: the check has teeth
    t2_axis = sitk.Image(mask_t2)
    t2_axis.SetDirection(np.eye(3).ravel().tolist())
    c = sitk.GetArrayFromImage(resample(t2_axis, grid, interpolator=sitk.sitkNearestNeighbor)) > 0
    assert dice(a, c) < dice(a, b) - 0.05


def test_load_native_on_raw_sts_001_is_on_the_t1_grid(validation_dir):
    raw = validation_dir / "sts_tcia" / "raw_STS_001"
    X = pd.DataFrame({"t1": [str(raw / "MR_T1" / "image")], "t2": [str(raw / "MR_T2" / "image")],
                      "mask": [str(raw / "MR_T1" / "mask")]}, index=["STS_001"])
    channels, mask = VolumePreprocessor(n4=False).fit(X).load_native(X.iloc[0])
    t1 = read_image(X.loc["STS_001", "t1"])
    for image in (*channels.values(), mask):
        assert image.GetSize() == t1.GetSize() and np.allclose(image.GetDirection(), t1.GetDirection())
    fg = sitk.GetArrayFromImage(channels["t1"])
    assert abs(fg.mean()) < 1.5 and sitk.GetArrayViewFromImage(mask).sum() > 1000
