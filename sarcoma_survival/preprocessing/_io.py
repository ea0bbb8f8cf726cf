"""Reading images (NIfTI, NRRD, DICOM series folders) with errors naming patient and file."""
from __future__ import annotations

import gzip
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ..utils import (
    IMAGE_IOS,
    MAX_DEFLATE_RATIO,
    MAX_HEADER_BYTES,
    InputPathError,
    fill_doc,
    image_format,
    input_files,
)

#: Default bound on the voxels of one image (``max_voxels``), checked from its header before
#: anything is allocated: 2**28 voxels (1 GiB as float32; 1024 x 1024 x 256).
DEFAULT_MAX_VOXELS = 1 << 28

#: Plausible voxel spacing in mm; a header outside this range is refused (damaged or another unit).
SPACING_RANGE_MM = (1e-3, 1000.0)

#: Slice positions of a DICOM series must be evenly spaced within this share of the spacing.
SLICE_SPACING_TOLERANCE = 0.05

#: Share of the tumour below which a mask or channel that covers it only in part gets a warning.
PARTIAL_COVERAGE = 0.95

#: What ``nonfinite`` may be: refuse NaN/inf voxels, or replace them by 0 with a warning.
NONFINITE_POLICIES = ("error", "fill")

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


def read_image(path, *, patient=None, column=None, pixel_type=sitk.sitkFloat32, nonfinite="error",
               max_voxels=None):
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
    max_voxels : int, optional
        Largest number of voxels accepted, checked from the header before anything is
        allocated (default ``DEFAULT_MAX_VOXELS``, 2**28: 1 GiB as float32).

    Returns
    -------
    SimpleITK.Image
        A 3D image with its physical geometry (origin, spacing, direction).

    Raises
    ------
    ImageReadError
        If the path does not exist, is not a regular file or a DICOM series folder, is not a
        NIfTI, NRRD, MetaImage or DICOM file, names a data file that is not a regular file
        next to it, cannot be read, is shorter than its header says (a truncated file),
        declares more voxels than it can hold or than ``max_voxels``, has a voxel spacing
        outside ``SPACING_RANGE_MM``, holds no DICOM series or one whose slices are not
        evenly spaced (a missing, duplicated or misplaced slice), is not 3D, or
        (``nonfinite="error"``) holds NaN or infinite voxels.

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
    max_voxels = DEFAULT_MAX_VOXELS if max_voxels is None else int(max_voxels)
    where = _where(patient, column, path)
    reader = check_image(path, patient=patient, column=column, max_voxels=max_voxels)
    try:
        image = reader.Execute()
    except RuntimeError as exc:
        raise ImageReadError(f"{where}: cannot be read ({_itk_reason(exc)})") from exc
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


def check_image(path, *, patient=None, column=None, max_voxels=DEFAULT_MAX_VOXELS, allow_rtstruct=False):
    """Apply the reader policy to an image path without reading a voxel; return ITK's reader.

    The one check of every image the package reads (:func:`read_image`, hence the estimators,
    the command line and the web service, which also calls it on each upload before queuing
    the request): what kind of path it is, the data files its header names (see
    ``sarcoma_survival.utils.input_files``), the format, the sizes and spacing its header
    declares, and for a DICOM series the spacing of its slices. Only headers are read.

    Parameters
    ----------
    path : str or Path
        Image file, or folder holding one DICOM series.
    patient, column : str, optional
        Used only in error messages.
    max_voxels : int, default=DEFAULT_MAX_VOXELS
        Largest number of voxels accepted.
    allow_rtstruct : bool, default=False
        Accept a DICOM RTSTRUCT (a file, or a folder holding one), as a mask may be; it has
        no voxels of its own (it is rasterised on the T1's grid).

    Returns
    -------
    SimpleITK.ImageFileReader or SimpleITK.ImageSeriesReader or None
        A reader set up for the path, with its reader class fixed by the format found
        (None for an accepted RTSTRUCT).

    Raises
    ------
    ImageReadError
        See :func:`read_image`.
    """
    path = Path(path)
    where = _where(patient, column, path)
    try:
        files = input_files(path)
    except InputPathError as exc:
        raise ImageReadError(f"{where}: {exc.reason}") from None
    if allow_rtstruct and (path.is_dir() or image_format(path) == "dicom") and _rtstruct_file(path, where):
        return None
    if path.is_dir():
        return _check_series(path, files, where, max_voxels)
    kind = image_format(path)
    if kind is None:
        raise ImageReadError(
            f"{where}: not an image format this package reads; give NIfTI (.nii, .nii.gz), NRRD (.nrrd, "
            ".nhdr), MetaImage (.mha, .mhd) or DICOM"
        )
    return _check_header(path, files, kind, where, max_voxels)


