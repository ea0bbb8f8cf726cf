"""The paper's Table 3 as one call: every model, every outcome, the same splits.

:func:`compare_models` fits a clone of each model on the same training patients and
reports Harrell's C-index (with a bootstrap SD on a held-out test set, and/or the mean
and SD over cross-validation folds), the integrated Brier score, the number of trainable
parameters and the FLOPs per patient of the neural models.
"""
from __future__ import annotations

import numbers
import sys
import time as _time
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.utils import Bunch, _safe_indexing, check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt, validate_params

from ._parallel import with_config
from .competing_risks import (
    CAUSE,
    bootstrap_concordance_competing,
    censor_competing,
    check_competing_y,
    concordance_index_competing,
    integrated_brier_score_competing,
    is_competing_model,
    is_competing_y,
    needs_competing_y,
    row_label,
)
from .metrics import bootstrap_concordance, concordance_index, integrated_brier_score
from .model_selection import SurvivalStratifiedKFold, train_val_test_split
from .utils import curve_values
from .utils.validation import check_survival_y

__all__ = ["compare_models", "count_parameters", "flops_per_sample", "format_comparison", "paired_interval"]

#: Metric columns of the table, for each outcome, in this order.
TEST_COLUMNS = ("test_c_index", "test_c_index_sd", "test_ibs")
CV_COLUMNS = ("cv_c_index_mean", "cv_c_index_sd", "cv_ibs_mean", "cv_ibs_sd")
MODEL_COLUMNS = ("n_parameters", "flops_per_sample", "fit_time_s")


# ------------------------------------------------------------------ torch accounting
def _torch_module(estimator):
    """The fitted ``torch.nn.Module`` inside ``estimator`` (``module_``), or None."""
    torch = sys.modules.get("torch")
    if torch is None:  # a torch module exists only once torch is imported: nothing to import
        return None
    candidates = [estimator]
    steps = getattr(estimator, "steps", None)
    if steps:  # a Pipeline: the final estimator holds the network
        candidates.append(steps[-1][1])
    for candidate in candidates:
        module = getattr(candidate, "module_", None)
        if isinstance(module, torch.nn.Module):
            return module
    return None


def count_parameters(estimator):
    """Number of trainable parameters of a fitted neural estimator.

    The sum of ``p.numel()`` over the parameters of ``estimator.module_`` (or of the
    final step of a pipeline) with ``requires_grad=True``; frozen parameters are not
    counted.

    Parameters
    ----------
    estimator : fitted estimator

    Returns
    -------
    int or float
        The count, or ``nan`` when the estimator holds no torch module (tree or linear
        models).

    Examples
    --------
    >>> import torch
    >>> from types import SimpleNamespace
    >>> from sarcoma_survival.compare import count_parameters
    >>> count_parameters(SimpleNamespace(module_=torch.nn.Linear(4, 1)))
    5
    """
    module = _torch_module(estimator)
    if module is None:
        return float("nan")
    return int(sum(p.numel() for p in module.parameters() if p.requires_grad))


def flops_per_sample(estimator, X_one):
    """FLOPs of one patient's prediction, counted by torch's ``FlopCounterMode``.

    ``estimator.predict(X_one)`` runs inside
    :class:`torch.utils.flop_counter.FlopCounterMode`, so the count covers the
    forward pass of the fitted network on that patient (torch matrix products and
    convolutions; a multiply-add counts 2 FLOPs). Work outside torch (reading cached
    volumes, encoding clinical variables) is not counted.

    Parameters
    ----------
    estimator : fitted estimator
    X_one : DataFrame with one row
        The patient, in the format ``estimator.predict`` takes.

    Returns
    -------
    int or float
        The count, or ``nan`` when the estimator holds no torch module.

    Examples
    --------
    >>> import numpy as np, torch
    >>> from types import SimpleNamespace
    >>> from sarcoma_survival.compare import flops_per_sample
    >>> net = torch.nn.Linear(4, 1)
    >>> est = SimpleNamespace(module_=net,
    ...                       predict=lambda X: net(torch.as_tensor(X)).detach().numpy())
    >>> flops_per_sample(est, np.ones((1, 4), dtype=np.float32))
    8
    """
    if _torch_module(estimator) is None:
        return float("nan")
    from torch.utils.flop_counter import FlopCounterMode

    if len(X_one) != 1:
        raise ValueError(f"X_one must hold exactly one patient, got {len(X_one)} rows")
    with FlopCounterMode(display=False) as counter:
        estimator.predict(X_one)
    return int(counter.get_total_flops())


