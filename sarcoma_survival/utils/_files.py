"""Cache locations, the one file-digest helper, checksummed cache records and atomic writes."""
from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import stat
import threading
import time
import zlib
from pathlib import Path

from ._headers import HeaderError, detached_data_files

_CACHE_ENV = "SARCOMA_SURVIVAL_CACHE"
_DATA_ENV = "SARCOMA_SURVIVAL_DATA"

logger = logging.getLogger("sarcoma_survival")

#: Bounds of a DICOM series folder: more files or bytes than this is not one series.
MAX_FOLDER_FILES = 10_000
MAX_FOLDER_BYTES = 16 << 30

#: Marker in the names of the temporary files of :func:`atomic_path`.
_TMP_MARK = ".tmp-"
#: ``.<target name>.tmp-<12 hex token><8 hex tag><target suffixes>``; the tag proves the name
#: was made by :func:`atomic_path` (see :func:`_is_own_temp_name`).
_TMP_NAME = re.compile(r"\.(?P<name>.+)\.tmp-(?P<token>[0-9a-f]{12})(?P<tag>[0-9a-f]{8})(?P<suffixes>.*)", re.S)

_LOCK = threading.Lock()
_DIGESTS: dict = {}
_VERIFIED: set = set()
_CLEANED: set = set()


def get_cache_dir(cache_dir=None) -> Path:
    """Return the folder for derived files (preprocessed volumes, radiomics features).

    ``cache_dir`` wins; otherwise ``$SARCOMA_SURVIVAL_CACHE``; otherwise
    ``~/.cache/sarcoma_survival``. The folder is created if needed.
    """
    path = Path(cache_dir or os.environ.get(_CACHE_ENV) or Path.home() / ".cache" / "sarcoma_survival")
    path.mkdir(parents=True, exist_ok=True)
    return path


def get_data_dir(data_dir=None) -> Path:
    """Return the folder for generated data sets (the synthetic cohorts).

    ``data_dir`` wins; otherwise ``$SARCOMA_SURVIVAL_DATA``; otherwise
    ``~/.cache/sarcoma_survival/data``. The folder is created if needed.
    """
    path = Path(data_dir or os.environ.get(_DATA_ENV) or Path.home() / ".cache" / "sarcoma_survival" / "data")
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------- input paths
class InputPathError(ValueError):
    """A path that is not an image file or a DICOM series folder; ``reason`` omits the path."""

    def __init__(self, path, reason):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"file {self.path!r}: {reason}")


def _is_dicom(path):
    if path.suffix.lower() in (".dcm", ".ima", ".dicom"):
        return True
    with contextlib.suppress(OSError), open(path, "rb") as handle:
        return handle.read(132)[128:] == b"DICM"
    return False