def _check_series(path, files, where, max_voxels):
    """The reader of the one DICOM series of a folder, after checking its size and slice positions."""
    try:
        reader = sitk.ImageSeriesReader()
        series = reader.GetGDCMSeriesIDs(str(path))
        if not series:
            raise ImageReadError(f"{where}: folder holds no DICOM image series")
        if len(series) > 1:
            raise ImageReadError(f"{where}: folder holds {len(series)} DICOM series; give the folder of one series")
        names = reader.GetGDCMSeriesFileNames(str(path), series[0])
        first = sitk.ImageFileReader()
        first.SetImageIO("GDCMImageIO")
        first.SetFileName(names[0])
        first.ReadImageInformation()
    except RuntimeError as exc:
        raise ImageReadError(f"{where}: cannot be read ({_itk_reason(exc)})") from exc
    size = (*first.GetSize()[:2], len(names) * first.GetSize()[2])
    _check_voxels(size, _describe_size(size, 8 * _PIXEL_BYTES.get(first.GetPixelID(), 1)), where, max_voxels)
    _check_spacing(first.GetSpacing()[:2], where)
    if len(names) > 1:
        _check_slice_positions(names, where)
    reader.SetFileNames(names)
    return reader


def _check_slice_positions(names, where):
    """Refuse a series whose slices are not evenly spaced along their normal (gap, duplicate, shift).

    ITK puts the slices on one uniform grid whatever their positions, so a missing slice
    would shift every slice after it by one spacing, without a word.
    """
    import pydicom

    positions = []
    normal = None
    for name in names:
        try:
            # force: old exports write bare data sets without the preamble, which ITK reads
            ds = pydicom.dcmread(name, stop_before_pixels=True, force=True,
                                 specific_tags=["ImagePositionPatient", "ImageOrientationPatient"])
            origin = np.asarray(ds.ImagePositionPatient, dtype=float)
            if normal is None:
                cosines = np.asarray(ds.ImageOrientationPatient, dtype=float)
                normal = np.cross(cosines[:3], cosines[3:])
        except (AttributeError, ValueError, TypeError, OSError, pydicom.errors.InvalidDicomError):
            raise ImageReadError(
                f"{where}: slice {Path(name).name!r} has no valid ImagePositionPatient/ImageOrientationPatient; "
                "the slices cannot be placed"
            ) from None
        positions.append(float(origin @ normal))
    ordered = np.sort(np.asarray(positions))
    steps = np.diff(ordered)
    step = float(np.median(steps))
    duplicates = ordered[1:][steps <= SLICE_SPACING_TOLERANCE * max(step, 1e-6)]
    if step <= 0 or len(duplicates):
        value = duplicates[0] if len(duplicates) else ordered[0]
        raise ImageReadError(
            f"{where}: two slices of the DICOM series lie at the same position ({value:.3f} mm along the "
            "slice normal); remove the duplicate slice"
        )
    uneven = np.abs(steps - step) > SLICE_SPACING_TOLERANCE * step
    if uneven.any():
        i = int(np.argmax(uneven))
        gap = steps[i]
        if gap > step:
            missing = [ordered[i] + k * step for k in range(1, int(round(gap / step)))] or [ordered[i] + step]
            shown = ", ".join(f"{m:.3f}" for m in missing[:5]) + (" ..." if len(missing) > 5 else "")
            what = f"slice(s) missing at {shown} mm along the slice normal"
        else:
            what = f"slices {ordered[i]:.3f} and {ordered[i + 1]:.3f} mm are {gap:.3f} mm apart"
        raise ImageReadError(
            f"{where}: the DICOM series is not evenly spaced ({step:.3f} mm between most slices; {what}); "
            "give the whole series, or resample it yourself to a uniform grid"
        )


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


