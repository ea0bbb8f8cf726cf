"""Preloaded inputs of a fit: one contiguous tensor per input, batches taken by index.

The lazy path reads every volume, one patient at a time, on every epoch and collates
the batch on the host. For a fit the volumes are instead loaded once into one tensor
(on the training device when they fit, else in pinned host memory on CUDA, plain host
memory on CPU) and each batch is one ``index_select`` (plus one non-blocking copy from
pinned memory). The batches are the ones ``torch.utils.data.DataLoader`` would give for
the same random state: the same order, the same values and dtypes, and the same draws
from torch's global generator, so that a seeded fit gives the same model on both paths.
"""
from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from torch.utils.data import BatchSampler, RandomSampler, SequentialSampler, Subset

#: Values of the image estimators' ``volume_device`` parameter.
PLACEMENTS = ("auto", "host", "device", "lazy")

#: "auto" keeps the volumes on the GPU when they take at most this fraction of its free memory.
DEVICE_FRACTION = 0.5


def input_nbytes(X):
    """Bytes of a preloadable input as float32, or None when it cannot be preloaded."""
    if isinstance(X, Mapping):
        sizes = [input_nbytes(v) for v in X.values()]
        return None if any(s is None for s in sizes) else sum(sizes)
    shape = getattr(X, "shape", None)
    if shape is None or not hasattr(X, "__array__"):
        return None
    return int(np.prod(shape)) * 4


def resolve_placement(volume_device, device, nbytes):
    """Where a fit's inputs are held: "device", "host" or None (lazy)."""
    device = torch.device(device)
    if volume_device == "lazy" or nbytes is None:
        return None
    if device.type != "cuda":
        return "host"  # CPU training: host memory is the device's memory
    if volume_device == "auto":
        free, _ = torch.cuda.mem_get_info(device)
        return "device" if nbytes <= DEVICE_FRACTION * free else "host"
    return volume_device


def _to_tensor(values, dtype, placement, device):
    array = np.ascontiguousarray(np.asarray(values, dtype=dtype))  # a VolumeArray loads each volume once
    tensor = torch.from_numpy(array)
    if device.type == "cuda":
        tensor = tensor.to(device) if placement == "device" else tensor.pin_memory()
    return tensor


def preload(X, placement, device):
    """Tensor (or dict of tensors) of float32 inputs ``X`` held at ``placement``."""
    device = torch.device(device)
    if isinstance(X, Mapping):
        return {key: preload(value, placement, device) for key, value in X.items()}
    return _to_tensor(X, np.float32, placement, device)


