"""Grad-CAM for 3D networks, computed on a private copy so no hook stays on a fitted model."""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F


def _get_layer(module, name):
    try:
        return module.get_submodule(name)
    except AttributeError:
        names = [n for n, _ in module.named_modules() if n]
        raise ValueError(f"layer {name!r} not found; layers are e.g. {names[:12]}") from None


def layer_resolutions(module, example_input, names):
    """Spatial output size of each named layer for ``example_input`` (eval mode, no grad).

    Parameters
    ----------
    module : torch.nn.Module
    example_input : Tensor of shape (1, C, D, H, W)
    names : sequence of str
        Dotted layer names (``module.get_submodule``).

    Returns
    -------
    dict
        ``name -> (D, H, W)``.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv3d(1, 2, 3, stride=2, padding=1))
    >>> layer_resolutions(net, torch.zeros(1, 1, 8, 8, 8), ["0"])
    {'0': (4, 4, 4)}
    """
    module = copy.deepcopy(module).eval()
    sizes, hooks = {}, []
    for name in names:
        layer = _get_layer(module, name)
        hooks.append(layer.register_forward_hook(
            lambda _m, _i, out, name=name: sizes.__setitem__(name, tuple(out.shape[2:]))
        ))
    with torch.no_grad():
        module(example_input)
    for hook in hooks:
        hook.remove()
    return sizes


def grad_cam_3d(module, inputs, layer, *, forward=None, relu=True, normalize=True):
    """3D Grad-CAM maps of a scalar output, upsampled to the input grid.

    For each sample, the activations ``A_k`` of ``layer`` are weighted by the mean of the
    gradient of the output over each channel's voxels, summed over channels and passed
    through a ReLU (Selvaraju et al., 2017), then trilinearly upsampled to the input
    size. The network is deep-copied first and put in eval mode, so the caller's module
    keeps no hook, no gradient and no changed state.

    Parameters
    ----------
    module : torch.nn.Module
        The network (or an image subnetwork).
    inputs : Tensor of shape (n, C, D, H, W) or a tuple of tensors
        What ``forward`` receives.
    layer : str
        Dotted name of the layer whose activations are used, e.g.
        ``"features.denseblock2"`` of a MONAI DenseNet.
    forward : callable, optional
        ``forward(module_copy, inputs) -> Tensor (n,)`` giving the scalar to explain per
        sample (for example the log-risk of one outcome). Default: ``module(inputs)``,
        flattened, with one output per sample.
    relu : bool, default=True
        Keep only positive evidence (the usual Grad-CAM); ``False`` keeps the sign.
    normalize : bool, default=True
        Scale each map to [0, 1] (a map that is zero everywhere stays zero).

    Returns
    -------
    ndarray of float32, shape (n, D, H, W)
        One map per sample on the spatial grid of the (first) image input.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Conv3d(1, 4, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.AdaptiveAvgPool3d(1), torch.nn.Flatten(),
    ...                           torch.nn.Linear(4, 1))
    >>> grad_cam_3d(net, torch.rand(2, 1, 8, 8, 8), "0").shape
    (2, 8, 8, 8)
    """
    work = copy.deepcopy(module).eval()
    for p in work.parameters():
        p.requires_grad_(False)
    target = _get_layer(work, layer)
    store = {}

    def keep(_m, _i, out):
        store["act"] = out  # its gradient is taken with torch.autograd.grad below

    hook = target.register_forward_hook(keep)
    try:
        image = inputs[0] if isinstance(inputs, (tuple, list)) else inputs
        image = image.detach().clone().requires_grad_(True)
        if isinstance(inputs, (tuple, list)):
            inputs = (image, *[t.detach() for t in inputs[1:]])
        else:
            inputs = image
        with torch.enable_grad():
            out = forward(work, inputs) if forward is not None else work(inputs)
            out = out.reshape(image.shape[0], -1)
            if out.shape[1] != 1:
                raise ValueError(f"forward must give one scalar per sample, got shape {tuple(out.shape)}")
            act = store["act"]
            grads = torch.autograd.grad(out.sum(), act)[0]
    finally:
        hook.remove()
    weights = grads.mean(dim=(2, 3, 4), keepdim=True)
    cam = (weights * act).sum(dim=1, keepdim=True)
    if relu:
        cam = F.relu(cam)
    cam = F.interpolate(cam, size=tuple(image.shape[2:]), mode="trilinear", align_corners=False)
    cam = cam[:, 0].detach().cpu().numpy().astype(np.float32)
    if normalize:
        flat = cam.reshape(len(cam), -1)
        lo = flat.min(axis=1, keepdims=True) if not relu else np.zeros((len(cam), 1), np.float32)
        span = flat.max(axis=1, keepdims=True) - lo
        flat = np.where(span > 0, (flat - lo) / np.where(span > 0, span, 1), 0.0)
        cam = flat.reshape(cam.shape).astype(np.float32)
    return cam
