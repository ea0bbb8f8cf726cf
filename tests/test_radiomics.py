"""RadiomicsExtractor on tiny synthetic NIfTI cohorts (fast; real-data baselines live elsewhere)."""
from __future__ import annotations

import copy
import logging
import pickle

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

from sarcoma_survival.radiomics import (
    RadiomicsExtractionError,
    RadiomicsExtractor,
    _extractor,
    default_params_path,
    load_params,
)

# The reference runs of PyRadiomics itself in these tests validate parameters with pykwalify,
# which loads its schema extension through importlib's deprecated ``load_module``.
pytestmark = pytest.mark.filterwarnings(r"ignore:the load_module\(\) method is deprecated:DeprecationWarning")

SHAPE_PREFIX = "original_shape_"
SIZE = (12, 18, 18)  # z, y, x
SPACING = (0.9, 0.9, 2.5)  # x, y, z


def _write(array, path, spacing=SPACING, origin=(0.0, 0.0, 0.0)):
    image = sitk.GetImageFromArray(array)
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    sitk.WriteImage(image, str(path))
    return str(path)


def _make_patient(folder, pid, seed):
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.indices(SIZE)
    radius = 4.0 + seed % 3
    centre = np.array(SIZE) / 2 + rng.uniform(-1, 1, 3)
    inside = ((zz - centre[0]) * 2.5) ** 2 + ((yy - centre[1]) * 0.9) ** 2 + ((xx - centre[2]) * 0.9) ** 2
    mask = (inside <= (radius * 2.0) ** 2).astype(np.uint8)
    t1 = rng.normal(300, 40, SIZE) + 150 * mask * rng.uniform(0.5, 1.5, SIZE)
    t2 = rng.normal(500, 80, SIZE) - 120 * mask * rng.uniform(0.2, 1.0, SIZE)
    return {
        "t1": _write(t1.astype(np.float32), folder / f"{pid}_t1.nii.gz"),
        "t2": _write(t2.astype(np.float32), folder / f"{pid}_t2.nii.gz"),
        "mask": _write(mask, folder / f"{pid}_mask.nii.gz"),
        "age": 40.0 + seed,
    }


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = tmp_path_factory.mktemp("radiomics_cohort")
    rows = {f"P{i:02d}": _make_patient(folder, f"P{i:02d}", i) for i in range(8)}
    X = pd.DataFrame.from_dict(rows, orient="index")
    rng = np.random.default_rng(1)
    y = Surv.from_arrays(event=np.arange(8) != 0, time=rng.uniform(100, 1000, 8))
    return X, y


def _pyradiomics(image, mask, params, drop_shape=False):
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    extractor = RadiomicsFeatureExtractor(copy.deepcopy(params))
    if drop_shape:
        extractor.enabledFeatures.pop("shape", None)
    result = extractor.execute(image, mask)
    return {k: float(v) for k, v in result.items() if not k.startswith("diagnostics_")}


@pytest.fixture
def count_extractions(monkeypatch):
    calls = []
    original = _extractor.extract_patient

    def counting(patient, row, task):
        calls.append(patient)
        return original(patient, row, task)

    monkeypatch.setattr(_extractor, "extract_patient", counting)
    return calls


def test_raw_mode_reproduces_pyradiomics(cohort, tmp_path):
    X, _ = cohort
    features = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path).fit_transform(X.iloc[:2])
    params = load_params(default_params_path("raw"))
    for pid in X.index[:2]:
        for channel in ("t1", "t2"):
            ref = _pyradiomics(X.loc[pid, channel], X.loc[pid, "mask"], params, drop_shape=channel == "t2")
            ours = features.loc[pid, [f"{channel}_{k}" for k in ref]].to_numpy()
            np.testing.assert_allclose(ours, list(ref.values()), rtol=1e-12)
            assert len(ref) == (100 if channel == "t1" else 90)


