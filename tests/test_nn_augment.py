"""RandomAugment3D: joint, seeded, degree-valued 3D augmentation."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sarcoma_survival.preprocessing import RandomAugment3D


def _blob(size=20, radius=4.0, center=None):
    grid = torch.stack(torch.meshgrid(*[torch.arange(size, dtype=torch.float32)] * 3, indexing="ij"))
    c = torch.tensor(center if center is not None else [(size - 1) / 2] * 3).view(3, 1, 1, 1)
    return torch.exp(-((grid - c) ** 2).sum(0) / (2 * radius**2))


def test_same_seed_same_output_and_reset():
    batch = torch.rand(3, 2, 12, 12, 12)
    a = RandomAugment3D(random_state=3)
    first = a(batch)
    assert torch.equal(first, RandomAugment3D(random_state=3)(batch))
    assert not torch.equal(first, a(batch))  # the sequence moves on
    assert torch.equal(first, a.reset()(batch))
    assert not torch.equal(first, RandomAugment3D(random_state=4)(batch))
    assert first.shape == batch.shape and first.dtype == batch.dtype


def test_channels_get_the_same_transform():
    vol = torch.rand(4, 1, 12, 12, 12)
    out = RandomAugment3D(rotate_range=30, random_state=0)(vol.repeat(1, 2, 1, 1, 1))
    torch.testing.assert_close(out[:, 0], out[:, 1])
    assert not torch.allclose(out[:, 0], vol[:, 0])


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_pure_flip_is_exact(axis):
    batch = torch.rand(2, 2, 6, 7, 8)
    out = RandomAugment3D(flip_prob=1.0, flip_axes=(axis,), rotate_range=0, zoom_range=(1, 1))(batch)
    assert torch.equal(out, torch.flip(batch, dims=[2 + axis]))


def test_flip_through_resampling_matches_index_flip():
    # With rotation 0 and zoom 1 inside the resampling path (tiny rotate range), flips still
    # land on voxel centres.
    blob = _blob(center=[6.0, 9.5, 9.5])[None, None]
    out = RandomAugment3D(flip_prob=1.0, flip_axes=(0,), rotate_range=1e-6, zoom_range=(1, 1))(blob)
    torch.testing.assert_close(out, torch.flip(blob, dims=[2]), atol=1e-4, rtol=0)


def test_rotation_range_is_in_degrees():
    blob = _blob(center=[9.5, 6.0, 9.5])[None, None]  # off-centre: rotation moves it
    small = RandomAugment3D(flip_prob=0, rotate_range=1.0, zoom_range=(1, 1), random_state=0)(blob)
    large = RandomAugment3D(flip_prob=0, rotate_range=60.0, zoom_range=(1, 1), random_state=0)(blob)
    # 1 degree moves the blob by ~0.06 voxel; 1 radian (57 degrees) would move it by ~3.5 voxels.
    assert (small - blob).abs().max() < 0.05
    assert (large - blob).abs().max() > 0.3


def test_zoom_magnifies():
    blob = _blob(size=24, radius=2.0)[None, None]
    out = RandomAugment3D(flip_prob=0, rotate_range=0, zoom_range=(1.5, 1.5))(blob)
    ratio = (out.sum() / blob.sum()).item()
    assert ratio == pytest.approx(1.5**3, rel=0.05)


def test_rotation_about_center_keeps_mass():
    blob = _blob(radius=3.0)[None, None]
    out = RandomAugment3D(flip_prob=0.5, rotate_range=45, zoom_range=(1, 1), random_state=1)(blob)
    assert (out.sum() / blob.sum()).item() == pytest.approx(1.0, rel=0.02)


def test_errors():
    with pytest.raises(ValueError, match="expects a torch tensor"):
        RandomAugment3D()(torch.zeros(2, 8, 8, 8))
    with pytest.raises(ValueError, match="zoom_range"):
        RandomAugment3D(zoom_range=(1.2, 0.8))(torch.zeros(1, 1, 4, 4, 4))
    with pytest.raises(ValueError, match="flip_axes"):
        RandomAugment3D(flip_axes=(3,))(torch.zeros(1, 1, 4, 4, 4))


def test_is_clonable():
    from sklearn.base import clone

    a = RandomAugment3D(rotate_range=5, random_state=np.int64(2))
    assert clone(a).get_params() == a.get_params()


def test_drawn_transforms_have_the_documented_distribution():
    augment = RandomAugment3D(flip_prob=0.3, flip_axes=(0, 2), rotate_range=(10.0, 20.0, 0.0),
                              zoom_range=(0.8, 1.2), random_state=0)
    n = 20000
    flips, angles, zoom = augment.draw(n)
    # flip frequency 0.3 on the listed axes (5 standard errors), never on the others
    assert abs(flips[:, 0].double().mean().item() - 0.3) < 5 * np.sqrt(0.21 / n)
    assert abs(flips[:, 2].double().mean().item() - 0.3) < 5 * np.sqrt(0.21 / n)
    assert not flips[:, 1].any()
    # angles uniform in [-r, r] radians, r = range in degrees * pi / 180
    for axis, degrees in enumerate((10.0, 20.0)):
        r = np.deg2rad(degrees)
        a = angles[:, axis].numpy()
        assert a.min() >= -r and a.max() <= r and a.max() > 0.99 * r and a.min() < -0.99 * r
        assert a.var() == pytest.approx(r**2 / 3, rel=0.05) and abs(a.mean()) < 5 * r / np.sqrt(3 * n)
    assert (angles[:, 2] == 0).all()
    z = zoom.numpy()
    assert z.min() >= 0.8 and z.max() <= 1.2 and z.mean() == pytest.approx(1.0, abs=0.005)


def test_batched_flips_apply_the_drawn_flips_per_sample():
    batch = torch.rand(16, 2, 5, 6, 7)
    out = RandomAugment3D(rotate_range=0, zoom_range=(1, 1), random_state=2)(batch)
    flips, _, _ = RandomAugment3D(rotate_range=0, zoom_range=(1, 1), random_state=2).draw(16)
    assert flips.any() and not flips.all()  # some axes flipped, some not
    for i in range(16):
        dims = [2 + a for a in range(3) if flips[i, a]]
        expected = torch.flip(batch[i:i + 1], dims=dims) if dims else batch[i:i + 1]
        assert torch.equal(out[i:i + 1], expected)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_same_transforms_on_gpu_and_cpu():
    batch = torch.rand(4, 2, 16, 16, 16)
    cpu = RandomAugment3D(random_state=0)(batch)
    gpu = RandomAugment3D(random_state=0)(batch.cuda())
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-4, rtol=0)
