"""Neural estimators on a competing-risks outcome (``cause=``, one log-risk per cause).

The reference is :class:`~sarcoma_survival.competing_risks.CauseSpecificCoxPH` (validated
against R in test_competing_risks_r.py): a network without hidden layer is a linear
cause-specific Cox model, trained on the sum of the per-cause partial likelihoods, whose
heads do not share a parameter, so its optimum is CauseSpecificCoxPH's.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sksurv.util import Surv

from sarcoma_survival.competing_risks import CauseSpecificCoxPH, competing_y
from sarcoma_survival.nn import ClinicalMLPSurvival, MMNNSurvival, cox_ph_loss


def _competing_data(n=300, seed=0):
    """Two causes with proportional cause-specific hazards, independent censoring."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    t1 = rng.exponential(1.0 / np.exp(0.8 * X[:, 0]))
    t2 = rng.exponential(1.0 / (0.7 * np.exp(-0.5 * X[:, 1] + 0.3 * X[:, 2])))
    censor = rng.exponential(2.0, n)
    time = np.minimum.reduce([t1, t2, censor])
    event = np.where(time == t1, 1, np.where(time == t2, 2, 0))
    return X, competing_y(event, time)


def _linear_net(**params):
    """ClinicalMLPSurvival without hidden layer, full-batch LBFGS to convergence."""
    return ClinicalMLPSurvival(
        preprocessor=None, module__hidden_sizes=(), optimizer=torch.optim.LBFGS, lr=1.0,
        max_epochs=30, batch_size=-1, train_split=None, random_state=0,
        optimizer__max_iter=50, optimizer__tolerance_grad=1e-9, optimizer__tolerance_change=1e-12,
        optimizer__line_search_fn="strong_wolfe", **params,
    )


@pytest.fixture(scope="module")
def linear_fits():
    X, y = _competing_data()
    return X, y, CauseSpecificCoxPH().fit(X, y), _linear_net().fit(X.astype(np.float32), y)


def test_linear_network_reproduces_cause_specific_cox(linear_fits):
    # Tolerance: the network computes in float32 (relative rounding 6e-8); LBFGS stops
    # when the float32 gradient stalls, which leaves the coefficients ~1e-7 from the
    # float64 optimum of scikit-survival's Newton solver (measured: 2.4e-7 on the
    # coefficients, 1.5e-7 on the incidences). 1e-5 is 40 times that and still 4 orders
    # of magnitude below the coefficients' standard errors (~0.1 with 300 patients).
    X, y, reference, net = linear_fits
    assert net.n_causes_ == 2
    np.testing.assert_allclose(net.module_.head.weight.detach().numpy(), reference.coef_, atol=1e-5)
    # predict is the log-risk of cause 1 up to the head's bias (a Cox loss ignores a constant)
    shift = net.predict(X) - X @ reference.coef_[0]
    np.testing.assert_allclose(shift, shift.mean(), atol=1e-5)
    assert net.score(X, y) == pytest.approx(reference.score(X, y), abs=1e-12)
    times = np.quantile(y["time"], [0.1, 0.5, 0.9])
    for cause in (1, 2):
        net.set_params(cause=cause)
        reference.set_params(cause=cause)
        np.testing.assert_allclose(
            net.predict_cumulative_incidence(X, times),
            reference.predict_cumulative_incidence(X, times),
            atol=1e-5,
        )
    net.set_params(cause=1)
    reference.set_params(cause=1)


def test_the_loss_is_the_sum_of_the_cause_specific_cox_losses():
    X, y = _competing_data(120, seed=1)
    X = X.astype(np.float32)
    net = ClinicalMLPSurvival(preprocessor=None, module__hidden_sizes=(4,), max_epochs=1,
                              random_state=0).fit(X[:80], y[:80], validation_data=(X[80:], y[80:]))
    log_risk = torch.as_tensor(net.module_(torch.as_tensor(X[80:])).detach(), dtype=torch.float32)
    assert log_risk.shape == (40, 2)
    expected = sum(
        cox_ph_loss(log_risk[:, k - 1], time=y["time"][80:], event=y["event"][80:] == k).item()
        for k in (1, 2)
    )
    # model selection uses the summed loss of the WHOLE validation set
    assert net.history[-1]["valid_loss"] == pytest.approx(expected, rel=1e-5)


def test_a_cause_missing_from_the_training_data_keeps_its_head():
    X, y = _competing_data(100, seed=2)
    only_first = competing_y(np.where(y["event"] == 1, 1, 0), y["time"])
    net = ClinicalMLPSurvival(preprocessor=None, cause=2, max_epochs=2, random_state=0,
                              train_split=None).fit(X, only_first)
    assert net.n_causes_ == 2 and net.baseline_hazard_jumps_.shape[0] == 2
    np.testing.assert_array_equal(net.baseline_hazard_jumps_[1], 0.0)
    np.testing.assert_array_equal(net.predict_cumulative_incidence(X, [0.5, 2.0]), 0.0)


