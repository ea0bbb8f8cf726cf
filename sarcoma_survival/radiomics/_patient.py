"""One patient: load the images, run PyRadiomics on each channel, store the result on disk."""
from __future__ import annotations

import logging

import numpy as np
import SimpleITK as sitk

from ..preprocessing import read_image
from ..utils import read_record, same_grid, write_record
from ._params import make_extractor
from ._quiet import quiet_radiomics


class RadiomicsExtractionError(ValueError):
    """Feature extraction failed for one patient; the message names the patient and files."""


def _as_labels(mask):
    """Integer label image (PyRadiomics' label statistics need an integer mask)."""
    if mask.GetPixelID() in (sitk.sitkFloat32, sitk.sitkFloat64):
        labels = sitk.GetImageFromArray(np.rint(sitk.GetArrayFromImage(mask)).astype(np.uint32))
        labels.CopyInformation(mask)
        return labels
    return mask


def load_raw(patient, paths, channels, nonfinite="error", max_voxels=None):
    """Read the channel images and the mask as stored (no N4, no normalization).

    A channel other than ``t1`` that is not on the mask's grid (a T2 series acquired on its
    own grid) is resampled onto the mask grid with linear interpolation; ``t1`` must share
    the mask's grid, as the cohort schema requires.
    """
    mask = _as_labels(read_image(paths["mask"], patient=patient, column="mask", pixel_type=None,
                                 max_voxels=max_voxels))
    images = {}
    for channel in channels:
        image = read_image(paths[channel], patient=patient, column=channel, pixel_type=None, nonfinite=nonfinite,
                           max_voxels=max_voxels)
        if same_grid(image, mask):
            # header round-off only: PyRadiomics' own geometry check (ITK's 1e-6 tolerance)
            # would reject it, and interpolating would change nothing
            image.CopyInformation(mask)
        elif channel != "t1":
            image = sitk.Resample(image, mask, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        images[channel] = image
    return images, mask


def _describe(patient, paths, channel):
    return (
        f"patient {patient}, column {channel!r}, file {str(paths.get(channel))!r} "
        f"(mask {str(paths.get('mask'))!r})"
    )


def extract_patient(patient, row, task):
    """Extract and cache the features of one patient; return ``{column name: value}``.

    Parameters
    ----------
    patient : str
        Patient id (for messages and the cache record).
    row : pandas.Series
        The patient's row of the cohort table (image paths in ``t1``/``t2``/``mask``).
    task : dict
        ``params``, ``channels``, ``duplicate_shape``, ``preprocessor`` (None for raw files),
        ``nonfinite`` and ``max_voxels`` (for raw files), ``cache_file`` (None disables the cache) and
        ``log_level``.
    """
    paths = {col: row[col] for col in (*task["channels"], "mask")}
    log_level = task["log_level"]
    with quiet_radiomics(log_level):
        try:
            if task["preprocessor"] is None:
                images, mask = load_raw(patient, paths, task["channels"], task["nonfinite"],
                                        task.get("max_voxels"))
            else:
                images, mask = task["preprocessor"].load_native(row)
                mask = _as_labels(mask)
        except RadiomicsExtractionError:
            raise
        except Exception as exc:
            files = ", ".join(f"{k} {str(v)!r}" for k, v in paths.items())
            raise RadiomicsExtractionError(
                f"patient {patient}: could not load the images ({files}): {type(exc).__name__}: {exc}"
            ) from exc
        features = {}
        for position, channel in enumerate(task["channels"]):
            drop_shape = position > 0 and not task["duplicate_shape"]
            extractor = make_extractor(task["params"], drop_shape=drop_shape, log_level=log_level)
            if not extractor.enabledFeatures:
                continue
            if channel not in images:
                raise RadiomicsExtractionError(
                    f"{_describe(patient, paths, channel)}: the preprocessor returned no {channel!r} image"
                )
            try:
                result = extractor.execute(images[channel], mask)
            except Exception as exc:
                raise RadiomicsExtractionError(
                    f"{_describe(patient, paths, channel)}: PyRadiomics failed: {type(exc).__name__}: {exc}"
                ) from exc
            for name, value in result.items():
                if not name.startswith("diagnostics_"):
                    features[f"{channel}_{name}"] = float(np.asarray(value, dtype=float))
    if task["cache_file"] is not None:
        write_cache(task["cache_file"], patient, features)
    return features


def write_cache(path, patient, features):
    """Write one patient's features as a checksummed JSON record, atomically."""
    write_record(path, {"patient": str(patient), "features": features})


def read_cache(path):
    """Features stored by :func:`write_cache`, or None when absent or bad (a bad record is logged)."""
    record = read_record(path)
    if record is None:
        return None
    features = record.get("features") if isinstance(record, dict) else None
    if not isinstance(features, dict):
        logging.getLogger("sarcoma_survival").warning("cache entry %s holds no features; recomputing it", path)
        return None
    return features


def log_level_for(verbose):
    """Level for the radiomics logger: quiet (ERROR) unless ``verbose >= 2``."""
    return None if verbose >= 2 else logging.ERROR
