"""The regime knobs of make_synthetic_cohort (issue 28): defaults leave today's cohorts
bit-identical, and each knob changes only what it is documented to change."""
from __future__ import annotations

import hashlib

import numpy as np
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
