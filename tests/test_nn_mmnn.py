"""MMNNSurvival: gradient-blending schedule, ablation, model selection, sklearn behaviour."""
from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from _toys import RecordingAugment
from monai.networks.nets import DenseNet
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from skorch.callbacks import Callback
from skorch.history import History
from torch.utils.data import Subset

from sarcoma_survival.metrics import concordance_scorer
from sarcoma_survival.model_selection import SurvivalStratifiedKFold
from sarcoma_survival.nn import CoxPHLoss, GradientBlending, MMNNSurvival, cox_ph_loss, gradient_blending_weights
from sarcoma_survival.nn._blending import is_snapshot_epoch, is_update_epoch, last_used_estimate
from sarcoma_survival.preprocessing import VolumePreprocessor
from sarcoma_survival.utils.blending import blending_weights_table

TINY = {"module__init_features": 8, "module__growth_rate": 4, "module__block_config": (1, 1),
        "module__hidden_sizes": (8, 6), "max_epochs": 3, "batch_size": 7, "random_state": 0}


def _volumes():
    return VolumePreprocessor(size=16, n4=False)


def tiny(**params):
    return MMNNSurvival(preprocessor=_volumes(), **{**TINY, **params})


# --------------------------------------------------------------------------- schedule (no net)
class FakeNet:
    """What GradientBlending needs from a net, with scripted whole-set head losses."""

    def __init__(self, losses, mode=True, warmup=2, period=2):
        self.losses = losses  # (epoch, which) -> array of 3 losses, which in {"train", "blend"}
        self.gradient_blending = mode
        self.blend_warmup = warmup
        self.blend_period = period
        self.blend_eps = 1e-6
        self.blend_dataset_ = "blend"
        self.history = History()
        self.criterion_ = CoxPHLoss()
        self.calls = []

    @property
    def blending_weights_(self):  # as MMNNSurvival builds it from its history
        return blending_weights_table(self.history)

    def head_losses(self, dataset):
        # before epoch 1 (its weights not yet recorded) the state is "epoch 0"
        epoch = len(self.history)
        if epoch and "blending_weights" not in self.history[-1]:
            epoch -= 1
        which = "train" if dataset == "train" else "blend"
        self.calls.append((epoch, which))
        return np.asarray(self.losses(epoch, which), dtype=float)


def run_schedule(net, n_epochs):
    callback = GradientBlending()
    callback.on_train_begin(net)
    for epoch in range(1, n_epochs + 1):
        net.history.new_epoch()
        net.history.record("epoch", epoch)
        callback.on_epoch_begin(net, dataset_train="train")
        callback.on_epoch_end(net, dataset_train="train")
    callback.on_train_end(net)
    return callback


def overfitting_image_head(epoch, which):
    """multimodal and clinical heads generalise; the image head overfits (held-out loss rises)."""
    train = np.array([2.0 - 0.05 * epoch, 2.0 - 0.02 * epoch, 2.0 - 0.10 * epoch])
    blend = np.array([1.5 - 0.04 * epoch, 1.5 - 0.01 * epoch, 1.5 + 0.03 * epoch])
    return train if which == "train" else blend


def test_schedule_epochs():
    updates = [e for e in range(1, 31) if is_update_epoch(e, 10, 5)]
    snapshots = [e for e in range(0, 31) if is_snapshot_epoch(e, 10, 5)]
    assert updates == [10, 15, 20, 25, 30]
    assert snapshots == [5, 10, 15, 20, 25, 30]
    assert [e for e in range(0, 12) if is_snapshot_epoch(e, 0, 5)] == [0, 5, 10]
    assert [e for e in range(1, 12) if is_update_epoch(e, 3, 5)] == [3, 8]
    assert [e for e in range(0, 12) if is_snapshot_epoch(e, 3, 5)] == [0, 3, 8]
    # the last estimate a run of N epochs uses is made at the last update epoch before N
    assert [last_used_estimate(n, 10, 5) for n in (10, 11, 50, 51)] == [0, 10, 45, 50]
    assert last_used_estimate(5, 0, 5) == 0 and last_used_estimate(6, 0, 5) == 5


