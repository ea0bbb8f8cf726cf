"""DenseNetSurvival: cohort-table input, training-only augmentation, pretrained initialisation."""
from __future__ import annotations

import logging
import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from _toys import RecordingAugment
from monai.networks.nets import DenseNet, DenseNet121
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sksurv.util import Surv

from sarcoma_survival.nn import DenseNetSurvival, load_pretrained_densenet

TINY = {"module__init_features": 8, "module__growth_rate": 4, "module__block_config": (1, 1),
        "max_epochs": 2, "batch_size": 4}


@pytest.fixture(scope="module")
def volumes():
    rng = np.random.default_rng(0)
    n = 16
    X = rng.normal(size=(n, 2, 16, 16, 16)).astype(np.float32)
    y = Surv.from_arrays(rng.random(n) < 0.6, rng.uniform(100, 1000, n))
    return X, y


class NpyStack(BaseEstimator, TransformerMixin):
    """Test stand-in for VolumePreprocessor: stacks the .npy files named in t1 / t2."""

    def fit(self, X, y=None):
        self.channels_ = [c for c in ("t1", "t2") if c in X.columns]
        return self

    def transform(self, X):
        return np.stack([np.stack([np.load(X.at[i, c]) for c in self.channels_]) for i in X.index])


def test_fit_predict_reproducible(volumes):
    X, y = volumes
    a = DenseNetSurvival(random_state=0, **TINY).fit(X, y)
    b = DenseNetSurvival(random_state=0, **TINY).fit(X, y)
    risk = a.predict(X)
    assert risk.shape == (16,) and np.isfinite(risk).all()
    np.testing.assert_array_equal(risk, b.predict(X))  # augmentation is seeded too
    assert a.n_channels_ == 2 and a.module_.encoder.features.conv0.in_channels == 2
    # public: the module inputs and the layers Grad-CAM chooses from
    np.testing.assert_array_equal(a.transform_inputs(X[:2]), X[:2])
    assert f"{a.gradcam_layer_prefix}denseblock1" in dict(a.module_.named_modules())
    surv = a.predict_survival_function(X[:2], return_array=True)
    assert np.all(np.diff(surv, axis=1) <= 1e-12)


def test_augmentation_only_on_training_batches(volumes):
    X, y = volumes
    model = DenseNetSurvival(augment=RecordingAugment(), random_state=0, **TINY).fit(X, y)
    n_train = 16 - model.history[-1, "batches", -1, "valid_batch_size"]
    expected = [min(4, n_train - s) for s in range(0, n_train, 4)] * TINY["max_epochs"]
    assert [c[0] for c in model.augment_.calls_] == expected  # no validation batch, no Breslow pass
    model.predict(X)
    model.predict_survival_function(X[:3])
    assert [c[0] for c in model.augment_.calls_] == expected


def test_cohort_table_through_preprocessor(volumes, tmp_path):
    X, y = volumes
    rows = {}
    for i, vol in enumerate(X):
        for c, name in enumerate(("t1", "t2")):
            path = tmp_path / f"p{i}_{name}.npy"
            np.save(path, vol[c])
            rows.setdefault(name, []).append(str(path))
    cohort = pd.DataFrame(rows, index=[f"P{i}" for i in range(len(X))])
    t1_only = cohort[["t1"]]
    model = DenseNetSurvival(preprocessor=NpyStack(), random_state=0, **TINY).fit(t1_only, y)
    assert model.n_channels_ == 1
    direct = DenseNetSurvival(preprocessor=None, random_state=0, **TINY).fit(X[:, :1], y)
    np.testing.assert_allclose(model.predict(t1_only), direct.predict(X[:, :1]), rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="channels"):
        direct.predict(X)


def test_clone_and_pickle(volumes):
    X, y = volumes
    model = DenseNetSurvival(random_state=0, optimizer__momentum=0.5, callbacks__lr_scheduler=None, **TINY)
    assert clone(model).get_params()["optimizer__momentum"] == 0.5
    model.fit(X, y)
    assert model.optimizer_.param_groups[0]["momentum"] == 0.5
    assert model.optimizer_.param_groups[0]["nesterov"] is True
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))


def test_bad_volume_inputs(volumes):
    X, y = volumes
    with pytest.raises(ValueError, match=r"\(n, C, D, H, W\)"):
        DenseNetSurvival(**TINY).fit(X[:, 0], y)
    with pytest.raises(ValueError, match="no image preprocessor"):
        DenseNetSurvival(preprocessor=None, **TINY).fit(pd.DataFrame({"t1": ["a"] * 16}), y)