# ------------------------------------------------------------------ evaluation of one fit
def _time_grid(y_test, survival_fns, times, n_times):
    """Times for the integrated Brier score: 10th-90th percentile of test follow-up.

    The one rule of both outcomes: on a competing ``y_test`` the follow-up is its time
    field, and ``survival_fns`` (of a survival model scored on the competing outcome) bound
    the grid to their domain as on a survival outcome; a competing-risks model's incidence
    has no domain to respect (``survival_fns`` None).
    """
    if times is not None:
        return np.asarray(times, dtype=float)
    if is_competing_y(y_test):
        _, test_time = check_competing_y(y_test, allow_no_event=True)
    else:
        _, test_time = check_survival_y(y_test, allow_all_censored=True)
    survival_fns = () if survival_fns is None else survival_fns
    low, high = np.percentile(test_time, [10, 90])
    domains = [fn.domain for fn in survival_fns if hasattr(fn, "domain")]
    if domains:
        low = max(low, max(d[0] for d in domains))
        high = min(high, min(d[1] for d in domains))
    if not high > low:
        raise ValueError(
            f"cannot build a time grid inside the test follow-up and the domain of the "
            f"predicted survival functions ([{low:g}; {high:g}]); pass times="
        )
    return np.linspace(low, high, n_times)


def _score_risk(y_test, risk, *, n_bootstraps, random_state):
    """The C-index of ``risk`` on ``y_test`` and, unless ``n_bootstraps`` is None, its bootstrap SD.

    Harrell's C on a survival outcome; on a competing outcome Wolbers' concordance of cause
    1 (:func:`~sarcoma_survival.competing_risks.concordance_index_competing`). Both SDs come
    from the one vectorised bootstrap (the same draws for the same ``random_state``).
    """
    if is_competing_y(y_test):
        result = {"c_index": float(concordance_index_competing(y_test, risk, cause=CAUSE))}
        if n_bootstraps is not None:
            result["c_index_sd"] = float(bootstrap_concordance_competing(
                y_test, risk, cause=CAUSE, n_bootstraps=n_bootstraps, random_state=random_state
            ).sd)
        return result
    result = {"c_index": float(concordance_index(y_test, risk))}
    if n_bootstraps is not None:
        result["c_index_sd"] = float(bootstrap_concordance(
            y_test, risk, n_bootstraps=n_bootstraps, random_state=random_state
        ).sd)
    return result


def _score_competing_fit(estimator, X_test, y_train, y_test, risk, *, n_bootstraps, random_state,
                         times, n_times):
    """C, bootstrap SD and integrated Brier score of cause 1 on a competing ``y_test``.

    A survival model (trained with death censored) is scored on the same competing
    outcome as a competing-risks model: its ``predict`` by Wolbers' concordance, its
    ``1 - S(t)`` as the predicted incidence in the Brier score.
    """
    result = _score_risk(y_test, risk, n_bootstraps=n_bootstraps, random_state=random_state)
    result["ibs"] = float("nan")
    if is_competing_model(estimator):
        grid = _time_grid(y_test, None, times, n_times)
        incidence = estimator.predict_cumulative_incidence(X_test, grid)
    elif hasattr(estimator, "predict_survival_function"):
        fns = estimator.predict_survival_function(X_test)
        grid = _time_grid(y_test, fns, times, n_times)
        incidence = 1.0 - np.asarray([curve_values(fn, grid, clip=True) for fn in fns])
    else:
        return result
    # the censoring distribution of train + test, as for a survival outcome
    result["ibs"] = integrated_brier_score_competing(
        y_test, np.clip(incidence, 0.0, 1.0), grid, cause=CAUSE, y_train=np.concatenate([y_train, y_test]))
    result["ibs_time_min"], result["ibs_time_max"] = float(grid[0]), float(grid[-1])
    return result


