"""The preloaded data path (one tensor per input, batches by index) against the lazy one."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset
from sksurv.util import Surv

from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.nn import DenseNetSurvival, MMNNSurvival
from sarcoma_survival.nn._data import IndexBatches, PreloadedDataset, preload
from sarcoma_survival.preprocessing import VolumePreprocessor

TINY_DENSENET = {"module__init_features": 4, "module__growth_rate": 4, "module__block_config": (1, 1)}


@pytest.mark.parametrize("prefetch", [False, True])
@pytest.mark.parametrize("shuffle, drop_last", [(True, False), (True, True), (False, False)])
def test_index_batches_follow_the_dataloader(shuffle, drop_last, prefetch):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(23, 3)).astype(np.float32)
    y = np.column_stack([rng.uniform(1, 9, 23), rng.random(23) < 0.5]).astype(np.float64)
    torch.manual_seed(5)
    lazy = list(torch.utils.data.DataLoader(Dataset(X, y), batch_size=5, shuffle=shuffle, drop_last=drop_last))
    state_lazy = torch.random.get_rng_state()
    subset = torch.utils.data.Subset(PreloadedDataset(preload(X, "host", "cpu"), y), np.arange(23))
    torch.manual_seed(5)
    loader = IndexBatches(subset, 5, shuffle=shuffle, drop_last=drop_last, prefetch=prefetch)
    fast = list(loader)
    assert torch.equal(torch.random.get_rng_state(), state_lazy)  # later random draws unchanged
    assert len(fast) == len(lazy) == len(loader)
    for (xa, ya), (xb, yb) in zip(lazy, fast):
        assert torch.equal(xa, xb) and torch.equal(ya, yb) and ya.dtype == yb.dtype == torch.float64


def _volumes(n=18, size=12, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2, size, size, size)).astype(np.float32)
    X[:, :, 3:7, 3:7, 3:7] += rng.normal(size=(n, 1, 1, 1, 1)).astype(np.float32)
    return X, Surv.from_arrays(rng.random(n) < 0.7, rng.uniform(10, 1000, n))


def test_densenet_preloaded_equals_lazy():
    X, y = _volumes()
    params = dict(max_epochs=3, random_state=0, device="cpu", **TINY_DENSENET)
    lazy = DenseNetSurvival(volume_device="lazy", **params).fit(X, y)
    fast = DenseNetSurvival(volume_device="auto", **params).fit(X, y)
    np.testing.assert_array_equal(fast.predict(X), lazy.predict(X))
    np.testing.assert_array_equal(fast.history[:, "train_loss"], lazy.history[:, "train_loss"])
    np.testing.assert_array_equal(fast.history[:, "valid_loss"], lazy.history[:, "valid_loss"])
    assert "_preloaded_" not in vars(fast)  # the patients' tensors are not kept (nor pickled)
    assert pickle.loads(pickle.dumps(fast)).get_params()["volume_device"] == "auto"


def test_mmnn_preloaded_equals_lazy_with_blending_and_refit(tmp_path):
    data = make_synthetic_cohort(24, image_size=12, data_dir=tmp_path, random_state=0)
    params = dict(preprocessor=VolumePreprocessor(size=12, n4=False, cache_dir=tmp_path / "cache"), max_epochs=3,
                  blend_warmup=1, blend_period=1, random_state=0, device="cpu", **TINY_DENSENET)
    lazy = MMNNSurvival(volume_device="lazy", **params).fit(data.X, data.y_os)
    fast = MMNNSurvival(volume_device="host", **params).fit(data.X, data.y_os)
    np.testing.assert_array_equal(fast.predict(data.X), lazy.predict(data.X))
    np.testing.assert_array_equal(fast.criterion_.head_weights, lazy.criterion_.head_weights)
    np.testing.assert_array_equal(fast.history[:, "valid_loss"], lazy.history[:, "valid_loss"])


def test_volume_device_checked():
    X, y = _volumes(n=12)
    with pytest.raises(ValueError, match="'volume_device' parameter of DenseNetSurvival must be a str among"):
        DenseNetSurvival(volume_device="gpu", max_epochs=1, device="cpu", **TINY_DENSENET).fit(X, y)


def test_compile_option_reaches_the_image_module():
    X, y = _volumes(n=12)
    params = dict(max_epochs=2, random_state=0, device="cpu", augment=None, **TINY_DENSENET)
    plain = DenseNetSurvival(**params).fit(X, y)
    compiled = DenseNetSurvival(compile=True, compile__backend="eager", **params).fit(X, y)
    assert isinstance(compiled.module_, torch._dynamo.eval_frame.OptimizedModule)
    np.testing.assert_allclose(compiled.predict(X), plain.predict(X), rtol=1e-5, atol=1e-6)
