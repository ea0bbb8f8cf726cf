"""load_tcia_sts on the real 51-patient TCIA STS cohort, and every baseline end to end on it
under repeated stratified cross-validation (skipped when the validation bundle is absent)."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from scipy.spatial.distance import pdist
from sklearn.model_selection import RepeatedStratifiedKFold, cross_validate

from sarcoma_survival._schema import CLINICAL_COLUMNS
from sarcoma_survival.datasets import load_tcia_sts
from sarcoma_survival.metrics import concordance_scorer
from sarcoma_survival.models import (
    ClinicalRSF,
    RadiomicsCoxNet,
    RadiomicsRSF,
    SarculatorCoxPH,
    SarculatorRSF,
)
from sarcoma_survival.preprocessing import VolumePreprocessor, tumor_largest_diameter_cm, tumor_volume_cm3
from sarcoma_survival.radiomics import RadiomicsExtractor

# Tiny cohorts make a penalized Cox model keep more features than events; the warning that
# says so is tested in tests/test_models_radiomics.py and would only be noise in these checks
# (the 51 real patients have 10-20 events per training fold).
pytestmark = [pytest.mark.realdata,
              pytest.mark.filterwarnings("ignore::sarcoma_survival.models.FeaturesExceedEventsWarning")]


@pytest.fixture(scope="module")
def sts(validation_dir):
    return load_tcia_sts(validation_dir / "sts_tcia")


def test_schema_and_counts(sts, validation_dir):
    X = sts.X
    assert X.shape == (51, 14)
    assert list(X.columns) == list(CLINICAL_COLUMNS) + ["t1", "mask", "time_origin"]  # T1 only: no t2
    assert sts.time_origin == "biopsy" and set(X["time_origin"]) == {"biopsy"}
    assert X.index[0] == "STS_001" and X.index.is_unique
    assert int(sts.y_os["event"].sum()) == 15 and int(sts.y_dm["event"].sum()) == 24
    assert (sts.y_os["time"] > 0).all() and (sts.y_dm["time"] <= sts.y_os["time"]).all()
    assert X["sex"].value_counts().to_dict() == {"F": 27, "M": 24}
    assert X["grade"].value_counts(dropna=False).to_dict() == {"high": 43, "low": 5, np.nan: 3}
    assert set(X.index[X["grade"].isna()]) == {"STS_040", "STS_047", "STS_051"}
    assert X["location"].value_counts().to_dict() == {
        "lower_extremity": 44, "axial": 4, "upper_extremity": 3}
    assert X["histology"].value_counts()["undifferentiated pleomorphic sarcoma"] == 17
    for column in ("tumor_depth", "neoadjuvant_chemo", "mets_at_presentation", "rt_timing"):
        assert X[column].isna().all()
    clinical = pd.read_csv(validation_dir / "sts_tcia" / "clinical.csv", index_col="patient_id")
    np.testing.assert_allclose(X["tumor_volume_cm3"], clinical.loc[X.index, "mask_volume_cm3"])
    np.testing.assert_array_equal(sts.y_os["time"], clinical.loc[X.index, "os_time_days"])
    for column in ("t1", "mask"):
        assert all(Path(p).is_absolute() and Path(p).is_file() for p in X[column])


def test_tumour_size_is_the_largest_diameter_of_the_mask(sts):
    X = sts.X
    smallest = X["tumor_volume_cm3"].idxmin()
    mask = sitk.ReadImage(X.loc[smallest, "mask"])
    index = np.argwhere(sitk.GetArrayFromImage(mask) > 0)[:, ::-1]
    brute_force = pdist(index * np.asarray(mask.GetSpacing())).max() / 10  # all voxel pairs
    assert X.loc[smallest, "tumor_size_cm"] == pytest.approx(brute_force, rel=1e-12)
    assert tumor_largest_diameter_cm(mask) == pytest.approx(brute_force, rel=1e-12)
    # one mechanism: the loader's sizes are the public measurement, and the public volume
    # agrees with the sheet's mask volume (rounded there: 1.3e-5 at most, measured)
    np.testing.assert_array_equal(X["tumor_size_cm"], [tumor_largest_diameter_cm(p) for p in X["mask"]])
    np.testing.assert_allclose([tumor_volume_cm3(p) for p in X["mask"]], X["tumor_volume_cm3"], rtol=1e-4)
    # isodiametric inequality: no shape of volume V is narrower than the ball of volume V
    sphere = (6 * X["tumor_volume_cm3"] / np.pi) ** (1 / 3)
    assert (X["tumor_size_cm"] + 0.7 > sphere).all()  # 0.7 cm: voxel-centre measurement
    assert X["tumor_size_cm"].between(2, 40).all()


def test_missing_folder_is_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match="TCIA STS folder not found"):
        load_tcia_sts(tmp_path / "nowhere")
    (tmp_path / "sts_tcia").mkdir()
    monkeypatch.setenv("SARCOMA_SURVIVAL_VALIDATION", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="clinical.csv"):
        load_tcia_sts()


def test_missing_image_names_the_patient(tmp_path, validation_dir):
    folder = tmp_path / "sts_tcia"
    (folder / "nifti").mkdir(parents=True)
    table = pd.read_csv(validation_dir / "sts_tcia" / "clinical.csv").iloc[:2]
    table.to_csv(folder / "clinical.csv", index=False)
    with pytest.raises(FileNotFoundError, match="patient STS_001.*MR_T1_image"):
        load_tcia_sts(folder)


def _repeated_cv(model, X, y, n_repeats):
    cv = RepeatedStratifiedKFold(n_splits=5, n_repeats=n_repeats, random_state=0)
    folds = list(cv.split(X, y["event"]))
    return cross_validate(model, X, y, cv=folds, scoring=concordance_scorer)["test_score"]


CLINICAL_MODELS = [
    pytest.param(lambda: SarculatorRSF(n_estimators=50, random_state=0), id="SarculatorRSF"),
    pytest.param(lambda: SarculatorCoxPH(), id="SarculatorCoxPH"),
    pytest.param(lambda: ClinicalRSF(n_estimators=50, random_state=0), id="ClinicalRSF"),
]


@pytest.mark.parametrize("make", CLINICAL_MODELS)
@pytest.mark.parametrize("outcome", ["y_os", "y_dm"])
def test_clinical_baselines_run_under_repeated_cv(sts, make, outcome):
    scores = _repeated_cv(make(), sts.X, sts[outcome], n_repeats=2)
    assert scores.shape == (10,) and np.isfinite(scores).all()
    # weak signal only (n = 51): the mean C-index stays in a sane band around chance
    assert 0.45 < scores.mean() < 0.9


def _extractor():
    # the IBSI images are already N4-corrected: z-score only (the cache is shared by all)
    return RadiomicsExtractor(preprocessor=VolumePreprocessor(n4=False))


@pytest.mark.slow
@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: RadiomicsRSF(_extractor(), n_estimators=50, random_state=0),
                     id="RadiomicsRSF"),
        pytest.param(lambda: RadiomicsRSF(_extractor(), include_clinical=True, n_estimators=50,
                                          random_state=0), id="RadiomicsClinicalRSF"),
        pytest.param(lambda: RadiomicsCoxNet(_extractor(), n_alphas=20, random_state=0),
                     id="RadiomicsCoxNet"),
    ],
)
@pytest.mark.parametrize("outcome", ["y_os", "y_dm"])
def test_radiomics_baselines_run_under_repeated_cv(sts, make, outcome):
    scores = _repeated_cv(make(), sts.X, sts[outcome], n_repeats=1)
    assert scores.shape == (5,) and np.isfinite(scores).all()
    assert 0.3 < scores.mean() < 0.9