def _fit_and_score(
    model, X_train, y_train, X_test, y_test, *, n_bootstraps=None, random_state=None, times=None,
    n_times=50, count_flops=False,
):
    """Fit a clone of ``model`` on the training patients and score it on the test patients.

    The one evaluation routine of :func:`compare_models` and of the demo: fit and predict
    times, the C-index (with a bootstrap SD of ``n_bootstraps`` resamples unless None), the
    integrated Brier score when the model predicts survival functions, the trainable
    parameters and, with ``count_flops``, the FLOPs of one patient's prediction. A
    competing-risks ``y`` (cause 1 = DM) trains a survival model with death censored and a
    competing-risks model on ``y`` itself; both are scored on ``y`` (Wolbers' C, IBS of the
    incidence).

    Returns ``(result, fit)``: the metrics as a dict and a Bunch with the fitted
    ``estimator``, the test ``risk`` and the ``survival`` functions (None without
    ``predict_survival_function``, and for a competing ``y``).
    """
    estimator = clone(model)
    competing = is_competing_y(y_train)
    start = _time.perf_counter()
    if competing and not is_competing_model(estimator):
        estimator.fit(X_train, censor_competing(y_train))  # the DM rows "death censored"
    else:
        estimator.fit(X_train, y_train)
    fit_time = _time.perf_counter() - start
    result = {"n_train": len(y_train), "n_test": len(y_test), "fit_time_s": fit_time}
    fns = None
    if competing:
        risk = np.asarray(estimator.predict(X_test), dtype=float)
        result.update(_score_competing_fit(
            estimator, X_test, y_train, y_test, risk, n_bootstraps=n_bootstraps,
            random_state=random_state, times=times, n_times=n_times))
    else:
        start = _time.perf_counter()
        risk = np.asarray(estimator.predict(X_test), dtype=float)
        if hasattr(estimator, "predict_survival_function"):
            fns = estimator.predict_survival_function(X_test)
        result["predict_time_s"] = _time.perf_counter() - start
        result.update(_score_risk(y_test, risk, n_bootstraps=n_bootstraps, random_state=random_state))
        result["ibs"] = float("nan")
        if fns is not None:
            grid = _time_grid(y_test, fns, times, n_times)
            # The censoring distribution is estimated on train + test outcomes: it is not a
            # model parameter, and the pooled sample covers the whole test follow-up.
            result["ibs"] = integrated_brier_score(
                y_test, fns, grid, y_train=np.concatenate([y_train, y_test])
            )
            result["ibs_time_min"], result["ibs_time_max"] = float(grid[0]), float(grid[-1])
    result["n_parameters"] = count_parameters(estimator)
    if count_flops:
        result["flops_per_sample"] = flops_per_sample(estimator, _safe_indexing(X_test, [0]))
    return result, Bunch(estimator=estimator, risk=risk, survival=fns)


class _Task(NamedTuple):
    """One fit of ``compare_models``: a model on an outcome, on one split."""

    outcome: str | None
    name: str
    protocol: str  # "test" (the held-out split) or "cv"
    fold: int
    model: object
    X: object
    y: np.ndarray
    train: np.ndarray
    test: np.ndarray
    seed: object  # the model's random_state in a multi-seed comparison, else None


def _guarded(task, **kwargs):
    outcome, name, protocol, fold, model, X, y, train, test, seed = task
    try:
        result, _ = _fit_and_score(
            model, _safe_indexing(X, train), y[train], _safe_indexing(X, test), y[test], **kwargs
        )
    except Exception as exc:
        where = f"model {name!r}" + (f", outcome {outcome!r}" if outcome is not None else "")
        seeded = f", random_state={seed}" if seed is not None else ""
        exc.add_note(f"while evaluating {where} ({protocol}, fold {fold}{seeded})")
        raise
    return {"outcome": outcome, "model": name, "protocol": protocol, "fold": fold, "seed": seed,
            **result}


def _duration(seconds):
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _progress_line(result, done, total, elapsed):
    """One line of :func:`compare_models`' progress: a finished fit and the time left.

    Examples
    --------
    >>> from sarcoma_survival.compare import _progress_line
    >>> _progress_line({"model": "mmnn", "outcome": "OS", "protocol": "cv", "fold": 1, "seed": None,
    ...                "fit_time_s": 61.2, "c_index": 0.7123}, 2, 10, 130.0)
    'fit 2/10: mmnn, OS, cv fold 2: fit 61.2 s, C-index 0.712; elapsed 2 min 10 s, about 8 min 40 s left'
    """
    what = ", ".join(str(part) for part in (
        result["model"], result["outcome"],
        "held-out test" if result["protocol"] == "test" else f"cv fold {result['fold'] + 1}",
        *([f"random_state={result['seed']}"] if result.get("seed") is not None else []),
    ) if part is not None)
    left = elapsed / done * (total - done)
    return (f"fit {done}/{total}: {what}: fit {result['fit_time_s']:.1f} s, C-index {result['c_index']:.3f}; "
            f"elapsed {_duration(elapsed)}" + (f", about {_duration(left)} left" if done < total else ""))


def _with_progress(results, total):
    """The results of ``compare_models``' fits, one progress line on stderr as each arrives."""
    start = _time.perf_counter()
    for done, result in enumerate(results, start=1):
        print(_progress_line(result, done, total, _time.perf_counter() - start), file=sys.stderr, flush=True)
        yield result


