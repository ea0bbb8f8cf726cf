"""The skorch survival base through ClinicalMLPSurvival: contract, validation loss, baseline."""
from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold
from skorch.callbacks import Callback
from sksurv.linear_model.coxph import BreslowEstimator
from sksurv.util import Surv

from sarcoma_survival.nn import ClinicalMLPSurvival, cox_ph_loss

SMALL = {"module__hidden_sizes": (8, 4), "max_epochs": 8, "batch_size": 32}


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    n = 160
    X = rng.normal(size=(n, 4))
    risk = 1.2 * X[:, 0] - 0.8 * X[:, 1]
    event_time = rng.exponential(np.exp(-risk)) * 365 + 1
    censor = rng.uniform(100, 900, n)
    y = Surv.from_arrays(event_time <= censor, np.minimum(event_time, censor))
    return X, y


@pytest.fixture(scope="module")
def cohort():
    rng = np.random.default_rng(1)
    n = 80
    X = pd.DataFrame({
        "age": rng.normal(60, 12, n),
        "sex": rng.choice(["F", "M"], n),
        "tumor_size_cm": rng.gamma(3, 3, n),
        "tumor_depth": rng.choice(["superficial", "deep"], n),
        "grade": rng.choice(["low", "high"], n),
        "histology": rng.choice(["UPS", "myxofibrosarcoma", "liposarcoma"], n),
        "location": rng.choice(["axial", "upper_extremity", "lower_extremity"], n),
        "tumor_volume_cm3": rng.gamma(2, 100, n),
        "neoadjuvant_chemo": rng.choice([0.0, 1.0], n),
        "mets_at_presentation": rng.choice([0.0, 1.0, np.nan], n, p=[0.8, 0.1, 0.1]),
        "rt_timing": rng.choice(["preop", "postop"], n),
    }, index=[f"P{i:03d}" for i in range(n)])
    X.loc[X.index[:5], "age"] = np.nan
    high = (X["grade"] == "high").to_numpy()
    y = Surv.from_arrays(rng.random(n) < 0.6, rng.uniform(50, 2000, n) / (1 + high))
    return X, y


def test_fit_predict_and_reproducible(table):
    X, y = table
    a = ClinicalMLPSurvival(random_state=0, **SMALL).fit(X, y)
    b = ClinicalMLPSurvival(random_state=0, **SMALL).fit(X, y)
    risk = a.predict(X)
    assert risk.shape == (len(X),) and risk.dtype == np.float64
    np.testing.assert_array_equal(risk, b.predict(X))
    assert a.score(X, y) > 0.6  # learns the linear signal
    assert a.get_params()["device"] == "auto" and a.device_ == "cpu"


def test_validation_loss_is_whole_set_and_best_weights_restored(table):
    X, y = table
    Xv, yv = X[:60], y[:60]
    model = ClinicalMLPSurvival(random_state=1, max_epochs=10, batch_size=8, lr=5e-3,
                                module__hidden_sizes=(8,)).fit(X[60:], y[60:], validation_data=(Xv, yv))
    losses = np.array(model.history[:, "valid_loss"])
    assert model.best_epoch_ == int(np.argmin(losses)) + 1
    risk = torch.tensor(model.predict(Xv))
    whole = cox_ph_loss(risk, time=yv["time"], event=yv["event"]).item()
    assert losses[model.best_epoch_ - 1] == pytest.approx(whole, rel=1e-5)
    per_batch = np.mean([
        cox_ph_loss(risk[i:i + 8], time=yv["time"][i:i + 8], event=yv["event"][i:i + 8]).item()
        for i in range(0, 60, 8)
    ])
    assert abs(per_batch - whole) > 1e-3  # the two definitions really differ here


def test_inner_split_is_stratified_and_seeded(table):
    X, y = table
    model = ClinicalMLPSurvival(random_state=0, **SMALL).fit(X, y)
    n_valid = model.history[-1, "batches", -1, "valid_batch_size"]
    assert n_valid == 32  # 20 % of 160, one whole-set entry per epoch


def test_survival_and_cumulative_hazard_functions(table):
    X, y = table
    model = ClinicalMLPSurvival(random_state=0, **SMALL).fit(X, y)
    surv = model.predict_survival_function(X[:5], return_array=True)
    chf = model.predict_cumulative_hazard_function(X[:5], return_array=True)
    times = model.unique_times_
    assert surv.shape == (5, len(times))
    assert np.all(np.diff(surv, axis=1) <= 1e-12) and np.all((surv >= 0) & (surv <= 1))
    np.testing.assert_allclose(surv, np.exp(-chf))
    reference = BreslowEstimator().fit(model.predict(X), y["event"], y["time"])
    expected = np.vstack([f(times) for f in reference.get_survival_function(model.predict(X[:5]))])
    np.testing.assert_allclose(surv, expected)
    funcs = model.predict_survival_function(X[:2])
    assert funcs[0](times[0]) == pytest.approx(surv[0, 0])


