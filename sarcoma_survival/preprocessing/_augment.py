"""Training-time joint 3D augmentation (flips, rotation, zoom) of torch image batches."""
from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions

from ..utils.constraints import SequenceOf


def _rotation_matrices(angles):
    """Rotation matrices (B, 3, 3) from angles (B, 3) in radians about the three axes."""
    cos, sin = torch.cos(angles), torch.sin(angles)
    one, zero = torch.ones_like(cos[:, 0]), torch.zeros_like(cos[:, 0])

    def stack(rows):
        return torch.stack([torch.stack(row, dim=-1) for row in rows], dim=-2)

    rx = stack([[one, zero, zero], [zero, cos[:, 0], -sin[:, 0]], [zero, sin[:, 0], cos[:, 0]]])
    ry = stack([[cos[:, 1], zero, sin[:, 1]], [zero, one, zero], [-sin[:, 1], zero, cos[:, 1]]])
    rz = stack([[cos[:, 2], -sin[:, 2], zero], [sin[:, 2], cos[:, 2], zero], [zero, zero, one]])
    return rz @ ry @ rx


class RandomAugment3D(BaseEstimator):
    """Random flips, rotation and zoom applied jointly to all channels of 3D batches.

    Each sample of a batch gets its own random transform, and the same transform is
    applied to every channel of that sample (T1 and T2 stay aligned). Rotation and zoom
    are done in one trilinear resampling (``torch.nn.functional.grid_sample``); when both
    are disabled, flips are exact index reversals. Used by the neural estimators on
    training batches only, never on validation or prediction batches.

    Parameters
    ----------
    flip_prob : float, default=0.5
        Probability of flipping each spatial axis listed in ``flip_axes``, independently.
    flip_axes : tuple of int, default=(0, 1, 2)
        Spatial axes (0 = depth, 1 = height, 2 = width) that may be flipped.
    rotate_range : float or tuple of 3 floats, default=15.0
        Maximum absolute rotation angle in **degrees** about each axis (depth, height,
        width); angles are drawn uniformly in ``[-r, r]``. 0 disables rotation.
    zoom_range : tuple of 2 floats, default=(0.9, 1.1)
        Isotropic zoom factor drawn uniformly in this interval (> 1 magnifies).
        ``(1, 1)`` disables zoom.
    padding_mode : {"zeros", "border", "reflection"}, default="zeros"
        Value of voxels that come from outside the volume after rotation or zoom.
    random_state : int, RandomState instance or None, default=None
        Seed of the torch generator that draws the transforms. The same seed gives the
        same sequence of transforms; :meth:`reset` restarts the sequence.

    Examples
    --------
    >>> import torch
    >>> from sarcoma_survival.preprocessing import RandomAugment3D
    >>> augment = RandomAugment3D(rotate_range=10, random_state=0)
    >>> batch = torch.rand(2, 2, 16, 16, 16)
    >>> augment(batch).shape
    torch.Size([2, 2, 16, 16, 16])
    """

    _parameter_constraints = {
        "flip_prob": [Interval(Real, 0, 1, closed="both")],
        "flip_axes": [SequenceOf(Options(Integral, {0, 1, 2}))],
        "rotate_range": [Interval(Real, 0, None, closed="left"),
                         SequenceOf(Interval(Real, 0, None, closed="left"), length=3)],
        "zoom_range": [SequenceOf(Interval(Real, 0, None, closed="neither"), length=2, ordered=True)],
        "padding_mode": [StrOptions({"zeros", "border", "reflection"})],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        flip_prob=0.5,
        flip_axes=(0, 1, 2),
        rotate_range=15.0,
        zoom_range=(0.9, 1.1),
        padding_mode="zeros",
        random_state=None,
    ):
        self.flip_prob = flip_prob
        self.flip_axes = flip_axes
        self.rotate_range = rotate_range
        self.zoom_range = zoom_range
        self.padding_mode = padding_mode
        self.random_state = random_state

    def reset(self):
        """Check the parameters and restart the random sequence from ``random_state``.

        Returns
        -------
        self : RandomAugment3D
        """
        self._validate_params()
        seed = self.random_state
        if seed is None:
            seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
        elif not isinstance(seed, (int, np.integer)):
            seed = int(check_random_state(seed).randint(0, 2**31 - 1))
        self.generator_ = torch.Generator().manual_seed(int(seed))
        return self

    def draw(self, n):
        """Draw the random transforms of ``n`` samples (advances the sequence).

        They are drawn on the CPU from the augmentation's own generator, whatever device
        the batch is on, so a seed gives the same transforms, with the same distribution,
        on CPU and GPU.

        Parameters
        ----------
        n : int
            Number of samples.

        Returns
        -------
        flips : torch.BoolTensor of shape (n, 3)
            Whether each spatial axis (depth, height, width) is reversed; each axis of
            ``flip_axes`` with probability ``flip_prob``, the others never.
        angles : torch.DoubleTensor of shape (n, 3)
            Rotation angles in **radians** about the depth, height and width axes, uniform
            in ``[-r, r]`` with ``r = rotate_range * pi / 180``.
        zoom : torch.DoubleTensor of shape (n,)
            Isotropic zoom factors, uniform in ``zoom_range``.
        """
        if not hasattr(self, "generator_"):
            self.reset()
        rotate = np.broadcast_to(np.asarray(self.rotate_range, dtype=float), (3,))
        zoom_low, zoom_high = (float(v) for v in self.zoom_range)
        gen = self.generator_
        flips = torch.rand(n, 3, generator=gen, dtype=torch.float32) < float(self.flip_prob)
        flips[:, [a for a in range(3) if a not in tuple(self.flip_axes)]] = False
        angles = (torch.rand(n, 3, generator=gen, dtype=torch.float64) * 2 - 1) * torch.as_tensor(
            rotate * math.pi / 180.0
        )
        zoom = zoom_low + (zoom_high - zoom_low) * torch.rand(n, generator=gen, dtype=torch.float64)
        return flips, angles, zoom

    def __call__(self, batch):
        """Augment a batch, on the batch's device, in one resampling.

        Parameters
        ----------
        batch : torch.Tensor of shape (B, C, D, H, W)

        Returns
        -------
        torch.Tensor of the same shape, dtype and device.
        """
        if not hasattr(self, "generator_"):
            self.reset()
        if not torch.is_tensor(batch) or batch.dim() != 5:
            shape = tuple(getattr(batch, "shape", ()))
            raise ValueError(f"RandomAugment3D expects a torch tensor (B, C, D, H, W), got shape {shape}")
        n = batch.shape[0]
        flips, angles, zoom = self.draw(n)
        if not angles.any() and bool((zoom == 1.0).all()):
            # Exact index reversals, batched: each axis flipped where its mask says so.
            out, mask = batch, flips.to(batch.device)
            for axis in range(3):
                if bool(flips[:, axis].any()):
                    out = torch.where(mask[:, axis].view(n, 1, 1, 1, 1), out.flip(2 + axis), out)
            return out.clone() if out is batch else out
        # affine_grid's coordinates are ordered (x=W, y=H, z=D); our axes are (D, H, W).
        sign = torch.where(flips, -1.0, 1.0).to(torch.float64).flip(1)
        rotation = _rotation_matrices(angles.flip(1))
        theta = rotation / zoom[:, None, None] * sign[:, None, :]
        theta = torch.cat([theta, torch.zeros(n, 3, 1, dtype=torch.float64)], dim=2)
        work_dtype = batch.dtype if batch.dtype in (torch.float32, torch.float64) else torch.float32
        theta = theta.to(device=batch.device, dtype=work_dtype)
        grid = F.affine_grid(theta, list(batch.shape), align_corners=False)
        out = F.grid_sample(
            batch.to(work_dtype), grid, mode="bilinear", padding_mode=self.padding_mode, align_corners=False
        )
        return out.to(batch.dtype)
