"""Physical-space geometry for the volume pipeline: overlap, resampling, tumor box, output grid."""
from __future__ import annotations

import numpy as np
import SimpleITK as sitk


def index_to_physical_matrix(image):
    """Return ``(A, origin)`` with ``physical = A @ index + origin`` (index in x, y, z order)."""
    direction = np.array(image.GetDirection(), dtype=float).reshape(3, 3)
    return direction @ np.diag(image.GetSpacing()), np.array(image.GetOrigin(), dtype=float)


def physical_extent(image):
    """World axis-aligned box ``(lo, hi)`` in mm holding the whole image (voxel edges included)."""
    matrix, origin = index_to_physical_matrix(image)
    size = np.array(image.GetSize(), dtype=float)
    corners = np.array([[i, j, k] for i in (-0.5, size[0] - 0.5)
                        for j in (-0.5, size[1] - 0.5) for k in (-0.5, size[2] - 0.5)])
    points = corners @ matrix.T + origin
    return points.min(axis=0), points.max(axis=0)


def overlaps(a, b):
    """True when the physical boxes of two images intersect with a positive volume."""
    lo_a, hi_a = physical_extent(a)
    lo_b, hi_b = physical_extent(b)
    return bool(np.all(np.minimum(hi_a, hi_b) - np.maximum(lo_a, lo_b) > 0))


def resample(image, reference, *, interpolator=sitk.sitkLinear, default=0.0, pixel_type=None):
    """Resample ``image`` onto the grid of ``reference`` by physical coordinates (identity transform).

    Examples
    --------
    >>> import SimpleITK as sitk
    >>> ref = sitk.Image(4, 4, 4, sitk.sitkFloat32); ref.SetSpacing((2.0, 2.0, 2.0))
    >>> resample(sitk.Image(8, 8, 8, sitk.sitkFloat32), ref).GetSize()
    (4, 4, 4)
    """
    if pixel_type is None:
        pixel_type = image.GetPixelID()
    return sitk.Resample(image, reference, sitk.Transform(), interpolator, float(default), pixel_type)


def tumor_box(mask, margin_mm):
    """World axis-aligned box ``(lo, hi)`` in mm around the mask voxels, plus ``margin_mm``.

    Each voxel counts with its full physical extent, so a one-voxel mask gives a box of one
    voxel (projected on the world axes) plus the margin on every side.
    """
    array = sitk.GetArrayViewFromImage(mask)
    kji = np.argwhere(array > 0)
    matrix, origin = index_to_physical_matrix(mask)
    points = kji[:, ::-1].astype(float) @ matrix.T + origin
    half_voxel = 0.5 * np.abs(matrix).sum(axis=1)
    return points.min(axis=0) - half_voxel - margin_mm, points.max(axis=0) + half_voxel + margin_mm


def crop_box(box, shape, size, spacing=None):
    """The crop of ``VolumePreprocessor(box_shape=shape)``: the tumour box, or a cube around it.

    ``"cube"`` gives every axis the box's longest side (and, with a fixed ``spacing``, at least
    the grid's extent ``spacing * size``), centred on the box, so no grid voxel lies outside it.
    """
    if shape == "tight":
        return box
    lo, hi = (np.asarray(v, dtype=float) for v in box)
    side = np.full(3, float(np.max(hi - lo)))
    if spacing is not None:
        side = np.maximum(side, float(spacing) * np.asarray(size, dtype=float))
    center = (lo + hi) / 2
    return center - side / 2, center + side / 2


def output_grid(box, size, spacing=None):
    """Reference image of the fixed output grid centered on ``box``.

    The grid has identity direction (LPS axes, so every patient is seen in the same anatomical
    orientation whatever the acquisition direction), isotropic ``spacing`` and ``size``
    voxels (x, y, z order). ``spacing=None`` scales the grid so the longest side of the box
    fits exactly; the shorter sides are padded later.

    Returns
    -------
    reference : SimpleITK.Image
        Empty float32 image carrying the grid.
    """
    lo, hi = (np.asarray(v, dtype=float) for v in box)
    size = np.asarray(size, dtype=int)
    extent = hi - lo
    if spacing is None:
        spacing = float(np.max(extent / size))
    center = (lo + hi) / 2
    origin = center - spacing * (size - 1) / 2
    reference = sitk.Image([int(s) for s in size], sitk.sitkFloat32)
    reference.SetSpacing([float(spacing)] * 3)
    reference.SetOrigin([float(o) for o in origin])
    reference.SetDirection(np.eye(3).ravel().tolist())
    return reference


def inside_box(reference, box):
    """Boolean array (z, y, x) of the reference voxels whose centers lie in the world box."""
    lo, hi = (np.asarray(v, dtype=float) for v in box)
    origin = np.array(reference.GetOrigin())
    spacing = np.array(reference.GetSpacing())
    axes = [origin[k] + spacing[k] * np.arange(reference.GetSize()[k]) for k in range(3)]
    eps = 1e-6 * spacing
    inside = [(axes[k] >= lo[k] - eps[k]) & (axes[k] <= hi[k] + eps[k]) for k in range(3)]
    return inside[2][:, None, None] & inside[1][None, :, None] & inside[0][None, None, :]


def region_covering(image, box):
    """Sub-image of ``image`` (index-aligned, no interpolation) covering the world box."""
    lo, hi = (np.asarray(v, dtype=float) for v in box)
    corners = np.array([[x, y, z] for x in (lo[0], hi[0]) for y in (lo[1], hi[1]) for z in (lo[2], hi[2])])
    matrix, origin = index_to_physical_matrix(image)
    index = np.linalg.solve(matrix, (corners - origin).T).T
    start = np.clip(np.floor(index.min(axis=0)).astype(int), 0, np.array(image.GetSize()) - 1)
    stop = np.clip(np.ceil(index.max(axis=0)).astype(int), 0, np.array(image.GetSize()) - 1)
    return sitk.RegionOfInterest(image, [int(v) for v in stop - start + 1], [int(v) for v in start])


def grid_to_dict(image):
    """JSON-able geometry (origin, spacing, direction, size in x, y, z order) of an image."""
    return {
        "origin": [float(v) for v in image.GetOrigin()],
        "spacing": [float(v) for v in image.GetSpacing()],
        "direction": [float(v) for v in image.GetDirection()],
        "size": [int(v) for v in image.GetSize()],
    }


def array_to_image(array, geometry):
    """Place a (D, H, W) array on a grid described by :func:`grid_to_dict` output.

    Examples
    --------
    >>> import numpy as np
    >>> geo = {"origin": [0, 0, 0], "spacing": [2, 2, 2], "direction": [1, 0, 0, 0, 1, 0, 0, 0, 1],
    ...        "size": [4, 3, 2]}
    >>> array_to_image(np.zeros((2, 3, 4), np.float32), geo).GetSpacing()
    (2.0, 2.0, 2.0)
    """
    array = np.asarray(array)
    expected = tuple(geometry["size"][::-1])
    if array.shape != expected:
        raise ValueError(f"array of shape {array.shape} does not match the grid (D, H, W) = {expected}")
    image = sitk.GetImageFromArray(array)
    image.SetOrigin([float(v) for v in geometry["origin"]])
    image.SetSpacing([float(v) for v in geometry["spacing"]])
    image.SetDirection([float(v) for v in geometry["direction"]])
    return image