def test_clone_pickle(table):
    X, y = table
    model = ClinicalMLPSurvival(random_state=0, optimizer__weight_decay=1e-3, **SMALL)
    cloned = clone(model)
    assert cloned.get_params()["optimizer__weight_decay"] == 1e-3
    model.fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    assert restored.get_params()["device"] == "auto"


def test_grid_search_over_skorch_params(table, tmp_path, monkeypatch):
    X, y = table
    monkeypatch.chdir(tmp_path)
    grid = {
        "lr": [1e-3, 1e-2],
        "batch_size": [32],
        "max_epochs": [3],
        "module__hidden_sizes": [(4,), (8, 4)],
        "optimizer__weight_decay": [0.0],
    }
    search = GridSearchCV(ClinicalMLPSurvival(random_state=0), grid, cv=KFold(2)).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.predict(X).shape == (len(X),)
    assert list(tmp_path.iterdir()) == []  # no checkpoint files


def test_cohort_table_uses_clinical_encoder(cohort):
    X, y = cohort
    model = ClinicalMLPSurvival(random_state=0, max_epochs=3, batch_size=16).fit(X, y)
    assert type(model.preprocessor_).__name__ == "ClinicalEncoder"
    assert model.n_features_in_ == 11 and model.n_encoded_features_ > 11
    unseen = X.iloc[:3].copy()
    unseen["histology"] = "never seen subtype"
    assert np.isfinite(model.predict(unseen)).all()


def test_no_event_batches_and_tiny_batches(table):
    X, y = table
    event = y["event"].copy()
    event[np.argsort(y["time"])[8:]] = False  # only 8 events: most batches have none
    y_few = Surv.from_arrays(event, y["time"])
    model = ClinicalMLPSurvival(random_state=0, batch_size=3, max_epochs=2, module__hidden_sizes=(4,),
                                train_split=None).fit(X, y_few)
    assert np.isfinite(model.history[:, "train_loss"]).all()
    assert model.best_epoch_ == 2


class _NaNNet(torch.nn.Module):
    def __init__(self, in_features):
        super().__init__()
        self.linear = torch.nn.Linear(in_features, 1)

    def forward(self, x):
        return self.linear(x).squeeze(-1) * float("nan")


def test_nan_loss_raises_clear_error(table):
    X, y = table
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        ClinicalMLPSurvival(module=_NaNNet, max_epochs=1).fit(X, y)


def test_bad_inputs(table):
    X, y = table
    with pytest.raises(ValueError, match="structured array"):
        ClinicalMLPSurvival().fit(X, y["time"])
    bad = y.copy()
    bad["time"][3] = -1
    with pytest.raises(ValueError, match="sample 3"):
        ClinicalMLPSurvival().fit(X, bad)
    model = ClinicalMLPSurvival(random_state=0, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :2])


def test_verbose_zero_is_silent(table, capsys):
    X, y = table
    ClinicalMLPSurvival(random_state=0, verbose=0, **SMALL).fit(X, y)
    assert capsys.readouterr().out == ""
    ClinicalMLPSurvival(random_state=0, verbose=1, **SMALL).fit(X, y)
    assert "valid_loss" in capsys.readouterr().out


class _RecordTrainBatches(Callback):
    def on_train_begin(self, net, **kwargs):
        self.times = []

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if training:
            self.times.append(np.asarray(batch[1])[:, 0])


def test_training_batches_are_shuffled(table):
    # Data files are often sorted by time; in-batch risk sets must still mix follow-up times.
    X, y = table
    order = np.argsort(y["time"])
    recorder = _RecordTrainBatches()
    model = ClinicalMLPSurvival(random_state=0, callbacks=[("record", recorder)], **SMALL)
    model.fit(X[order], y[order])
    assert model.get_params()["iterator_train__shuffle"] is True
    first = recorder.times[0]
    assert not np.all(np.diff(first) >= 0)  # not a contiguous block of sorted times
    assert first.max() > np.median(y["time"]) > first.min()


def test_public_inputs_and_survival_function_from_risk(cohort):
    X, y = cohort
    model = ClinicalMLPSurvival(random_state=0, **SMALL).fit(X, y)
    inputs = model.transform_inputs(X.iloc[:5])
    assert inputs.shape == (5, model.n_encoded_features_) and inputs.dtype == np.float32
    np.testing.assert_array_equal(model.forward(inputs, training=False).numpy().ravel(), model.predict(X.iloc[:5]))
    risk = model.predict(X.iloc[:5])
    np.testing.assert_array_equal(model.survival_function_from_risk(risk, return_array=True),
                                  model.predict_survival_function(X.iloc[:5], return_array=True))
    # the encoder's categories are public (what the web page offers in its form)
    assert model.preprocessor_.categories_["grade"] == ["high", "low"]