# ------------------------------------------------------------------ input checks
def _check_models(models):
    if not models:
        raise ValueError("models must be a non-empty dict {name: estimator}")
    for name, est in models.items():
        if not isinstance(name, str):
            raise TypeError(f"model names must be strings, got {name!r}")
        if not (hasattr(est, "fit") and hasattr(est, "predict")):
            raise TypeError(f"model {name!r} is not an estimator with fit and predict: {est!r}")
    return dict(models)


def _check_outcomes(y, X):
    if isinstance(y, Mapping):
        if not y:
            raise ValueError("y must be a structured survival array or a non-empty dict of them")
        outcomes = dict(y)
    else:
        outcomes = {None: y}
    for name, y_k in outcomes.items():
        try:
            if is_competing_y(y_k):
                check_competing_y(y_k, X)
                continue
            check_survival_y(y_k, X)
        except ValueError as exc:
            if name is not None:
                exc.add_note(f"in outcome {name!r}")
            raise
    return outcomes


def _check_split(split, n):
    if len(split) != 2:
        raise ValueError("split must be a pair (train_indices, test_indices)")
    parts = []
    for label, idx in zip(("train", "test"), split):
        idx = np.asarray(idx)
        if idx.dtype == bool:
            if idx.shape != (n,):
                raise ValueError(f"boolean {label} mask must have {n} entries, got {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.ndim != 1 or idx.size == 0 or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"split: {label} indices must be a non-empty 1-D array of integers")
        if idx.min() < 0 or idx.max() >= n:
            raise ValueError(f"split: {label} indices must be within [0, {n - 1}]")
        parts.append(idx)
    overlap = np.intersect1d(parts[0], parts[1])
    if overlap.size:
        raise ValueError(
            f"split: {overlap.size} patient(s) are in both train and test, e.g. row {overlap[0]}"
        )
    return tuple(parts)


def _held_out_split(X, first_y, split, test_size, random_state):
    if split is not None and test_size is not None:
        raise ValueError("give split= or test_size=, not both")
    if split is not None:
        return _check_split(split, len(first_y))
    if test_size is None:
        return None
    if not isinstance(X, pd.DataFrame) or not X.index.is_unique:
        raise ValueError("test_size= needs X as a DataFrame with a unique index (patient ids)")
    X_tr, X_val, X_te, *_ = train_val_test_split(
        X, first_y, test_size=test_size, random_state=random_state
    )
    # The validation part is trained on: estimators that need one carve it internally.
    train = np.sort(X.index.get_indexer(X_tr.index.append(X_val.index)))
    return train, X.index.get_indexer(X_te.index)


def _cv_splitter(cv, random_state):
    if cv is None:
        return None
    if isinstance(cv, numbers.Integral):  # validate_params lets no bool through
        return SurvivalStratifiedKFold(n_splits=int(cv), shuffle=True, random_state=random_state)
    return cv


# ------------------------------------------------------------------ the runner
@validate_params(
    {
        "X": ["array-like"],
        "y": ["array-like", Mapping],
        "models": [Mapping],
        "split": ["array-like", None],
        "test_size": [
            Interval(RealNotInt, 0, 1, closed="neither"),
            Interval(numbers.Integral, 1, None, closed="left"),
            None,
        ],
        "cv": [Interval(numbers.Integral, 2, None, closed="left"), HasMethods(["split", "get_n_splits"]), None],
        "groups": ["array-like", None],
        "n_bootstraps": [Interval(numbers.Integral, 2, None, closed="left")],
        "times": ["array-like", None],
        "n_times": [Interval(numbers.Integral, 2, None, closed="left")],
        "random_state": ["random_state"],
        "random_states": ["array-like", None],
        "reference": [str, None],
        "n_jobs": [numbers.Integral, None],
        "verbose": ["verbose"],
        "return_details": ["boolean"],
    },
    prefer_skip_nested_validation=False,  # the models validate their own parameters
)
def compare_models(
    X,
    y,
    models,
    *,
    split=None,
    test_size=None,
    cv=None,
    groups=None,
    n_bootstraps=1000,
    times=None,
    n_times=50,
    random_state=None,
    random_states=None,
    reference=None,
    n_jobs=None,
    verbose=0,
    return_details=False,
):
    """Compare survival models on the same patients: the paper's Table 3 as a DataFrame.

    Each model is cloned and fitted once per split. Two protocols, usable together:

    * **held-out test set** (``split=`` or ``test_size=``): fit on the training
      patients, then on the test patients Harrell's C-index, its bootstrap SD (the
      test patients resampled with replacement, predictions fixed, as in the paper) and
      the integrated Brier score;
    * **cross-validation** (``cv=``): the same metrics on every fold, reported as mean
      and SD (ddof=1) over folds. CV runs over all of ``X`` (test part included).

    Parameters
    ----------
    X : DataFrame of shape (n_patients, n_columns)
        The cohort table (every estimator of the toolkit takes it directly).
    y : structured ndarray or dict of them
        One outcome (``Surv.from_arrays(event, time)``), or a dict such as
        ``{"OS": y_os, "DM": y_dm}`` to compare on several outcomes in one table. A
        competing-risks outcome (``y_dm_competing``: 1 = DM, 2 = death without DM) gives
        the DM rows both ways: a survival model is trained with death censored and its
        row is named ``"<model> (<outcome>, death censored)"``; a competing-risks model
        (:mod:`sarcoma_survival.competing_risks`) is trained on the competing outcome,
        row ``"<model> (<outcome>, competing death)"``. Both are scored on the competing
        outcome for cause 1: Wolbers' concordance of ``predict`` (its bootstrap SD) and
        the integrated IPCW Brier score of the incidence (``1 - S(t)`` for the
        death-censored model).
    models : dict of str to estimator
        Name -> unfitted estimator (cloned for every fit; set its ``random_state``).
    split : pair of index arrays, optional
        ``(train_indices, test_indices)``: integer row positions (or boolean masks).
    test_size : float or int, optional
        Hold out this share (or number) of patients with
        :func:`~sarcoma_survival.model_selection.train_val_test_split` (stratified on
        tumor volume, location, RT timing and the event of the first outcome); the
        models are trained on the remaining patients.
    cv : int or cross-validation splitter, optional
        An int means :class:`~sarcoma_survival.model_selection.SurvivalStratifiedKFold`
        with that many folds, shuffled with ``random_state``. A splitter's
        ``split(X, y, groups)`` receives the structured ``y`` of each outcome (use
        ``SurvivalStratifiedKFold`` rather than ``StratifiedKFold``).
    groups : array-like, optional
        Group labels passed to the splitter (e.g. ``GroupKFold``).
    n_bootstraps : int, default=1000
        Bootstrap resamples for the SD of the test C-index.
    times : array-like, optional
        Times of the integrated Brier score. By default, ``n_times`` points from the 10th
        to the 90th percentile of the observed times of each evaluated set (clipped to the
        domain of the predicted survival functions). The censoring distribution of the
        IPC weights is estimated on the training and evaluated patients together.
    n_times : int, default=50
        Size of the default time grid.
    random_state : int, RandomState instance or None, default=None
        Seeds the ``test_size`` split, the folds of an int ``cv`` and the bootstrap (the
        same resamples for every model, so the SDs are paired).
    random_states : sequence of int, optional
        Seeds of the models: each model that has a ``random_state`` parameter is refitted
        once per seed (``set_params(random_state=seed)``) on the same splits, so the
        table shows how much of a difference between two rows is the seed's noise. The
        C-index and Brier columns are then means over seeds (``cv_*_sd``: the SD over every
        fold of every seed), and ``*_seed_sd`` columns give the SD over seeds (ddof=1; for
        CV, of each seed's fold mean). Models without
        ``random_state`` are fitted once. ``random_state`` still seeds the split, the
        folds and the bootstrap.
    reference : str, optional
        Name of a row of ``models`` (with ``random_states``): every row gets the paired
        difference of its C-index with the reference's, seed by seed on the same split
        (a model fitted once is paired with each seed of the other), its mean and a 95 %
        t-interval over seeds: ``test_c_index_diff``, ``test_c_index_diff_low``,
        ``test_c_index_diff_high`` (``cv_...`` for CV; NaN on the reference row). An
        interval that excludes 0 says the difference is larger than the seed-to-seed
        noise of these splits; it says nothing of other patients.
    n_jobs : int, optional
        Fits run in parallel with joblib (one job per model x outcome x split x seed).
    verbose : int, default=0
        ``>= 1``: one line per fit on stderr as its result arrives (in the order of the
        fits): the model, outcome, split and seed, its fit seconds and C-index, how many
        fits are done, the time elapsed and an estimate of the time left (elapsed time per
        fit so far times the fits left). Also passed to joblib, whose own messages it
        controls.
    return_details : bool, default=False
        Also return the per-fit results (one row per outcome, model, protocol and fold).

    Returns
    -------
    table : DataFrame
        One row per model (index ``model``, in the order of ``models``). For a single
        outcome, flat columns; for a dict ``y``, MultiIndex columns ``(outcome, metric)``
        (use ``table["OS"]`` or ``table.stack(level=0)`` for a long table). Metrics:
        ``test_c_index``, ``test_c_index_sd``, ``test_ibs`` (held-out protocol);
        ``cv_c_index_mean``, ``cv_c_index_sd``, ``cv_ibs_mean``, ``cv_ibs_sd`` (CV);
        ``n_parameters`` and ``flops_per_sample`` (from the first fit; NaN for models
        without a torch ``module_``, see :func:`count_parameters` and
        :func:`flops_per_sample`); ``fit_time_s`` (mean over fits). The integrated Brier
        score is NaN for a model without ``predict_survival_function``. With
        ``random_states``: also ``n_seeds``, ``test_c_index_seed_sd`` /
        ``cv_c_index_seed_sd`` and, with ``reference``, the paired differences (the
        reference's name is in ``table.attrs["reference"]``).
    details : DataFrame
        Only with ``return_details=True``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sksurv.linear_model import CoxPHSurvivalAnalysis
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.compare import compare_models
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.normal(60, 10, 80), "size": rng.gamma(3, 3, 80)})
    >>> y = Surv.from_arrays(rng.random(80) < 0.6, rng.exponential(1000, 80) + 1)
    >>> table = compare_models(X, y, {"cox": CoxPHSurvivalAnalysis()}, cv=3,
    ...                        split=(np.arange(60), np.arange(60, 80)), random_state=0,
    ...                        n_bootstraps=50)
    >>> list(table.columns[:3])
    ['test_c_index', 'test_c_index_sd', 'test_ibs']
    """
    models = _check_models(models)
    outcomes = _check_outcomes(y, X)
    if random_state is not None and not isinstance(random_state, numbers.Integral):
        random_state = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    first_y = next(iter(outcomes.values()))
    if is_competing_y(first_y):  # stratify the split on cause 1 (DM)
        first_y = censor_competing(first_y)
    held_out = _held_out_split(X, first_y, split, test_size, random_state)
    splitter = _cv_splitter(cv, random_state)
    if held_out is None and splitter is None:
        raise ValueError("give a held-out test set (split= or test_size=) and/or cv=")
    for outcome, y_k in outcomes.items():
        if not is_competing_y(y_k):
            competing_models = [n for n, m in models.items() if needs_competing_y(m)]
            if competing_models:
                raise ValueError(
                    f"competing-risks model(s) {competing_models} need a competing outcome "
                    f"(int event, 1 = DM, 2 = death without DM); outcome {outcome!r} is a "
                    "survival outcome"
                )

    seeds = _check_seeds(random_states, reference, models)
    tasks = []
    for outcome, y_k in outcomes.items():
        for name, model in models.items():
            for seed, seeded in _seeded_models(model, seeds):
                if held_out is not None:
                    tasks.append(_Task(outcome, name, "test", 0, seeded, X, y_k, *held_out, seed))
                if splitter is not None:
                    y_split = censor_competing(y_k) if is_competing_y(y_k) else y_k
                    for fold, (train, test) in enumerate(splitter.split(X, y_split, groups)):
                        tasks.append(_Task(outcome, name, "cv", fold, seeded, X, y_k, train, test, seed))
    first = {}
    for i, task in enumerate(tasks):
        first.setdefault((task.outcome, task.name), i)
    results = Parallel(n_jobs=n_jobs, verbose=verbose, return_as="generator")(
        delayed(with_config(_guarded))(  # the reader settings reach the workers
            task,
            n_bootstraps=n_bootstraps if task.protocol == "test" else None,
            random_state=random_state,
            times=times,
            n_times=n_times,
            count_flops=first[task.outcome, task.name] == i,
        )
        for i, task in enumerate(tasks)
    )
    results = list(_with_progress(results, len(tasks)) if verbose else results)
    labels = {}
    for outcome, y_k in outcomes.items():
        for name, model in models.items():
            labels[outcome, name] = row_label(name, outcome, model) if is_competing_y(y_k) else name
    for r in results:
        r["model"] = labels[r["outcome"], r["model"]]
    table = _summarize(
        results, list(dict.fromkeys(labels.values())), list(outcomes), held_out is not None,
        splitter is not None,
    )
    if seeds is not None:
        table = _add_seed_columns(table, results, list(outcomes), labels, reference)
    return (table, pd.DataFrame(results)) if return_details else table


def _check_seeds(random_states, reference, models):
    """The list of seeds (or None), checked; ``reference`` must name a model."""
    if random_states is None:
        if reference is not None:
            raise ValueError("reference= needs random_states=: its interval is over seeds")
        return None
    seeds = list(random_states)
    if not seeds or any(not isinstance(s, numbers.Integral) or isinstance(s, bool) for s in seeds):
        raise ValueError(f"random_states must be a non-empty list of integers, got {random_states!r}")
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"random_states {seeds!r} repeat a seed; give distinct seeds")
    if reference is not None and reference not in models:
        raise ValueError(f"reference {reference!r} is not one of the models: {sorted(models)}")
    return [int(s) for s in seeds]