def _nifti_layout(header):
    """(size, bits per voxel, data offset) of a single-file NIfTI-1/2 header, else None."""
    for endian in "<>":
        if len(header) >= 348 and struct.unpack(endian + "i", header[:4])[0] == 348 and header[344:347] in (
                b"n+1", b"ni1"):
            dims = struct.unpack(endian + "8h", header[40:56])
            bitpix = struct.unpack(endian + "h", header[72:74])[0]
            offset = int(struct.unpack(endian + "f", header[108:112])[0])
        elif len(header) >= 540 and struct.unpack(endian + "i", header[:4])[0] == 540 and header[4:7] in (
                b"n+2", b"ni2"):
            bitpix = struct.unpack(endian + "h", header[14:16])[0]
            dims = struct.unpack(endian + "8q", header[16:80])
            offset = struct.unpack(endian + "q", header[168:176])[0]
        else:
            continue
        if not 1 <= dims[0] <= 7:
            return None
        return tuple(int(d) for d in dims[1:dims[0] + 1]), int(bitpix), int(offset)
    return None


def _head(path, size=4096):
    """The first ``size`` bytes of the file, decompressed when it is gzip: (bytes, compressed).

    A gzip stream cut short still gives the bytes it holds (a file cut inside its header
    gives fewer than ``size``), so the NIfTI header check never depends on the stream being
    whole.
    """
    with open(path, "rb") as handle:
        raw = handle.read(size if size > 4096 else 65536)
    if not raw.startswith(b"\x1f\x8b"):
        return raw[:size], False
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        return inflater.decompress(raw, size), True
    except zlib.error:
        return b"", True


def _gzip_length(path, enough):
    """Length of the decompressed stream, decompressing no further than ``enough`` bytes."""
    total = 0
    try:
        with gzip.open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 22), b""):
                total += len(block)
                if total >= enough:
                    break
    except (EOFError, OSError, zlib.error) as exc:
        return total, f"{type(exc).__name__}: {exc}"
    return total, None


def _describe_size(size, bits):
    return f"{' x '.join(str(s) for s in size)} voxels of {bits} bits"


def _header_fields(path, kind):
    """The text fields of an NRRD or MetaImage header (keys lower-case, without spaces)."""
    with open(path, "rb") as handle:
        head = handle.read(MAX_HEADER_BYTES)
    fields = {}
    if kind == "nrrd":
        for line in head.split(b"\n\n")[0].decode("latin-1").splitlines()[1:]:
            key, sep, value = line.partition(":")
            if sep and not line.startswith("#") and not value.startswith("="):
                fields[key.strip().lower().replace(" ", "")] = value.strip().lower()
    else:
        for line in head.split(b"\n"):
            key, sep, value = line.decode("latin-1").partition("=")
            if sep:
                fields[key.strip().lower()] = value.strip().lower()
            if key.strip().lower() == "elementdatafile":
                break
    return fields


def _max_voxel_bytes_per_byte(kind, fields, voxel_bytes):
    """Largest (voxel bytes / data-file bytes) the encoding allows, None when not known.

    Raw data 1; gzip/zlib the deflate limit; ASCII text at least one character per voxel;
    hex two characters per byte. Other encodings (bzip2) are bounded by the voxel count only.
    """
    if kind == "nrrd":
        encoding = fields.get("encoding")
        return {"raw": 1, "gzip": MAX_DEFLATE_RATIO, "gz": MAX_DEFLATE_RATIO, "ascii": voxel_bytes,
                "text": voxel_bytes, "txt": voxel_bytes, "hex": 0.5}.get(encoding)
    if fields.get("compresseddata", "false") == "true":
        return MAX_DEFLATE_RATIO
    return 1