class PreloadedDataset(torch.utils.data.Dataset):
    """Inputs held as tensors (one per input), targets ``[time, event]`` as float64.

    Parameters
    ----------
    X : torch.Tensor or dict of torch.Tensor
        One row per patient (from :func:`preload`).
    y : ndarray of shape (n, 2) or None
        Kept as given in ``y`` (host, for splits) and as a tensor next to ``X``.
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = y
        first = next(iter(X.values())) if isinstance(X, Mapping) else X
        self._n = len(first)
        self._y_tensor = None
        if y is not None:
            y_tensor = torch.as_tensor(np.ascontiguousarray(y, dtype=np.float64))
            self._y_tensor = y_tensor.to(first.device) if first.device.type == "cuda" else y_tensor
            if first.is_pinned():
                self._y_tensor = self._y_tensor.pin_memory()

    def __len__(self):
        return self._n

    def __getitem__(self, i):
        x = {k: v[i] for k, v in self.X.items()} if isinstance(self.X, Mapping) else self.X[i]
        return x, (self._y_tensor[i] if self._y_tensor is not None else torch.tensor(0.0))

    def take(self, indices, device):
        """The batch of rows ``indices`` on ``device``: ``(X, y)`` as a DataLoader would give it."""
        idx = torch.as_tensor(indices, dtype=torch.long)
        X = ({k: _gather(v, idx, device) for k, v in self.X.items()} if isinstance(self.X, Mapping)
             else _gather(self.X, idx, device))
        y = _gather(self._y_tensor, idx, device) if self._y_tensor is not None else torch.zeros(len(idx))
        return X, y

    def host_batch(self, indices, pin=False):
        """The batch of rows ``indices`` gathered in host memory (pinned if ``pin``)."""
        idx = torch.as_tensor(indices, dtype=torch.long)

        def gather(tensor):
            out = torch.empty((len(idx),) + tuple(tensor.shape[1:]), dtype=tensor.dtype, pin_memory=pin)
            return torch.index_select(tensor, 0, idx, out=out)

        X = {k: gather(v) for k, v in self.X.items()} if isinstance(self.X, Mapping) else gather(self.X)
        return X, (gather(self._y_tensor) if self._y_tensor is not None else torch.zeros(len(idx)))

    @property
    def on_host(self):
        """Whether the inputs are in host memory (then batches can be gathered ahead)."""
        first = next(iter(self.X.values())) if isinstance(self.X, Mapping) else self.X
        return first.device.type == "cpu"


def _same_device(a, b):
    return a.type == b.type and (a.index or 0) == (b.index or 0)


def _gather(tensor, idx, device):
    if _same_device(tensor.device, device) or device.type != "cuda":
        return tensor.index_select(0, idx.to(tensor.device, non_blocking=True))
    if tensor.is_pinned():
        out = torch.empty((len(idx),) + tuple(tensor.shape[1:]), dtype=tensor.dtype, pin_memory=True)
        torch.index_select(tensor, 0, idx, out=out)
        return out.to(device, non_blocking=True)
    return tensor.index_select(0, idx).to(device)


def preloaded_rows(dataset):
    """``(PreloadedDataset, row indices)`` behind a dataset (through Subsets), or None."""
    if isinstance(dataset, PreloadedDataset):
        return dataset, np.arange(len(dataset))
    if isinstance(dataset, Subset):
        inner = preloaded_rows(dataset.dataset)
        if inner is not None:
            base, rows = inner
            return base, rows[np.asarray(dataset.indices, dtype=np.int64)]
    return None


class IndexBatches:
    """Iterable of the batches of a preloaded dataset, in DataLoader's order.

    Parameters
    ----------
    dataset : PreloadedDataset or (nested) Subset of one
    batch_size : int
    shuffle : bool, default=False
    drop_last : bool, default=False
    device : str or torch.device, default="cpu"
        Where the batches are delivered.
    prefetch : bool or None, default=None
        Gather the next batch in a background thread while the current one trains
        (``index_select`` releases the GIL). ``None``: when the inputs are in host memory
        and the batches go to a GPU, where the gather would otherwise leave the GPU idle.
    """

    def __init__(self, dataset, batch_size, shuffle=False, drop_last=False, device="cpu", prefetch=None):
        self.dataset = dataset
        self.base, self.rows = preloaded_rows(dataset)
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.device = torch.device(device)
        self.prefetch = self.base.on_host and self.device.type == "cuda" if prefetch is None else bool(prefetch)

    def _batches(self):
        positions = range(len(self.rows))
        sampler = RandomSampler(positions) if self.shuffle else SequentialSampler(positions)
        return BatchSampler(sampler, self.batch_size, self.drop_last)

    def __len__(self):
        return len(self._batches())

    def __iter__(self):
        # DataLoader draws its workers' base seed from the global generator when an epoch
        # starts (before the sampler's own draw); draw it too so that both paths leave
        # the generator in the same state (dropout, splits and initialisation follow).
        torch.empty((), dtype=torch.int64).random_()
        batches = iter(self._batches())
        if not self.prefetch:
            for positions in batches:
                yield self.base.take(self.rows[positions], self.device)
            return
        pin = self.device.type == "cuda"
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = None
            for positions in batches:  # the sampler's draws stay on this thread, in order
                future = pool.submit(self.base.host_batch, self.rows[positions], pin)
                if pending is not None:
                    yield _moved(pending.result(), self.device)
                pending = future
            if pending is not None:
                yield _moved(pending.result(), self.device)


def _moved(batch, device):
    """``(X, y)`` on ``device``; copies from pinned memory do not block the host."""
    X, y = batch
    if isinstance(X, Mapping):
        X = {k: v.to(device, non_blocking=True) for k, v in X.items()}
    else:
        X = X.to(device, non_blocking=True)
    return X, y.to(device, non_blocking=True)