def _seeded_models(model, seeds):
    """(seed, model) pairs: one per seed for a model with ``random_state``, else (None, model)."""
    if seeds is None or "random_state" not in model.get_params(deep=False):
        return [(None, model)]
    return [(seed, clone(model).set_params(random_state=seed)) for seed in seeds]


def _per_seed(results, outcome, label, protocol):
    """C-index per seed (a CV seed: its fold mean), as {seed: value}."""
    by_seed = {}
    for r in results:
        if r["outcome"] == outcome and r["model"] == label and r["protocol"] == protocol:
            by_seed.setdefault(r["seed"], []).append(r["c_index"])
    return {seed: float(np.mean(values)) for seed, values in by_seed.items()}


def paired_interval(differences, confidence=0.95):
    """Mean of paired differences and its t-interval: ``(mean, low, high)``.

    Parameters
    ----------
    differences : array-like of float
        One difference per pair (e.g. per seed).
    confidence : float, default=0.95

    Returns
    -------
    tuple of float
        The mean and the interval ``mean -/+ t(1 - (1 - confidence) / 2, n - 1) * SD / sqrt(n)``
        (SD with ddof=1); the bounds are NaN for fewer than 2 differences.

    Examples
    --------
    >>> from sarcoma_survival.compare import paired_interval
    >>> [round(v, 4) for v in paired_interval([0.01, 0.03, 0.02])]
    [0.02, -0.0048, 0.0448]
    """
    from scipy.stats import t

    d = np.asarray(differences, dtype=float)
    mean = float(d.mean())
    if d.size < 2:
        return mean, float("nan"), float("nan")
    half = float(t.ppf(1 - (1 - confidence) / 2, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size))
    return mean, mean - half, mean + half


