"""micro_batch_size: the exact Cox loss of the whole batch over micro-batches (gradient cache)."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sksurv.util import Surv

from sarcoma_survival.nn import ClinicalMLPSurvival, DenseNetSurvival, MMNNSurvival
from sarcoma_survival.nn._micro_batch import micro_batch_sizes, split_batch

TINY_DENSENET = {"module__init_features": 4, "module__growth_rate": 4, "module__block_config": (1, 1)}


def _survival(rng, n):
    return Surv.from_arrays(rng.random(n) < 0.7, rng.uniform(10, 1000, n))


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_clinical_mlp_same_weights_and_predictions_as_whole_batches(ties):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(72, 5)).astype(np.float32)
    y = _survival(rng, 72)
    y["time"][:12] = y["time"][12:24]  # tied times: the risk sets must still span the batch
    # SGD: the head's bias has an analytically zero gradient (the Cox loss ignores a shift
    # of all log-risks), and Adam divides such float-rounding noise by its own size, which
    # turns 1e-9 differences into lr-sized steps; SGD keeps them at 1e-9.
    params = dict(max_epochs=6, batch_size=16, random_state=0, device="cpu", criterion__ties=ties,
                  optimizer=torch.optim.SGD, lr=0.05, optimizer__momentum=0.9)
    whole = ClinicalMLPSurvival(**params).fit(X, y)
    micro = ClinicalMLPSurvival(micro_batch_size=4, **params).fit(X, y)
    for (name, a), b in zip(whole.module_.state_dict().items(), micro.module_.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=name)
    np.testing.assert_allclose(micro.predict(X), whole.predict(X), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(micro.history[:, "train_loss"], whole.history[:, "train_loss"], rtol=1e-5)
    # the micro-batch models really were trained (not left at their initialisation)
    assert not np.allclose(micro.history[0, "train_loss"], micro.history[-1, "train_loss"])


def _state(net):
    return {k: v.detach().clone() for k, v in net.module_.state_dict().items()}


def _one_step_against_autograd(net, Xi, yi, size, seed=7):
    """Gradient and buffers of one micro-batch step against autograd on the concatenated outputs."""
    start = _state(net)
    net.optimizer_.zero_grad()
    torch.manual_seed(seed)
    step = net.train_step_single((Xi, yi))
    rng_after_step = torch.random.get_rng_state()
    grads = {n: p.grad.detach().clone() for n, p in net.module_.named_parameters() if p.grad is not None}
    after = _state(net)

    # Reference: the same micro-batches, forward with a graph in training mode from the same
    # random state, one Cox loss on the concatenated outputs, autograd's backward.
    net.module_.load_state_dict(start)
    net.optimizer_.zero_grad()
    net.module_.train()
    torch.manual_seed(seed)
    outputs = [net.infer(chunk) for chunk in split_batch(Xi, size)]
    if isinstance(outputs[0], tuple):
        y_pred = tuple(torch.cat(parts) for parts in zip(*outputs))
    else:
        y_pred = torch.cat(outputs)
    loss = net.get_loss(y_pred, yi, training=True)
    loss.backward()
    assert torch.equal(torch.random.get_rng_state(), rng_after_step)
    torch.testing.assert_close(step["loss"], loss.detach(), rtol=1e-6, atol=1e-7)
    reference = {n: p.grad.detach().clone() for n, p in net.module_.named_parameters() if p.grad is not None}
    assert set(grads) == set(reference)
    for name, grad in reference.items():
        torch.testing.assert_close(grads[name], grad, rtol=1e-4, atol=1e-6, msg=name)
    for name, value in _state(net).items():  # buffers after the reference = after the step
        torch.testing.assert_close(after[name], value, rtol=1e-6, atol=1e-7, msg=name)
    return start, after, grads


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_densenet_step_gradient_equals_autograd_on_pass_2_outputs(dropout):
    rng = np.random.default_rng(1)
    n, size = 12, 4
    X = torch.as_tensor(rng.normal(size=(n, 1, 12, 12, 12)).astype(np.float32))
    y = torch.as_tensor(np.column_stack([rng.uniform(10, 100, n), rng.random(n) < 0.7]).astype(np.float64))
    net = DenseNetSurvival(augment=None, micro_batch_size=size, batch_size=n, device="cpu", random_state=0,
                           module__in_channels=1, module__dropout=dropout, **TINY_DENSENET).initialize()
    start, after, grads = _one_step_against_autograd(net, X, y, size)
    assert any(g.abs().sum() > 0 for g in grads.values())
    tracked = [k for k in start if k.endswith("num_batches_tracked")]
    assert tracked  # MONAI's DenseNet has BatchNorm
    for key in tracked:  # running statistics moved exactly once per micro-batch
        assert int(after[key]) - int(start[key]) == len(micro_batch_sizes(n, size)) == 3
    means = [k for k in start if k.endswith("running_mean")]
    assert any(not torch.equal(start[k], after[k]) for k in means)


def test_mmnn_blended_heads_step_gradient_equals_autograd():
    rng = np.random.default_rng(2)
    n, size = 10, 3  # micro-batches of 3, 3, 2 and 2
    X = {"clinical": torch.as_tensor(rng.normal(size=(n, 4)).astype(np.float32)),
         "image": torch.as_tensor(rng.normal(size=(n, 1, 12, 12, 12)).astype(np.float32))}
    y = torch.as_tensor(np.column_stack([rng.uniform(10, 100, n), rng.random(n) < 0.7]).astype(np.float64))
    net = MMNNSurvival(augment=None, micro_batch_size=size, batch_size=n, device="cpu", random_state=0,
                       module__clinical_in_features=4, module__in_channels=1, module__clinical_dropout=0.2,
                       **TINY_DENSENET).initialize()
    net.criterion_.head_weights = np.array([0.5, 0.2, 0.3])  # every head's log-risks get a gradient
    _, _, grads = _one_step_against_autograd(net, X, y, size)
    for part in ("fusion", "clinical_net.head", "image_net.head"):
        assert any(name.startswith(part) and g.abs().sum() > 0 for name, g in grads.items())


def test_micro_batch_sizes_even_and_never_one_sample():
    assert micro_batch_sizes(16, 4) == [4, 4, 4, 4]
    assert micro_batch_sizes(10, 3) == [3, 3, 2, 2]
    assert micro_batch_sizes(5, 2) == [3, 2]  # not 2, 2, 1: BatchNorm cannot train on one sample
    assert micro_batch_sizes(3, 2) == [3]
    assert micro_batch_sizes(3, 1) == [1, 1, 1]
    for n in range(2, 40):
        for size in range(2, 12):
            sizes = micro_batch_sizes(n, size)
            assert sum(sizes) == n and min(sizes) >= 2 and max(sizes) <= size + 1


def test_micro_batch_size_checked():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3)).astype(np.float32)
    with pytest.raises(ValueError, match="'micro_batch_size' parameter of ClinicalMLPSurvival must be"):
        ClinicalMLPSurvival(micro_batch_size=0, max_epochs=1).fit(X, _survival(rng, 20))
