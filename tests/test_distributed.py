"""Every n_jobs of the package on a Dask cluster of 2 worker processes: results equal n_jobs=1.

The cluster is a LocalCluster in this test (2 processes of 1 thread, no dashboard), so no
service outside the test is needed. A worker process is killed in the middle of a grid search:
its nanny starts a new one and the search still gives the serial result.
"""
import logging
import os
import signal
import threading
import time
import warnings

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_backend
from sklearn.base import BaseEstimator
from sklearn.model_selection import GridSearchCV, KFold, cross_validate
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

from sarcoma_survival.compare import compare_models
from sarcoma_survival.metrics import concordance_scorer
from sarcoma_survival.models import RadiomicsRSF, SarculatorCoxPH, SarculatorRSF
from sarcoma_survival.preprocessing import VolumePreprocessor
from sarcoma_survival.radiomics import RadiomicsExtractor

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        # Starting and stopping a LocalCluster may warn about things outside this package:
        # a port already taken by another process on a shared machine, or a worker still
        # busy when the cluster closes. Neither changes a result, which is what is tested.
        warnings.filterwarnings("ignore", message=".*[Pp]ort .* is already in use", category=UserWarning)
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None, silence_logs=logging.ERROR)
        client = distributed.Client(cluster)
    yield client
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # see above: shutting down, nothing left to test
        client.close()
        cluster.close()


def _clinical(n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.normal(60, 12, n).round(),
            "tumor_size_cm": rng.gamma(3.0, 3.0, n).round(1),
            "grade": rng.choice(["low", "high"], n),
            "histology": rng.choice(["liposarcoma", "leiomyosarcoma", "myxofibrosarcoma"], n),
        },
        index=[f"P{i:03d}" for i in range(n)],
    )
    risk = 0.03 * (X["age"] - 60) + 0.8 * (X["grade"] == "high")
    event_time = rng.exponential(1500 * np.exp(-risk.to_numpy()))
    censor_time = rng.uniform(300, 3000, n)
    y = Surv.from_arrays(event_time <= censor_time, np.minimum(event_time, censor_time) + 1.0)
    return X, y


@pytest.fixture(scope="module")
def image_cohort(tmp_path_factory):
    from sarcoma_survival.datasets import make_synthetic_cohort

    data = make_synthetic_cohort(15, image_size=16, random_state=0,  # 3-fold CV: 10 to fit
                                 data_dir=tmp_path_factory.mktemp("distributed_images"))
    return data.X, data.y_os


def _search(model, grid):
    return GridSearchCV(model, grid, cv=KFold(3, shuffle=True, random_state=0), scoring=concordance_scorer)