def _check_header(path, files, kind, where, max_voxels):
    """Check what an image file's header declares, before a voxel is read; return ITK's reader.

    Refuses a NIfTI whose header cannot be read whole (a ``.nii.gz`` cut inside its first
    kilobytes), a file or data file shorter than the voxels its header declares (NIfTI:
    exactly offset + voxels x bytes, ITK would fill the rest with 0; NRRD and MetaImage: more
    voxels than the data file could hold at its encoding's best ratio, ASCII and hex NRRD
    included), more than ``max_voxels`` voxels, and a voxel spacing outside
    ``SPACING_RANGE_MM``. Only the header is read (by this code and by ITK's
    ``ReadImageInformation``).
    """
    data = files[-1][0] if len(files) > 1 else path
    data_length = files[-1][1].st_size
    if kind == "nifti" and len(files) == 1:
        header, compressed = _head(path)
        layout = _nifti_layout(header)
        if layout is None:
            if compressed:
                raise ImageReadError(
                    f"{where}: cannot be read (truncated or damaged gzip file: it decompresses to "
                    f"{len(header)} bytes without a whole NIfTI header)"
                )
            raise ImageReadError(f"{where}: cannot be read (its first {len(header)} bytes hold no NIfTI header)")
        size, bits, offset = layout
        expected = offset + (int(np.prod(size, dtype=np.int64)) * bits + 7) // 8
        described = _describe_size(size, bits)
        _check_voxels(size, described, where, max_voxels)
        if expected > data_length * (MAX_DEFLATE_RATIO if compressed else 1):
            _impossible(where, described, expected, data_length)
        if compressed:
            _check_gzip_length(path, expected, described, where)
        elif data_length < expected:
            raise ImageReadError(
                f"{where}: truncated or damaged file: its header declares {described} ({expected} bytes) "
                f"but it holds {data_length} bytes"
            )
    reader = sitk.ImageFileReader()
    reader.SetImageIO(IMAGE_IOS[kind])
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except RuntimeError as exc:
        raise ImageReadError(f"{where}: cannot be read ({_itk_reason(exc)})") from exc
    size = reader.GetSize()
    voxel_bytes = _PIXEL_BYTES.get(reader.GetPixelID(), 1) * max(1, reader.GetNumberOfComponents())
    described = _describe_size(size, 8 * voxel_bytes)
    _check_voxels(size, described, where, max_voxels)
    _check_spacing(reader.GetSpacing(), where)
    if kind in ("nrrd", "metaimage"):
        ratio = _max_voxel_bytes_per_byte(kind, _header_fields(path, kind), voxel_bytes)
        expected = int(np.prod(size, dtype=np.int64)) * voxel_bytes
        if ratio is not None and expected > data_length * ratio:
            _impossible(where if data == path else f"{where} (data file {str(data)!r})", described, expected,
                        data_length)
    return reader


def _impossible(where, described, expected, length):
    raise ImageReadError(
        f"{where}: its header declares {described} ({expected} bytes), impossible in a file of "
        f"{length} bytes (truncated or damaged file)"
    )


def _check_gzip_length(path, expected, described, where):
    with open(path, "rb") as raw:
        raw.seek(-4, 2)
        trailer = struct.unpack("<I", raw.read(4))[0]
    if trailer == expected % (1 << 32):
        return
    length, problem = _gzip_length(path, expected)
    if problem is not None or length < expected:
        detail = f"; {problem}" if problem else ""
        raise ImageReadError(
            f"{where}: truncated or damaged file: its header declares {described} ({expected} bytes "
            f"once decompressed) but it holds {length} bytes{detail}"
        )


def _check_voxels(size, described, where, max_voxels):
    count = int(np.prod([int(s) for s in size], dtype=np.int64))
    if count > max_voxels:
        raise ImageReadError(
            f"{where}: its header declares {described} ({count} voxels), more than the limit of "
            f"{max_voxels} voxels; for an image this large pass a larger max_voxels (read_image, "
            "VolumePreprocessor; command line: --max-voxels of preprocess and serve)"
        )


