"""Cache locations, content hashing and atomic writes."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

_CACHE_ENV = "SARCOMA_SURVIVAL_CACHE"
_DATA_ENV = "SARCOMA_SURVIVAL_DATA"


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


def hash_file(path, *, chunk_size=1 << 20) -> str:
    """SHA-256 of a file's bytes, or of every file under a folder (DICOM series)."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        if path.is_dir():
            digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for block in iter(lambda: handle.read(chunk_size), b""):
                digest.update(block)
    return digest.hexdigest()


def hash_params(params: dict) -> str:
    """Stable SHA-256 of a JSON-able parameter dict (keys sorted)."""
    text = json.dumps(params, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    A crash or an exception leaves no partial file at ``path`` (the rename is atomic on
    POSIX file systems), so concurrent readers see either nothing or the whole file.

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
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