def test_columns_shape_once_duplicate_and_t1_only(cohort, tmp_path):
    X, _ = cohort
    once = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path).fit(X)
    names = once.get_feature_names_out()
    assert len(names) == 190
    assert sum(n.startswith("t1_") for n in names) == 100
    assert not any(n.startswith("t2_" + SHAPE_PREFIX) for n in names)
    # 100 = PyRadiomics' 107 default original-image features minus the 7 documented ones.
    dropped = {"Range", "TotalEnergy", "SumAverage", "VoxelVolume", "SurfaceVolumeRatio", "Elongation", "Flatness"}
    assert not {n.rsplit("_", 1)[1] for n in names} & dropped

    dup = RadiomicsExtractor(preprocessor=None, duplicate_shape=True, cache_dir=tmp_path)
    out = dup.fit_transform(X.iloc[:3])
    assert out.shape == (3, 200)
    shape_cols = [c for c in out.columns if c.startswith("t1_" + SHAPE_PREFIX)]
    assert len(shape_cols) == 10
    np.testing.assert_array_equal(out[shape_cols].to_numpy(), out[[c.replace("t1_", "t2_", 1) for c in shape_cols]])

    t1_only = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path).fit_transform(X.drop(columns="t2").iloc[:3])
    assert t1_only.shape == (3, 100)
    assert all(c.startswith("t1_") for c in t1_only.columns)


def test_index_order_extra_columns_and_set_output(cohort, tmp_path):
    X, _ = cohort
    ext = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path).fit(X.iloc[:4])
    ref = ext.transform(X.iloc[:4])
    shuffled = X.iloc[[3, 1, 0, 2]][["mask", "age", "t2", "t1"]].assign(extra="x")
    out = ext.transform(shuffled)
    assert list(out.index) == list(shuffled.index)
    pd.testing.assert_frame_equal(out, ref.loc[shuffled.index])
    assert np.isfinite(out.to_numpy()).all()
    assert list(ext.set_output(transform="pandas").transform(shuffled).columns) == list(ext.get_feature_names_out())


def test_refits_in_cv_and_grid_search_never_extract_twice(cohort, tmp_path, count_extractions):
    X, y = cohort
    first_order = ["t1_original_firstorder_Mean", "t2_original_firstorder_Mean"]
    model = make_pipeline(
        RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path),
        ColumnTransformer([("keep", StandardScaler(), first_order)]),
        CoxPHSurvivalAnalysis(alpha=1.0),
    )
    cv = KFold(2, shuffle=True, random_state=0)
    scores = cross_validate(model, X, y, cv=cv)["test_score"]
    assert np.isfinite(scores).all()
    assert sorted(count_extractions) == sorted(X.index)  # every patient once, over all folds

    search = GridSearchCV(model, {"coxphsurvivalanalysis__alpha": [0.1, 1.0, 10.0]}, cv=cv).fit(X, y)
    # features read back from the cache score exactly as the freshly extracted ones
    np.testing.assert_allclose(search.cv_results_["split0_test_score"][1], scores[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(search.cv_results_["split1_test_score"][1], scores[1], rtol=0, atol=1e-12)
    clone(model).fit(X, y)
    assert len(count_extractions) == len(X)  # grid search and refit read the cache only

    # A change of PyRadiomics parameters is a new cache key: extracted again.
    params = load_params(default_params_path("raw"))
    params["setting"]["binWidth"] = 10
    RadiomicsExtractor(params, preprocessor=None, cache_dir=tmp_path).fit_transform(X.iloc[:2])
    assert len(count_extractions) == len(X) + 2


def test_duplicated_patient_extracted_once_and_cache_disabled(cohort, tmp_path, count_extractions):
    X, _ = cohort
    boot = X.iloc[[0, 0, 1, 0]]
    out = RadiomicsExtractor(preprocessor=None, cache=False, cache_dir=tmp_path).fit_transform(boot)
    assert count_extractions == ["P00", "P01"]
    np.testing.assert_array_equal(out.iloc[0], out.iloc[3])
    assert not (tmp_path / "radiomics").exists()


def test_cache_is_keyed_by_file_contents(cohort, tmp_path, count_extractions):
    X, _ = cohort
    new = _make_patient(tmp_path, "Q", 3)
    table = pd.DataFrame([new], index=["Q"])
    ext = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path).fit(table)
    before = ext.transform(table)
    ext.transform(table)
    assert count_extractions == ["Q"]
    t1 = sitk.ReadImage(new["t1"])
    sitk.WriteImage(t1 * 2.0, new["t1"])  # same path, new contents
    after = ext.transform(table)
    assert count_extractions == ["Q", "Q"]
    np.testing.assert_allclose(after["t1_original_firstorder_Mean"], 2 * before["t1_original_firstorder_Mean"],
                               rtol=1e-6)
    pd.testing.assert_series_equal(after["t2_original_firstorder_Mean"], before["t2_original_firstorder_Mean"])


def test_parallel_equals_serial(cohort, tmp_path):
    X, _ = cohort
    serial = RadiomicsExtractor(preprocessor=None, cache=False, n_jobs=1).fit_transform(X.iloc[:4])
    parallel = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path, n_jobs=2).fit_transform(X.iloc[:4])
    pd.testing.assert_frame_equal(serial, parallel)


