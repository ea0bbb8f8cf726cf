"""Output file names that stay inside the folder the user named, and output-path checks.

Patient ids come from user files; a file name built from one (``../../x``, ``/etc/x``)
could otherwise point anywhere. Every per-patient output name goes through
:func:`patient_file`, and the loaders refuse such ids up front (:func:`check_patient_id`).
"""
from __future__ import annotations

import os
from pathlib import Path

from ._schema import check_patient_id  # noqa: F401 (re-exported: the loaders' id check)


def patient_file(folder, patient, suffix):
    """``folder / f"{patient}{suffix}"``, guaranteed to be a file directly in ``folder``.

    Parameters
    ----------
    folder : path-like
    patient : object
        Patient id, checked with :func:`check_patient_id`.
    suffix : str
        For example ``"_gradcam.png"`` (no path separator).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> patient_file("maps", "STS_001", "_gradcam.png").as_posix()
    'maps/STS_001_gradcam.png'
    """
    folder = Path(folder)
    name = check_patient_id(patient) + suffix
    path = folder / name
    if path.parent != folder or path.name != name:  # defence in depth: one component only
        raise ValueError(f"patient id {str(patient)!r} does not give a file name inside {str(folder)!r}")
    return path


def _same_file(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


def check_output_file(path, *, inputs=(), option="--output"):
    """Refuse an output file that would overwrite an input or cannot be written.

    Called before any work starts, so that a long fit never fails at its end.

    Parameters
    ----------
    path : path-like
        The file to be written.
    inputs : sequence of path-like
        Files read by the same command (the manifest, the model file).
    option : str
        Name of the option, for the message.

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    for source in inputs:
        if source is not None and path.exists() and _same_file(path, source):
            raise ValueError(f"{option} {str(path)!r} is an input of this command; it would be overwritten")
    if path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a folder, not a file name")
    parent = path.parent
    if not parent.is_dir():
        raise ValueError(f"{option} {str(path)!r}: folder {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {str(path)!r}: folder {str(parent)!r} is not writable")
    return path


def check_output_folder(path, *, option="--output"):
    """Refuse an output folder that is an existing file or cannot be created.

    Parameters
    ----------
    path : path-like
    option : str

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{option} {str(path)!r} is a file, not a folder")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {str(path)!r}: {str(existing)!r} is not a writable folder")
    return path