def input_files(path):
    """The files an image path stands for, after checking what kind of path it is.

    A regular file stands for itself and, when it is a header keeping its voxels in other
    files (MetaImage ``ElementDataFile``, NRRD ``data file``, an Analyze/NIfTI ``.hdr``), for
    its data file too, which must be a regular file next to the header (see
    ``detached_data_files``; a data file elsewhere, or a
    device, is refused without being opened). A folder (a DICOM series, read without recursion as
    SimpleITK's series reader does) for its regular files, at most ``MAX_FOLDER_FILES``
    files and ``MAX_FOLDER_BYTES`` bytes, at least one of them DICOM. Anything else (a
    device such as ``/dev/zero``, a pipe, a socket) is refused before a byte is read.

    Returns
    -------
    list of (Path, os.stat_result)

    Raises
    ------
    InputPathError
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputPathError(path, "does not exist") from None
    except OSError as exc:
        raise InputPathError(path, f"cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISREG(info.st_mode):
        try:
            return [(path, info), *detached_data_files(path)]
        except HeaderError as exc:
            raise InputPathError(path, exc.reason) from None
        except OSError as exc:
            raise InputPathError(path, f"cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISDIR(info.st_mode):
        raise InputPathError(
            path, "not a regular file or a folder (a device, pipe or socket); give an image file or a "
                  "DICOM series folder"
        )
    files, total = [], 0
    with os.scandir(path) as entries:
        for entry in entries:
            try:
                if not entry.is_file():
                    continue
                entry_info = entry.stat()
            except OSError:
                continue
            if not stat.S_ISREG(entry_info.st_mode):
                continue
            files.append((Path(entry.path), entry_info))
            total += entry_info.st_size
            if len(files) > MAX_FOLDER_FILES or total > MAX_FOLDER_BYTES:
                raise InputPathError(
                    path, f"folder holds more than {MAX_FOLDER_FILES} files or {MAX_FOLDER_BYTES >> 30} GiB: "
                          "not the folder of one DICOM series"
                )
    files.sort(key=lambda item: item[0].name)
    if not any(_is_dicom(file) for file, _ in files):
        raise InputPathError(path, "folder holds no DICOM file; give an image file or the folder of one "
                                   "DICOM series")
    return files


def _stamp(info):
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev)


def _sha256_of_file(path, chunk_size=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def _checksum_of_file(path, chunk_size=1 << 20):
    """CRC-32 of a cache file: detects truncation and overwriting, four times faster than SHA-256."""
    value = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            value = zlib.crc32(block, value)
    return f"crc32:{value:08x}"


def file_digest(path) -> str:
    """SHA-256 of an image file, or of every file of a DICOM series folder (with their names).

    The one content digest of the package (cache keys of the volumes and of the radiomics
    features). Memoised within the process on the path and, for every file, its size,
    modification time, change time, inode and device: a file replaced by other bytes of the
    same size with its modification time kept (``cp -p``, ``rsync -t``, ``tar``) has a new
    change time (which cannot be set back) or a new inode, so it is hashed again.

    Raises
    ------
    InputPathError
        The path does not exist or is not a regular file or a DICOM series folder (see
        :func:`input_files`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "a.bin"
    >>> _ = path.write_bytes(b"abc")
    >>> file_digest(path)[:12]
    'ba7816bf8f01'
    """
    path = Path(path)
    files = input_files(path)
    key = (str(path.resolve()), tuple((file.name, _stamp(info)) for file, info in files))
    with _LOCK:
        if key in _DIGESTS:
            return _DIGESTS[key]
    if len(files) == 1 and files[0][0] == path:
        value = _sha256_of_file(path)
    else:
        digest = hashlib.sha256()
        for file, _ in files:
            digest.update(file.name.encode() + b"\0")
            digest.update(_sha256_of_file(file).encode())
        value = digest.hexdigest()
    with _LOCK:
        _DIGESTS[key] = value
    return value


def hash_params(params: dict) -> str:
    """Stable SHA-256 of a JSON-able parameter dict (keys sorted)."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# ---------------------------------------------------------------------------- cache entries
def write_record(path, record: dict):
    """Write a JSON cache record atomically, with a checksum of its contents."""
    body = json.dumps(record, sort_keys=True)
    text = json.dumps({"checksum": hashlib.sha256(body.encode()).hexdigest(), "record": record}, sort_keys=True)
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_record(path):
    """The record stored by :func:`write_record`; None when absent or bad (a bad one is logged)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        return _bad_entry(path, f"cannot be read ({exc})")
    try:
        stored = json.loads(text)
        record = stored["record"]
        checksum = stored["checksum"]
    except (ValueError, KeyError, TypeError) as exc:
        return _bad_entry(path, f"is not a cache record ({type(exc).__name__}: {exc})")
    if hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest() != checksum:
        return _bad_entry(path, "does not match its checksum")
    return record


def _bad_entry(path, reason):
    logger.warning("cache entry %s %s; recomputing it", path, reason)
    return None


def verify_file(path, checksum) -> bool:
    """Whether the file at ``path`` has ``checksum`` (see :func:`write_verified`); memoised on its stat.

    A file is read once per process whatever the number of calls, unless it changes.
    """
    try:
        info = os.stat(path)
    except OSError:
        return False
    key = (str(path), _stamp(info), checksum)
    with _LOCK:
        if key in _VERIFIED:
            return True
    if _checksum_of_file(path) != checksum:
        return False
    with _LOCK:
        _VERIFIED.add(key)
    return True


def write_verified(path, write):
    """Write a file atomically with ``write(tmp_path)``; return its checksum (known good in this process).

    The checksum (CRC-32) guards against accidents (a truncated or overwritten cache file),
    not against an attacker who can write the cache folder.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        write(tmp)
        checksum = _checksum_of_file(tmp)
    with contextlib.suppress(OSError):
        with _LOCK:
            _VERIFIED.add((str(path), _stamp(os.stat(path)), checksum))
    return checksum


def _temp_tag(name, token):
    return hashlib.sha256(f"sarcoma_survival atomic_path\0{name}\0{token}".encode()).hexdigest()[:8]


def _temp_name(path):
    """A fresh temporary name next to ``path``, tagged as written by :func:`atomic_path`.

    The target's suffixes come last (``np.save`` appends ``.npy`` to a name without it,
    and ITK and matplotlib choose the file format from them).
    """
    token = secrets.token_hex(6)
    return f".{path.name}{_TMP_MARK}{token}{_temp_tag(path.name, token)}{''.join(path.suffixes)}"


def _is_own_temp_name(file_name):
    """Whether ``file_name`` is one :func:`_temp_name` made (its tag matches its target and token)."""
    match = _TMP_NAME.fullmatch(file_name)
    if match is None:
        return False
    name = match["name"]
    return (match["suffixes"] == "".join(Path(name).suffixes)
            and secrets.compare_digest(match["tag"], _temp_tag(name, match["token"])))


def clean_stale_temp_files(folder, *, max_age=86400.0):
    """Delete the temporary files of interrupted writes under ``folder`` older than ``max_age`` s.

    Only files whose names :func:`atomic_path` made are candidates: a name carries a tag
    computed from the target's name and a random token, so a user's own file that merely
    looks like a temporary file (``.notes.tmp-draft.txt``) is never deleted. A younger one
    may be another worker's write in progress, so it is kept. Returns the number of files
    deleted.
    """
    removed = 0
    now = time.time()
    for tmp in Path(folder).rglob(f".*{_TMP_MARK}*"):
        if not _is_own_temp_name(tmp.name):
            continue
        with contextlib.suppress(OSError):
            if tmp.is_file() and not tmp.is_symlink() and now - tmp.stat().st_mtime > max_age:
                tmp.unlink()
                removed += 1
    if removed:
        logger.info("removed %d stale temporary file(s) of interrupted writes under %s", removed, folder)
    return removed


def clean_stale_temp_files_once(folder):
    """:func:`clean_stale_temp_files` once per folder and process."""
    key = str(Path(folder).resolve())
    with _LOCK:
        if key in _CLEANED:
            return
        _CLEANED.add(key)
    clean_stale_temp_files(folder)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    A crash or an exception leaves no partial file at ``path`` (the rename is atomic on
    POSIX file systems), so concurrent readers see either nothing or the whole file. The
    file's mode follows the umask, as for any file the user creates (a cache shared by a
    group stays readable to the group); a temporary file left by a killed process is
    removed by :func:`clean_stale_temp_files` once it is a day old.

    Examples
    --------
    >>> import numpy as np, tempfile, pathlib
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "a.npy"
    >>> with atomic_path(target) as tmp:
    ...     np.save(tmp, np.zeros(3))
    >>> np.load(target).tolist()
    [0.0, 0.0, 0.0]
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / _temp_name(path)
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            break
        except FileExistsError:
            continue
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