def test_failing_patient_is_named(cohort, tmp_path):
    X, _ = cohort
    bad = X.iloc[:2].copy()
    empty = np.zeros(SIZE, dtype=np.uint8)
    bad.loc["P01", "mask"] = _write(empty, tmp_path / "empty_mask.nii.gz")
    with pytest.raises(RadiomicsExtractionError, match=r"patient P01, column 't1'.*empty_mask"):
        RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path).fit(bad).transform(bad)

    broken = X.iloc[:2].copy()
    (tmp_path / "broken.nii.gz").write_bytes(b"not an image")
    broken.loc["P00", "t2"] = str(tmp_path / "broken.nii.gz")
    with pytest.raises(RadiomicsExtractionError, match=r"patient P00.*broken\.nii\.gz"):
        RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path, n_jobs=2).fit_transform(broken)

    missing = X.iloc[:2].copy()
    missing.loc["P01", "t2"] = np.nan
    with pytest.raises(ValueError, match="column 't2' has no image path for patient.*P01"):
        RadiomicsExtractor(preprocessor=None).fit(missing)
    with pytest.raises(ValueError, match="no column 't1'"):
        RadiomicsExtractor(preprocessor=None).fit(X.drop(columns="t1"))
    with pytest.raises(TypeError, match="DataFrame"):
        RadiomicsExtractor(preprocessor=None).fit(X.to_numpy())


def test_user_params_file_and_dict(cohort, tmp_path):
    X, _ = cohort
    path = tmp_path / "params.yaml"
    path.write_text(
        "imageType:\n  Original: {}\nfeatureClass:\n  firstorder: [Mean, Median]\nsetting:\n  binWidth: 10\n"
    )
    from_file = RadiomicsExtractor(path, preprocessor=None, cache_dir=tmp_path).fit_transform(X.iloc[:2])
    assert list(from_file.columns) == [
        "t1_original_firstorder_Mean", "t1_original_firstorder_Median",
        "t2_original_firstorder_Mean", "t2_original_firstorder_Median",
    ]
    mask = sitk.ReadImage(X.iloc[0]["mask"]) > 0
    t1 = sitk.GetArrayFromImage(sitk.ReadImage(X.iloc[0]["t1"]))[sitk.GetArrayFromImage(mask) > 0]
    np.testing.assert_allclose(from_file.iloc[0]["t1_original_firstorder_Mean"], t1.mean(), rtol=1e-6)
    as_dict = {"featureClass": {"firstorder": ["Mean", "Median"]}, "setting": {"binWidth": 10}}
    pd.testing.assert_frame_equal(
        RadiomicsExtractor(as_dict, preprocessor=None, cache_dir=tmp_path).fit_transform(X.iloc[:2]), from_file
    )
    with pytest.raises(FileNotFoundError, match="nope.yaml"):
        RadiomicsExtractor(tmp_path / "nope.yaml", preprocessor=None).fit(X)
    with pytest.raises(ValueError, match="rejected by PyRadiomics"):
        RadiomicsExtractor({"setting": {"binWidth": "wide"}}, preprocessor=None).fit(X)
    with pytest.raises(ValueError, match="unknown top-level keys"):
        RadiomicsExtractor({"settings": {}}, preprocessor=None).fit(X)