def _check_spacing(spacing, where):
    low, high = SPACING_RANGE_MM
    bad = [s for s in spacing if not low <= s <= high]
    if bad:
        raise ImageReadError(
            f"{where}: voxel spacing {tuple(round(float(s), 6) for s in spacing)} mm is outside the plausible "
            f"range {low:g} to {high:g} mm (a damaged header, or spacing in another unit); repair the header"
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


#: The docstring entries of the last parameters, the return and the first example line of both
#: rasterizers.
_MASK_RETURNS = """    patient, column : optional
        Used only in error messages.

    Returns
    -------
    SimpleITK.Image
        uint8 {0, 1} mask on the reference grid.

    Examples
    --------
    >>> t1 = read_image("MR_T1/image")  # doctest: +SKIP
"""


def _mask_image(mask, reference):
    """The boolean voxel array ``mask`` (z, y, x) as a uint8 image on the grid of ``reference``.

    Parameters
    ----------
    mask : ndarray of bool, shape (z, y, x)
        The voxels inside the region.
    reference : SimpleITK.Image
        Image whose grid (origin, spacing, direction) the mask takes.

    Returns
    -------
    SimpleITK.Image
        uint8 {0, 1} mask.
    """
    image = sitk.GetImageFromArray(mask.astype(np.uint8))
    image.CopyInformation(reference)
    return image


@fill_doc(mask_returns=_MASK_RETURNS)
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
    <mask_returns>
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
    return _mask_image(out, reference)


@fill_doc(mask_returns=_MASK_RETURNS)
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
    <mask_returns>
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
    where = _where(patient, column, file)
    try:
        ds = pydicom.dcmread(file)
        rois = {int(item.ROINumber): str(item.ROIName) for item in ds.StructureSetROISequence}
        roi_contours = list(ds.ROIContourSequence)
    except (AttributeError, ValueError, TypeError, KeyError, OSError) as exc:
        raise ImageReadError(
            f"{where}: damaged RTSTRUCT: no readable structure set or ROI contour sequence "
            f"({type(exc).__name__}); export the structure set again"
        ) from None
    roi_number = _choose_named(rois, roi_name, where, "ROI")
    contours = [item for item in roi_contours if int(getattr(item, "ReferencedROINumber", -1)) == roi_number]
    sequences = [getattr(item, "ContourSequence", None) for item in contours]
    if not any(sequences):
        raise ImageReadError(
            f"{where}: ROI {roi_name!r} has no contour (no ContourSequence); it holds no tumour outline"
        )
    matrix, origin = _voxel_matrix(reference)
    size_x, size_y, size_z = reference.GetSize()
    out = np.zeros((size_z, size_y, size_x), dtype=bool)
    outside = total = 0
    for number, contour in enumerate(item for sequence in sequences if sequence for item in sequence):
        points = _contour_points(contour, where, roi_name, number)
        if len(points) < 3:
            continue
        total += 1
        index = np.linalg.solve(matrix, (points - origin).T).T
        k_values = index[:, 2]
        k = int(np.round(k_values.mean()))
        if np.ptp(k_values) > 1.0:
            raise ImageReadError(
                f"{where}: ROI {roi_name!r} has a contour that is not in the slice planes of the "
                "reference image; rasterise it on the series it was drawn on"
            )
        in_plane = index[:, :2]
        if not 0 <= k < size_z or (in_plane < -0.5).any() or (in_plane > [size_x - 0.5, size_y - 0.5]).any():
            outside += 1
        if not 0 <= k < size_z:
            continue
        lo = np.clip(np.floor(in_plane.min(axis=0)).astype(int), 0, [size_x - 1, size_y - 1])
        hi = np.clip(np.ceil(in_plane.max(axis=0)).astype(int), 0, [size_x - 1, size_y - 1])
        ii, jj = np.meshgrid(np.arange(lo[0], hi[0] + 1), np.arange(lo[1], hi[1] + 1))
        inside = PolygonPath(in_plane).contains_points(np.column_stack([ii.ravel(), jj.ravel()]))
        out[k, jj.ravel()[inside], ii.ravel()[inside]] ^= True
    if outside:
        warnings.warn(
            f"{where}: {outside} of the {total} contours of ROI {roi_name!r} lie wholly or partly outside "
            "the image; the mask holds only their part inside it",
            UserWarning, stacklevel=2,
        )
    return _mask_image(out, reference)


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


def _contour_points(contour, where, roi_name, number):
    """The (n, 3) points of one RTSTRUCT contour; a damaged ContourData is a named error."""
    try:
        values = np.asarray([float(v) for v in getattr(contour, "ContourData", [])], dtype=float)
    except (TypeError, ValueError):
        values = np.array([np.nan])
    if len(values) % 3:
        raise ImageReadError(
            f"{where}: contour {number} of ROI {roi_name!r} has {len(values)} coordinates, not a multiple of "
            "3 (x, y, z per point); the RTSTRUCT is damaged"
        )
    if not np.isfinite(values).all():
        raise ImageReadError(
            f"{where}: contour {number} of ROI {roi_name!r} has a NaN, infinite or non-numeric coordinate; "
            "the RTSTRUCT is damaged"
        )
    return values.reshape(-1, 3)


def read_mask(path, reference, *, label=None, roi_name="GTV_Mass", patient=None, column="mask",
              max_voxels=None):
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
    max_voxels : int, optional
        Largest number of voxels of a label image (see :func:`read_image`).

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
                    raise ImageReadError(f"{where}: the {modality} mask (ROI {roi_name!r}) covers no voxel of "
                                         "the T1 image")
                return mask
    image = read_image(path, patient=patient, column=column, pixel_type=None, max_voxels=max_voxels)
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
    if kept < PARTIAL_COVERAGE * total:
        warnings.warn(
            f"{where}: only {kept / total:.0%} of the tumour volume lies inside the T1 image",
            UserWarning, stacklevel=2,
        )
    return on_reference