def test_uniform_during_warmup_then_updated_every_period():
    net = FakeNet(overfitting_image_head, warmup=4, period=3)
    run_schedule(net, 12)
    frame = net.blending_weights_
    assert list(frame.index) == list(range(1, 13))
    np.testing.assert_allclose(frame.sum(axis=1), 1.0)
    np.testing.assert_allclose(frame.loc[1:4].to_numpy(), 1 / 3)  # warm-up: uniform
    # re-estimated at the end of epochs 4, 7, 10: constant in between
    for block in ([5, 6, 7], [8, 9, 10], [11, 12]):
        rows = frame.loc[block].to_numpy()
        np.testing.assert_array_equal(rows, np.repeat(rows[:1], len(block), axis=0))
    # whole-set losses measured on train and blend sets at epochs 1 (window start), 4, 7, 10
    assert net.calls == [(e, w) for e in (1, 4, 7, 10) for w in ("train", "blend")]
    # the history row of each epoch holds the weights used during it
    assert net.history[4]["blending_weights"] == pytest.approx(frame.loc[5].to_dict())


def test_overfitting_head_loses_weight_hand_computed():
    net = FakeNet(overfitting_image_head, warmup=2, period=2)
    run_schedule(net, 3)
    w = net.blending_weights_.loc[3]
    # window epochs 0 -> 2 (hand computed):
    # multimodal: dG = 0.08, dO = (1.42-1.90)-(1.5-2.0) = 0.02  -> 0.08/0.0004 = 200
    # clinical:   dG = 0.02, dO = (1.48-1.96)-(-0.5)   = 0.02  -> 0.02/0.0004 =  50
    # image:      dG = -0.06 -> clamped to 0                    ->            0
    assert w["multimodal"] == pytest.approx(200 / 250)
    assert w["clinical"] == pytest.approx(50 / 250)
    assert w["image"] == 0.0
    assert net.criterion_.head_weights.tolist() == pytest.approx([0.8, 0.2, 0.0])  # in force after training


def test_no_improvement_keeps_previous_weights():
    def flat(epoch, which):
        return np.full(3, 1.0 + 0.01 * epoch)  # every held-out loss rises: rule undefined

    net = FakeNet(flat, warmup=1, period=1)
    run_schedule(net, 4)
    np.testing.assert_allclose(net.blending_weights_.to_numpy(), 1 / 3)


def test_floored_weights():
    from sarcoma_survival.nn._blending import floored_weights

    np.testing.assert_allclose(floored_weights([1.0, 0.0, 0.0], 0.1), [0.8, 0.1, 0.1])
    np.testing.assert_allclose(floored_weights([0.8, 0.2, 0.0], 0.0), [0.8, 0.2, 0.0])
    np.testing.assert_allclose(floored_weights([0.8, 0.2, 0.0], 1 / 3), [1 / 3] * 3)


def test_floor_and_smoothing_hand_computed():
    net = FakeNet(overfitting_image_head, warmup=2, period=2)
    net.blend_min_weight, net.blend_smoothing = 0.1, 0.5
    run_schedule(net, 5)
    frame = net.blending_weights_
    # epoch-2 estimate: raw (0.8, 0.2, 0) averaged with the warm-up's uniform weights,
    # then floored: 0.1 + 0.7 * (0.5 * 1/3 + 0.5 * raw)
    first = 0.5 / 3 + 0.5 * np.array([0.8, 0.2, 0.0])
    np.testing.assert_allclose(frame.loc[3].to_numpy(), 0.1 + 0.7 * first)
    # the losses are linear in the epoch, so the epoch-4 raw estimate is again (0.8, 0.2, 0)
    second = 0.5 * first + 0.5 * np.array([0.8, 0.2, 0.0])
    np.testing.assert_allclose(frame.loc[5].to_numpy(), 0.1 + 0.7 * second)
    assert net.history[1]["blend_raw_weight_image"] == 0.0  # the rule's own output is kept
    assert net.history[1]["blend_raw_weight_multimodal"] == pytest.approx(0.8)
    assert frame["image"].min() >= 0.1