def _add_seed_columns(table, results, outcomes, labels, reference):
    """Seed counts, SDs over seeds and paired differences with the reference row."""
    blocks = {}
    for outcome in outcomes:
        block = table[outcome].copy() if outcome is not None else table.copy()
        protocols = [p for p in ("test", "cv") if f"{p}_c_index" in block or f"{p}_c_index_mean" in block]
        ref_label = labels.get((outcome, reference)) if reference is not None else None
        for label in block.index:
            for protocol in protocols:
                values = _per_seed(results, outcome, label, protocol)
                block.loc[label, "n_seeds"] = len(values)
                spread = np.std(list(values.values()), ddof=1) if len(values) > 1 else np.nan
                block.loc[label, f"{protocol}_c_index_seed_sd"] = spread
                if ref_label is None:
                    continue
                diff = [np.nan] * 3
                if label != ref_label:
                    ref = _per_seed(results, outcome, ref_label, protocol)
                    pairs = _pair_seeds(values, ref)
                    diff = list(paired_interval([a - b for a, b in pairs]))
                block.loc[label, [f"{protocol}_c_index_diff", f"{protocol}_c_index_diff_low",
                                  f"{protocol}_c_index_diff_high"]] = diff
        blocks[outcome] = block
    out = blocks[None] if outcomes == [None] else pd.concat(blocks, axis=1, names=["outcome", "metric"])
    out.attrs["reference"] = reference
    return out


