"""The one parallel path of the package: per-patient work through joblib, threads kept in check.

Every ``n_jobs`` of the toolkit has scikit-learn's meaning: ``None`` is 1 unless the call runs
inside a :func:`joblib.parallel_backend` context, which then decides (so
``with joblib.parallel_backend("dask"): ...`` sends the patients to a Dask cluster); ``-1`` is
every core. There is no private process pool.

Processes x threads never exceed the cores: a worker that shares the machine with ``k - 1``
other workers runs ITK (SimpleITK's global thread count) and BLAS/OpenMP (threadpoolctl) with
``cores // k`` threads. Measured on 2 cores (``benchmarks/bench_parallel.py``): two workers
that each kept ITK's default of 2 threads ran 4 threads on 2 cores. On a Dask worker the
share is ``cores // worker threads``.

Workers also receive the parent's ``SARCOMA_SURVIVAL_CACHE`` and its reader settings
(:func:`sarcoma_survival.config_context`), so a cache folder or policy chosen by the calling
process is the one the workers use.
"""
from __future__ import annotations

import contextlib
import functools
import os

import joblib
from joblib import Parallel, delayed
from joblib.parallel import get_active_backend

from ._config import config_context, get_config

#: The variable :func:`sarcoma_survival.utils.get_cache_dir` reads.
_CACHE_ENV = "SARCOMA_SURVIVAL_CACHE"


def n_jobs_of(n_jobs):
    """Number of concurrent jobs ``n_jobs`` means here (scikit-learn's meaning, see module doc).

    Examples
    --------
    >>> import joblib
    >>> n_jobs_of(None)
    1
    >>> n_jobs_of(-1) == joblib.cpu_count()
    True
    >>> with joblib.parallel_backend("threading", n_jobs=2):
    ...     n_jobs_of(None)
    2
    """
    return int(joblib.effective_n_jobs(n_jobs))


def _dask_worker_threads():
    """Threads of the Dask worker this code runs on, or None outside a Dask worker."""
    try:
        from distributed import get_worker
    except ImportError:
        return None
    try:
        return int(get_worker().state.nthreads)
    except (ValueError, AttributeError):
        return None


@contextlib.contextmanager
def thread_limits(n_threads):
    """ITK, BLAS and OpenMP use at most ``n_threads`` threads inside the block (None: unchanged)."""
    if n_threads is None:
        yield
        return
    import SimpleITK as sitk
    from threadpoolctl import threadpool_limits

    previous = sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()
    sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(int(n_threads))
    try:
        with threadpool_limits(limits=int(n_threads)):
            yield
    finally:
        sitk.ProcessObject.SetGlobalDefaultNumberOfThreads(previous)


def _in_worker(func, n_parallel, cache_env, config, args):
    """Run ``func(*args)`` in a worker: the parent's cache folder and reader settings, a fair
    share of the cores."""
    if cache_env is not None and os.environ.get(_CACHE_ENV) != cache_env:
        os.environ[_CACHE_ENV] = cache_env
    sharing = _dask_worker_threads() or n_parallel
    threads = None if sharing is None else max(1, joblib.cpu_count() // max(1, sharing))
    with thread_limits(threads), config_context(**config):
        return func(*args)


def parallel_map(func, arguments, n_jobs=None, *, ordered=True):
    """Yield ``func(*args)`` for each tuple of ``arguments``, through joblib.

    With one job (and no parallel backend context that says otherwise) the calls run in
    this process, with its threads unchanged. Otherwise each call runs in a worker with a
    fair share of the cores (see the module doc).

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled to the workers).
    arguments : list of tuple
        One tuple of positional arguments per call.
    n_jobs : int or None
        scikit-learn's meaning.
    ordered : bool, default=True
        Yield in the order of ``arguments``; ``False`` yields each result as it is ready.

    Examples
    --------
    >>> list(parallel_map(pow, [(2, 3), (3, 2)]))
    [8, 9]
    """
    arguments = list(arguments)
    jobs = n_jobs_of(n_jobs)
    if jobs == 1 or len(arguments) <= 1:
        for args in arguments:
            yield func(*args)
        return
    # thread limits are process-wide: a threading backend's workers (threads of this
    # process) must not set them under each other
    n_parallel = None if getattr(get_active_backend()[0], "uses_threads", False) else min(jobs, len(arguments))
    cache_env = os.environ.get(_CACHE_ENV)
    config = get_config()
    parallel = Parallel(n_jobs=n_jobs, return_as="generator" if ordered else "generator_unordered")
    yield from parallel(delayed(_in_worker)(func, n_parallel, cache_env, config, args) for args in arguments)


def _run_with_config(config, func, *args, **kwargs):
    with config_context(**config):
        return func(*args, **kwargs)


def with_config(func):
    """``func`` bound to the caller's reader settings, for a joblib call outside :func:`parallel_map`.

    Parameters
    ----------
    func : callable
        A module-level function (it is pickled to the workers).

    Returns
    -------
    callable
        Calls ``func`` inside ``config_context(**settings of the caller)``.

    Examples
    --------
    >>> from sarcoma_survival import config_context, get_config
    >>> with config_context(n_jobs=3):
    ...     bound = with_config(get_config)
    >>> bound()["n_jobs"]
    3
    """
    return functools.partial(_run_with_config, get_config(), func)
