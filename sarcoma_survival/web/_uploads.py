"""Reading one multipart request into a private folder, with the size limit enforced while reading.

Neither Starlette nor uvicorn limits a request body, and Starlette's own form parser spools
files to the system temp folder; this reader streams the body through python-multipart,
counts every byte as it arrives, writes file parts only inside the request's private
folder (under fixed names, never the client's file name) and stops at the limit.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

from python_multipart.multipart import MultipartParser, parse_options_header

from ..utils import MAX_FOLDER_FILES, ArchiveError, open_bounded_zip

#: File suffixes accepted for the image fields (a ``.zip`` holds a DICOM series or RTSTRUCT).
IMAGE_SUFFIXES = (".nii.gz", ".nii", ".nrrd", ".mha", ".dcm", ".zip")

_MAX_FIELD_BYTES = 64 * 1024
_MAX_PARTS = 64


class InputError(ValueError):
    """A request the server refuses; ``field`` names the form field when one is to blame."""

    def __init__(self, message, field=None, status=422):
        super().__init__(message)
        self.field = field
        self.status = status


class TooLarge(InputError):
    """The request body exceeds the upload limit (HTTP 413)."""

    def __init__(self, limit_bytes, field=None):
        super().__init__(
            f"the upload exceeds the server's limit of {limit_bytes / 2**20:g} MB "
            "(start the server with a larger --max-upload-mb)",
            field=field, status=413,
        )


def _suffix(filename):
    name = filename.lower()
    for suffix in IMAGE_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return None


class _Reader:
    """python-multipart callbacks: text fields in memory, files into ``folder``."""

    def __init__(self, folder, limit_bytes):
        self.folder = Path(folder)
        self.limit = limit_bytes
        self.fields, self.files, self.filenames = {}, {}, {}
        self._header_name = self._header_value = b""
        self._disposition = b""
        self._name = None
        self._text = None
        self._file = None
        self._parts = 0

    def on_part_begin(self):
        self._disposition, self._name, self._text, self._file = b"", None, None, None
        self._parts += 1
        if self._parts > _MAX_PARTS:
            raise InputError(f"too many form parts (more than {_MAX_PARTS})")

    def on_header_field(self, data, start, end):
        self._header_name += data[start:end]

    def on_header_value(self, data, start, end):
        self._header_value += data[start:end]

    def on_header_end(self):
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def on_headers_finished(self):
        _, options = parse_options_header(self._disposition)
        if b"name" not in options:
            raise InputError("a form part has no name")
        self._name = options[b"name"].decode("utf-8", "replace")
        if self._name in self.fields or self._name in self.files:
            raise InputError(f"field {self._name!r} is given twice", field=self._name)
        if b"filename" in options:
            filename = options[b"filename"].decode("utf-8", "replace")
            suffix = _suffix(filename)
            if not filename:  # an empty file input: the browser sends no file
                self._text = bytearray()
                return
            if suffix is None:
                raise InputError(
                    f"field {self._name!r}: unsupported file type {Path(filename).name!r}; upload NIfTI "
                    "(.nii, .nii.gz), NRRD (.nrrd), MHA (.mha), an RTSTRUCT (.dcm) or a zipped DICOM series (.zip)",
                    field=self._name,
                )
            if not self._name.isidentifier():
                raise InputError(f"file field name {self._name!r} is not valid", field=self._name)
            path = self.folder / f"{self._name}{suffix}"
            self._file = open(path, "wb")  # noqa: SIM115 - closed in on_part_end or close()
            self.files[self._name] = path
            self.filenames[self._name] = filename
        else:
            self._text = bytearray()

    def on_part_data(self, data, start, end):
        if self._file is not None:
            self._file.write(data[start:end])
        else:
            self._text.extend(data[start:end])
            if len(self._text) > _MAX_FIELD_BYTES:
                raise InputError(f"field {self._name!r} is longer than {_MAX_FIELD_BYTES} bytes", field=self._name)

    def on_part_end(self):
        if self._file is not None:
            self._file.close()
            self._file = None
        elif self._text is not None and self._name not in self.files:
            try:
                self.fields[self._name] = self._text.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(f"field {self._name!r} is not UTF-8 text", field=self._name) from None

    def close(self):
        if self._file is not None:
            self._file.close()


async def read_multipart(request, folder, limit_bytes):
    """Stream a ``multipart/form-data`` request into ``folder``.

    Parameters
    ----------
    request : starlette.requests.Request
    folder : Path
        The request's private folder; file parts are written there as ``<field><suffix>``.
    limit_bytes : int
        Largest accepted body; a larger declared ``Content-Length`` is refused before
        reading, a longer body as soon as the limit is passed.

    Returns
    -------
    fields : dict of str to str
    files : dict of str to Path
    filenames : dict of str to str
        The client's file names (for messages only).
    """
    content_type = request.headers.get("content-type", "")
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise InputError("POST the patient as multipart/form-data (an HTML form with files)")
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit_bytes:
        raise TooLarge(limit_bytes)
    reader = _Reader(folder, limit_bytes)
    callbacks = {name: getattr(reader, name) for name in (
        "on_part_begin", "on_part_data", "on_part_end", "on_header_field", "on_header_value",
        "on_header_end", "on_headers_finished")}
    parser = MultipartParser(params[b"boundary"], callbacks)
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit_bytes:
                raise TooLarge(limit_bytes, field=reader._name if reader._file is not None else None)
            parser.write(chunk)
        parser.finalize()
    except InputError:
        raise
    except Exception as exc:  # noqa: BLE001 - python-multipart's own parse errors: a malformed body
        raise InputError(f"the multipart body cannot be parsed ({type(exc).__name__})") from None
    finally:
        reader.close()
    return reader.fields, reader.files, reader.filenames


def unpack_zip(path, field, limit_bytes):
    """Extract an uploaded zip (a DICOM series, or an RTSTRUCT) next to it; return the folder.

    The archive is checked from its central directory before a member is read: at most
    ``MAX_FOLDER_FILES`` members (a DICOM series folder's bound), and at most ``limit_bytes``
    uncompressed, for one member and for all together (zip bombs). Members are written
    under sanitised flat names, so no path in the archive can point outside the folder.
    """
    target = path.with_suffix("")
    target.mkdir()
    try:
        with open_bounded_zip(path, max_members=MAX_FOLDER_FILES, max_member_bytes=limit_bytes,
                              max_total_bytes=limit_bytes) as archive:
            members = [m for m in archive.infolist() if not m.is_dir()]
            if not members:
                raise InputError(f"field {field!r}: the zip archive is empty", field=field)
            for i, member in enumerate(members):
                with archive.open(member) as source, open(target / f"{i:05d}.dcm", "wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)
    except ArchiveError as exc:
        raise InputError(f"field {field!r}: the zip upload exceeds the server's bounds: {exc.reason}",
                         field=field, status=413) from None
    except zipfile.BadZipFile:
        raise InputError(f"field {field!r}: the file is not a valid zip archive", field=field) from None
    path.unlink()
    return target