def test_survival_y_trains_the_plain_cox_network_as_before_cause_existed():
    # A survival y must train exactly the network of the survival-only code (before the
    # cause parameter): the Cox partial likelihood of one log-risk, nothing summed over
    # causes. The reference is that training written out in plain torch, run here on the
    # same CPU: constants measured on one machine are not a property of the code (float
    # kernels differ between CPUs by ~1e-4 after a few epochs).
    from sklearn.preprocessing import StandardScaler

    from sarcoma_survival.nn import ClinicalMLP

    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 3))
    y = Surv.from_arrays(X[:, 1] < 0.5, np.exp(-X[:, 0]) * 100)
    model = ClinicalMLPSurvival(max_epochs=5, batch_size=-1, train_split=None, random_state=0).fit(X, y)

    Xs = torch.as_tensor(StandardScaler().fit_transform(X), dtype=torch.float32)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        module = ClinicalMLP(3)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    for _ in range(5):
        optimizer.zero_grad()
        cox_ph_loss(module(Xs).reshape(-1), time=y["time"], event=y["event"]).backward()
        optimizer.step()
    with torch.no_grad():
        expected = module.eval()(Xs).reshape(-1).numpy()
    # Up to a constant: the Cox loss does not depend on the head's bias, so its gradient is
    # float rounding (the estimator shuffles its one batch: the sums run in another order),
    # which Adam's normalisation turns into steps of ~lr. Any other difference of training
    # would change the spread of the log-risks.
    shift = model.predict(X) - expected
    np.testing.assert_allclose(shift, shift.mean(), atol=1e-6)
    assert abs(shift.mean()) < 5 * 1e-3  # at most one Adam step of lr per epoch
    assert model.module_.head.out_features == 1 and model.best_epoch_ == 5
    assert not hasattr(model, "n_causes_")
    with pytest.raises(AttributeError, match="survival outcome"):
        model.predict_cumulative_incidence(X, [10.0])


def test_refit_switches_between_survival_and_competing_outcomes():
    X, y = _competing_data(80, seed=4)
    net = ClinicalMLPSurvival(max_epochs=2, random_state=0).fit(X, y)
    with pytest.raises(AttributeError, match="no survival function"):
        net.predict_survival_function(X)
    with pytest.raises(AttributeError, match="competing-risks outcome"):
        net.unique_times_  # noqa: B018
    net.fit(X, Surv.from_arrays(y["event"] > 0, y["time"]))
    assert not hasattr(net, "n_causes_") and net.module_.head.out_features == 1
    assert net.predict_survival_function(X[:2], return_array=True).shape[0] == 2


def test_module_outputs_must_match_the_causes():
    X, y = _competing_data(60, seed=5)
    with pytest.raises(ValueError, match="module__n_outputs=3 but y has 2 causes"):
        ClinicalMLPSurvival(max_epochs=1, module__n_outputs=3).fit(X, y)


def test_mmnn_trains_on_a_competing_y_with_gradient_blending(tmp_path):
    from sarcoma_survival.datasets import make_synthetic_cohort
    from sarcoma_survival.preprocessing import VolumePreprocessor

    data = make_synthetic_cohort(40, image_size=16, random_state=0, competing_death_weight=1,
                                 data_dir=tmp_path)
    y = data.y_dm_competing
    assert set(np.unique(y["event"])) == {0, 1, 2}
    model = MMNNSurvival(
        preprocessor=VolumePreprocessor(size=16, n4=False), max_epochs=4, batch_size=8,
        blend_warmup=1, blend_period=1, blend_refit=False, random_state=0,
        module__init_features=8, module__growth_rate=4, module__block_config=(1, 1),
    ).fit(data.X, y)
    assert model.blending_weights_.shape == (4, 3)  # one weight per head, not per cause
    assert not np.allclose(model.blending_weights_.to_numpy()[-1], 1 / 3)  # estimated
    heads = model.predict_heads(data.X)
    np.testing.assert_allclose(heads["multimodal"], model.predict(data.X), rtol=1e-6)
    # each head's blending loss is summed over the causes
    dataset = model.get_dataset(model.transform_inputs(data.X), model._target(y["event"], y["time"]))
    outputs, _ = model.whole_set_outputs(dataset)
    expected = [
        sum(cox_ph_loss(out.float()[:, k - 1], time=y["time"], event=y["event"] == k).item()
            for k in (1, 2))
        for out in outputs
    ]
    np.testing.assert_allclose(model.head_losses(dataset), expected, rtol=1e-5)
    incidence = model.predict_cumulative_incidence(data.X, [200.0, 800.0])
    assert incidence.shape == (40, 2) and np.all(np.diff(incidence, axis=1) >= 0)


