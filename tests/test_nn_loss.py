"""cox_ph_loss against brute-force formulas and against scikit-survival / lifelines Cox fits."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from sarcoma_survival.nn import CoxPHLoss, cox_ph_loss


def _brute_force(log_risk, time, event, ties):
    """Textbook partial likelihood with explicit loops (the definition, O(n^2))."""
    log_risk, time, event = (np.asarray(a, dtype=float) for a in (log_risk, time, event))
    total, n_events = 0.0, 0
    for t in np.unique(time[event > 0]):
        dead = (time == t) & (event > 0)
        at_risk = time >= t
        s = np.exp(log_risk[at_risk]).sum()
        e = np.exp(log_risk[dead]).sum()
        d = int(dead.sum())
        for k in range(d):
            denom = s - (k / d) * e if ties == "efron" else s
            total += np.log(denom)
        total -= log_risk[dead].sum()
        n_events += d
    return total / n_events


@pytest.fixture
def tied_sample():
    rng = np.random.default_rng(0)
    n = 60
    time = rng.integers(1, 12, size=n).astype(float)  # many ties, events and censorings mixed
    event = rng.random(n) < 0.6
    log_risk = rng.normal(size=n)
    return log_risk, time, event


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_matches_definition_with_ties(tied_sample, ties):
    log_risk, time, event = tied_sample
    got = cox_ph_loss(torch.tensor(log_risk), time=torch.tensor(time), event=torch.tensor(event), ties=ties)
    assert got.item() == pytest.approx(_brute_force(log_risk, time, event, ties), rel=1e-12)


def test_two_patient_value():
    loss = cox_ph_loss(torch.tensor([0.0, 0.0]), time=torch.tensor([1.0, 2.0]), event=torch.tensor([1, 0]))
    assert loss.item() == pytest.approx(np.log(2.0))


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_invariant_to_order(tied_sample, ties):
    log_risk, time, event = (torch.tensor(a) for a in tied_sample)
    reference = cox_ph_loss(log_risk, time=time, event=event, ties=ties)
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        perm = torch.randperm(len(time), generator=gen)
        assert cox_ph_loss(log_risk[perm], time=time[perm], event=event[perm], ties=ties).item() == pytest.approx(
            reference.item(), rel=1e-12
        )


def test_censoring_tied_with_event_is_at_risk():
    # A censoring at the event time belongs to the risk set: log(e^0 + e^0) - 0.
    loss = cox_ph_loss(torch.tensor([0.0, 0.0]), time=torch.tensor([5.0, 5.0]), event=torch.tensor([1, 0]))
    assert loss.item() == pytest.approx(np.log(2.0))


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_stable_for_large_log_risks(tied_sample, ties):
    log_risk, time, event = (torch.tensor(a) for a in tied_sample)
    base = cox_ph_loss(log_risk, time=time, event=event, ties=ties)
    shifted = cox_ph_loss(log_risk + 1e4, time=time, event=event, ties=ties)  # exp overflows naively
    assert torch.isfinite(shifted)
    assert shifted.item() == pytest.approx(base.item(), abs=1e-8)
    big = cox_ph_loss((log_risk * 500).float(), time=time, event=event, ties=ties)
    assert torch.isfinite(big)


def test_no_event_gives_zero_and_zero_grad():
    log_risk = torch.randn(5, requires_grad=True)
    loss = cox_ph_loss(log_risk, time=torch.arange(1.0, 6.0), event=torch.zeros(5))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.equal(log_risk.grad, torch.zeros(5))


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_gradient_is_correct(tied_sample, ties):
    log_risk, time, event = tied_sample
    x = torch.tensor(log_risk[:25], requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda r: cox_ph_loss(r, time=torch.tensor(time[:25]), event=torch.tensor(event[:25]), ties=ties), (x,)
    )


def test_column_input_and_errors():
    r = torch.zeros(3, 1)
    assert torch.isfinite(cox_ph_loss(r, time=[1.0, 2.0, 3.0], event=[1, 1, 0]))
    with pytest.raises(ValueError, match="ties"):
        cox_ph_loss(r, time=[1.0, 2.0, 3.0], event=[1, 1, 0], ties="exact")
    with pytest.raises(ValueError, match="same length"):
        cox_ph_loss(r, time=[1.0, 2.0], event=[1, 1, 0])
    # time and event by name only: a positional call (the order that was swapped) fails
    with pytest.raises(TypeError, match="positional"):
        cox_ph_loss(r, [1.0, 2.0, 3.0], [1, 1, 0])


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_criterion_weighs_heads_and_sums_causes(tied_sample, ties):
    log_risk, time, event = tied_sample
    y = torch.tensor(np.column_stack([time, event]))
    heads = tuple(torch.tensor(log_risk * scale, dtype=torch.float32) for scale in (1.0, -0.5, 2.0))
    per_head = [float(cox_ph_loss(h, time=time, event=event, ties=ties)) for h in heads]
    criterion = CoxPHLoss(ties=ties)
    assert float(criterion(heads[0], y)) == pytest.approx(per_head[0])
    assert float(criterion(heads, y)) == pytest.approx(np.mean(per_head), rel=1e-6)  # uniform by default
    criterion.head_weights = np.array([0.5, 0.0, 0.5])  # as GradientBlending sets it
    assert float(criterion(heads, y)) == pytest.approx(0.5 * per_head[0] + 0.5 * per_head[2], rel=1e-6)
    # competing risks: one column per cause, the sum of the cause-specific losses
    codes = np.where(event, 1 + (np.arange(len(time)) % 2), 0)
    y_codes = torch.tensor(np.column_stack([time, codes]))
    columns = torch.stack([heads[0], heads[1]], dim=1)
    expected = sum(float(cox_ph_loss(columns[:, k - 1], time=time, event=codes == k, ties=ties)) for k in (1, 2))
    assert float(CoxPHLoss(ties=ties, n_causes=2)(columns, y_codes)) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="gives 2 log-risk output"):
        CoxPHLoss(n_causes=3)(columns, y_codes)


def _fit_linear_cox(x, time, event, ties):
    """Minimise cox_ph_loss for a linear predictor with L-BFGS in float64."""
    x, time, event = torch.tensor(x), torch.tensor(time), torch.tensor(event)
    beta = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([beta], lr=1, max_iter=500, tolerance_grad=1e-12,
                            tolerance_change=1e-15, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = cox_ph_loss(x @ beta, time=time, event=event, ties=ties)
        loss.backward()
        return loss

    opt.step(closure)
    return beta.detach().numpy()


def _deepsurv_train(validation_dir, name):
    h5py = pytest.importorskip("h5py")
    with h5py.File(validation_dir / "deepsurv" / f"{name}_train_test.h5", "r") as f:
        x, t, e = f["train/x"][:].astype(float), f["train/t"][:].astype(float), f["train/e"][:].astype(bool)
    return (x - x.mean(0)) / x.std(0), t, e


@pytest.mark.realdata
@pytest.mark.parametrize("name", ["whas", "gbsg_cancer", "metabric_IHC4_clinical"])
@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_linear_fit_reproduces_sksurv(validation_dir, name, ties):
    from sksurv.linear_model import CoxPHSurvivalAnalysis
    from sksurv.util import Surv

    x, t, e = _deepsurv_train(validation_dir, name)
    assert len(np.unique(t[e])) < e.sum()  # the data really has tied event times
    reference = CoxPHSurvivalAnalysis(ties=ties).fit(x, Surv.from_arrays(e, t)).coef_
    np.testing.assert_allclose(_fit_linear_cox(x, t, e, ties), reference, atol=1e-5)


@pytest.mark.realdata
def test_linear_fit_reproduces_lifelines_efron(validation_dir):
    import pandas as pd
    from lifelines import CoxPHFitter

    x, t, e = _deepsurv_train(validation_dir, "whas")
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(x.shape[1])]).assign(T=t, E=e.astype(int))
    reference = CoxPHFitter().fit(frame, "T", "E").params_.to_numpy()
    np.testing.assert_allclose(_fit_linear_cox(x, t, e, "efron"), reference, atol=1e-5)
