"""tumor_largest_diameter_cm and tumor_volume_cm3 against hand-computed shapes and brute force."""
import numpy as np
import pytest
import SimpleITK as sitk
from scipy.spatial.distance import pdist

from sarcoma_survival.preprocessing import ImageReadError, tumor_largest_diameter_cm, tumor_volume_cm3


def _image(array_zyx, spacing=(1.0, 1.0, 1.0), direction=None, origin=(0.0, 0.0, 0.0)):
    image = sitk.GetImageFromArray(array_zyx.astype(np.uint8))
    image.SetSpacing(spacing)
    image.SetOrigin(origin)
    if direction is not None:
        image.SetDirection(np.asarray(direction, dtype=float).ravel().tolist())
    return image


def _rotation(z_deg, x_deg):
    a, b = np.radians(z_deg), np.radians(x_deg)
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
    return rz @ rx


def _physical(image, index_xyz):
    direction = np.asarray(image.GetDirection()).reshape(3, 3)
    return (index_xyz * np.asarray(image.GetSpacing())) @ direction.T


def _brute_force_cm(image, convention):
    """Every pair of voxel centres (or of voxel corners): the definition, without the hull."""
    index = np.argwhere(sitk.GetArrayFromImage(image) > 0)[:, ::-1].astype(float)
    if convention == "corners":
        corners = np.array([[x, y, z] for x in (-.5, .5) for y in (-.5, .5) for z in (-.5, .5)])
        index = (index[:, None, :] + corners[None]).reshape(-1, 3)
    return pdist(_physical(image, index)).max() / 10


@pytest.mark.parametrize("direction", [None, _rotation(30, 20)])
def test_box_by_hand(direction):
    array = np.zeros((8, 10, 12), np.uint8)
    array[2:5, 1:7, 3:11] = 1  # 8 (x) x 6 (y) x 3 (z) voxels
    spacing = (0.8, 1.5, 3.0)
    mask = _image(array, spacing, direction)
    centers = np.sqrt((7 * 0.8) ** 2 + (5 * 1.5) ** 2 + (2 * 3.0) ** 2) / 10
    corners = np.sqrt((8 * 0.8) ** 2 + (6 * 1.5) ** 2 + (3 * 3.0) ** 2) / 10
    assert tumor_largest_diameter_cm(mask) == pytest.approx(centers, rel=1e-12)
    assert tumor_largest_diameter_cm(mask, convention="corners") == pytest.approx(corners, rel=1e-12)
    assert tumor_volume_cm3(mask) == pytest.approx(8 * 6 * 3 * 0.8 * 1.5 * 3.0 / 1000, rel=1e-12)


def test_sphere_by_hand():
    radius, n = 12.0, 29  # mm, voxels of 1 mm centred on the sphere's centre
    grid = np.indices((n, n, n)) - (n - 1) / 2
    array = (grid ** 2).sum(axis=0) <= radius ** 2
    mask = _image(array)
    # the voxel centres (+-12, 0, 0) lie on the sphere: the centre diameter is 2r exactly
    assert tumor_largest_diameter_cm(mask) == pytest.approx(2 * radius / 10, rel=1e-12)
    # the voxel boxes reach past the sphere by at most half a voxel diagonal on each side
    corners = tumor_largest_diameter_cm(mask, convention="corners")
    assert (2 * radius + 1) / 10 < corners <= (2 * radius + np.sqrt(3)) / 10
    assert tumor_volume_cm3(mask) == pytest.approx(4 / 3 * np.pi * radius ** 3 / 1000, rel=0.02)


