"""Per-patient work of VolumePreprocessor: read, N4, crop, resample, normalise, cache one patient.

Kept apart from the estimator so that a joblib or Dask worker running these functions imports
neither scikit-learn nor pandas, which were most of a worker's start-up time.
"""
from __future__ import annotations

import logging
import warnings

import numpy as np
import SimpleITK as sitk

from ..utils import file_digest, hash_params, read_record, verify_file, write_record, write_verified
from ._geometry import (
    crop_box,
    grid_to_dict,
    inside_box,
    output_grid,
    overlaps,
    region_covering,
    resample,
    tumor_box,
)
from ._intensity import foreground_mask, n4_correct, zscore_stats
from ._io import PARTIAL_COVERAGE, ImageReadError, read_image, read_mask

logger = logging.getLogger("sarcoma_survival")

#: Bumped whenever N4 or the reading before it changes, so stale corrected images are never reused.
N4_CACHE_VERSION = 1


def _read_entry(target):
    """Geometry of a good cache entry (record and ``.npy`` checksum), else None (a bad one is logged)."""
    record = read_record(target.with_suffix(".json"))
    if record is None:
        return None
    try:
        geometry, checksum = dict(record["geometry"]), str(record["volume_checksum"])
    except (KeyError, TypeError, ValueError):
        logger.warning("cache entry %s lacks its geometry or checksum; recomputing it", target.with_suffix(".json"))
        return None
    if not verify_file(target, checksum):
        logger.warning("cache entry %s is missing or does not match its checksum; recomputing it", target)
        return None
    return geometry


def _normalize(array, stats):
    if stats is None:
        return array
    mean, std = stats
    return (array - np.float32(mean)) / np.float32(std)


def _n4_entry(path, settings, n4_cache):
    """Cache file of the N4-corrected image of one input file (its contents and the N4 settings)."""
    key = hash_params({
        "version": N4_CACHE_VERSION,
        "file": file_digest(path),
        "nonfinite": settings["nonfinite"],
        "shrink": settings["n4_shrink"],
        "iterations": settings["n4_iterations"],
    })
    return n4_cache / key[:2] / f"{key}.npy"


def _read_n4_entry(target, image):
    """The cached corrected array when its record, checksum and grid match ``image``, else None."""
    record = read_record(target.with_suffix(".json"))
    if record is None:
        return None
    matches = isinstance(record, dict) and record.get("grid") == grid_to_dict(image)
    if not matches or not verify_file(target, str(record.get("checksum"))):
        logger.warning("cache entry %s does not match its record or image; recomputing it", target)
        return None
    try:
        array = np.load(target, allow_pickle=False)
    except (OSError, ValueError) as exc:
        logger.warning("cache entry %s cannot be read (%s); recomputing it", target, exc)
        return None
    if array.dtype != np.float32 or array.shape != image.GetSize()[::-1]:
        logger.warning("cache entry %s holds an array of the wrong shape or type; recomputing it", target)
        return None
    return array


def _corrected(image, channel, paths, settings, foreground, where, n4_cache):
    """N4 of one channel, through the cache of corrected native images when ``n4_cache`` is a folder.

    The cache lets radiomics (native grid) and the volumes of any size share one N4 run per
    patient and channel; an entry is the float32 array of exactly what :func:`n4_correct`
    returned, on the grid of the image as read.
    """
    def run():
        return n4_correct(image, shrink=settings["n4_shrink"], iterations=settings["n4_iterations"],
                          mask=foreground, where=where)

    if n4_cache is None:
        return run()
    target = _n4_entry(paths[channel], settings, n4_cache)
    array = _read_n4_entry(target, image)
    if array is not None:
        corrected = sitk.GetImageFromArray(array)
        corrected.CopyInformation(image)
        return corrected
    corrected = run()
    array = sitk.GetArrayViewFromImage(corrected)
    checksum = write_verified(target, lambda tmp: np.save(tmp, array))
    write_record(target.with_suffix(".json"), {"grid": grid_to_dict(image), "checksum": checksum})
    return corrected