@pytest.mark.parametrize("mode, expected", [(False, [1.0, 0.0, 0.0]), ("uniform", [1 / 3] * 3)])
def test_fixed_modes_never_measure(mode, expected):
    net = FakeNet(overfitting_image_head, mode=mode, warmup=1, period=1)
    run_schedule(net, 4)
    assert net.calls == []
    np.testing.assert_allclose(net.blending_weights_[["multimodal", "clinical", "image"]].to_numpy(),
                               np.tile(expected, (4, 1)))


def test_bad_blending_params(tiny_cohort):
    X, y = tiny_cohort.X, tiny_cohort.y_os
    for params, match in [({"gradient_blending": "softmax"}, "gradient_blending"),
                          ({"gradient_blending": 1}, "gradient_blending"),
                          ({"blend_warmup": -1}, "blend_warmup"),
                          ({"blend_period": 0}, "blend_period"),
                          ({"blend_size": 1.5}, "blend_size"),
                          ({"blend_min_weight": 0.4}, "blend_min_weight"),
                          ({"blend_min_weight": -0.1}, "blend_min_weight"),
                          ({"blend_smoothing": 1.0}, "blend_smoothing"),
                          ({"blend_refit": "yes"}, "blend_refit")]:
        with pytest.raises(ValueError, match=match):
            tiny(**params).fit(X, y)
    with pytest.raises(TypeError, match="MMNNSurvival takes the cohort table as a pandas DataFrame"):
        tiny().fit(np.zeros((24, 3)), y)
    with pytest.raises(ValueError, match="warm_start"):
        tiny(warm_start=True).fit(X, y)