def test_anisotropic_ellipsoid_by_hand():
    semi = np.array([30.0, 15.0, 12.0])  # mm along x, y, z: largest diameter 2 x 30 mm along x
    spacing = np.array([1.5, 1.0, 3.0])
    half = np.ceil(semi / spacing).astype(int) + 1
    z, y, x = np.meshgrid(*[np.arange(-h, h + 1) * s for h, s in zip(half[::-1], spacing[::-1])],
                          indexing="ij")
    array = (x / semi[0]) ** 2 + (y / semi[1]) ** 2 + (z / semi[2]) ** 2 <= 1
    mask = _image(array, tuple(spacing), _rotation(-40, 15))
    # the voxel centres (+-30, 0, 0) lie on the ellipsoid (30 = 20 x 1.5 mm): exactly 6 cm
    assert tumor_largest_diameter_cm(mask) == pytest.approx(6.0, rel=1e-12)
    corners = tumor_largest_diameter_cm(mask, convention="corners")
    assert 6.0 < corners <= 6.0 + np.linalg.norm(spacing) / 10
    assert tumor_volume_cm3(mask) == pytest.approx(4 / 3 * np.pi * semi.prod() / 1000, rel=0.025)  # -1.8% on this grid


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_hull_shortcut_equals_every_pair(seed):
    rng = np.random.default_rng(seed)
    array = np.zeros((9, 11, 13), bool)
    array[1:-1, 1:-1, 1:-1] = rng.random((7, 9, 11)) < 0.15
    mask = _image(array, (0.7, 1.3, 2.9), _rotation(rng.uniform(0, 90), rng.uniform(0, 90)))
    for convention in ("centers", "corners"):
        assert tumor_largest_diameter_cm(mask, convention=convention) == pytest.approx(
            _brute_force_cm(mask, convention), rel=1e-12)


def test_flat_and_single_voxel_masks():
    array = np.zeros((3, 10, 10), np.uint8)
    array[1, 2:7, 3:9] = 1  # one slice: the hull is degenerate (coplanar points)
    mask = _image(array, (1.0, 2.0, 5.0))
    assert tumor_largest_diameter_cm(mask) == pytest.approx(np.hypot(5, 8) / 10, rel=1e-12)
    assert tumor_largest_diameter_cm(mask, convention="corners") == pytest.approx(
        np.sqrt(6 ** 2 + 10 ** 2 + 5 ** 2) / 10, rel=1e-12)
    single = np.zeros((3, 3, 3), np.uint8)
    single[1, 1, 1] = 1
    mask = _image(single, (1.0, 2.0, 2.0))
    assert tumor_largest_diameter_cm(mask) == 0.0
    assert tumor_largest_diameter_cm(mask, convention="corners") == pytest.approx(0.3, rel=1e-12)
    assert tumor_volume_cm3(mask) == pytest.approx(0.004, rel=1e-12)


def test_path_label_and_errors(tmp_path):
    array = np.zeros((6, 8, 8), np.uint8)
    array[1:3, 1:5, 1:4] = 2  # 3 x 4 x 2 voxels of label 2
    array[4, 6, 6] = 1
    path = tmp_path / "labels.nii.gz"
    sitk.WriteImage(_image(array, (2.0, 1.0, 1.5)), str(path))
    assert tumor_volume_cm3(path, label=2) == pytest.approx(24 * 3.0 / 1000, rel=1e-6)
    assert tumor_largest_diameter_cm(str(path), label=2) == pytest.approx(
        np.sqrt(4 ** 2 + 3 ** 2 + 1.5 ** 2) / 10, rel=1e-6)
    with pytest.raises(ImageReadError, match=r"patient P7, column 'mask', file .*labels.nii.gz.*not binary"):
        tumor_volume_cm3(path, patient="P7")
    with pytest.raises(ImageReadError, match="label 5 absent"):
        tumor_largest_diameter_cm(path, label=5)
    with pytest.raises(ImageReadError, match="mask is empty"):
        tumor_volume_cm3(_image(np.zeros((3, 3, 3))))
    with pytest.raises(ImageReadError, match=r"patient P7, column 'mask', file .*nowhere.nii.gz"):
        tumor_volume_cm3(tmp_path / "nowhere.nii.gz", patient="P7")
    with pytest.raises(ValueError, match="convention must be one of"):
        tumor_largest_diameter_cm(path, label=2, convention="edges")
    with pytest.raises(TypeError, match="SimpleITK image or a path"):
        tumor_volume_cm3(array)


def test_a_million_voxel_tumor_is_fast():
    import time

    n = 121
    grid = np.indices((n, n, n)) - (n - 1) / 2
    mask = _image((grid ** 2).sum(axis=0) <= 60 ** 2, (0.5, 0.5, 0.5))  # ~905 000 voxels
    start = time.process_time()
    assert tumor_largest_diameter_cm(mask) == pytest.approx(6.0, rel=1e-12)
    assert time.process_time() - start < 10  # measured 0.17 s on the 2-core dev machine
