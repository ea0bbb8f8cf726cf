"""Lazily loaded stack of preprocessed volumes (one cached ``.npy`` per patient)."""
from __future__ import annotations

import numbers

import numpy as np

from ._geometry import array_to_image


class VolumeArray:
    """Array-like of shape (n, C, D, H, W) float32 whose items load from disk on access.

    Returned by :meth:`VolumePreprocessor.transform`. ``len()``, ``vol[i]`` (one ndarray
    (C, D, H, W)), ``vol[[i, j]]`` / ``vol[a:b]`` (a smaller :class:`VolumeArray`) and
    ``np.asarray(vol)`` (everything in memory) work. ``geometry(i)`` gives the physical grid of
    item ``i`` (origin, spacing, direction, size) and ``to_image(i, array)`` places a
    (D, H, W) map (e.g. Grad-CAM) on it as a SimpleITK image.

    Parameters
    ----------
    items : list
        Per patient, a path to a ``.npy`` file or an in-memory ndarray.
    geometries : list of dict
        Per patient, the output grid (see :meth:`geometry`).
    index : sequence
        Patient ids.
    shape : tuple
        Shape (C, D, H, W) of one item.

    Examples
    --------
    >>> import numpy as np
    >>> from sarcoma_survival.preprocessing import VolumeArray
    >>> geo = {"origin": [0, 0, 0], "spacing": [1, 1, 1], "direction": [1, 0, 0, 0, 1, 0, 0, 0, 1],
    ...        "size": [2, 2, 2]}
    >>> vol = VolumeArray([np.ones((1, 2, 2, 2), np.float32)], [geo], ["P1"], (1, 2, 2, 2))
    >>> np.asarray(vol).shape
    (1, 1, 2, 2, 2)
    """

    dtype = np.dtype(np.float32)
    ndim = 5

    def __init__(self, items, geometries, index, shape):
        self._items = list(items)
        self._geometries = list(geometries)
        self.index = list(index)
        self._item_shape = tuple(shape)

    @property
    def shape(self):
        return (len(self._items),) + self._item_shape

    def __len__(self):
        return len(self._items)

    def _load(self, i):
        item = self._items[i]
        if isinstance(item, np.ndarray):
            return np.array(item, dtype=np.float32)
        # transform verified the entry's checksum; this only names the file if it changed since
        try:
            array = np.load(item)
        except (OSError, ValueError, EOFError) as exc:
            raise ValueError(
                f"patient {self.index[i]}: cached volume {item} cannot be read ({type(exc).__name__}: {exc}); "
                "it changed after transform: run transform again"
            ) from exc
        if array.shape != self._item_shape or array.dtype != np.float32:
            raise ValueError(
                f"patient {self.index[i]}: cached volume {item} cannot be read (shape {array.shape}, dtype "
                f"{array.dtype}, expected {self._item_shape} float32); it changed after transform: run "
                "transform again"
            )
        return array

    def __getitem__(self, key):
        if isinstance(key, numbers.Integral):
            return self._load(int(np.arange(len(self))[key]))
        positions = np.arange(len(self))[key]
        if np.ndim(positions) != 1:
            raise IndexError("VolumeArray supports an int, a slice, a boolean mask or a list of positions")
        return VolumeArray([self._items[p] for p in positions], [self._geometries[p] for p in positions],
                           [self.index[p] for p in positions], self._item_shape)

    def __iter__(self):
        for i in range(len(self)):
            yield self._load(i)

    def __array__(self, dtype=None, copy=None):
        out = np.empty(self.shape, dtype=np.float32)
        for i in range(len(self)):
            out[i] = self._load(i)
        return out if dtype is None else out.astype(dtype)

    def geometry(self, i):
        """Physical grid of item ``i``.

        Parameters
        ----------
        i : int
            Position of the patient in this array.

        Returns
        -------
        dict
            ``origin``, ``spacing``, ``direction`` and ``size`` of the output grid, in
            SimpleITK's (x, y, z) order.
        """
        return dict(self._geometries[i])

    def to_image(self, i, array):
        """Place a (D, H, W) array on the physical grid of item ``i``.

        Parameters
        ----------
        i : int
            Position of the patient in this array.
        array : ndarray of shape (D, H, W)
            A map on the preprocessed grid, for example a Grad-CAM heat map.

        Returns
        -------
        SimpleITK.Image
            The map with the item's origin, spacing and direction. Resample it onto the
            patient's T1 (``SimpleITK.Resample(image, t1)``) to overlay it on the scan.
        """
        return array_to_image(np.asarray(array), self._geometries[i])

    def __repr__(self):
        return f"VolumeArray(shape={self.shape}, dtype=float32)"