def test_t2_on_its_own_grid_is_resampled_onto_the_mask(cohort, tmp_path):
    X, _ = cohort
    row = X.iloc[0].copy()
    t2 = sitk.ReadImage(row["t2"])
    finer = sitk.Resample(t2, [s * 2 for s in t2.GetSize()], sitk.Transform(), sitk.sitkLinear,
                          t2.GetOrigin(), [s / 2 for s in t2.GetSpacing()], t2.GetDirection())
    row["t2"] = str(tmp_path / "t2_fine.nii.gz")
    sitk.WriteImage(finer, row["t2"])
    table = pd.DataFrame([row], index=["fine"])
    out = RadiomicsExtractor(preprocessor=None, cache_dir=tmp_path).fit_transform(table)
    back = sitk.Resample(finer, sitk.ReadImage(row["mask"]), sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    ref = _pyradiomics(back, row["mask"], load_params(default_params_path("raw")), drop_shape=True)
    np.testing.assert_allclose(out.iloc[0][[f"t2_{k}" for k in ref]], list(ref.values()), rtol=1e-10)


class _ZScore(BaseEstimator):
    """A stand-in preprocessor honouring the ``load_native`` contract: z-score inside the mask."""

    def __init__(self, offset=0.0, n_jobs=None):
        self.offset = offset
        self.n_jobs = n_jobs

    def fit(self, X, y=None):
        return self

    def load_native(self, row):
        mask = sitk.ReadImage(row["mask"])
        inside = sitk.GetArrayFromImage(mask) > 0
        images = {}
        for channel in ("t1", "t2"):
            if channel in row.index:
                image = sitk.ReadImage(row[channel], sitk.sitkFloat32)
                arr = sitk.GetArrayFromImage(image)
                z = (arr - arr[inside].mean()) / arr[inside].std() + self.offset
                images[channel] = sitk.GetImageFromArray(z.astype(np.float32))
                images[channel].CopyInformation(image)
        return images, mask


def test_preprocessor_load_native_is_used_and_keys_the_cache(cohort, tmp_path, count_extractions):
    X, _ = cohort
    default = RadiomicsExtractor(preprocessor=_ZScore()).fit(X.iloc[:2])
    assert default.params_ == load_params(default_params_path("zscore"))  # z-score defaults
    assert default.params_["setting"]["binWidth"] == 0.05
    params = load_params(default_params_path("zscore"))
    params["setting"]["binWidth"] = 0.5  # coarser bins keep the test fast
    ext = RadiomicsExtractor(params, preprocessor=_ZScore(), cache_dir=tmp_path).fit(X.iloc[:2])
    out = ext.transform(X.iloc[:2])
    assert out.shape == (2, 190)
    np.testing.assert_allclose(out["t1_original_firstorder_Mean"], 0.0, atol=1e-5)
    np.testing.assert_allclose(out["t2_original_firstorder_Variance"], 1.0, rtol=1e-4)
    images, mask = _ZScore().load_native(X.iloc[0])
    ref = _pyradiomics(images["t1"], mask, params)
    np.testing.assert_allclose(out.iloc[0][[f"t1_{k}" for k in ref]], list(ref.values()), rtol=1e-10)
    assert len(count_extractions) == 2
    ext.set_params(preprocessor=_ZScore(offset=1.0)).fit(X.iloc[:1]).transform(X.iloc[:1])
    assert len(count_extractions) == 3  # new preprocessing parameters: a new cache entry
    ext.set_params(preprocessor=_ZScore(offset=1.0, n_jobs=4)).fit(X.iloc[:1]).transform(X.iloc[:1])
    assert len(count_extractions) == 3  # n_jobs does not change the images: same cache entry


def test_logging_quiet_by_default_and_progress_bar(cohort, tmp_path, capfd):
    X, _ = cohort
    logger = logging.getLogger("radiomics")
    level = logger.level
    records = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger.addHandler(handler)
    params = {"featureClass": {"firstorder": ["Mean"]}, "setting": {"binCount": 8}}  # PyRadiomics warns on binCount
    try:
        RadiomicsExtractor(params, preprocessor=None, cache=False).fit_transform(X.iloc[:2])
        assert records == []
        assert capfd.readouterr().err == ""  # no progress bar either
        assert logger.level == level
        RadiomicsExtractor(params, preprocessor=None, cache=False, verbose=2).fit_transform(X.iloc[:2])
    finally:
        logger.removeHandler(handler)
    assert any("Fixed bin Count" in r.getMessage() for r in records)  # PyRadiomics' own warning, let through
    assert "2/2" in capfd.readouterr().err  # the progress bar


def test_estimator_contract(cohort):
    X, _ = cohort
    ext = RadiomicsExtractor(preprocessor=None, n_jobs=2)
    assert clone(ext).get_params() == ext.get_params()
    with pytest.raises(Exception, match="not fitted"):
        ext.transform(X)
    with pytest.raises(ValueError, match="preprocessor"):
        RadiomicsExtractor(preprocessor="n4").fit(X)
    fitted = ext.fit(X)
    assert fitted is ext and ext.get_params()["n_jobs"] == 2  # fit leaves the parameters alone
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.get_feature_names_out(), fitted.get_feature_names_out())
    assert restored.channels_ == ("t1", "t2") and restored.n_features_in_ == X.shape[1]


