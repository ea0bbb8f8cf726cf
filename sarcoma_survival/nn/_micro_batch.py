"""Exact Cox loss over micro-batches ("gradient cache"): the risk set is the whole batch,
the activation memory that of one micro-batch.

The Cox partial likelihood of a batch couples every sample (each risk set sums over the
batch), so it cannot be split into per-micro-batch losses. It can be split in two passes:

1. every micro-batch is run without a graph (training mode, so BatchNorm normalises with
   that micro-batch's statistics); the loss of the concatenated log-risks and its gradient
   with respect to them are computed;
2. every micro-batch is run again with a graph and its slice of that gradient is
   backpropagated. The parameter gradients add up to the gradient of the batch loss for
   the forward of pass 2, which equals pass 1's: the same micro-batches, the same random
   numbers (the RNG state of each micro-batch is replayed), and module buffers (BatchNorm
   running statistics) restored after pass 1, so that pass 2 alone updates them.
"""
from __future__ import annotations

import contextlib

import torch


def micro_batch_sizes(n, size):
    """Sizes of the micro-batches of a batch of ``n``: as even as possible, at most ``size``.

    BatchNorm cannot normalise one sample, so with ``size >= 2`` no micro-batch holds a
    single sample: where an even split would leave one, there is one micro-batch fewer
    (and some hold ``size + 1``).
    """
    k = -(-n // size)
    if size >= 2 and k > 1 and n // k < 2:
        k -= 1
    base, extra = divmod(n, k)
    return [base + 1] * extra + [base] * (k - extra)


def split_batch(Xi, size):
    """Split a batch (tensor or dict of tensors) into micro-batches (:func:`micro_batch_sizes`)."""
    sizes = micro_batch_sizes(_batch_length(Xi), size)
    if isinstance(Xi, dict):
        keys = list(Xi)
        parts = [torch.split(Xi[k], sizes) for k in keys]
        return [dict(zip(keys, chunk)) for chunk in zip(*parts)]
    return list(torch.split(Xi, sizes))


def _batch_length(Xi):
    return len(next(iter(Xi.values()))) if isinstance(Xi, dict) else len(Xi)


def _rng_devices(module):
    devices = {p.device for p in module.parameters() if p.device.type == "cuda"}
    return sorted(d.index if d.index is not None else torch.cuda.current_device() for d in devices)


def _get_rng(devices):
    return torch.random.get_rng_state(), [torch.cuda.get_rng_state(d) for d in devices]


def _set_rng(state, devices):
    cpu, cuda = state
    torch.random.set_rng_state(cpu)
    for d, s in zip(devices, cuda):
        torch.cuda.set_rng_state(s, d)


@contextlib.contextmanager
def buffers_restored(module):
    """Restore every buffer of ``module`` (BatchNorm running statistics) on exit."""
    saved = [(b, b.detach().clone()) for b in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                buffer.copy_(value)


def _as_heads(y_pred):
    return tuple(y_pred) if isinstance(y_pred, tuple) else (y_pred,)


def micro_batch_step(net, Xi, yi, micro_batch_size, **fit_params):
    """One training step of ``net`` (a SurvivalNeuralNet) over micro-batches.

    ``Xi`` is the already augmented batch on the device; parameter gradients are
    accumulated (the caller zeroes them, as skorch's ``train_step`` does).

    Returns
    -------
    dict
        skorch's step dict: ``loss`` (the batch loss, detached) and ``y_pred`` (pass 1's
        concatenated log-risks).
    """
    chunks = split_batch(Xi, int(micro_batch_size))
    devices = _rng_devices(net.module_)
    states, outputs = [], []
    with buffers_restored(net.module_), torch.no_grad():
        for chunk in chunks:
            states.append(_get_rng(devices))
            outputs.append(_as_heads(net.infer(chunk, **fit_params)))
    after_pass_1 = _get_rng(devices)
    leaves = tuple(torch.cat(parts).detach().requires_grad_(True) for parts in zip(*outputs))
    y_pred = leaves if len(leaves) > 1 else leaves[0]
    loss = net.get_loss(y_pred, yi, X=Xi, training=True)
    grads = torch.autograd.grad(loss, leaves, allow_unused=True)  # heads with weight 0: None
    sizes = [_batch_length(chunk) for chunk in chunks]
    grad_slices = [g.split(sizes) if g is not None else None for g in grads]
    for i, chunk in enumerate(chunks):
        _set_rng(states[i], devices)
        heads = _as_heads(net.infer(chunk, **fit_params))
        pairs = [(h, g[i].to(h.dtype).reshape(h.shape)) for h, g in zip(heads, grad_slices) if g is not None]
        if pairs:
            torch.autograd.backward([h for h, _ in pairs], [g for _, g in pairs])
    _set_rng(after_pass_1, devices)
    detached = tuple(t.detach() for t in leaves)
    return {"loss": loss.detach(), "y_pred": detached if len(detached) > 1 else detached[0]}