# --------------------------------------------------------------------------- fitted nets
class Spy(Callback):
    """Records the split datasets, the aux-head weights before training, and loss terms."""

    def on_train_begin(self, net, **kwargs):
        self.initial_ = {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        self.splits_ = None

    def on_epoch_end(self, net, dataset_train=None, dataset_valid=None, **kwargs):
        if self.splits_ is None:
            self.splits_ = (dataset_train, dataset_valid, net.blend_dataset_)


def _absolute(dataset):
    if isinstance(dataset, Subset):
        return _absolute(dataset.dataset)[np.asarray(dataset.indices)]
    return np.arange(len(dataset))


@pytest.fixture(scope="module")
def blended(tiny_cohort):
    spy = Spy()
    # the estimating run alone (blend_refit=False): the one that holds out and measures
    model = tiny(blend_warmup=1, blend_period=1, blend_refit=False, augment=RecordingAugment(),
                 callbacks=[("spy", spy)])
    model.fit(tiny_cohort.X, tiny_cohort.y_os)
    return model, spy


def test_three_disjoint_sets_and_no_batch_of_one(blended, tiny_cohort):
    model, spy = blended
    train, valid, blend = (set(_absolute(d)) for d in spy.splits_)
    assert not (train & valid or train & blend or valid & blend)
    assert train | valid | blend == set(range(len(tiny_cohort.X)))
    assert (len(train), len(valid), len(blend)) == (15, 5, 4)
    # 15 training patients with batch_size 7 would leave a batch of 1: it is dropped
    sizes = [[b["train_batch_size"] for b in row["batches"] if "train_batch_size" in b]
             for row in model.history]
    assert sizes == [[7, 7]] * TINY["max_epochs"]
    assert model.blend_dataset_ is None  # training patients are not kept in the model


def test_blending_weights_recorded_and_plottable(blended):
    model, _ = blended
    frame = model.blending_weights_
    assert list(frame.index) == [1, 2, 3]
    np.testing.assert_allclose(frame.loc[1].to_numpy(), 1 / 3)
    np.testing.assert_allclose(frame.sum(axis=1), 1.0)
    assert (frame.to_numpy() >= 0).all()
    assert model.criterion_.head_weights.sum() == pytest.approx(1.0)  # the estimate made after the last epoch
    assert all(f"blend_heldout_loss_{h}" in model.history[-1] for h in ("clinical", "image", "multimodal"))
    import matplotlib

    matplotlib.use("Agg")
    from sarcoma_survival.plotting import plot_blending_weights

    ax = plot_blending_weights(model.history)
    lines = {line.get_label(): line.get_ydata() for line in ax.get_lines()}
    assert set(lines) == {"clinical", "image", "multimodal"}
    np.testing.assert_allclose(lines["image"], frame["image"].to_numpy())


def test_weights_follow_the_rule_on_measured_losses(blended):
    model, _ = blended
    h, heads = model.history, ("multimodal", "clinical", "image")

    def measured(epoch, kind):
        return [h[epoch - 1][f"blend_{kind}_loss_{head}"] for head in heads]

    # weights of epoch 3 come from the losses measured at the ends of epochs 1 and 2
    expected = gradient_blending_weights(measured(1, "train"), measured(1, "heldout"),
                                         measured(2, "train"), measured(2, "heldout"),
                                         eps=model.blend_eps,
                                         previous=model.blending_weights_.loc[2].to_numpy())
    np.testing.assert_allclose(model.blending_weights_.loc[3].to_numpy(), expected, rtol=1e-6)


def test_augmentation_only_on_training_batches(blended, tiny_cohort):
    model, _ = blended
    expected = [b["train_batch_size"] for row in model.history for b in row["batches"]
                if "train_batch_size" in b]
    calls = list(model.augment_.calls_)
    assert [c[0] for c in calls] == expected  # not the validation, blend or Breslow passes
    assert all(len(c) == 5 and c[1] == 2 for c in calls)  # the image (B, 2, D, H, W) only
    model.predict(tiny_cohort.X)
    model.predict_survival_function(tiny_cohort.X.iloc[:3])
    assert model.augment_.calls_ == calls


def test_get_loss_is_the_weighted_sum_and_selection_loss_is_unweighted(blended):
    model, _ = blended
    torch.manual_seed(0)
    heads = tuple(torch.randn(10) for _ in range(3))
    y = torch.tensor(np.column_stack([np.arange(1.0, 11.0), np.tile([1.0, 0.0], 5)]))
    per_head = [cox_ph_loss(h, time=y[:, 0], event=y[:, 1]) for h in heads]
    model.criterion_.head_weights = np.array([0.5, 0.3, 0.2])
    weighted = model.get_loss(heads, y, training=True)
    assert float(weighted) == pytest.approx(sum(w * float(loss) for w, loss in zip([0.5, 0.3, 0.2], per_head)))
    assert float(model.get_loss(heads, y, training=False)) == pytest.approx(float(per_head[0]))
    model.criterion_.head_weights = np.array([1.0, 0.0, 0.0])  # ablation: the fused loss only
    assert float(model.get_loss(heads, y, training=True)) == pytest.approx(float(per_head[0]))


@pytest.mark.parametrize("mode", [False, "uniform"])
def test_ablation_switch_changes_what_is_trained(tiny_cohort, mode):
    spy = Spy()
    model = tiny(gradient_blending=mode, max_epochs=2, train_split=None, callbacks=[("spy", spy)])
    model.fit(tiny_cohort.X, tiny_cohort.y_os)
    state = model.module_.state_dict()
    aux = ["clinical_net.head.weight", "image_net.head.weight"]
    unchanged = [torch.equal(state[k], spy.initial_[k]) for k in aux]
    assert unchanged == ([True, True] if mode is False else [False, False])
    assert not torch.equal(state["fusion.weight"], spy.initial_["fusion.weight"])
    assert spy.splits_[2] is None  # no blend set held out
    assert len(_absolute(spy.splits_[0])) == len(tiny_cohort.X)
    expected = [1.0, 0.0, 0.0] if mode is False else [1 / 3] * 3
    np.testing.assert_allclose(model.blending_weights_.to_numpy(), np.tile(expected, (2, 1)))


def test_refit_replays_the_weights_on_every_training_patient(tiny_cohort):
    spy = Spy()
    model = tiny(max_epochs=4, blend_warmup=1, blend_period=1, blend_refit=True, callbacks=[("spy", spy)])
    model.fit(tiny_cohort.X, tiny_cohort.y_os)
    estimated = model.blend_history_
    # the estimating run stops at epoch 3: the estimate of epoch 4 would apply to no epoch
    assert len(estimated) == 3 and len(model.history) == 4
    assert "blend_heldout_loss_image" in estimated[-1]
    assert not any(key.startswith("blend_") for row in model.history for key in row)  # nothing measured
    # the refit used, epoch by epoch, the weights of the estimating run; in epoch 4 the
    # estimate made at the end of epoch 3
    replayed = [row["blending_weights"] for row in model.history]
    assert replayed[:3] == [row["blending_weights"] for row in estimated]
    last = estimated[-1]
    np.testing.assert_allclose(list(replayed[3].values()),
                               [last[f"blend_raw_weight_{head}"] for head in replayed[3]])
    assert not np.allclose(model.blending_weights_.iloc[-1], 1 / 3)
    # ... and trained on the blend set's patients too: only the model-selection split is held out
    train, valid, blend = spy.splits_
    assert blend is None
    assert set(_absolute(train)) | set(_absolute(valid)) == set(range(len(tiny_cohort.X)))
    assert model.blend_dataset_ is None
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(restored.predict(tiny_cohort.X), model.predict(tiny_cohort.X), rtol=1e-6)


def test_stopping_the_estimating_run_early_changes_no_replayed_weight(tiny_cohort):
    settings = {"max_epochs": 5, "blend_warmup": 1, "blend_period": 2}
    online = tiny(blend_refit=False, **settings).fit(tiny_cohort.X, tiny_cohort.y_os)
    refit = tiny(blend_refit=True, **settings).fit(tiny_cohort.X, tiny_cohort.y_os)
    # estimations at the ends of epochs 1, 3 (used from epochs 2 and 4) and 5 (used by no epoch)
    assert len(online.history) == 5 and len(refit.blend_history_) == 3
    assert [row["blending_weights"] for row in refit.blend_history_] == \
        [row["blending_weights"] for row in online.history[:3]]
    np.testing.assert_allclose(refit.blending_weights_.to_numpy(), online.blending_weights_.to_numpy(),
                               rtol=1e-6)
    assert not np.allclose(online.blending_weights_.loc[5], 1 / 3)


def test_refit_without_a_usable_estimate_trains_once_with_uniform_weights(tiny_cohort):
    spy = Spy()
    model = tiny(max_epochs=3, blend_warmup=3, blend_refit=True, callbacks=[("spy", spy)])
    model.fit(tiny_cohort.X, tiny_cohort.y_os)
    assert model.blend_history_ is None
    assert len(model.history) == 3
    assert not any(key.startswith("blend_") for row in model.history for key in row)
    np.testing.assert_allclose(model.blending_weights_.to_numpy(), np.full((3, 3), 1 / 3))
    train, valid, blend = spy.splits_
    assert blend is None
    assert set(_absolute(train)) | set(_absolute(valid)) == set(range(len(tiny_cohort.X)))


def test_model_selection_on_whole_validation_set_fused_loss(tiny_cohort):
    X, y = tiny_cohort.X, tiny_cohort.y_os
    X_train, y_train, X_val, y_val = X.iloc[:16], y[:16], X.iloc[16:], y[16:]
    model = tiny(max_epochs=4, blend_warmup=1, blend_period=1, batch_size=3, lr=0.05)
    model.fit(X_train, y_train, validation_data=(X_val, y_val))
    losses = [row["valid_loss"] for row in model.history]
    assert model.best_epoch_ == int(np.argmin(losses)) + 1
    # one loss over the 8 validation patients (3 batches of <= 3), of the multimodal head
    assert model.history[-1, "batches", -1, "valid_batch_size"] == len(X_val)
    fused = torch.as_tensor(model.predict(X_val))
    whole = cox_ph_loss(fused, time=y_val["time"], event=y_val["event"]).item()
    assert whole == pytest.approx(losses[model.best_epoch_ - 1], rel=1e-5)
    heads = model.predict_heads(X_val)
    np.testing.assert_allclose(heads["multimodal"], model.predict(X_val))
    assert list(heads.columns) == ["multimodal", "clinical", "image"]


def test_clone_pickle_t1_only_and_gradcam_access(tiny_cohort):
    from sarcoma_survival.explain._gradcam import grad_cam_3d

    X = tiny_cohort.X.drop(columns=["t2"])
    model = tiny(optimizer__weight_decay=0.0, blend_warmup=3)
    twin = clone(model)
    assert twin.get_params()["optimizer__weight_decay"] == 0.0 and twin.blend_warmup == 3
    model.fit(X, tiny_cohort.y_os)
    assert model.n_channels_ == 1
    assert model.module_.image_net.encoder.features.conv0.in_channels == 1
    assert model.optimizer_.param_groups[0]["weight_decay"] == 0.0
    assert model.optimizer_.param_groups[0]["nesterov"] is True
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    np.testing.assert_array_equal(restored.blending_weights_, model.blending_weights_)
    assert f"{model.gradcam_layer_prefix}denseblock1" in dict(model.module_.named_modules())
    inputs = model.transform_inputs(X.iloc[:2])
    image = torch.as_tensor(np.asarray(inputs["image"][0]))[None]
    cam = grad_cam_3d(model.module_.image_net, image, "encoder.features.denseblock1")
    assert cam.shape == (1, *model.volume_shape_) and np.isfinite(cam).all()


def test_pretrained_weights_go_to_the_image_subnetwork(tmp_path):
    torch.manual_seed(0)
    source = DenseNet(spatial_dims=3, in_channels=1, out_channels=3, init_features=8, growth_rate=4,
                      block_config=(1, 1))
    state = {"module." + k.replace(".layers.", "."): v.clone() for k, v in source.state_dict().items()
             if not k.startswith("class_layers.")}
    path = tmp_path / "yaware.pth"
    torch.save({"model": state}, path)
    model = tiny(pretrained_weights=path, module__clinical_in_features=5, module__in_channels=2)
    model.initialize()
    assert model.pretrained_report_["inflated"] == ["features.conv0.weight"]
    target = model.module_.image_net.encoder.state_dict()
    for key, value in source.state_dict().items():
        if key.startswith("features.") and key != "features.conv0.weight":
            assert torch.equal(target[key], value), key


def test_grid_search_with_concordance_scorer(tiny_cohort):
    X, y = tiny_cohort.X, tiny_cohort.y_os
    grid = [{"lr": [0.02], "optimizer__weight_decay": [0.0], "blend_warmup": [1]},
            {"blend_period": [2], "module__hidden_sizes": [(6,)]}]
    cv = SurvivalStratifiedKFold(2, shuffle=True, random_state=0)
    search = GridSearchCV(tiny(max_epochs=2), grid, cv=cv, scoring=concordance_scorer,
                          error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 2 and np.all((scores >= 0) & (scores <= 1))
    assert search.best_estimator_.predict(X).shape == (len(X),)


class LrSpy(Callback):
    """Learning rates of the image-subnetwork group and of the other group, per batch."""

    def on_train_begin(self, net, **kwargs):
        self.lrs_ = []

    def on_batch_begin(self, net, training=False, **kwargs):
        if training:
            image = {id(p) for p in net.module_.image_net.parameters()}
            by_group = {any(id(p) in image for p in g["params"]): g["lr"] for g in net.optimizer_.param_groups}
            self.lrs_.append((by_group[True], by_group[False]))


def test_one_cycle_keeps_per_group_learning_rates(tiny_cohort):
    spy = LrSpy()
    model = tiny(gradient_blending=False, max_epochs=3, train_split=None, lr=0.01,
                 optimizer__param_groups=[("image_net.*", {"lr": 0.1})], callbacks=[("lrs", spy)])
    model.fit(tiny_cohort.X, tiny_cohort.y_os)
    lrs = np.array(spy.lrs_)
    np.testing.assert_allclose(lrs[:, 0], 10 * lrs[:, 1], rtol=1e-9)  # same cycle, 10x the peak
    assert lrs[:, 0].max() <= 0.1 + 1e-12 and lrs[:, 0].max() > 0.05
    np.testing.assert_allclose(lrs[0], [0.1 / 25, 0.01 / 25])  # OneCycleLR's div_factor


class HeadWeightsSpy(Callback):
    """Records, at the start of each epoch, the head weights the criterion will train with."""

    def on_train_begin(self, net, **kwargs):
        self.weights_ = []

    def on_epoch_begin(self, net, **kwargs):
        self.weights_.append(np.array(net.criterion_.head_weights, dtype=float))


def test_blending_sets_the_criterion_head_weights_and_the_net_reads_them_from_history(tiny_cohort, tmp_path):
    spy = HeadWeightsSpy()
    criterion = CoxPHLoss()
    model = tiny(max_epochs=4, blend_warmup=1, blend_period=1, blend_refit=False, criterion=criterion,
                 callbacks=[("head_weights", spy)]).fit(tiny_cohort.X, tiny_cohort.y_os)
    # the criterion trained each epoch with the weights the history records for it
    np.testing.assert_array_equal(np.vstack(spy.weights_), model.blending_weights_.to_numpy())
    np.testing.assert_array_equal(model.blending_weights_.to_numpy(),
                                  blending_weights_table(model.history).to_numpy())
    assert not np.allclose(model.blending_weights_.loc[4], 1 / 3)
    assert criterion.head_weights is None and model.criterion_ is not criterion  # the parameter is untouched
    # the estimate made after the last epoch stays in force on the criterion; the old name warns
    with pytest.warns(FutureWarning, match="last_blend_estimate_ is deprecated"):
        np.testing.assert_array_equal(model.last_blend_estimate_, model.criterion_.head_weights)
    # ... also in a model file (it keeps the history, not the criterion's attributes)
    from sarcoma_survival import load_model, save_model

    plain = tiny(max_epochs=4, blend_warmup=1, blend_period=1, blend_refit=False).fit(tiny_cohort.X, tiny_cohort.y_os)
    loaded = load_model(save_model(plain, tmp_path / "mmnn.ssm"))
    with pytest.warns(FutureWarning, match="last_blend_estimate_ is deprecated"):
        np.testing.assert_array_equal(loaded.last_blend_estimate_, plain.criterion_.head_weights)


def test_recorded_weights_handed_to_the_callback_are_replayed(tiny_cohort):
    online = tiny(max_epochs=4, blend_warmup=1, blend_period=1, blend_refit=False).fit(tiny_cohort.X, tiny_cohort.y_os)
    recorded = online.blending_weights_.to_numpy()
    spy = Spy()
    replayed = tiny(max_epochs=4, blend_refit=False, callbacks__gradient_blending__replay=recorded,
                    callbacks=[("spy", spy)]).fit(tiny_cohort.X, tiny_cohort.y_os)
    np.testing.assert_array_equal(replayed.blending_weights_.to_numpy(), recorded)
    assert spy.splits_[2] is None  # replaying measures nothing: no blend set is held out
    assert not any(key.startswith("blend_") for row in replayed.history for key in row)