def _same_search(a, b, X):
    assert a.best_params_ == b.best_params_
    np.testing.assert_array_equal(a.cv_results_["mean_test_score"], b.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


def test_grid_search_and_cross_validate_of_a_clinical_model(client):
    X, y = _clinical()
    model = SarculatorRSF(n_estimators=10, random_state=0)
    grid = {"min_samples_leaf": [3, 6, 12]}
    serial = _search(model, grid).fit(X, y)
    with distributed.get_task_stream(client) as stream, parallel_backend("dask"):
        on_dask = _search(model, grid).fit(X, y)
        cv = cross_validate(SarculatorCoxPH(), X, y, cv=3, scoring=concordance_scorer)
    assert len(stream.data) > 0  # the fits ran on the cluster
    _same_search(serial, on_dask, X)
    expected = cross_validate(SarculatorCoxPH(), X, y, cv=3, scoring=concordance_scorer)
    np.testing.assert_array_equal(cv["test_score"], expected["test_score"])


def test_grid_search_of_a_radiomics_model_shares_one_cache(client, image_cohort, tmp_path):
    X, y = image_cohort

    def model(cache):
        extractor = RadiomicsExtractor(preprocessor=None, cache_dir=cache)
        return RadiomicsRSF(extractor, include_clinical=False, n_estimators=10, random_state=0)

    grid = {"min_samples_leaf": [2, 4]}
    serial = _search(model(tmp_path / "serial"), grid).fit(X, y)
    with parallel_backend("dask"):
        on_dask = _search(model(tmp_path / "dask"), grid).fit(X, y)
    _same_search(serial, on_dask, X)
    records = sorted(p.name for p in (tmp_path / "dask" / "radiomics").iterdir())
    # both workers extracted into the same folder: one whole record per patient, no temporary file
    assert len(records) == len(X) and all(not name.startswith(".") for name in records)
    assert records == sorted(p.name for p in (tmp_path / "serial" / "radiomics").iterdir())


def test_extractor_and_preprocessor_send_patients_to_the_workers(client, image_cohort, tmp_path,
                                                                  monkeypatch):
    X, _ = image_cohort
    serial = RadiomicsExtractor(preprocessor=None, cache=False).fit_transform(X)
    volumes = VolumePreprocessor(size=8, cache=False).fit_transform(X)
    # a cache folder chosen by this process's environment after the workers started
    monkeypatch.setenv("SARCOMA_SURVIVAL_CACHE", str(tmp_path / "env_cache"))
    with distributed.get_task_stream(client) as stream, parallel_backend("dask"):
        features = RadiomicsExtractor(preprocessor=None).fit_transform(X)
        on_dask = VolumePreprocessor(size=8).fit_transform(X)
    # at least one task per transform ran on the cluster (joblib batches patients into
    # tasks by their measured duration, so the task count itself varies from run to run)
    assert len(stream.data) >= 2
    pd.testing.assert_frame_equal(features, serial)
    np.testing.assert_array_equal(np.asarray(on_dask), np.asarray(volumes))
    assert len(list((tmp_path / "env_cache" / "radiomics").glob("*.json"))) == len(X)
    assert len(list((tmp_path / "env_cache" / "volumes").rglob("*.npy"))) == len(X)


def test_compare_models(client):
    X, y = _clinical()
    models = {"cox": SarculatorCoxPH(), "rsf": SarculatorRSF(n_estimators=10, random_state=0)}
    kwargs = {"cv": 3, "n_bootstraps": 20, "random_state": 0}
    serial = compare_models(X, y, models, **kwargs)
    with parallel_backend("dask"):
        on_dask = compare_models(X, y, models, **kwargs)
    pd.testing.assert_frame_equal(serial.drop(columns="fit_time_s"), on_dask.drop(columns="fit_time_s"))


class SlowCox(BaseEstimator):
    """A Cox model whose fit takes ``delay`` seconds, so a worker can be killed during it."""

    def __init__(self, alpha=0.0, delay=0.5):
        self.alpha = alpha
        self.delay = delay

    def fit(self, X, y):
        time.sleep(self.delay)
        self.model_ = CoxPHSurvivalAnalysis(alpha=self.alpha).fit(X, y)
        return self

    def predict(self, X):
        return self.model_.predict(X)

    def score(self, X, y):
        return self.model_.score(X, y)


def test_a_worker_killed_during_a_search_is_restarted_and_the_search_completes(client):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    time_ = rng.exponential(100 * np.exp(-X[:, 0]))
    y = Surv.from_arrays(rng.random(60) < 0.7, time_ + 1)
    grid = {"alpha": [0.01, 0.1, 1.0, 10.0]}
    serial = _search(SlowCox(delay=0.0), grid).fit(X, y)
    # both workers must hold the broadcast data before one is killed: on a loaded machine
    # the cluster could still be registering its second worker (one CI run lost the data so)
    client.wait_for_workers(2, timeout=120)
    pids = client.run(os.getpid)
    assert len(pids) == 2
    result = {}

    def search():
        # scatter=[X, y] broadcasts the data to every worker: a copy survives the killed one
        # (joblib otherwise scatters large arguments to one worker, and they die with it)
        try:
            with parallel_backend("dask", scatter=[X, y]):
                result["search"] = _search(SlowCox(delay=0.5), grid).fit(X, y)
        except Exception as exc:  # noqa: BLE001 (reported by the assertion below, not as a thread warning)
            result["error"] = exc

    runner = threading.Thread(target=search)
    runner.start()
    deadline = time.monotonic() + 60
    while not any(client.processing().values()) and time.monotonic() < deadline:
        time.sleep(0.05)
    busy = next(address for address, tasks in client.processing().items() if tasks)
    os.kill(pids[busy], signal.SIGKILL)
    runner.join(timeout=120)
    assert not runner.is_alive()
    client.wait_for_workers(2, timeout=60)
    new_pids = client.run(os.getpid)
    assert pids[busy] not in new_pids.values() and len(new_pids) == 2  # the nanny started a new one
    assert "error" not in result, result.get("error")
    search_ = result["search"]
    assert search_.best_params_ == serial.best_params_
    np.testing.assert_array_equal(search_.cv_results_["mean_test_score"], serial.cv_results_["mean_test_score"])
    np.testing.assert_array_equal(search_.predict(X), serial.predict(X))


def test_cli_runs_on_an_existing_scheduler(client, tiny_cohort, tmp_path, capsys):
    from sarcoma_survival.cli import main

    address = client.scheduler.address
    args = ["compare", str(tiny_cohort.manifest), "--models", "sarculator-coxph,sarculator-rsf", "--cv", "2",
            "--outcomes", "os"]
    assert main([*args, "--output", str(tmp_path / "serial.csv")]) == 0
    with distributed.get_task_stream(client) as stream:
        assert main([*args, "--scheduler", address, "--output", str(tmp_path / "dask.csv")]) == 0
        assert main(["preprocess", str(tiny_cohort.manifest), "--image-size", "8", "--quiet",
                     "--scheduler", address]) == 0
    out = capsys.readouterr().out
    assert f"running on the Dask scheduler {address} (2 workers)" in out
    assert len(stream.data) > 0
    serial = pd.read_csv(tmp_path / "serial.csv", header=[0, 1], index_col=0)
    on_dask = pd.read_csv(tmp_path / "dask.csv", header=[0, 1], index_col=0)
    pd.testing.assert_frame_equal(serial.drop(columns="fit_time_s", level=1),
                                  on_dask.drop(columns="fit_time_s", level=1))
    assert main(["fit", str(tiny_cohort.manifest), "--model", "sarculator-rsf", "--n-jobs", "2",
                 "--output", str(tmp_path / "m.joblib"), "--scheduler", address]) == 0