def test_micro_batches_train_the_same_competing_network_as_whole_batches():
    # micro_batch_size's gradient cache differentiates the summed per-cause loss with
    # respect to the (B, K) log-risks, so it needs nothing of its own (SGD: see
    # test_nn_micro_batch.py for why not Adam).
    X, y = _competing_data(72, seed=6)
    X = X.astype(np.float32)
    params = dict(max_epochs=4, batch_size=16, random_state=0, device="cpu",
                  optimizer=torch.optim.SGD, lr=0.05, optimizer__momentum=0.9)
    whole = ClinicalMLPSurvival(**params).fit(X, y)
    micro = ClinicalMLPSurvival(micro_batch_size=4, **params).fit(X, y)
    assert micro.module_.head.out_features == 2
    for (name, a), b in zip(whole.module_.state_dict().items(), micro.module_.state_dict().values()):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-5, msg=name)
    np.testing.assert_allclose(micro.history[:, "train_loss"], whole.history[:, "train_loss"], rtol=1e-5)
    assert not np.allclose(micro.history[0, "train_loss"], micro.history[-1, "train_loss"])
    np.testing.assert_allclose(micro.predict_cumulative_incidence(X, [0.5, 1.0]),
                               whole.predict_cumulative_incidence(X, [0.5, 1.0]), atol=1e-5)


def test_a_competing_network_round_trips_through_the_safe_model_file(tmp_path):
    from sarcoma_survival import load_model, save_model

    X, y = _competing_data(60, seed=7)
    net = ClinicalMLPSurvival(max_epochs=2, random_state=0).fit(X, y)
    loaded = load_model(save_model(net, tmp_path / "competing.ssm"))
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    np.testing.assert_array_equal(loaded.predict_cumulative_incidence(X, [0.5, 1.0]),
                                  net.predict_cumulative_incidence(X, [0.5, 1.0]))


def test_compare_models_takes_a_neural_model_on_a_survival_and_a_competing_outcome():
    # The neural estimators take either outcome: a survival outcome must not be refused as
    # "needs a competing outcome" (it was, and the gallery's model comparison failed).
    import pandas as pd

    from sarcoma_survival.compare import compare_models

    X, y = _competing_data(60, seed=5)
    X = pd.DataFrame(X.astype(np.float32), columns=["a", "b", "c"])
    outcomes = {"OS": Surv.from_arrays(y["event"] > 0, y["time"]), "DM": y}
    net = ClinicalMLPSurvival(preprocessor=None, max_epochs=2, random_state=0)
    table = compare_models(X, outcomes, {"MLP": net}, split=(np.arange(40), np.arange(40, 60)),
                           n_bootstraps=10, random_state=0)
    assert list(table.index) == ["MLP", "MLP (DM, competing death)"]
    assert 0 <= table.loc["MLP", ("OS", "test_c_index")] <= 1
    assert 0 <= table.loc["MLP (DM, competing death)", ("DM", "test_c_index")] <= 1


def test_a_cause_other_than_1_with_a_survival_y_is_refused():
    X, y = _competing_data(40, seed=6)
    survival = Surv.from_arrays(y["event"] > 0, y["time"])
    with pytest.raises(ValueError, match="cause=2 but y is a survival outcome"):
        ClinicalMLPSurvival(preprocessor=None, cause=2, max_epochs=1).fit(X.astype(np.float32), survival)


def test_the_base_net_picks_the_outcome_from_y():
    # one fit template: SurvivalNeuralNet itself (no mixin) takes either kind of outcome
    from sarcoma_survival.nn import ClinicalMLP, SurvivalNeuralNet
    from sarcoma_survival.nn._outcome import CompetingRisksOutcome, SurvivalOutcome

    X, y = _competing_data(80, seed=4)
    X = X.astype(np.float32)
    net = SurvivalNeuralNet(ClinicalMLP, module__in_features=3, cause=2, max_epochs=2, random_state=0)
    net.fit(X, y)
    assert isinstance(net._outcome(), CompetingRisksOutcome) and net.n_causes_ == 2
    assert net.module_.head.out_features == 2 and net.criterion_.n_causes == 2
    assert net.predict_cumulative_incidence(X[:3], [0.5, 1.0]).shape == (3, 2)
    with pytest.raises(AttributeError, match="competing-risks outcome: it has no survival function"):
        net.predict_survival_function(X[:2])
    net.set_params(cause=1).fit(X, Surv.from_arrays(y["event"] > 0, y["time"]))
    assert isinstance(net._outcome(), SurvivalOutcome) and net.criterion_.n_causes is None
    assert not hasattr(net, "n_causes_") and net.predict_survival_function(X[:2], return_array=True).shape[0] == 2


def test_a_base_net_pickled_before_it_had_cause_still_predicts():
    from sarcoma_survival.nn import ClinicalMLP, SurvivalNeuralNet

    rng = np.random.default_rng(6)
    X = rng.normal(size=(40, 3)).astype(np.float32)
    y = Surv.from_arrays(rng.random(40) < 0.7, rng.uniform(1, 100, 40))
    net = SurvivalNeuralNet(ClinicalMLP, module__in_features=3, max_epochs=2, random_state=0).fit(X, y)
    state = net.__getstate__()
    del state["cause"]  # SurvivalNeuralNet had no cause parameter before the outcome object
    old = SurvivalNeuralNet.__new__(SurvivalNeuralNet)
    old.__setstate__(state)
    np.testing.assert_array_equal(old.predict(X), net.predict(X))
    assert old.predict_survival_function(X[:2], return_array=True).shape[0] == 2
