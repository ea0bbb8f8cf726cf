"""Reading images (NIfTI, NRRD, DICOM series folders) with errors naming patient and file."""
from __future__ import annotations

import gzip
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..utils import InputPathError, input_files

#: What ``nonfinite`` may be: refuse NaN/inf voxels, or replace them by 0 with a warning.
NONFINITE_POLICIES = ("error", "fill")

#: Deflate cannot compress more than about 1032:1; a file claiming more voxels is impossible.
_MAX_DEFLATE_RATIO = 1032

_PIXEL_BYTES = {
    sitk.sitkUInt8: 1, sitk.sitkInt8: 1, sitk.sitkUInt16: 2, sitk.sitkInt16: 2, sitk.sitkUInt32: 4,
    sitk.sitkInt32: 4, sitk.sitkUInt64: 8, sitk.sitkInt64: 8, sitk.sitkFloat32: 4, sitk.sitkFloat64: 8,
}


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


def read_image(path, *, patient=None, column=None, pixel_type=sitk.sitkFloat32, nonfinite="error"):
    """Read a 3D image from a NIfTI/NRRD/MHA file or a DICOM series folder.

    Parameters
    ----------
    path : str or Path
        Image file, or folder holding one DICOM series.
    patient, column : str, optional
        Used only in error messages.
    pixel_type : SimpleITK pixel type, default=sitk.sitkFloat32
        Pixel type of the returned image (``None`` keeps the stored type).
    nonfinite : {"error", "fill"}, default="error"
        NaN or infinite voxels (which NRRD and MHA files can hold): an error, or replaced
        by 0 (no signal) with a warning giving their number.

    Returns
    -------
    SimpleITK.Image
        A 3D image with its physical geometry (origin, spacing, direction).

    Raises
    ------
    ImageReadError
        If the path does not exist, is not a regular file or a DICOM series folder, cannot be
        read, is shorter than its header says (a truncated file), declares more voxels than
        it can hold, holds no DICOM series, is not 3D, or (``nonfinite="error"``) holds NaN
        or infinite voxels.

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
    if nonfinite not in NONFINITE_POLICIES:
        raise ValueError(f"nonfinite must be one of {NONFINITE_POLICIES}, got {nonfinite!r}")
    try:
        input_files(path)
    except InputPathError as exc:
        raise ImageReadError(f"{_where(patient, column, path)}: {exc.reason}") from None
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
            _check_length(path, _where(patient, column, path))
            image = sitk.ReadImage(str(path))
    except ImageReadError:
        raise
    except RuntimeError as exc:
        raise ImageReadError(f"{_where(patient, column, path)}: cannot be read ({_itk_reason(exc)})") from exc
    if image.GetDimension() != 3:
        raise ImageReadError(
            f"{_where(patient, column, path)}: expected a 3D image, got {image.GetDimension()}D"
        )
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ImageReadError(f"{_where(patient, column, path)}: expected a scalar image, got a vector image")
    image = _check_finite(image, _where(patient, column, path), nonfinite)
    if pixel_type is not None:
        image = sitk.Cast(image, pixel_type)
    return image


def _itk_reason(exc):
    """The informative line of an ITK exception (its last line is sometimes a stray errno text)."""
    lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
    for line in reversed(lines):
        if not line.startswith("Reason:"):
            return line
    return lines[-1] if lines else type(exc).__name__


def _check_finite(image, where, nonfinite):
    """Refuse or fill NaN/inf voxels (only float images can hold them)."""
    if image.GetPixelID() not in (sitk.sitkFloat32, sitk.sitkFloat64):
        return image
    array = sitk.GetArrayViewFromImage(image)
    bad = ~np.isfinite(array)
    count = int(bad.sum())
    if not count:
        return image
    share = f"{count / array.size:.2%}"
    if nonfinite == "error":
        raise ImageReadError(
            f"{where}: {count} voxel(s) ({share}) are NaN or infinite; repair the file, or pass "
            "nonfinite='fill' (command line: --nonfinite fill) to replace them by 0"
        )
    warnings.warn(f"{where}: {count} non-finite voxel(s) ({share}) replaced by 0 (nonfinite='fill')",
                  UserWarning, stacklevel=3)
    filled = np.where(bad, 0, array).astype(array.dtype)
    out = sitk.GetImageFromArray(filled)
    out.CopyInformation(image)
    return out


def _open_maybe_gzip(path):
    with open(path, "rb") as handle:
        compressed = handle.read(2) == b"\x1f\x8b"
    return (gzip.open(path, "rb") if compressed else open(path, "rb")), compressed


def _nifti_layout(header):
    """(size, bits per voxel, data offset) of a single-file NIfTI-1/2 header, else None."""
    for endian in "<>":
        if len(header) >= 348 and struct.unpack(endian + "i", header[:4])[0] == 348 and header[344:347] == b"n+1":
            dims = struct.unpack(endian + "8h", header[40:56])
            bitpix = struct.unpack(endian + "h", header[72:74])[0]
            offset = int(struct.unpack(endian + "f", header[108:112])[0])
        elif len(header) >= 540 and struct.unpack(endian + "i", header[:4])[0] == 540 and header[4:7] == b"n+2":
            bitpix = struct.unpack(endian + "h", header[14:16])[0]
            dims = struct.unpack(endian + "8q", header[16:80])
            offset = struct.unpack(endian + "q", header[168:176])[0]
        else:
            continue
        if not 1 <= dims[0] <= 7:
            return None
        return tuple(int(d) for d in dims[1:dims[0] + 1]), int(bitpix), int(offset)
    return None


def _gzip_length(path):
    """Length of the decompressed stream: the trailer when it agrees, else by decompressing."""
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                total += len(block)
    except (EOFError, OSError, zlib.error) as exc:
        return total, f"{type(exc).__name__}: {exc}"
    return total, None


def _describe_size(size, bits):
    return f"{' x '.join(str(s) for s in size)} voxels of {bits} bits"


def _stored_ratio(header):
    """Largest (voxel bytes / file bytes) an NRRD or MHA file's header allows, None when unknown.

    1 for raw data, the deflate limit for gzip/zlib data, None for data in another file or an
    encoding whose limit is not known (those are left to ITK's reader).
    """
    if header.startswith(b"NRRD"):
        fields = {}
        for line in header.split(b"\n\n")[0].splitlines()[1:]:
            key, sep, value = line.decode("latin-1").partition(":")
            if sep and not line.startswith(b"#"):
                fields[key.strip().lower()] = value.strip().lower()
        if "data file" in fields or "datafile" in fields:
            return None
        return {"raw": 1, "gzip": _MAX_DEFLATE_RATIO, "gz": _MAX_DEFLATE_RATIO}.get(fields.get("encoding"))
    if b"ElementDataFile" in header:
        fields = {}
        for line in header.decode("latin-1").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                fields[key.strip()] = value.strip()
            if key.strip() == "ElementDataFile":
                break
        if fields.get("ElementDataFile") != "LOCAL":
            return None
        return _MAX_DEFLATE_RATIO if fields.get("CompressedData", "False").lower() == "true" else 1
    return None


def _check_length(path, where):
    """Compare the file's real length with what its header declares, before reading pixels.

    NIfTI (.nii and .nii.gz): exactly (offset + voxels x bytes); ITK would read a cut file and
    set the missing voxels to 0. NRRD and MHA, whose readers do detect a short file: only
    impossible sizes (more voxels than the file could hold even at the best compression),
    so that nothing is allocated for them. Other formats are left to ITK.
    """
    file_length = path.stat().st_size
    handle, compressed = _open_maybe_gzip(path)
    try:
        with handle:
            header = handle.read(4096)
    except (EOFError, OSError, zlib.error) as exc:
        if compressed:  # the stream ends (or breaks) inside its first 4 KiB: ITK would zero-fill the rest
            raise ImageReadError(f"{where}: truncated or damaged gzip file ({type(exc).__name__}: {exc})") from None
        header = b""
    layout = _nifti_layout(header)
    if layout is not None:
        size, bits, offset = layout
        expected = offset + (int(np.prod(size, dtype=np.int64)) * bits + 7) // 8
        described = _describe_size(size, bits)
        ratio = _MAX_DEFLATE_RATIO if compressed else 1
    else:
        ratio = None if compressed else _stored_ratio(header)
        if ratio is None:
            return
        reader = sitk.ImageFileReader()
        reader.SetFileName(str(path))
        reader.ReadImageInformation()
        size = reader.GetSize()
        voxel_bytes = _PIXEL_BYTES.get(reader.GetPixelID(), 1) * max(1, reader.GetNumberOfComponents())
        expected = int(np.prod(size, dtype=np.int64)) * voxel_bytes
        described = _describe_size(size, 8 * voxel_bytes)
    if expected > file_length * ratio:
        raise ImageReadError(
            f"{where}: its header declares {described} ({expected} bytes), impossible in a file of "
            f"{file_length} bytes (truncated or damaged file)"
        )
    if layout is None or not compressed:
        return
    with open(path, "rb") as raw:
        raw.seek(-4, 2)
        trailer = struct.unpack("<I", raw.read(4))[0]
    if trailer == expected % (1 << 32):
        return
    length, problem = _gzip_length(path)
    if problem is not None or length < expected:
        detail = f"; {problem}" if problem else ""
        raise ImageReadError(
            f"{where}: truncated or damaged file: its header declares {described} ({expected} bytes "
            f"once decompressed) but it holds {length} bytes{detail}"
        )


def _dicom_object_file(path, modality, where=None):
    """The DICOM file of ``modality`` (RTSTRUCT, SEG) at ``path`` (a file, or a folder holding one), else None."""
    import pydicom

    candidates = [path] if path.is_file() else sorted(p for p in path.iterdir() if p.is_file())
    found = []
    for candidate in candidates:
        try:
            header = pydicom.dcmread(candidate, stop_before_pixels=True, specific_tags=["Modality"])
        except Exception:  # not DICOM at all (NIfTI, NRRD...)
            continue
        if getattr(header, "Modality", None) == modality:
            found.append(candidate)
    if len(found) > 1:
        raise ImageReadError(f"{where or repr(str(path))}: folder holds {len(found)} {modality} files; give one file")
    return found[0] if found else None


def _rtstruct_file(path, where=None):
    """Return the RTSTRUCT file at ``path`` (a file, or a folder holding one), else None."""
    return _dicom_object_file(path, "RTSTRUCT", where)


def _voxel_matrix(reference):
    """(direction x spacing matrix, origin) mapping a continuous voxel index to LPS mm."""
    direction = np.array(reference.GetDirection(), dtype=float).reshape(3, 3)
    return direction @ np.diag(reference.GetSpacing()), np.array(reference.GetOrigin(), dtype=float)


def _choose_named(names, wanted, where, what):
    """The key of ``names`` (number -> name) named ``wanted`` (exact, else case-insensitive)."""
    numbers = [n for n, name in names.items() if name == wanted]
    if not numbers:
        numbers = [n for n, name in names.items() if name.lower() == wanted.lower()]
    if len(numbers) != 1:
        raise ImageReadError(
            f"{where}: {what} {wanted!r} not found (or ambiguous); the file holds {sorted(names.values())}"
        )
    return numbers[0]


def rasterize_seg(path, reference, *, roi_name="GTV_Mass", patient=None, column="mask"):
    """Put one segment of a DICOM SEG (Segmentation Storage) onto the grid of ``reference``.

    Every frame of the segment is a plane of pixels whose centres have DICOM patient
    coordinates (mm, LPS, from the frame's Image Position, the shared Image Orientation
    and Pixel Spacing); each segment pixel marks the reference voxel nearest to its centre.
    A SEG made on the reference series (the usual case) is reproduced voxel for voxel;
    draw a SEG on a coarser grid than the reference and it leaves gaps.

    Parameters
    ----------
    path : str or Path
        SEG file, or a folder holding exactly one.
    reference : SimpleITK.Image
        Image whose grid receives the mask (the series the segmentation was made on).
    roi_name : str, default="GTV_Mass"
        Segment label to use when the SEG holds several segments (exact, else the unique
        case-insensitive match); a SEG with one segment uses that one.
    patient, column : optional
        Used only in error messages.

    Returns
    -------
    SimpleITK.Image
        uint8 {0, 1} mask on the reference grid.

    Examples
    --------
    >>> t1 = read_image("MR_T1/image")  # doctest: +SKIP
    >>> mask = rasterize_seg("MR_T1/seg/seg.dcm", t1)  # doctest: +SKIP
    """
    import pydicom

    path = Path(path)
    where = _where(patient, column, path)
    file = _dicom_object_file(path, "SEG", where) if path.exists() else None
    if file is None:
        raise ImageReadError(f"{where}: holds no DICOM SEG")
    try:
        ds = pydicom.dcmread(file)
        segments = {int(item.SegmentNumber): str(getattr(item, "SegmentLabel", item.SegmentNumber))
                    for item in ds.SegmentSequence}
        number = next(iter(segments)) if len(segments) == 1 else _choose_named(segments, roi_name, where, "segment")
        frames = np.asarray(ds.pixel_array).reshape(int(getattr(ds, "NumberOfFrames", 1)), ds.Rows, ds.Columns)
        shared = ds.SharedFunctionalGroupsSequence[0]
        orientation = np.asarray(shared.PlaneOrientationSequence[0].ImageOrientationPatient, dtype=float)
        row_spacing, column_spacing = (float(v) for v in shared.PixelMeasuresSequence[0].PixelSpacing)
        per_frame = ds.PerFrameFunctionalGroupsSequence
    except ImageReadError:
        raise
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
        raise ImageReadError(f"{where}: not a readable DICOM SEG ({type(exc).__name__}: {exc})") from None
    matrix, origin = _voxel_matrix(reference)
    size = np.array(reference.GetSize())
    out = np.zeros(tuple(size[::-1]), dtype=bool)
    row_direction, column_direction = orientation[:3], orientation[3:]
    for frame, item in zip(frames, per_frame):
        if int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber) != number:
            continue
        rows, columns = np.nonzero(frame)
        if not len(rows):
            continue
        position = np.asarray(item.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        points = (position + np.outer(columns * column_spacing, row_direction)
                  + np.outer(rows * row_spacing, column_direction))
        index = np.rint(np.linalg.solve(matrix, (points - origin).T).T).astype(int)
        inside = ((index >= 0) & (index < size)).all(axis=1)
        out[index[inside, 2], index[inside, 1], index[inside, 0]] = True
    image = sitk.GetImageFromArray(out.astype(np.uint8))
    image.CopyInformation(reference)
    return image


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
    file = _rtstruct_file(path, where)
    if file is None:
        raise ImageReadError(f"{where}: holds no DICOM RTSTRUCT")
    ds = pydicom.dcmread(file)
    rois = {int(item.ROINumber): str(item.ROIName) for item in ds.StructureSetROISequence}
    number = _choose_named(rois, roi_name, where, "ROI")
    contours = [item for item in ds.ROIContourSequence if int(item.ReferencedROINumber) == number]
    matrix, origin = _voxel_matrix(reference)
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


def binary_mask_array(image, *, label=None, where="mask"):
    """The tumour voxels of a label image as a boolean (z, y, x) array, with the mask rules.

    ``label=None`` requires a binary mask (background 0 and one positive value); an integer
    selects that label of a multi-label image. An empty result is an error. Used by
    :func:`read_mask` and by the tumour measurements, so that both read a mask alike.
    """
    array = sitk.GetArrayViewFromImage(image)
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
    return np.asarray(binary)


def read_mask(path, reference, *, label=None, roi_name="GTV_Mass", patient=None, column="mask"):
    """Read a tumour mask and put it on the grid of ``reference`` (the T1).

    Accepts a label image (NIfTI, NRRD, DICOM series), a DICOM RTSTRUCT or a DICOM SEG
    (file, or folder holding one).
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
        ROI of an RTSTRUCT, or segment of a SEG holding several.
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
        for modality, rasterize in (("RTSTRUCT", rasterize_rtstruct), ("SEG", rasterize_seg)):
            dicom_file = _dicom_object_file(path, modality, where)
            if dicom_file is not None:
                mask = rasterize(dicom_file, reference, roi_name=roi_name, patient=patient, column=column)
                if not sitk.GetArrayViewFromImage(mask).any():
                    raise ImageReadError(f"{where}: the {modality} mask covers no voxel of the T1 image")
                return mask
    image = read_image(path, patient=patient, column=column, pixel_type=None)
    binary = binary_mask_array(image, label=label, where=where)
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
        warnings.warn(
            f"{where}: only {kept / total:.0%} of the tumour volume lies inside the T1 image",
            UserWarning, stacklevel=2,
        )
    return on_reference