# ----------------------------------------------------------------------------- pretrained
def _yaware_checkpoint(source: torch.nn.Module, path):
    """Write ``source`` the way yAware / BHB-10K checkpoints are stored."""
    state = {"module." + k.replace(".layers.", "."): v.clone() for k, v in source.state_dict().items()
             if not k.startswith("class_layers.")}
    state["module.hidden_representation.weight"] = torch.randn(512, 1024)
    state["module.head_projection.weight"] = torch.randn(128, 512)
    torch.save({"model": state, "epoch": 299}, path)


def test_pretrained_densenet121_checkpoint_loads_and_inflates(tmp_path, caplog):
    torch.manual_seed(0)
    source = DenseNet121(spatial_dims=3, in_channels=1, out_channels=3)
    path = tmp_path / "DenseNet121_BHB-10K_yAwareContrastive.pth"
    _yaware_checkpoint(source, path)
    model = DenseNetSurvival(pretrained_weights=path, module__in_channels=2)
    with caplog.at_level(logging.INFO, logger="sarcoma_survival.nn._pretrained"):
        model.initialize()  # loading happens at initialisation, without fit
    report = model.pretrained_report_
    assert report["missing"] == [] and report["inflated"] == ["features.conv0.weight"]
    assert sorted(report["unused"]) == ["module.head_projection.weight", "module.hidden_representation.weight"]
    assert "loaded" in caplog.text and "hidden_representation" in caplog.text
    target = model.module_.encoder.state_dict()
    for key, value in source.state_dict().items():
        if key.startswith("features.") and key != "features.conv0.weight":
            assert torch.equal(target[key], value), key
    # The inflated stem responds to a two-channel copy of an image as the 1-channel stem did.
    x = torch.randn(1, 1, 12, 12, 12)
    conv_src, conv_tgt = source.features.conv0, model.module_.encoder.features.conv0
    torch.testing.assert_close(conv_tgt(x.repeat(1, 2, 1, 1, 1)), conv_src(x))


def test_pretrained_loaded_when_fitting_small_net(volumes, tmp_path):
    X, y = volumes
    kwargs = {"init_features": 8, "growth_rate": 4, "block_config": (1, 1)}
    source = DenseNet(spatial_dims=3, in_channels=1, out_channels=12, **kwargs)
    path = tmp_path / "small.pth"
    _yaware_checkpoint(source, path)
    loaded = load_pretrained_densenet(DenseNet(spatial_dims=3, in_channels=2, out_channels=12, **kwargs), path)
    assert loaded["missing"] == []
    model = DenseNetSurvival(pretrained_weights=path, random_state=0, **TINY)
    model.set_params(max_epochs=1).fit(X, y)
    assert len(model.pretrained_report_["loaded"]) == len(loaded["loaded"])


def test_pretrained_mismatch_fails_loudly(tmp_path):
    wrong = {"model": {"module.conv1.weight": torch.zeros(8, 1, 3, 3, 3), "module.fc.weight": torch.zeros(2, 8)}}
    path = tmp_path / "resnet.pth"
    torch.save(wrong, path)
    with pytest.raises(ValueError, match="backbone tensors"):
        DenseNetSurvival(pretrained_weights=path, **TINY).initialize()
    with pytest.raises(FileNotFoundError):
        DenseNetSurvival(pretrained_weights=tmp_path / "absent.pth", **TINY).initialize()


def test_training_never_ends_on_a_batch_of_one():
    """At 8^3 the last dense block is 1^3: BatchNorm fails on a one-sample batch in training."""
    from sksurv.util import Surv

    from sarcoma_survival import DenseNetSurvival

    rng = np.random.default_rng(0)
    vols = rng.normal(size=(17, 1, 8, 8, 8)).astype(np.float32)  # 17 = 16 + 1 (>= MIN_FIT_PATIENTS)
    y = Surv.from_arrays(rng.random(17) < 0.7, rng.uniform(100, 900, 17))
    y["event"][:2] = True
    net = DenseNetSurvival(preprocessor=None, augment=None, train_split=None, max_epochs=2, batch_size=16,
                           module__init_features=4, module__growth_rate=2, module__block_config=(1, 1),
                           random_state=0)
    net.fit(vols, y)
    assert np.isfinite(net.predict(vols)).all()