def _pair_seeds(values, ref):
    """(value, reference) pairs by seed; a single fit (seed None) pairs with every seed."""
    if None in values and None in ref:
        return [(values[None], ref[None])]
    if None in values:
        return [(values[None], r) for r in ref.values()]
    if None in ref:
        return [(v, ref[None]) for v in values.values()]
    return [(values[seed], ref[seed]) for seed in values]


def _summarize(results, names, outcomes, has_test, has_cv):
    blocks = {}
    for outcome in outcomes:
        rows, kept = [], []
        for name in names:
            fits = [r for r in results if r["outcome"] == outcome and r["model"] == name]
            if not fits:  # a row labeled for another outcome (competing-risks rows)
                continue
            kept.append(name)
            row = {}
            if has_test:  # one fit, or one per seed (then means over the seeds)
                tests = [r for r in fits if r["protocol"] == "test"]
                row.update({
                    f"test_{key}": float(np.mean([r[name] for r in tests]))
                    for key, name in (("c_index", "c_index"), ("c_index_sd", "c_index_sd"), ("ibs", "ibs"))
                })
            if has_cv:
                c = np.array([r["c_index"] for r in fits if r["protocol"] == "cv"], dtype=float)
                ibs = np.array([r["ibs"] for r in fits if r["protocol"] == "cv"], dtype=float)
                row.update(
                    cv_c_index_mean=c.mean(),
                    cv_c_index_sd=c.std(ddof=1) if c.size > 1 else np.nan,
                    cv_ibs_mean=ibs.mean(),
                    cv_ibs_sd=ibs.std(ddof=1) if ibs.size > 1 else np.nan,
                )
            (accounted,) = [r for r in fits if "flops_per_sample" in r]
            row["n_parameters"] = accounted["n_parameters"]
            row["flops_per_sample"] = accounted["flops_per_sample"]
            row["fit_time_s"] = float(np.mean([r["fit_time_s"] for r in fits]))
            rows.append(row)
        blocks[outcome] = pd.DataFrame(rows, index=pd.Index(kept, name="model"), dtype=float)
    if outcomes == [None]:
        return blocks[None]
    return pd.concat(blocks, axis=1, names=["outcome", "metric"])


