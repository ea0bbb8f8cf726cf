"""Reading images (NIfTI, NRRD, DICOM series folders) with errors naming patient and file."""
from __future__ import annotations

from pathlib import Path

import SimpleITK as sitk


class ImageReadError(ValueError):
    """An image file could not be read; the message names the patient, column and file."""


def _where(patient, column, path):
    parts = []
    if patient is not None:
        parts.append(f"patient {patient}")
    if column is not None:
        parts.append(f"column {column!r}")
    parts.append(f"file {str(path)!r}")
    return ", ".join(parts)


def read_image(path, *, patient=None, column=None, pixel_type=sitk.sitkFloat32):
    """Read a 3D image from a NIfTI/NRRD/MHA file or a DICOM series folder.

    Parameters
    ----------
    path : str or Path
        Image file, or folder holding one DICOM series.
    patient, column : str, optional
        Used only in error messages.
    pixel_type : SimpleITK pixel type, default=sitk.sitkFloat32
        Pixel type of the returned image (``None`` keeps the stored type).

    Returns
    -------
    SimpleITK.Image
        A 3D image with its physical geometry (origin, spacing, direction).

    Raises
    ------
    ImageReadError
        If the path does not exist, cannot be read, holds no DICOM series, or is not 3D.

    Examples
    --------
    >>> import SimpleITK as sitk, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "img.nii.gz")
    >>> sitk.WriteImage(sitk.Image(4, 5, 6, sitk.sitkUInt8), path)
    >>> read_image(path).GetSize()
    (4, 5, 6)
    """
    path = Path(path)
    if not path.exists():
        raise ImageReadError(f"{_where(patient, column, path)}: does not exist")
    try:
        if path.is_dir():
            reader = sitk.ImageSeriesReader()
            series = reader.GetGDCMSeriesIDs(str(path))
            if not series:
                raise ImageReadError(f"{_where(patient, column, path)}: folder holds no DICOM image series")
            if len(series) > 1:
                raise ImageReadError(
                    f"{_where(patient, column, path)}: folder holds {len(series)} DICOM series; "
                    "give the folder of one series"
                )
            reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(path), series[0]))
            image = reader.Execute()
        else:
            image = sitk.ReadImage(str(path))
    except ImageReadError:
        raise
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
        raise ImageReadError(f"{_where(patient, column, path)}: cannot be read ({first})") from exc
    if image.GetDimension() != 3:
        raise ImageReadError(
            f"{_where(patient, column, path)}: expected a 3D image, got {image.GetDimension()}D"
        )
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ImageReadError(f"{_where(patient, column, path)}: expected a scalar image, got a vector image")
    if pixel_type is not None:
        image = sitk.Cast(image, pixel_type)
    return image
