"""The regime knobs of make_synthetic_cohort (issue 28): defaults leave today's cohorts
bit-identical, and each knob changes only what it is documented to change."""
from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.datasets._synthetic_model import simulate_patients

# Pinned from the generator *before* the regime knobs existed (commit 30c2254), by the
# helpers below. A change of any of them means the default cohorts changed.
PINNED_FOLDER = "synthetic_v1_n12_size16_rs7_64576de5c7ca"
PINNED = {
    "manifest": "1542c19d0224ad92d87b6eb327c12b33d9da75c3805e2b3c9513973e4fef53a9",
    "truth": "d6334db9a090331913de040c7a99001179f71b8b7a76a9f2bf98b985697b3ad3",
    "images": "799825c45f7c50fa528d8c99f38e97211a2735599661bc3aa47d1caf5093e7af",
    "table": "ce3d1887b48ecd6ab92342240aaaee36d3819f7c28ed05e0349aa3cfa70e4b94",
}


def _digest(*chunks):
    h = hashlib.sha256()
    for chunk in chunks:
        h.update(chunk)
    return h.hexdigest()


def _image_digest(cohort, patients=(0, 5, 11)):
    chunks = []
    for i in patients:
        for column in ("t1", "t2", "mask"):
            image = sitk.ReadImage(str(cohort.X[column].iloc[i]))
            chunks.append(sitk.GetArrayFromImage(image).tobytes())
            chunks.append(np.asarray(image.GetSpacing() + image.GetOrigin() + image.GetDirection()).tobytes())
    return _digest(*chunks)


def _table_digest(table):
    chunks = [table[key].to_csv().encode() for key in ("clinical", "latent", "outcomes")]
    chunks += [table[key].to_numpy().tobytes() for key in ("risk_os", "risk_dm")]
    return _digest(*chunks)


def digests(folder):
    cohort = make_synthetic_cohort(12, image_size=16, random_state=7, data_dir=folder)
    return cohort, {
        "manifest": _digest((cohort.folder / "manifest.csv").read_bytes()),
        "truth": _digest((cohort.folder / "truth.csv").read_bytes()),
        "images": _image_digest(cohort),
        "table": _table_digest(simulate_patients(300, random_state=5, competing_death_weight=1.0)),
    }


def test_defaults_are_bit_identical(tmp_path):
    cohort, found = digests(tmp_path)
    assert cohort.folder.name == PINNED_FOLDER
    assert found == PINNED


def test_noise_columns_are_uninformative_and_leave_the_rest_alone(tmp_path):
    base = simulate_patients(400, random_state=3)
    noisy = simulate_patients(400, random_state=3, clinical_noise_columns=5)
    noise = noisy["clinical"].iloc[:, 11:]
    assert list(noise.columns) == [f"noise_0{j}" for j in range(1, 6)]
    pd.testing.assert_frame_equal(noisy["clinical"].iloc[:, :11], base["clinical"])
    for key in ("latent", "outcomes"):
        pd.testing.assert_frame_equal(noisy[key], base[key])
    assert abs(noise.to_numpy().mean()) < 0.1 and 0.9 < noise.to_numpy().std() < 1.1
    # no hazard reads them: their correlation with the true risk is chance level
    r = [np.corrcoef(noise[c], noisy["risk_os"])[0, 1] for c in noise]
    assert max(abs(v) for v in r) < 0.15

    cohort = make_synthetic_cohort(6, image_size=16, random_state=2, data_dir=tmp_path, clinical_noise_columns=3)
    # extra manifest columns come after the image paths (load_cohort)
    assert list(cohort.X.columns[11:]) == ["t1", "t2", "mask", "noise_01", "noise_02", "noise_03"]
    assert cohort.params["clinical_noise_columns"] == 3
    assert np.issubdtype(cohort.X["noise_01"].dtype, np.floating)


def test_necrosis_contrast_fades_necrosis_only(tmp_path):
    default = make_synthetic_cohort(4, image_size=16, random_state=2, data_dir=tmp_path)
    faint = make_synthetic_cohort(4, image_size=16, random_state=2, data_dir=tmp_path, necrosis_contrast=0.3)
    assert faint.folder != default.folder and faint.params["necrosis_contrast"] == 0.3
    images = ["t1", "t2", "mask"]
    pd.testing.assert_frame_equal(faint.X.drop(columns=images), default.X.drop(columns=images))
    np.testing.assert_array_equal(faint.risk_os, default.risk_os)

    def arrays(cohort, column):
        return [sitk.GetArrayFromImage(sitk.ReadImage(str(p))).astype(float) for p in cohort.X[column]]

    t1 = arrays(default, "t1"), arrays(faint, "t1")
    t2 = arrays(default, "t2"), arrays(faint, "t2")
    # the T1 grid always holds necrosis (at least one voxel); a small tumor's T2 grid may not
    assert all(not np.array_equal(a, b) for a, b in zip(*t1))
    assert any(not np.array_equal(a, b) for a, b in zip(*t2))
    # necrosis is the brightest tissue on T2 (1050 against 640 for viable tumor) and the
    # darkest tumor tissue on T1 (210 against 600): fainter necrosis narrows both
    assert sum(np.percentile(b, 99.5) for b in t2[1]) < sum(np.percentile(a, 99.5) for a in t2[0])
    for a, b, mask_path in zip(*t1, default.X["mask"]):
        mask = sitk.GetArrayFromImage(sitk.ReadImage(str(mask_path))).astype(bool)
        assert b[mask].min() > a[mask].min()


@pytest.mark.parametrize("kwargs, match", [
    ({"clinical_noise_columns": -1}, "clinical_noise_columns"),
    ({"clinical_noise_columns": 2.5}, "clinical_noise_columns"),
    ({"necrosis_contrast": 1.5}, "necrosis_contrast"),
    ({"necrosis_contrast": -0.1}, "necrosis_contrast"),
])
def test_bad_regime_parameters(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_synthetic_cohort(4, image_size=16, data_dir=tmp_path, **kwargs)