def test_default_preprocessing_is_volume_preprocessor_load_native(cohort, tmp_path):
    from sarcoma_survival.preprocessing import VolumePreprocessor

    X, _ = cohort
    table = X.iloc[:1]
    default = RadiomicsExtractor().fit(table)
    assert isinstance(default.preprocessor_, VolumePreprocessor)
    assert default.params_ == load_params(default_params_path("zscore"))
    # Coarser bins than the default keep this test fast; the images are what is checked here.
    params = load_params(default_params_path("zscore"))
    params["setting"]["binWidth"] = 0.5
    out = RadiomicsExtractor(params, cache_dir=tmp_path).fit_transform(table)
    assert out.shape == (1, 190)
    images, mask = VolumePreprocessor(cache_dir=tmp_path).fit(table).load_native(table.iloc[0])
    for channel in ("t1", "t2"):
        ref = _pyradiomics(images[channel], mask, params, drop_shape=channel == "t2")
        np.testing.assert_allclose(out.iloc[0][[f"{channel}_{k}" for k in ref]], list(ref.values()), rtol=1e-10)


def test_header_round_off_takes_the_mask_grid_not_an_interpolation(cohort, tmp_path):
    """T1 and T2 whose origin differs from the mask's by 5e-4 mm (a header written with
    fewer digits) are on the mask's grid by ``utils.same_grid``: they take its header, so
    the features equal those of the exact files. Before one helper served both paths, the
    radiomics copy's 1e-4 mm tolerance interpolated such a T2 (measured: features moved by
    up to 10 %, the edge voxels blended with the zero padding) and handed such a T1 to
    PyRadiomics, whose own geometry check (ITK, 1e-6 of a voxel) refused it."""
    X, _ = cohort
    shifted = X.iloc[:2].copy()
    for pid in shifted.index:
        for channel in ("t1", "t2"):
            image = sitk.ReadImage(X.at[pid, channel])
            image.SetOrigin(tuple(o + 5e-4 for o in image.GetOrigin()))
            shifted.at[pid, channel] = str(tmp_path / f"{pid}_{channel}_shifted.nii.gz")
            sitk.WriteImage(image, shifted.at[pid, channel])
    exact = RadiomicsExtractor(preprocessor=None, cache=False).fit_transform(X.iloc[:2])
    moved = RadiomicsExtractor(preprocessor=None, cache=False).fit_transform(shifted)
    pd.testing.assert_frame_equal(moved, exact, check_exact=True)
