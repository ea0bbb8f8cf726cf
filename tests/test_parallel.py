"""The one parallel path (sarcoma_survival._parallel): n_jobs meaning, thread shares, worker env."""
import os
import subprocess
import sys

import joblib
import pytest

from sarcoma_survival._parallel import n_jobs_of, parallel_map


def _threads_and_cache():
    import SimpleITK as sitk
    from threadpoolctl import threadpool_info

    blas = {info["num_threads"] for info in threadpool_info()}
    return sitk.ProcessObject.GetGlobalDefaultNumberOfThreads(), blas, os.environ.get("SARCOMA_SURVIVAL_CACHE")


def test_n_jobs_has_scikit_learns_meaning():
    assert n_jobs_of(None) == 1
    assert n_jobs_of(-1) == joblib.cpu_count()
    with joblib.parallel_backend("threading", n_jobs=3):
        assert n_jobs_of(None) == 3  # the context decides
        assert n_jobs_of(2) == 2


def test_workers_get_their_share_of_the_cores_and_the_callers_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SARCOMA_SURVIVAL_CACHE", str(tmp_path))
    results = list(parallel_map(_threads_and_cache, [(), ()], n_jobs=2))
    share = max(1, joblib.cpu_count() // 2)
    for itk, blas, cache in results:
        assert itk == share and blas == {share}
        assert cache == str(tmp_path)
    # one job: this process, its threads untouched
    itk, _, _ = next(parallel_map(_threads_and_cache, [()], n_jobs=1))
    import SimpleITK as sitk

    assert itk == sitk.ProcessObject.GetGlobalDefaultNumberOfThreads()


def test_order_is_kept_under_a_threading_backend():
    with joblib.parallel_backend("threading", n_jobs=2):
        assert list(parallel_map(pow, [(2, k) for k in range(6)])) == [1, 2, 4, 8, 16, 32]


@pytest.mark.parametrize("module", ["sarcoma_survival.radiomics._patient", "sarcoma_survival._parallel",
                                    "sarcoma_survival.preprocessing._volume_patient"])
def test_a_worker_does_not_import_scikit_learn_or_pandas(module):
    # importing them was most of a worker's start-up (benchmarks/bench_parallel.py)
    code = f"import sys, {module}; print(sorted(m for m in ('sklearn', 'pandas', 'torch') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
