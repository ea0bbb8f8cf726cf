"""Reading images (NIfTI, NRRD, DICOM series folders) with errors naming patient and file."""
from __future__ import annotations

from pathlib import Path

import numpy as np
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
    >>> from sarcoma_survival.preprocessing import read_image
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


def _rtstruct_file(path):
    """Return the RTSTRUCT file at ``path`` (a file, or a folder holding one), else None."""
    import pydicom

    candidates = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    found = []
    for candidate in candidates:
        try:
            header = pydicom.dcmread(candidate, stop_before_pixels=True, specific_tags=["Modality"])
        except Exception:  # not DICOM at all (NIfTI, NRRD...)
            continue
        if getattr(header, "Modality", None) == "RTSTRUCT":
            found.append(candidate)
    if len(found) > 1:
        raise ImageReadError(f"{str(path)!r}: folder holds {len(found)} RTSTRUCT files; give one file")
    return found[0] if found else None


def rasterize_rtstruct(path, reference, *, roi_name="GTV_Mass", patient=None, column="mask"):
    """Rasterise one ROI of a DICOM RTSTRUCT onto the grid of ``reference``.

    Contour points (DICOM patient coordinates, mm, the same LPS frame as SimpleITK) are
    mapped to the reference's continuous voxel index; each planar contour is filled on the
    slice it lies on (voxel centres inside the polygon). Several contours on one slice
    combine by the even-odd rule, so inner contours are holes.

    Parameters
    ----------
    path : str or Path
        RTSTRUCT file, or a folder holding exactly one.
    reference : SimpleITK.Image
        Image whose grid receives the mask (the series the contours were drawn on).
    roi_name : str, default="GTV_Mass"
        ROI to rasterise (exact name, else the unique case-insensitive match).
    patient, column : optional
        Used only in error messages.

    Returns
    -------
    SimpleITK.Image
        uint8 {0, 1} mask on the reference grid.

    Examples
    --------
    >>> t1 = read_image("MR_T1/image")  # doctest: +SKIP
    >>> mask = rasterize_rtstruct("MR_T1/mask/1-1.dcm", t1)  # doctest: +SKIP
    """
    import pydicom
    from matplotlib.path import Path as PolygonPath

    path = Path(path)
    where = _where(patient, column, path)
    if not path.exists():
        raise ImageReadError(f"{where}: does not exist")
    file = _rtstruct_file(path)
    if file is None:
        raise ImageReadError(f"{where}: holds no DICOM RTSTRUCT")
    ds = pydicom.dcmread(file)
    rois = {int(item.ROINumber): str(item.ROIName) for item in ds.StructureSetROISequence}
    numbers = [n for n, name in rois.items() if name == roi_name]
    if not numbers:
        numbers = [n for n, name in rois.items() if name.lower() == roi_name.lower()]
    if len(numbers) != 1:
        raise ImageReadError(
            f"{where}: ROI {roi_name!r} not found (or ambiguous); the RTSTRUCT holds {sorted(rois.values())}"
        )
    contours = [item for item in ds.ROIContourSequence if int(item.ReferencedROINumber) == numbers[0]]
    direction = np.array(reference.GetDirection(), dtype=float).reshape(3, 3)
    matrix = direction @ np.diag(reference.GetSpacing())
    origin = np.array(reference.GetOrigin(), dtype=float)
    size_x, size_y, size_z = reference.GetSize()
    out = np.zeros((size_z, size_y, size_x), dtype=bool)
    for roi_contour in contours:
        for contour in getattr(roi_contour, "ContourSequence", []):
            points = np.asarray(contour.ContourData, dtype=float).reshape(-1, 3)
            if len(points) < 3:
                continue
            index = np.linalg.solve(matrix, (points - origin).T).T
            k_values = index[:, 2]
            k = int(np.round(k_values.mean()))
            if np.ptp(k_values) > 1.0:
                raise ImageReadError(
                    f"{where}: ROI {roi_name!r} has a contour that is not in the slice planes of the "
                    "reference image; rasterise it on the series it was drawn on"
                )
            if not 0 <= k < size_z:
                continue
            lo = np.clip(np.floor(index[:, :2].min(axis=0)).astype(int), 0, [size_x - 1, size_y - 1])
            hi = np.clip(np.ceil(index[:, :2].max(axis=0)).astype(int), 0, [size_x - 1, size_y - 1])
            ii, jj = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1))
            inside = PolygonPath(index[:, :2]).contains_points(np.column_stack([ii.ravel(), jj.ravel()]))
            out[k, jj.ravel()[inside], ii.ravel()[inside]] ^= True
    image = sitk.GetImageFromArray(out.astype(np.uint8))
    image.CopyInformation(reference)
    return image


