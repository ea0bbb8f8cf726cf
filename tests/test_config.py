"""config_context: reader settings for a block of code, their precedence, their reach."""
from __future__ import annotations

import threading

import joblib
import numpy as np
import pytest
import SimpleITK as sitk

from sarcoma_survival import RadiomicsExtractor, VolumePreprocessor, config_context, get_config, set_config
from sarcoma_survival._parallel import parallel_map


def test_context_sets_and_restores_and_checks_values():
    assert get_config() == {"nonfinite": None, "cache": None, "cache_dir": None, "n_jobs": None, "max_voxels": None}
    with config_context(nonfinite="fill", cache=False):
        assert get_config()["nonfinite"] == "fill" and get_config()["cache"] is False
        with config_context(cache=True):  # nested: the omitted settings are kept
            assert get_config()["cache"] is True and get_config()["nonfinite"] == "fill"
        assert get_config()["cache"] is False
    assert get_config()["nonfinite"] is None
    with pytest.raises(ValueError, match="nonfinite must be 'error', 'fill' or None, got 'drop'"):
        set_config(nonfinite="drop")
    with pytest.raises(ValueError, match="n_jobs must be a non-zero int"):
        set_config(n_jobs=0)
    assert get_config()["nonfinite"] is None  # a refused change changes nothing


def test_settings_are_per_thread():
    seen = []
    with config_context(n_jobs=3):
        thread = threading.Thread(target=lambda: seen.append(get_config()["n_jobs"]))
        thread.start()
        thread.join()
    assert seen == [None]


def _setting(name):
    return get_config()[name]


def test_parallel_workers_get_the_callers_settings():
    # threads of a joblib backend do not share this thread's settings: parallel_map carries them
    with joblib.parallel_backend("threading", n_jobs=2), config_context(nonfinite="fill", n_jobs=2):
        assert list(parallel_map(_setting, [("nonfinite",), ("n_jobs",)], n_jobs=2)) == ["fill", 2]


def _nan_cohort(folder):
    import pandas as pd

    image = np.random.default_rng(0).uniform(50, 150, (12, 12, 12)).astype(np.float32)
    image[0, 0, :2] = np.nan
    mask = np.zeros(image.shape, np.uint8)
    mask[4:8, 4:8, 4:8] = 1
    sitk.WriteImage(sitk.GetImageFromArray(image), str(folder / "t1.nrrd"))
    sitk.WriteImage(sitk.GetImageFromArray(mask), str(folder / "mask.nrrd"))
    return pd.DataFrame({"t1": [str(folder / "t1.nrrd")], "mask": [str(folder / "mask.nrrd")]}, index=["P7"])


@pytest.mark.parametrize("reader", [VolumePreprocessor(size=8, n4=False, cache=False),
                                    RadiomicsExtractor(preprocessor=None, cache=False)])
def test_nonfinite_own_parameter_wins_and_unset_readers_keep_the_policy_of_their_fit(reader, tmp_path):
    X = _nan_cohort(tmp_path)
    with pytest.raises(ValueError, match="P7.*nonfinite|nonfinite.*P7"):
        reader.fit(X).transform(X)  # outside a context: "error"
    with config_context(nonfinite="fill"):
        fitted = reader.fit(X)
    assert fitted.nonfinite is None and fitted.nonfinite_ == "fill"
    with pytest.warns(UserWarning, match="non-finite"):
        out = fitted.transform(X)  # outside the context now: the policy of its fit
    assert np.isfinite(np.asarray(out, dtype=float)).all()
    explicit = reader.set_params(nonfinite="error")
    with config_context(nonfinite="fill"), pytest.raises(ValueError, match="P7.*nonfinite|nonfinite.*P7"):
        explicit.fit(X).transform(X)  # the reader's own policy wins


def test_cache_settings_of_the_context_win_over_the_readers(tmp_path):
    from sarcoma_survival.datasets import make_synthetic_cohort

    data = make_synthetic_cohort(2, image_size=12, random_state=0, data_dir=tmp_path / "data")
    fitted_with, request = tmp_path / "fit_cache", tmp_path / "request_cache"
    reader = VolumePreprocessor(size=8, n4=False, cache_dir=fitted_with).fit(data.X)
    with config_context(cache=False):
        off = np.asarray(reader.transform(data.X))
    assert not fitted_with.exists() or not any(fitted_with.rglob("*.npy"))
    with config_context(cache_dir=request):
        on = np.asarray(reader.transform(data.X))
    assert len(list(request.rglob("*.npy"))) == 2
    assert not fitted_with.exists() or not any(fitted_with.rglob("*.npy"))
    np.testing.assert_array_equal(on, off)  # caching changes no result
    assert reader.cache is True and reader.cache_dir == fitted_with  # parameters untouched


def test_max_voxels_of_the_context_bounds_every_reader(tmp_path):
    X = _nan_cohort(tmp_path)  # 12**3 voxels
    reader = VolumePreprocessor(size=8, n4=False, cache=False, nonfinite="fill", max_voxels=10**6).fit(X)
    with config_context(max_voxels=100), pytest.raises(ValueError, match="more than the limit of 100 voxels"):
        reader.transform(X)
    with config_context(max_voxels=100), pytest.raises(ValueError, match="more than the limit of 100 voxels"):
        RadiomicsExtractor(preprocessor=None, cache=False).fit_transform(X)
    with pytest.raises(ValueError, match="max_voxels must be a positive int or None"):
        set_config(max_voxels=0)
