"""Tests of the synthetic cohort generator."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy.stats import spearmanr
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored
from sksurv.nonparametric import kaplan_meier_estimator
from sksurv.util import Surv

from sarcoma_survival._schema import CLINICAL_COLUMNS
from sarcoma_survival.datasets import _synthetic, load_cohort, make_synthetic_cohort
from sarcoma_survival.datasets._synthetic_images import render_patient
from sarcoma_survival.datasets._synthetic_model import HISTOLOGY_FREQUENCIES, simulate_patients


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synthetic")
    return make_synthetic_cohort(16, image_size=24, random_state=3, data_dir=folder)


@pytest.fixture(scope="module")
def draw():
    """A large image-free draw of the patient-level tables at default settings."""
    return simulate_patients(5000, random_state=11)


def _harrell(event, time, risk):
    return concordance_index_censored(np.asarray(event, bool), np.asarray(time, float), np.asarray(risk))[0]


def _one_hot(clinical, columns=None):
    frame = clinical.copy()
    frame["tumor_size_cm"] = np.log(frame["tumor_size_cm"])
    frame["tumor_volume_cm3"] = np.log(frame["tumor_volume_cm3"])
    cats = ["sex", "tumor_depth", "grade", "histology", "location", "rt_timing"]
    encoded = pd.get_dummies(frame, columns=cats, drop_first=True, dtype=float)
    encoded = encoded.fillna(encoded.median())
    return encoded if columns is None else encoded.reindex(columns=columns, fill_value=0.0)


# --------------------------------------------------------------------------- files

def test_cohort_table_and_manifest(small):
    X = small.X
    assert X.shape == (16, 14)
    assert list(X.columns) == [*CLINICAL_COLUMNS, "t1", "t2", "mask"]
    assert X.index.is_unique and X.index.name == "patient_id"
    reloaded = load_cohort(small.manifest)
    pd.testing.assert_frame_equal(reloaded.X, X)
    np.testing.assert_array_equal(reloaded.y_os, small.y_os)
    for key in ("risk_os", "risk_dm", "image_risk_os", "clinical_risk_dm"):
        assert isinstance(small[key], pd.Series) and small[key].index.equals(X.index)
    np.testing.assert_allclose(small.risk_os, small.clinical_risk_os + small.image_risk_os)
    assert small.latent.index.equals(X.index)
    assert small.params["random_state"] == 3 and small.params["pattern_weight"] == 0.5
    assert {"necrotic_fraction", "scatter", "z_necrosis", "z_pattern"} <= set(small.latent.columns)


def test_images_geometry_and_alignment(small):
    for pid in small.X.index[:6]:
        t1 = sitk.ReadImage(small.X.at[pid, "t1"])
        t2 = sitk.ReadImage(small.X.at[pid, "t2"])
        mask = sitk.ReadImage(small.X.at[pid, "mask"])
        assert t1.GetSize() == (24, 24, 8)
        assert t1.GetPixelID() == sitk.sitkInt16 and mask.GetPixelID() == sitk.sitkUInt8
        sx, sy, sz = t1.GetSpacing()
        assert sx == pytest.approx(sy) and sz == pytest.approx(3 * sx)
        # mask on the T1 grid
        for attr in ("GetSize", "GetSpacing", "GetOrigin", "GetDirection"):
            assert getattr(mask, attr)() == pytest.approx(getattr(t1, attr)())
        # T2 on its own grid (other spacing, rotated axes) ...
        assert t2.GetSpacing() != pytest.approx(t1.GetSpacing())
        assert not np.allclose(t2.GetDirection(), t1.GetDirection())
        # ... but physically aligned: the T2-bright tumour sits where the mask is
        m = sitk.GetArrayFromImage(mask).astype(bool)
        t2_on_t1 = sitk.GetArrayFromImage(sitk.Resample(t2, t1, sitk.Transform(), sitk.sitkLinear, 0.0))
        bright = t2_on_t1 > 400
        overlap = (bright & m).sum() / np.sum(bright | m)
        assert overlap > 0.6, (pid, overlap)
        t1_array = sitk.GetArrayFromImage(t1)
        assert t1_array.min() >= 0 and t1_array.max() > 500


def test_mask_volume_matches_clinical_volume():
    table = simulate_patients(12, random_state=5)
    truth, latent = table["clinical_true"], table["latent"]
    for pid in truth.index:
        clinical = {"tumor_size_cm": truth.at[pid, "tumor_size_cm"], "_deep": truth.at[pid, "tumor_depth"] == "deep"}
        _, _, mask = render_patient(clinical, latent.loc[pid], 48)
        volume = sitk.GetArrayFromImage(mask).sum() * np.prod(mask.GetSpacing()) / 1000.0
        assert volume == pytest.approx(truth.at[pid, "tumor_volume_cm3"], rel=0.08)


def test_image_carries_the_necrosis_signal(small):
    """Fraction of T2-very-bright voxels in the mask tracks the latent necrotic fraction."""
    measured = []
    for pid in small.X.index:
        t2 = sitk.Resample(sitk.ReadImage(small.X.at[pid, "t2"]), sitk.ReadImage(small.X.at[pid, "t1"]),
                           sitk.Transform(), sitk.sitkLinear, 0.0)
        m = sitk.GetArrayFromImage(sitk.ReadImage(small.X.at[pid, "mask"])).astype(bool)
        values = sitk.GetArrayFromImage(t2)[m]
        measured.append(np.mean(values > 0.5 * (np.median(values) + values.max())))
    rho = spearmanr(measured, small.latent["necrotic_fraction"]).statistic
    assert rho > 0.7


def test_reuse_and_determinism(small, tmp_path):
    again = make_synthetic_cohort(16, image_size=24, random_state=3, data_dir=small.folder.parent)
    assert again.folder == small.folder
    pd.testing.assert_frame_equal(again.X, small.X)
    elsewhere = make_synthetic_cohort(16, image_size=24, random_state=3, data_dir=tmp_path)
    assert elsewhere.folder.name == small.folder.name
    images = ["t1", "t2", "mask"]
    pd.testing.assert_frame_equal(elsewhere.X.drop(columns=images), small.X.drop(columns=images))
    np.testing.assert_array_equal(elsewhere.y_dm, small.y_dm)
    for column in ("t1", "t2", "mask"):
        a = sitk.GetArrayFromImage(sitk.ReadImage(elsewhere.X[column].iloc[4]))
        b = sitk.GetArrayFromImage(sitk.ReadImage(small.X[column].iloc[4]))
        np.testing.assert_array_equal(a, b)
    other = make_synthetic_cohort(16, image_size=24, random_state=4, data_dir=tmp_path)
    assert other.folder != elsewhere.folder
    assert not np.allclose(other.risk_os, elsewhere.risk_os)
    weighted = make_synthetic_cohort(16, image_size=24, random_state=3, data_dir=tmp_path, pattern_weight=0.0)
    assert weighted.folder != elsewhere.folder


def test_interrupted_run_is_not_reused(tmp_path, monkeypatch):
    real = _synthetic._write_patient
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(_synthetic, "_write_patient", flaky)
    with pytest.raises(KeyboardInterrupt):
        make_synthetic_cohort(5, image_size=16, random_state=0, data_dir=tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing left behind, nothing to reuse
    monkeypatch.setattr(_synthetic, "_write_patient", real)
    cohort = make_synthetic_cohort(5, image_size=16, random_state=0, data_dir=tmp_path)
    assert (cohort.folder / "COMPLETE").is_file() and len(cohort.X) == 5


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_patients": 1}, "n_patients"),
        ({"image_size": 8}, "image_size"),
        ({"random_state": np.random.RandomState(0)}, "random_state"),
        ({"necrosis_weight": float("nan")}, "necrosis_weight"),
        ({"n_jobs": 0}, "n_jobs"),
    ],
)
def test_bad_parameters(tmp_path, kwargs, match):
    args = {"n_patients": 4, "image_size": 16, "data_dir": tmp_path, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_synthetic_cohort(**args)


# ------------------------------------------------------------- patient-level model

def test_clinical_marginals(draw):
    c = draw["clinical"]
    assert c["age"].mean() == pytest.approx(55.7, abs=1.0)
    assert c["age"].std() == pytest.approx(17.4, abs=1.0)
    assert (c["sex"] == "F").mean() == pytest.approx(0.425, abs=0.02)
    assert c["tumor_size_cm"].median() == pytest.approx(9.0, abs=0.5)
    assert (c["tumor_depth"].dropna() == "deep").mean() == pytest.approx(0.90, abs=0.015)
    assert (c["grade"].dropna() == "high").mean() == pytest.approx(0.93, abs=0.015)
    location = c["location"].value_counts(normalize=True)
    assert location["lower_extremity"] == pytest.approx(0.68, abs=0.02)
    assert location["upper_extremity"] == pytest.approx(0.185, abs=0.02)
    assert location["axial"] == pytest.approx(0.135, abs=0.02)
    assert c["neoadjuvant_chemo"].mean() == pytest.approx(0.33, abs=0.025)
    assert (c["rt_timing"].dropna() == "preop").mean() == pytest.approx(0.46, abs=0.02)
    histology = c["histology"].value_counts(normalize=True)
    for name, frequency in HISTOLOGY_FREQUENCIES.items():
        assert histology[name] == pytest.approx(frequency, abs=0.02)
    missing = c.isna().mean()
    assert 0.0 < missing["tumor_depth"] < 0.05 and 0.0 < missing["grade"] < 0.05
    assert missing[["age", "sex", "tumor_size_cm", "tumor_volume_cm3"]].eq(0).all()


def test_censoring_and_follow_up(draw):
    o = draw["outcomes"]
    assert 1.0 - o["os_event"].mean() == pytest.approx(0.70, abs=0.03)
    assert 1.0 - o["dm_event"].mean() == pytest.approx(0.61, abs=0.03)
    assert (o["dm_time"] <= o["os_time"]).all() and (o[["os_time", "dm_time"]] >= 1).all().all()
    # reverse Kaplan-Meier median follow-up near 4 years
    time, surv = kaplan_meier_estimator(~o["os_event"].to_numpy(), o["os_time"].to_numpy(float))
    median_years = time[np.argmax(surv <= 0.5)] / 365.25
    assert median_years == pytest.approx(4.0, abs=0.5)


def test_latent_independent_of_clinical(draw):
    c, latent = draw["clinical_true"], draw["latent"]
    clinical_numbers = pd.DataFrame({
        "age": c["age"], "size": np.log(c["tumor_size_cm"]), "volume": np.log(c["tumor_volume_cm3"]),
        "high": (c["grade"] == "high").astype(float), "deep": (c["tumor_depth"] == "deep").astype(float),
        "mets": c["mets_at_presentation"],
    })
    for column in ("z_necrosis", "z_pattern"):
        r = clinical_numbers.corrwith(latent[column]).abs()
        assert (r < 0.05).all(), (column, r)


def test_oracle_beats_clinical_cox_at_defaults(draw):
    """Oracle OS C >= 0.75 on the default cohort; a clinical Cox model is clearly lower."""
    cohort = simulate_patients(287, random_state=0)
    o = cohort["outcomes"]
    oracle = _harrell(o["os_event"], o["os_time"], cohort["risk_os"])
    assert oracle >= 0.75
    x_train = _one_hot(cohort["clinical"])
    cox = CoxPHSurvivalAnalysis(alpha=0.01).fit(x_train, Surv.from_arrays(o["os_event"], o["os_time"].astype(float)))
    fresh = draw["outcomes"]
    clinical_c = _harrell(fresh["os_event"], fresh["os_time"], cox.predict(_one_hot(draw["clinical"], x_train.columns)))
    fresh_oracle = _harrell(fresh["os_event"], fresh["os_time"], draw["risk_os"])
    assert fresh_oracle >= 0.75
    assert clinical_c < fresh_oracle - 0.08
    image_only = _harrell(fresh["os_event"], fresh["os_time"], draw["image_risk_os"])
    assert image_only > clinical_c


def test_weights_shape_the_hazard():
    table = simulate_patients(50, random_state=2, necrosis_weight=0.0, pattern_weight=0.0)
    np.testing.assert_array_equal(table["image_risk_os"], 0.0)
    table = simulate_patients(50, random_state=2, clinical_weight=0.0, necrosis_weight=2.0, pattern_weight=1.0)
    np.testing.assert_allclose(table["risk_dm"], 2.0 * table["latent"]["z_necrosis"] + table["latent"]["z_pattern"])


def test_parallel_rendering_gives_the_same_files(tmp_path):
    serial = make_synthetic_cohort(4, image_size=16, random_state=7, data_dir=tmp_path / "a")
    parallel = make_synthetic_cohort(4, image_size=16, random_state=7, data_dir=tmp_path / "b", n_jobs=2)
    for column in ("t1", "t2", "mask"):
        for a, b in zip(serial.X[column], parallel.X[column]):
            np.testing.assert_array_equal(sitk.GetArrayFromImage(sitk.ReadImage(a)),
                                          sitk.GetArrayFromImage(sitk.ReadImage(b)))


def test_random_state_none_records_the_seed(tmp_path):
    cohort = make_synthetic_cohort(3, image_size=12, random_state=None, data_dir=tmp_path)
    seed = cohort.params["random_state"]
    again = make_synthetic_cohort(3, image_size=12, random_state=seed, data_dir=tmp_path)
    assert again.folder == cohort.folder
