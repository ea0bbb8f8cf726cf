"""Settings of the image readers for a block of code, as scikit-learn's ``config_context``.

The readers (:class:`~sarcoma_survival.preprocessing.VolumePreprocessor` and
:class:`~sarcoma_survival.radiomics.RadiomicsExtractor`, including those inside fitted
models) read four settings here, so that a program, the command line or the web service
changes them without reaching inside an estimator:

``nonfinite``
    What to do with NaN or infinite voxels (``"error"`` or ``"fill"``). It changes what is
    computed, so a reader's own parameter wins when it is set; a reader left at
    ``nonfinite=None`` takes the context's value (``"error"`` when the context has none)
    when it is fitted, and keeps that policy afterwards.
``cache``, ``cache_dir``, ``n_jobs``, ``max_voxels``
    Whether and where derived files are cached, how many patients are processed at once,
    and the largest image (in voxels) a reader accepts. They never change a result, and a
    model file's fit-time folder, job count or bound means nothing on the machine that
    loads it, so the context's value, when set, wins over the reader's parameter (the web
    service points every cache of a model fitted with a ``cache_dir`` at one request's
    private folder; ``--max-voxels`` bounds every reader of a command). Unset, the
    parameter applies.

Settings are per thread (as scikit-learn's) and reach the joblib and Dask workers of the
package's one parallel path (:func:`sarcoma_survival._parallel.parallel_map`).
"""
from __future__ import annotations

import contextlib
import threading

#: The settings and their "not set" value.
_DEFAULTS = {"nonfinite": None, "cache": None, "cache_dir": None, "n_jobs": None, "max_voxels": None}

#: Settings whose context value wins over the reader's parameter (they change no result).
_OVERRIDING = ("cache", "cache_dir", "n_jobs", "max_voxels")

#: ``nonfinite`` when neither the reader nor the context sets it.
DEFAULT_NONFINITE = "error"

_global = dict(_DEFAULTS)
_local = threading.local()
_UNCHANGED = object()


def _current():
    if not hasattr(_local, "config"):
        _local.config = dict(_global)
    return _local.config


def get_config():
    """The settings in force in this thread.

    Returns
    -------
    dict
        ``nonfinite``, ``cache``, ``cache_dir``, ``n_jobs`` and ``max_voxels`` (None: not set).

    Examples
    --------
    >>> from sarcoma_survival import config_context, get_config
    >>> with config_context(cache=False):
    ...     get_config()["cache"]
    False
    """
    return dict(_current())


def _check(name, value):
    if value is None:
        return
    if name == "nonfinite" and value not in ("error", "fill"):
        raise ValueError(f"nonfinite must be 'error', 'fill' or None, got {value!r}")
    if name == "cache" and not isinstance(value, bool):
        raise ValueError(f"cache must be True, False or None, got {value!r}")
    if name == "n_jobs" and (isinstance(value, bool) or not isinstance(value, int) or value == 0):
        raise ValueError(f"n_jobs must be a non-zero int or None, got {value!r}")
    if name == "max_voxels" and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"max_voxels must be a positive int or None, got {value!r}")


def set_config(nonfinite=_UNCHANGED, cache=_UNCHANGED, cache_dir=_UNCHANGED, n_jobs=_UNCHANGED,
               max_voxels=_UNCHANGED):
    """Change the settings of this thread (an omitted one is kept; None unsets it).

    Parameters
    ----------
    nonfinite : {"error", "fill"} or None
        Policy of readers whose own ``nonfinite`` is None.
    cache : bool or None
        Turns every reader's cache on or off (wins over their ``cache``).
    cache_dir : str, path-like or None
        Cache root of every reader (wins over their ``cache_dir``).
    n_jobs : int or None
        Patients processed at once by every reader (wins over their ``n_jobs``).
    max_voxels : int or None
        Largest number of voxels of one input image for every reader (wins over their
        ``max_voxels``).

    Examples
    --------
    >>> from sarcoma_survival import get_config, set_config
    >>> set_config(n_jobs=2); get_config()["n_jobs"]
    2
    >>> set_config(n_jobs=None)
    """
    config = _current()
    new = {"nonfinite": nonfinite, "cache": cache, "cache_dir": cache_dir, "n_jobs": n_jobs, "max_voxels": max_voxels}
    for name, value in new.items():
        if value is not _UNCHANGED:
            _check(name, value)
    for name, value in new.items():
        if value is not _UNCHANGED:
            config[name] = value if name != "cache_dir" or value is None else str(value)


@contextlib.contextmanager
def config_context(*, nonfinite=_UNCHANGED, cache=_UNCHANGED, cache_dir=_UNCHANGED, n_jobs=_UNCHANGED,
                   max_voxels=_UNCHANGED):
    """Reader settings for a block of code; the previous ones are restored after it.

    How they combine with the readers' own parameters: see the module documentation (and
    the preprocessing guide). An omitted setting is kept; None unsets it.

    Parameters
    ----------
    nonfinite, cache, cache_dir, n_jobs, max_voxels
        As in :func:`set_config`.

    Yields
    ------
    None

    Examples
    --------
    Read images with non-finite voxels filled, without caching, in one block:

    >>> from sarcoma_survival import config_context, get_config
    >>> with config_context(nonfinite="fill", cache=False):
    ...     get_config()["nonfinite"], get_config()["cache"]
    ('fill', False)
    >>> get_config()["nonfinite"] is None
    True
    """
    previous = get_config()
    set_config(nonfinite=nonfinite, cache=cache, cache_dir=cache_dir, n_jobs=n_jobs, max_voxels=max_voxels)
    try:
        yield
    finally:
        _current().update(previous)


def reader_setting(name, own):
    """The value of setting ``name`` for a reader whose parameter is ``own``.

    Parameters
    ----------
    name : {"nonfinite", "cache", "cache_dir", "n_jobs", "max_voxels"}
    own : object
        The reader's parameter (``nonfinite``: None when left unset).

    Returns
    -------
    object
        For ``cache``, ``cache_dir``, ``n_jobs`` and ``max_voxels``, the context's value when set, else
        ``own``; for ``nonfinite``, ``own`` when set, else the context's value, else
        ``"error"``.
    """
    value = _current()[name]
    if name in _OVERRIDING:
        return own if value is None else value
    if own is not None:
        return own
    return value if value is not None else DEFAULT_NONFINITE


class ReaderSettingsMixin:
    """The settings an image reader uses: its parameters combined with the context's.

    For a class with the parameters ``nonfinite``, ``cache``, ``cache_dir``, ``n_jobs`` and
    ``max_voxels``; ``fit`` calls :meth:`_record_nonfinite`, the rest reads :meth:`_setting`.
    """

    def _record_nonfinite(self):
        """Keep the ``nonfinite`` policy in force at fit (``nonfinite_``)."""
        self.nonfinite_ = reader_setting("nonfinite", self.nonfinite)

    def _setting(self, name):
        """The value of setting ``name`` (see :func:`reader_setting`); a fitted reader left
        at ``nonfinite=None`` keeps the policy it was fitted with."""
        own = getattr(self, name)
        if name == "nonfinite" and own is None:
            own = self.__dict__.get("nonfinite_")
        return reader_setting(name, own)
