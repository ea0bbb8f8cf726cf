"""The data files an image header names (MetaImage, NRRD, Analyze/NIfTI pairs), before ITK opens them.

ITK follows whatever path a detached-data header gives (``ElementDataFile = /dev/zero``,
``data file: ../../etc/shadow``); the reader policy of the package is that such a header is
read only when every data file it names is a regular file in the header's own folder, named
by a bare file name. These helpers read the header's text and check the data files with
``stat`` only: nothing they refuse is ever opened.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path

#: Longest text header read (MetaImage and NRRD headers are a few hundred bytes).
MAX_HEADER_BYTES = 1 << 20

_NRRD_MAGIC = b"NRRD000"
_METAIMAGE_SUFFIXES = (".mha", ".mhd")


class HeaderError(ValueError):
    """A header names data the package refuses to read; ``reason`` omits the header's path."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


#: ITK's reader of each format the package reads (``ImageFileReader.SetImageIO``).
IMAGE_IOS = {"nifti": "NiftiImageIO", "nrrd": "NrrdImageIO", "metaimage": "MetaImageIO", "dicom": "GDCMImageIO"}

_NIFTI_SUFFIXES = (".nii", ".nii.gz", ".hdr", ".hdr.gz", ".img", ".img.gz")


def _read_head(path, size=4096):
    with open(path, "rb") as handle:
        return handle.read(size)


def image_format(path, head=None):
    """The format of the image file ``path``: "nifti", "nrrd", "metaimage", "dicom" or None.

    Decided from the magic bytes (NRRD, DICOM's ``DICM``, NIfTI's header size) and the suffix
    (MetaImage has no magic), so that ITK can be told which reader to use instead of trying
    every reader it has on a file.
    """
    path = Path(path)
    head = _read_head(path) if head is None else head
    name = path.name.lower()
    if head.startswith(_NRRD_MAGIC):
        return "nrrd"
    if name.endswith(_METAIMAGE_SUFFIXES):
        return "metaimage"
    if head[128:132] == b"DICM" or name.endswith(".dcm"):
        return "dicom"
    if name.endswith(_NIFTI_SUFFIXES) or head[:4] in (b"\x5c\x01\0\0", b"\0\0\x01\x5c", b"\x1c\x02\0\0",
                                                       b"\0\0\x02\x1c"):
        return "nifti"
    return None


def _nrrd_data_file(head, file_length):
    """The ``data file`` value of an NRRD header (None: data in the same file)."""
    end = min((i for i in (head.find(b"\n\n"), head.find(b"\r\n\r\n")) if i >= 0), default=-1)
    if end < 0 and file_length > len(head):
        raise HeaderError(f"NRRD header longer than {MAX_HEADER_BYTES} bytes: not an image header")
    text = head[: end if end >= 0 else len(head)].decode("latin-1")
    for line in text.splitlines()[1:]:
        if line.startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if sep and not value.startswith("=") and key.strip().lower().replace(" ", "") == "datafile":
            return value.strip()
    return None


def _metaimage_data_file(head, file_length):
    """The ``ElementDataFile`` value of a MetaImage header (``LOCAL``: data in the same file)."""
    for line in head.split(b"\n"):
        key, sep, value = line.decode("latin-1").partition("=")
        if sep and key.strip().lower() == "elementdatafile":
            return value.strip()
    if file_length > len(head):
        raise HeaderError(f"MetaImage header longer than {MAX_HEADER_BYTES} bytes: not an image header")
    raise HeaderError("MetaImage header without ElementDataFile: not an image header")


def _named_file(header, name, kind):
    """``name`` (from ``header``) as a regular file next to the header, checked with stat only."""
    name = name[2:] if name.startswith("./") else name
    several = (name.split()[:1] == ["LIST"] or "%" in name
               or (len(name.split()) > 1 and not (header.parent / name).exists()))
    if several:
        raise HeaderError(
            f"its {kind} names several data files ({name[:80]!r}); only one data file next to the "
            "header is read: write the image as one file (.nii.gz, .nrrd, .mha)"
        )
    if not name or name in (".", "..") or "/" in name or "\\" in name or os.path.isabs(name):
        raise HeaderError(
            f"its {kind} names the data file {name[:200]!r}, which is not a file next to the header; "
            "only a data file in the header's own folder (a bare file name) is read"
        )
    data = header.parent / name
    try:
        info = data.stat()
    except FileNotFoundError:
        raise HeaderError(f"its data file {str(data)!r} (named by its {kind}) does not exist") from None
    except OSError as exc:
        raise HeaderError(f"its data file {str(data)!r} cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise HeaderError(
            f"its data file {str(data)!r} (named by its {kind}) is not a regular file (a device, pipe "
            "or socket); it is not read"
        )
    return data, info


def detached_data_files(path):
    """The data files that the image header at ``path`` names, checked against the reader policy.

    MetaImage (``.mha``/``.mhd``, ``ElementDataFile``), NRRD (``data file:``) and Analyze/NIfTI
    pairs (``.hdr`` with its ``.img``) may keep their voxels in another file. That file is
    accepted only when it is named by a bare file name (no folder, not absolute), lies next to
    the header and is a regular file; lists and numbered patterns of files are refused. Only
    ``stat`` is called on a data file: a refused one is never opened.

    Parameters
    ----------
    path : Path
        A regular file (checked by the caller).

    Returns
    -------
    list of (Path, os.stat_result)
        The data files (empty when the voxels are in ``path`` itself or it is no such header).

    Raises
    ------
    HeaderError
        The header names a data file elsewhere, a missing one, a device/pipe/socket, or
        several files.
    """
    path = Path(path)
    head = _read_head(path)
    kind = image_format(path, head)
    if kind in ("nrrd", "metaimage"):
        head = _read_head(path, MAX_HEADER_BYTES)
    file_length = path.stat().st_size
    if kind == "nrrd":
        value = _nrrd_data_file(head, file_length)
        return [] if value is None else [_named_file(path, value, "NRRD 'data file' field")]
    if kind == "metaimage":
        value = _metaimage_data_file(head, file_length)
        return [] if value.upper() == "LOCAL" else [_named_file(path, value, "ElementDataFile field")]
    pair = _analyze_pair(path.name)
    if pair is not None:
        present = [c for c in pair if os.path.lexists(path.parent / c)]
        if not present:
            raise HeaderError(f"its data file {str(path.parent / pair[0])!r} (the other half of the "
                              "Analyze/NIfTI .hdr/.img pair) does not exist")
        return [_named_file(path, c, ".hdr/.img pair") for c in present]
    return []


def _analyze_pair(name):
    """The names of the other half of an Analyze/NIfTI .hdr/.img pair, None for another file."""
    lower = name.lower()
    for suffix, other in ((".hdr.gz", ".img"), (".hdr", ".img"), (".img.gz", ".hdr"), (".img", ".hdr")):
        if lower.endswith(suffix):
            stem = name[: -len(suffix)]
            return [f"{stem}{other}", f"{stem}{other}.gz", f"{stem}{other.upper()}"]
    return None