def read_mask(path, reference, *, label=None, roi_name="GTV_Mass", patient=None, column="mask"):
    """Read a tumour mask and put it on the grid of ``reference`` (the T1).

    Accepts a label image (NIfTI, NRRD, DICOM series) or a DICOM RTSTRUCT (file or folder).
    A mask on another grid is resampled (nearest neighbour, by physical coordinates) when
    it overlaps the reference; tumour voxels falling outside the reference are reported.

    Parameters
    ----------
    path : str or Path
        Mask file or folder.
    reference : SimpleITK.Image
        The T1 image.
    label : int, optional
        Label value of the tumour in a multi-label image. ``None`` requires a binary mask
        (background 0 and one positive value).
    roi_name : str, default="GTV_Mass"
        ROI of an RTSTRUCT.
    patient, column : optional
        Used only in error messages.

    Returns
    -------
    SimpleITK.Image
        uint8 {0, 1} mask on the reference grid, with at least one tumour voxel.

    Raises
    ------
    ImageReadError
        Missing/unreadable file, non-binary or empty mask, or no physical overlap with the T1.

    Examples
    --------
    >>> import SimpleITK as sitk, numpy as np, tempfile, os
    >>> ref = sitk.Image(6, 6, 6, sitk.sitkFloat32)
    >>> arr = np.zeros((6, 6, 6), np.uint8); arr[2:4, 2:4, 2:4] = 1
    >>> path = os.path.join(tempfile.mkdtemp(), "mask.nii.gz")
    >>> sitk.WriteImage(sitk.GetImageFromArray(arr), path)
    >>> int(sitk.GetArrayFromImage(read_mask(path, ref)).sum())
    8
    """
    from ..utils import same_grid
    from ._geometry import overlaps, resample

    path = Path(path)
    where = _where(patient, column, path)
    if path.exists() and (path.is_file() and path.suffix.lower() in ("", ".dcm") or path.is_dir()):
        rt_file = _rtstruct_file(path)
        if rt_file is not None:
            mask = rasterize_rtstruct(rt_file, reference, roi_name=roi_name, patient=patient, column=column)
            if not sitk.GetArrayViewFromImage(mask).any():
                raise ImageReadError(f"{where}: ROI {roi_name!r} covers no voxel of the T1 image")
            return mask
    image = read_image(path, patient=patient, column=column, pixel_type=None)
    array = sitk.GetArrayFromImage(image)
    values = np.unique(array)
    if label is not None:
        if label not in values:
            raise ImageReadError(f"{where}: label {label} absent from the mask (values {values[:10].tolist()})")
        binary = array == label
    else:
        positive = values[values != 0]
        if len(positive) > 1 or (len(positive) == 1 and positive[0] < 0):
            shown = values[:10].tolist()
            raise ImageReadError(
                f"{where}: mask is not binary (values {shown}{'...' if len(values) > 10 else ''}); "
                "give a 0/1 mask or choose the tumour label with mask_label"
            )
        binary = array != 0
    if not binary.any():
        raise ImageReadError(f"{where}: mask is empty (no tumour voxel)")
    mask = sitk.GetImageFromArray(binary.astype(np.uint8))
    mask.CopyInformation(image)
    if same_grid(mask, reference):
        mask.CopyInformation(reference)
        return mask
    if not overlaps(mask, reference):
        raise ImageReadError(f"{where}: mask does not overlap the T1 image in physical space")
    on_reference = resample(mask, reference, interpolator=sitk.sitkNearestNeighbor, pixel_type=sitk.sitkUInt8)
    kept = float(sitk.GetArrayViewFromImage(on_reference).sum()) * np.prod(reference.GetSpacing())
    total = float(binary.sum()) * np.prod(image.GetSpacing())
    if kept == 0:
        raise ImageReadError(f"{where}: no tumour voxel of the mask lies inside the T1 image")
    if kept < 0.95 * total:
        import warnings

        warnings.warn(
            f"{where}: only {kept / total:.0%} of the tumour volume lies inside the T1 image",
            UserWarning, stacklevel=2,
        )
    return on_reference
