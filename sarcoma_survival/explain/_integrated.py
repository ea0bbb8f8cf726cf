"""Integrated gradients of a 3D network from a blurred copy of its input, on a private copy."""
from __future__ import annotations

import copy

import numpy as np
import torch
from scipy.ndimage import gaussian_filter


def blurred_baseline(images, sigma):
    """Each channel of each image smoothed by a Gaussian of ``sigma`` voxels.

    Parameters
    ----------
    images : ndarray of shape (n, C, D, H, W)
    sigma : float
        Standard deviation in voxels (0 returns a copy).

    Returns
    -------
    ndarray of float32, same shape

    Examples
    --------
    >>> import numpy as np
    >>> checker = np.indices((16, 16, 16)).sum(axis=0) % 2 * 2.0 - 1.0
    >>> flat = blurred_baseline(checker[None, None], 2.0)
    >>> bool(flat.std() < 0.01 * checker.std())  # the fine texture is gone
    True
    """
    images = np.asarray(images, dtype=np.float32)
    if sigma == 0:
        return images.copy()
    out = np.empty_like(images)
    for i in range(images.shape[0]):
        for c in range(images.shape[1]):
            out[i, c] = gaussian_filter(images[i, c], sigma, mode="nearest")
    return out


def integrated_gradients_3d(module, inputs, baseline, *, forward=None, steps=16):
    """Integrated gradients (Sundararajan et al., 2017) of a scalar output per sample.

    The attribution of voxel ``v`` is ``(x_v - b_v)`` times the mean, over ``steps``
    points of the straight path from the baseline ``b`` to the input ``x`` (midpoint rule),
    of the output's gradient at ``v``. The attributions of a sample sum to
    ``f(x) - f(b)`` up to the path's discretisation error (completeness). The network is
    deep-copied first and put in eval mode, so the caller's module keeps no gradient and
    no changed state.

    Parameters
    ----------
    module : torch.nn.Module
    inputs : Tensor of shape (n, C, D, H, W) or a tuple of tensors
        What ``forward`` receives; only the first (the image) is attributed, the others
        are held fixed.
    baseline : Tensor of the image's shape
    forward : callable, optional
        ``forward(module_copy, inputs) -> Tensor (n,)``; default ``module(inputs)``.
    steps : int, default=16

    Returns
    -------
    attributions : ndarray of float32, shape (n, C, D, H, W)
    risk_change : ndarray of float64, shape (n,)
        ``f(x) - f(b)``, what the attributions share out.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(8, 1))
    >>> x = torch.rand(2, 1, 2, 2, 2)
    >>> att, change = integrated_gradients_3d(net, x, torch.zeros_like(x), steps=4)
    >>> bool(abs(att.sum(axis=(1, 2, 3, 4)) - change).max() < 1e-5)  # exact for a linear net
    True
    """
    work = copy.deepcopy(module).eval()
    for p in work.parameters():
        p.requires_grad_(False)
    tuple_input = isinstance(inputs, (tuple, list))
    image = (inputs[0] if tuple_input else inputs).detach()
    rest = [t.detach() for t in inputs[1:]] if tuple_input else []
    baseline = baseline.detach().to(image.dtype)

    def output(img):
        out = forward(work, (img, *rest) if tuple_input else img) if forward is not None else work(img)
        out = out.reshape(img.shape[0], -1)
        if out.shape[1] != 1:
            raise ValueError(f"forward must give one scalar per sample, got shape {tuple(out.shape)}")
        return out[:, 0]

    total = torch.zeros_like(image)
    with torch.enable_grad():
        for alpha in (np.arange(steps) + 0.5) / steps:
            point = (baseline + float(alpha) * (image - baseline)).requires_grad_(True)
            total += torch.autograd.grad(output(point).sum(), point)[0]
    with torch.no_grad():
        change = (output(image) - output(baseline)).double().cpu().numpy()
    attributions = (total / steps) * (image - baseline)
    return attributions.detach().cpu().numpy().astype(np.float32), change
