"""Loading of yAware / BHB-10K style DenseNet-121 checkpoints into MONAI's DenseNet."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import torch

logger = logging.getLogger(__name__)

_LAYERS = re.compile(r"\.layers\.")


def _canonical(name):
    """Strip wrapper prefixes and MONAI's ``layers.`` level: torchvision-style names."""
    while name.startswith("module."):
        name = name[len("module."):]
    if name.startswith("encoder."):
        name = name[len("encoder."):]
    return _LAYERS.sub(".", name)


def _read_state_dict(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"pretrained weights file not found: {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - re-raised with the file name
        raise ValueError(f"cannot read pretrained weights from {path}: {exc}") from exc
    if isinstance(checkpoint, dict):
        for key in ("model", "state_dict", "model_state_dict"):
            if key in checkpoint and isinstance(checkpoint[key], dict):
                checkpoint = checkpoint[key]
                break
    if not isinstance(checkpoint, dict) or not all(torch.is_tensor(v) for v in checkpoint.values()):
        raise ValueError(
            f"{path} holds no state dict of tensors (expected a dict with key 'model', "
            "as saved by yAware, or a plain state dict)"
        )
    return checkpoint


def load_pretrained_densenet(densenet, path, *, min_fraction=0.9):
    """Load a DenseNet-121 checkpoint (yAware / BHB-10K format) into a MONAI ``DenseNet``.

    The yAware checkpoints are a dict with key ``"model"``, parameter names prefixed
    ``module.``, torchvision-style names (``denselayer1.conv1`` instead of MONAI's
    ``denselayer1.layers.conv1``), a 1-channel stem and projection-head tensors that
    MONAI's network does not have. Names are remapped; the stem convolution is
    inflated to the network's input channels (the 1-channel kernel repeated and divided
    by the number of channels, so a constant input gives the same response); tensors of
    other shapes or names are skipped. What was loaded and skipped is logged
    (``logging`` at INFO level).

    Parameters
    ----------
    densenet : monai.networks.nets.DenseNet
        The network to initialize (its ``features.*`` tensors are the backbone).
    path : str or Path
        Checkpoint file (``torch.save`` output).
    min_fraction : float, default=0.9
        Minimum fraction of the backbone tensors that must load.

    Returns
    -------
    report : dict
        ``loaded`` (target names), ``missing`` (backbone names not loaded),
        ``unused`` (checkpoint names not used), ``inflated`` (stem names).

    Raises
    ------
    ValueError
        If fewer than ``min_fraction`` of the backbone tensors load.

    Examples
    --------
    >>> import tempfile, torch
    >>> from monai.networks.nets import DenseNet121
    >>> from sarcoma_survival.nn import load_pretrained_densenet
    >>> source = DenseNet121(spatial_dims=3, in_channels=1, out_channels=4)
    >>> ckpt = {"model": {"module." + k.replace(".layers.", "."): v
    ...                   for k, v in source.state_dict().items()}}
    >>> path = tempfile.mkdtemp() + "/yaware.pth"
    >>> torch.save(ckpt, path)
    >>> target = DenseNet121(spatial_dims=3, in_channels=2, out_channels=12)
    >>> report = load_pretrained_densenet(target, path)
    >>> report["missing"]
    []
    """
    source = _read_state_dict(path)
    source_by_name = {}
    for name, tensor in source.items():
        source_by_name.setdefault(_canonical(name), (name, tensor))
    target_state = densenet.state_dict()
    backbone = [k for k in target_state if k.startswith("features.")]
    new_state, loaded, inflated, used = {}, [], [], set()
    for key in backbone:
        match = source_by_name.get(_canonical(key))
        if match is None:
            continue
        src_name, tensor = match
        want = target_state[key]
        if tensor.shape != want.shape:
            is_stem = tensor.dim() == 5 and tensor.shape[1] == 1 and tensor.shape[0] == want.shape[0] \
                and tensor.shape[2:] == want.shape[2:]
            if not is_stem:
                continue
            tensor = tensor.repeat(1, want.shape[1], 1, 1, 1) / want.shape[1]
            inflated.append(key)
        new_state[key] = tensor.to(dtype=want.dtype)
        loaded.append(key)
        used.add(src_name)
    missing = [k for k in backbone if k not in new_state]
    unused = [k for k in source if k not in used]
    fraction = len(loaded) / max(len(backbone), 1)
    if fraction < min_fraction:
        raise ValueError(
            f"only {len(loaded)} of {len(backbone)} backbone tensors ({fraction:.0%}) of the "
            f"DenseNet matched {path} (need {min_fraction:.0%}); first unmatched: "
            f"{missing[:5]}; checkpoint names look like {list(source)[:3]}"
        )
    densenet.load_state_dict(new_state, strict=False)
    logger.info(
        "pretrained weights %s: loaded %d/%d backbone tensors (stem inflated: %s); "
        "%d checkpoint tensors unused (%s%s)",
        path, len(loaded), len(backbone), inflated or "no", len(unused),
        ", ".join(unused[:5]), "..." if len(unused) > 5 else "",
    )
    return {"loaded": loaded, "missing": missing, "unused": unused, "inflated": inflated}