def format_comparison(table, decimals=3):
    """Paper-style strings from a :func:`compare_models` table: ``"0.654 (0.031)"``.

    Parameters
    ----------
    table : DataFrame
        Output of :func:`compare_models` (flat or with an outcome level).
    decimals : int, default=3
        Rounding of the C-indices and Brier scores.

    Returns
    -------
    DataFrame of str
        Columns ``"C-index (SD)"`` (test), ``"CV C-index (SD)"``, with ``random_states``
        ``"seed SD"`` and, with a reference, ``"C - <reference> [95% CI]"`` (the paired
        difference over seeds, test protocol when there is one), then ``"IBS"``,
        ``"parameters"`` and ``"FLOPs"`` where available, per outcome.

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.compare import format_comparison
    >>> t = pd.DataFrame({"test_c_index": [0.6541], "test_c_index_sd": [0.0312],
    ...                   "test_ibs": [0.2], "n_parameters": [float("nan")],
    ...                   "flops_per_sample": [float("nan")]}, index=["Sarculator RSF"])
    >>> format_comparison(t).iloc[0].tolist()
    ['0.654 (0.031)', '0.200', '-', '-']
    """
    if isinstance(table.columns, pd.MultiIndex):
        return pd.concat(
            {o: format_comparison(table[o], decimals) for o in table.columns.unique(level=0)},
            axis=1,
        )

    def num(v):
        return "-" if pd.isna(v) else f"{v:.{decimals}f}"

    def count(v):
        return "-" if pd.isna(v) else f"{v:,.0f}"

    out = pd.DataFrame(index=table.index)
    if "test_c_index" in table:
        pairs = zip(table["test_c_index"], table["test_c_index_sd"])
        out["C-index (SD)"] = [f"{num(c)} ({num(s)})" for c, s in pairs]
    if "cv_c_index_mean" in table:
        pairs = zip(table["cv_c_index_mean"], table["cv_c_index_sd"])
        out["CV C-index (SD)"] = [f"{num(c)} ({num(s)})" for c, s in pairs]
    protocol = "test" if "test_c_index" in table else "cv"
    if f"{protocol}_c_index_seed_sd" in table:
        out["seed SD"] = [num(v) for v in table[f"{protocol}_c_index_seed_sd"]]
    if f"{protocol}_c_index_diff" in table:
        cells = zip(*(table[f"{protocol}_c_index_diff{part}"] for part in ("", "_low", "_high")))
        name = f"C - {table.attrs.get('reference') or 'reference'} [95% CI]"
        out[name] = ["-" if pd.isna(d) else f"{d:+.{decimals}f} [{num(lo)}; {num(hi)}]" for d, lo, hi in cells]
    ibs = table["test_ibs"] if "test_ibs" in table else table["cv_ibs_mean"]
    out["IBS"] = [num(v) for v in ibs]
    out["parameters"] = [count(v) for v in table["n_parameters"]]
    out["FLOPs"] = [count(v) for v in table["flops_per_sample"]]
    return out