def _prepare(paths, channels, settings, patient, n4_cache=None):
    """Read, check, N4-correct; tumour box and z-score statistics (shared by transform and load_native).

    ``n4_cache``: folder of the cache of N4-corrected native images (None: no cache).
    """
    t1 = read_image(paths["t1"], patient=patient, column="t1", nonfinite=settings["nonfinite"],
                    max_voxels=settings["max_voxels"])
    mask = read_mask(paths["mask"], t1, label=settings["mask_label"], roi_name=settings["roi_name"],
                     patient=patient, column="mask", max_voxels=settings["max_voxels"])
    box = tumor_box(mask, settings["margin_mm"])
    t1_region = region_covering(t1, box)
    mask_region = sitk.GetArrayFromImage(region_covering(mask, box)).astype(bool)
    region = settings["normalize"]
    native, stats = {}, {}
    for channel in channels:
        where = f"patient {patient}, column {channel!r}, file {paths[channel]!r}"
        image = t1 if channel == "t1" else read_image(paths[channel], patient=patient, column=channel,
                                                      nonfinite=settings["nonfinite"],
                                                      max_voxels=settings["max_voxels"])
        if min(image.GetSize()) < 2:
            # linear resampling needs 2 voxels per axis: a single slice would come out as fill_value only
            raise ImageReadError(
                f"{where}: {' x '.join(str(n) for n in image.GetSize())} voxels (x, y, z): a single slice "
                "along an axis is not a 3D volume; give the whole series"
            )
        if channel != "t1" and not overlaps(image, t1):
            raise ImageReadError(
                f"{where}: does not overlap the T1 "
                f"({paths['t1']!r}) in physical space"
            )
        foreground = foreground_mask(image) if settings["n4"] or region == "foreground" else None
        if settings["n4"]:
            image = _corrected(image, channel, paths, settings, foreground, where, n4_cache)
        if channel == "t1":
            on_region = sitk.GetArrayFromImage(region_covering(image, box))
        else:
            on_region = sitk.GetArrayFromImage(resample(image, t1_region, default=np.nan,
                                                        pixel_type=sitk.sitkFloat32))
            if not np.isfinite(on_region[mask_region]).any():
                raise ImageReadError(
                    f"{where}: does not cover the "
                    f"tumour of the mask ({paths['mask']!r})"
                )
            covered = float(np.isfinite(on_region[mask_region]).mean())
            if covered < PARTIAL_COVERAGE:
                warnings.warn(
                    f"{where}: covers only {covered:.0%} of the tumour of the mask ({paths['mask']!r}); "
                    "the tumour voxels outside it get fill_value",
                    UserWarning, stacklevel=2,
                )
        if region == "image":
            values = sitk.GetArrayViewFromImage(image).ravel()
        elif region == "foreground":
            values = sitk.GetArrayViewFromImage(image)[sitk.GetArrayViewFromImage(foreground) > 0]
        elif region == "crop":
            values = on_region.ravel()
        elif region == "tumor":
            values = on_region[mask_region]
        if region is not None:
            stats[channel] = zscore_stats(values, patient=patient, channel=channel, region=region,
                                          path=paths[channel])
        native[channel] = image
    return {"t1": t1, "mask": mask, "box": box, "native": native, "stats": stats}


def _smooth_for(image, spacing_out, box):
    """Anti-aliasing: Gaussian of sigma (out - in) / 2 mm along each axis that is downsampled."""
    sigmas = [max(0.0, (spacing_out - s) / 2) for s in image.GetSpacing()]
    if not any(sigma > 0.5 * s for sigma, s in zip(sigmas, image.GetSpacing())):
        return image
    pad = 3 * max(sigmas) + spacing_out
    image = region_covering(image, (np.asarray(box[0]) - pad, np.asarray(box[1]) + pad))
    for axis, (sigma, s) in enumerate(zip(sigmas, image.GetSpacing())):
        if sigma > 0.5 * s and image.GetSize()[axis] >= 4:
            image = sitk.RecursiveGaussian(image, sigma, False, sitk.RecursiveGaussianImageFilter.ZeroOrder, axis)
    return image


def _process_patient(position, patient, paths, channels, settings, target, n4_cache=None):
    """Whole pipeline for one patient; writes the cache files when ``target`` is given."""
    prepared = _prepare(paths, channels, settings, patient, n4_cache)
    box = crop_box(prepared["box"], settings.get("box_shape", "tight"), settings["size"][::-1], settings["spacing"])
    reference = output_grid(box, settings["size"][::-1], settings["spacing"])
    spacing_out = reference.GetSpacing()[0]
    keep = inside_box(reference, box)
    if settings["masking"] != "none":
        tumor = resample(prepared["mask"], reference, interpolator=sitk.sitkNearestNeighbor,
                         pixel_type=sitk.sitkUInt8)
        if settings["masking"] == "tumor":
            keep &= sitk.GetArrayViewFromImage(tumor) > 0
        else:
            distance = sitk.SignedMaurerDistanceMap(tumor, insideIsPositive=False, squaredDistance=False,
                                                   useImageSpacing=True)
            keep &= sitk.GetArrayViewFromImage(distance) <= settings["margin_mm"]
    volume = np.empty((len(channels),) + tuple(settings["size"]), dtype=np.float32)
    for c, channel in enumerate(channels):
        image = prepared["native"][channel]
        if settings["antialias"]:
            image = _smooth_for(image, spacing_out, box)
        array = sitk.GetArrayFromImage(resample(image, reference, default=np.nan, pixel_type=sitk.sitkFloat32))
        array = _normalize(array, prepared["stats"].get(channel))
        array[~keep | ~np.isfinite(array)] = settings["fill_value"]
        volume[c] = array
    geometry = grid_to_dict(reference)
    geometry.update({
        "patient": str(patient),
        "box_mm": [[float(v) for v in box[0]], [float(v) for v in box[1]]],
        "zscore": {c: list(s) for c, s in prepared["stats"].items()},
    })
    if target is None:
        return position, volume, geometry
    # the volume first, then its record: a record always describes a complete volume
    checksum = write_verified(target, lambda tmp: np.save(tmp, volume))
    write_record(target.with_suffix(".json"), {"geometry": geometry, "volume_checksum": checksum})
    return position, str(target), geometry
