"""Intensity steps of the volume pipeline: body foreground, N4 bias-field correction, z-score."""
from __future__ import annotations

import numpy as np
import SimpleITK as sitk


def foreground_mask(image):
    """Body (non-air) voxels of an MR image, as a uint8 image on the same grid.

    A voxel is foreground when its intensity exceeds ``p2 + 0.1 * (p98 - p2)`` (percentiles of
    the whole volume) and is positive. Unlike an Otsu split, this robust-range rule does not
    cut a field of view that holds no air into two tissue classes.

    Examples
    --------
    >>> import SimpleITK as sitk, numpy as np
    >>> arr = np.zeros((4, 4, 4), np.float32); arr[1:3, 1:3, 1:3] = 100
    >>> int(sitk.GetArrayFromImage(foreground_mask(sitk.GetImageFromArray(arr))).sum())
    8
    """
    array = sitk.GetArrayViewFromImage(image)
    low, high = np.percentile(array, [2, 98])
    threshold = low + 0.1 * (high - low)
    fg = (array > threshold) & (array > 0)
    if not fg.any():
        fg = array > 0
    mask = sitk.GetImageFromArray(fg.astype(np.uint8))
    mask.CopyInformation(image)
    return mask


def n4_correct(image, *, shrink=4, iterations=(50, 50, 50), mask=None, where=None):
    """N4 bias-field correction (Tustison et al. 2010) with SimpleITK.

    The field is fitted on a copy shrunk by ``shrink`` along every axis (never below 4
    voxels), inside ``mask`` (default: :func:`foreground_mask`), then evaluated at full
    resolution and divided out.

    Parameters
    ----------
    image : SimpleITK.Image
        Float image.
    shrink : int, default=4
        Shrink factor for the fit; 1 fits at full resolution (slow).
    iterations : sequence of int, default=(50, 50, 50)
        Maximum iterations per fitting level (one entry per level).
    mask : SimpleITK.Image, optional
        Voxels used for the fit.
    where : str, optional
        Prefix of error messages (patient, column and file).

    Returns
    -------
    SimpleITK.Image
        The corrected image (float32), same grid.

    Raises
    ------
    ValueError
        If the image has fewer than 2 voxels along an axis (ITK's B-spline field cannot be
        fitted) or a constant intensity (N4 would return a non-constant field of noise).

    Examples
    --------
    >>> import SimpleITK as sitk, numpy as np
    >>> arr = np.full((16, 16, 16), 100, np.float32) * np.linspace(0.8, 1.2, 16)
    >>> out = n4_correct(sitk.GetImageFromArray(arr.astype(np.float32)), shrink=2)
    >>> out.GetSize()
    (16, 16, 16)
    """
    image = sitk.Cast(image, sitk.sitkFloat32)
    prefix = f"{where}: " if where else ""
    if min(image.GetSize()) < 2:
        raise ValueError(
            f"{prefix}N4 bias-field correction needs at least 2 voxels along every axis, the image has "
            f"{' x '.join(str(s) for s in image.GetSize())} voxel(s) (x, y, z); give a 3D volume or set n4=False"
        )
    array = sitk.GetArrayViewFromImage(image)
    low, high = float(array.min()), float(array.max())
    if not low < high:
        raise ValueError(f"{prefix}intensity is constant ({low:g}); N4 bias-field correction cannot be fitted")
    if mask is None:
        mask = foreground_mask(image)
    factors = [max(1, min(int(shrink), size // 4)) for size in image.GetSize()]
    small = sitk.Shrink(image, factors)
    small_mask = sitk.Shrink(mask, factors)
    corrector = sitk.N4BiasFieldCorrectionImageFilter()
    corrector.SetMaximumNumberOfIterations([int(i) for i in iterations])
    corrector.Execute(small, small_mask)
    log_field = corrector.GetLogBiasFieldAsImage(image)
    return sitk.Cast(image / sitk.Exp(log_field), sitk.sitkFloat32)


def zscore_stats(values, *, patient=None, channel=None, region=None, path=None):
    """Mean and standard deviation of ``values`` (NaN ignored) with a clear error when undefined.

    Examples
    --------
    >>> zscore_stats(np.array([1.0, 3.0, np.nan]))
    (2.0, 1.0)
    """
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    where = f"patient {patient}, column {channel!r}" + (f", file {str(path)!r}" if path is not None else "")
    where += f", region {region!r}"
    if values.size < 2:
        raise ValueError(f"{where}: fewer than 2 voxels to compute z-score statistics")
    mean, std = float(values.mean()), float(values.std())
    if not std > 0:
        raise ValueError(f"{where}: intensity is constant ({mean:g}); cannot z-score normalise")
    return mean, std
