"""Zip archives opened within bounds read from the central directory, before any member is read.

Every zip the package opens (model files and the skops part inside them, zipped DICOM
uploads) goes through :func:`open_bounded_zip`: the end-of-central-directory record gives
the number of members and the directory's size before :mod:`zipfile` parses a single entry,
then every entry's declared sizes are checked. :mod:`zipfile` never inflates a member past
its declared size, so these bounds also bound what reading the members costs.
"""
from __future__ import annotations

import io
import struct
import zipfile

#: Deflate cannot compress more than about 1032:1.
MAX_DEFLATE_RATIO = 1032

#: Bytes of central directory allowed per member (a 46-byte entry, its name and extra fields).
_DIRECTORY_BYTES_PER_MEMBER = 1024

_EOCD = struct.Struct("<4s4H2LH")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")


class ArchiveError(ValueError):
    """A zip archive outside its bounds; ``reason`` omits the archive's name."""

    def __init__(self, reason):
        super().__init__(reason)
        self.reason = reason


def _directory_counts(handle):
    """(members, central directory bytes) from the end-of-central-directory record."""
    handle.seek(0, io.SEEK_END)
    length = handle.tell()
    tail_start = max(0, length - (_EOCD.size + 65535))
    handle.seek(tail_start)
    tail = handle.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < _EOCD.size:
        raise zipfile.BadZipFile("File is not a zip file")
    _, _, _, _, members, directory_bytes, _, _ = _EOCD.unpack_from(tail, at)
    if (members == 0xFFFF or directory_bytes == 0xFFFFFFFF) and at >= _ZIP64_LOCATOR.size:
        signature, _, offset, _ = _ZIP64_LOCATOR.unpack_from(tail, at - _ZIP64_LOCATOR.size)
        if signature == b"PK\x06\x07" and 0 <= offset <= length - _ZIP64_EOCD.size:
            handle.seek(offset)
            record = handle.read(_ZIP64_EOCD.size)
            if record[:4] == b"PK\x06\x06":
                members, directory_bytes = _ZIP64_EOCD.unpack(record)[7:9]
    return members, directory_bytes


def open_bounded_zip(source, *, max_members, max_member_bytes, max_total_bytes):
    """Open a zip archive after checking its member count and uncompressed sizes.

    Parameters
    ----------
    source : str, Path, bytes or binary file object
        The archive.
    max_members : int
        Most members (folders included).
    max_member_bytes : int
        Largest uncompressed size of one member.
    max_total_bytes : int
        Largest uncompressed size of all members together.

    Returns
    -------
    zipfile.ZipFile
        The open archive (close it, or use it in a ``with`` block).

    Raises
    ------
    ArchiveError
        More members, or larger members, than the bounds; a member declaring more than
        deflate can produce from its compressed size.
    zipfile.BadZipFile
        Not a zip archive.

    Examples
    --------
    >>> import io, zipfile
    >>> buffer = io.BytesIO()
    >>> with zipfile.ZipFile(buffer, "w") as archive:
    ...     archive.writestr("a.txt", "hello")
    >>> open_bounded_zip(buffer.getvalue(), max_members=1, max_member_bytes=10, max_total_bytes=10).namelist()
    ['a.txt']
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(source)
    if hasattr(source, "read"):
        members, directory_bytes = _directory_counts(source)
        source.seek(0)
    else:
        with open(source, "rb") as handle:
            members, directory_bytes = _directory_counts(handle)
    if members > max_members:
        raise ArchiveError(f"the archive holds {members} members, more than the limit of {max_members}")
    if directory_bytes > (max_members + 1) * _DIRECTORY_BYTES_PER_MEMBER:
        raise ArchiveError(
            f"the archive's central directory takes {directory_bytes} bytes, more than {max_members} members need"
        )
    archive = zipfile.ZipFile(source)
    try:
        _check_members(archive.infolist(), max_members, max_member_bytes, max_total_bytes)
    except BaseException:
        archive.close()
        raise
    return archive


def _check_members(infos, max_members, max_member_bytes, max_total_bytes):
    if len(infos) > max_members:
        raise ArchiveError(f"the archive holds {len(infos)} members, more than the limit of {max_members}")
    total = 0
    for info in infos:
        if info.file_size > max_member_bytes:
            raise ArchiveError(
                f"member {info.filename[:100]!r} is {info.file_size} bytes once uncompressed, more than the "
                f"limit of {max_member_bytes} bytes"
            )
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ArchiveError(
                f"member {info.filename[:100]!r} uses compression method {info.compress_type}; only stored and "
                "deflated members are read"
            )
        ratio = 1 if info.compress_type == zipfile.ZIP_STORED else MAX_DEFLATE_RATIO
        if info.file_size > ratio * info.compress_size + 1024:
            raise ArchiveError(
                f"member {info.filename[:100]!r} declares {info.file_size} bytes from {info.compress_size} "
                "compressed bytes, more than its compression can produce (a forged archive)"
            )
        total += info.file_size
    if total > max_total_bytes:
        raise ArchiveError(
            f"the members are {total} bytes once uncompressed, more than the limit of {max_total_bytes} bytes"
        )
