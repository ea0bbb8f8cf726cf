"""``sarcoma-survival demo``: the paper's Table 3 and figures on the built-in synthetic cohort.

:func:`run_demo` draws a training cohort and a larger, independent test cohort from the
synthetic generator (:func:`~sarcoma_survival.datasets.make_synthetic_cohort`, two
``random_state`` values), fits every model of the registry for OS and DM on
the first, scores it on the second (Harrell's C with a bootstrap SD, Spearman correlation
of the predicted with the true risk, integrated Brier score, fit seconds), adds the
oracle (the true risk) and writes the table and the figures of the best model into a run
folder. Every number it writes is simulated.
"""
from __future__ import annotations

import time
import warnings
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from ._config import config_context
from .utils import atomic_path, error_line

__all__ = ["run_demo"]

#: Outcomes of the table, in order: (label, suffix of the cohort's ``y_`` / ``risk_`` fields).
OUTCOMES = (("OS", "os"), ("DM", "dm"))
#: Default edge of the synthetic images and of the neural models' input grid (voxels).
DEMO_IMAGE_SIZE = 32
#: Default training epochs of the neural models (CPU-sized; the paper trains 200).
DEMO_MAX_EPOCHS = 12
#: Image-network sizes of the demo's default ``net="compact"``: a 3-block DenseNet
#: (0.54 M parameters instead of DenseNet-121's 11.3 M), about 6 times cheaper per batch at
#: 32^3 on a CPU; with each image network's OS and DM fits side by side, the whole demo ran cold
#: in 354 s on 2 AVX-512 cores and 424 s with AVX2 kernels (benchmarks/measured/demo_cold_cpu.csv).
#: ``net="densenet121"`` keeps the paper's architecture.
DEMO_NETS = {
    "compact": {"module__init_features": 32, "module__growth_rate": 16, "module__block_config": (3, 6, 6)},
    "densenet121": {},
}
#: Bootstrap resamples of the test C-index SD.
DEMO_N_BOOTSTRAPS = 500
#: Horizons (years) of the time-dependent ROC curves; calibration uses the middle one.
ROC_HORIZONS_YEARS = (1, 3, 5)
_DAYS_PER_YEAR = 365.25
ORACLE = "oracle (true risk)"
SIMULATED_NOTE = (
    "All numbers are SIMULATED: synthetic cohort of sarcoma_survival's generator, "
    "not patients. Do not read them as clinical results."
)
#: Printed under the table: which signal of the generator each kind of model can see.
SIGNAL_NOTES = (
    "Histogram signals (the necrotic fraction, the generator's strongest image signal) reach "
    "first-order radiomics directly, so the radiomics rows can rank above the image networks here.",
    "Spatial patterns (one necrotic core or scattered foci at the same volume) need a CNN on the "
    "image; see docs/user_guide/synthetic.rst, section 'Who can see which signal'.",
)

#: Registry classes whose rows are one neural-network fit (one seed).
NEURAL_CLASSES = ("ClinicalMLPSurvival", "DenseNetSurvival", "MMNNSurvival")
#: Seed-to-seed SD of the C-index difference between two neural models, each fitted once:
#: the SD over seeds of the per-seed differences between the MMNN with gradient blending,
#: without it, with uniform weights and DenseNetSurvival (pooled over these pairs), OS C
#: on 1000 fresh patients, in the default (additive) regime of the generator, with the tiny
#: CPU DenseNet at 24^3. Measured by ``benchmarks/bench_blending_regimes.py`` (10 seeds;
#: rows in ``benchmarks/measured/blending_regimes_cpu.csv``, which the installed package
#: cannot read, hence a constant; ``bench_blending_regimes.py --summarize`` prints it). The
#: demo's network is larger, so it is an order of magnitude of the demo's own noise, not a
#: measurement of it. One seed (7), whose 44-patient model-selection set stopped every image
#: network at epochs 1-3, dominates it: without that seed the pooled SD is 0.021.
NEURAL_SEED_SD = 0.050
#: Appended to the C of a neural row that lies within NEURAL_SEED_SD of another neural row's.
TIE_MARK = " tie"


def _neural_rows(names):
    from ._registry import MODELS

    return [n for n in names if n in MODELS and MODELS[n].cls in NEURAL_CLASSES]


def neural_notes(table):
    """Lines printed under the table when it has neural rows: they are one seed, and what
    the tie mark means (with the measured SD and where it comes from)."""
    if not _neural_rows(table.index):
        return ()
    return (
        "Neural rows are one fit each (one seed): refitted with another seed, their C moves.",
        f"'{TIE_MARK.strip()}': a neural row whose C lies within {NEURAL_SEED_SD:.3f} of another neural "
        "row's, the seed-to-seed SD of the difference between two neural models measured over 10 seeds "
        "(benchmarks/bench_blending_regimes.py, default regime, tiny DenseNet at 24^3; "
        "benchmarks/measured/blending_regimes_cpu.csv): that difference is seed noise, not a ranking.",
    )


def _mark_ties(table, results):
    """Append TIE_MARK to the C of each neural row within NEURAL_SEED_SD of another neural row."""
    neural = _neural_rows(table.index)
    for outcome, _ in OUTCOMES:
        sub = results[(results["outcome"] == outcome) & results["model"].isin(neural)]
        c = sub.groupby("model", sort=False)["c_index"].first().dropna()
        for name, value in c.items():
            others = c.drop(name)
            if len(others) and (np.abs(others - value) < NEURAL_SEED_SD).any():
                table.loc[name, f"{outcome} C (SD)"] += TIE_MARK
    return table


# ------------------------------------------------------------------ small helpers
def _say(verbose, *args):
    if verbose:
        print(*args, flush=True)


def _run_folder(output):
    if output is not None:
        folder = Path(output)
    else:
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        folder = Path.cwd() / "sarcoma_survival_runs" / f"demo-{stamp}"
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"output {str(folder)!r} exists and is not a folder")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _median_follow_up(y):
    """Reverse Kaplan-Meier median follow-up (censoring treated as the event), in days."""
    from sksurv.nonparametric import kaplan_meier_estimator

    event, time_ = y[y.dtype.names[0]], y[y.dtype.names[1]]
    if event.all():
        return float("nan")
    times, surv = kaplan_meier_estimator(~event, time_)
    below = np.flatnonzero(surv <= 0.5)
    return float(times[below[0]]) if below.size else float("nan")


def cohort_summary(cohort, name):
    """One line per outcome: patients, events, censoring and median follow-up."""
    lines = [f"{name}: {len(cohort.X)} patients (simulated)"]
    for label, key in OUTCOMES:
        y = cohort[f"y_{key}"]
        event = y[y.dtype.names[0]]
        follow_up = _median_follow_up(y) / _DAYS_PER_YEAR
        lines.append(
            f"  {label}: {int(event.sum())} events, {100 * (1 - event.mean()):.1f} % censored, "
            f"median follow-up {follow_up:.1f} years"
        )
    return "\n".join(lines)


def _check_models(models):
    from ._registry import MODELS, model_names

    if models is None:
        return model_names()
    names = [m.strip() for m in models.split(",")] if isinstance(models, str) else list(models)
    names = [m for m in names if m]
    unknown = [m for m in names if m not in MODELS]
    if unknown:
        raise ValueError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")
    if not names:
        raise ValueError("no model named in models=")
    return list(dict.fromkeys(names))


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    return int(value)


# ------------------------------------------------------------------ models
def demo_blending_schedule(max_epochs):
    """Gradient-blending warm-up and period of the demo's multimodal network.

    From 50 epochs on (``MMNNSurvival``'s default ``max_epochs``): the library's 10-epoch
    warm-up and 5-epoch period. Below, a fifth and a tenth of the epochs, at least 2 each,
    so that a CPU-sized run re-estimates the weights several times instead of once at its
    very end (with 10 / 5 and the demo's 12 epochs, uniform weights would train 10 of them).

    Parameters
    ----------
    max_epochs : int
        Training epochs of the demo's image models.

    Returns
    -------
    warmup, period : int

    Examples
    --------
    >>> from sarcoma_survival._demo import demo_blending_schedule
    >>> demo_blending_schedule(12), demo_blending_schedule(30), demo_blending_schedule(200)
    ((2, 2), (6, 3), (10, 5))
    """
    if max_epochs >= 50:
        return 10, 5
    return max(2, round(max_epochs / 5)), max(2, round(max_epochs / 10))


def demo_settings(estimator, *, image_size, max_epochs, random_state, n_jobs, images=False, net="compact"):
    """CPU-sized parameters for one estimator: only the parameters it has are set.

    Image models (``images=True``) get ``max_epochs`` (cheap neural models such as the
    clinical MLP keep their own); a parameter holding a
    :class:`~sarcoma_survival.preprocessing.VolumePreprocessor` (or an image model's
    ``preprocessor="auto"``) becomes a ``VolumePreprocessor`` at ``image_size``; forests
    get ``n_jobs`` (:func:`run_demo` gives it to every image reader, a radiomics model's
    default extractor included, through :func:`~sarcoma_survival.config_context`); every
    model gets ``random_state``; image
    models get the network sizes of ``DEMO_NETS[net]`` and, when they blend gradients, the
    schedule of :func:`demo_blending_schedule`. A model added to the registry later is
    handled by the same rules.

    Examples
    --------
    >>> from sarcoma_survival import ClinicalRSF
    >>> from sarcoma_survival._demo import demo_settings
    >>> demo_settings(ClinicalRSF(), image_size=32, max_epochs=5, random_state=0,
    ...               n_jobs=2).get_params()["n_jobs"]
    2
    """
    from .preprocessing import VolumePreprocessor

    params = estimator.get_params(deep=False)
    new = {}
    for key, value in params.items():
        if isinstance(value, VolumePreprocessor):
            new[key] = VolumePreprocessor(size=image_size, n_jobs=n_jobs)
    if "random_state" in params:
        new["random_state"] = random_state
    if "n_jobs" in params:
        new["n_jobs"] = n_jobs
    if images and "max_epochs" in params:
        new["max_epochs"] = max_epochs
        new.update(DEMO_NETS[net])
    if images and "blend_warmup" in params:
        new["blend_warmup"], new["blend_period"] = demo_blending_schedule(max_epochs)
    if images and isinstance(params.get("preprocessor"), str) and params["preprocessor"] == "auto":
        new["preprocessor"] = VolumePreprocessor(size=image_size, n_jobs=n_jobs)  # what fit would build
    return estimator.set_params(**new)


def _is_neural(estimator):
    return "max_epochs" in estimator.get_params(deep=False)


def _first_line(exc):
    # the demo makes its own data: every failure is unexpected, so its type is named
    return error_line(exc, expected=())


def _fit_one_with_share(name, outcome, key, train, test, settings, random_state):
    """:func:`_fit_one` in a worker of :func:`_fit_models`: torch and every reader get this
    worker's share of the cores (``parallel_map`` sets ITK's and BLAS'; torch keeps its own count)."""
    import joblib
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(max(1, joblib.cpu_count() // len(OUTCOMES)))
    try:
        with config_context(n_jobs=1):
            return _fit_one(name, outcome, key, train, test, {**settings, "n_jobs": 1}, random_state)
    finally:
        torch.set_num_threads(threads)


def _fit_one(name, outcome, key, train, test, settings, random_state):
    """Fit ``name`` on the training cohort for one outcome and score it on the test cohort.

    The fit and the scores come from the routine of
    :func:`~sarcoma_survival.compare.compare_models`; the demo adds the Spearman
    correlation of the predicted with the true risk, and records warnings and a failure
    (its first line) in the row instead of stopping.
    """
    from scipy.stats import spearmanr
    from threadpoolctl import threadpool_limits

    from ._registry import MODELS, make_model
    from .compare import _fit_and_score

    row = {"model": name, "outcome": outcome}
    caught = []
    try:
        estimator = demo_settings(make_model(name), random_state=random_state,
                                  images=MODELS[name].images, **settings)
        # Tree, linear and radiomics code gains nothing from threaded BLAS on small inputs,
        # and oversubscribed BLAS threads slow PyRadiomics' eigenvalue calls many times over.
        limit = None if _is_neural(estimator) else 1
        with threadpool_limits(limits=limit, user_api="blas"), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result, fit = _fit_and_score(
                estimator, train.X, train[f"y_{key}"], test.X, test[f"y_{key}"],
                n_bootstraps=DEMO_N_BOOTSTRAPS, random_state=random_state,
            )
        true_risk = test[f"risk_{key}"].to_numpy()
        row.update(
            c_index=result["c_index"],
            c_index_sd=result["c_index_sd"],
            spearman_true_risk=float(spearmanr(fit.risk, true_risk).statistic),
            ibs=float(result["ibs"]),
            fit_s=result["fit_time_s"],
            predict_s=result["predict_time_s"],
            n_parameters=result["n_parameters"],
        )
    except Exception as exc:  # noqa: BLE001 - one failing model must not stop the demo
        row["error"] = _first_line(exc)
        return row, None
    finally:
        if caught:
            row["warnings"] = warning_line(caught)
    return row, fit


def warning_line(caught):
    """One line, in the demo's words, for the warnings recorded during one model's fit.

    Examples
    --------
    >>> import warnings
    >>> from sklearn.exceptions import ConvergenceWarning
    >>> from sarcoma_survival._demo import warning_line
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("Optimization terminated early", ConvergenceWarning, stacklevel=1)
    ...     warnings.warn("Optimization terminated early", ConvergenceWarning, stacklevel=1)
    >>> print(warning_line(caught))  # doctest: +NORMALIZE_WHITESPACE
    the solver reached its iteration limit in 2 fits (ConvergenceWarning); the scores are those
    of the models as fitted
    """
    from sklearn.exceptions import ConvergenceWarning

    if all(issubclass(w.category, ConvergenceWarning) for w in caught):
        return (f"the solver reached its iteration limit in {len(caught)} fit{'s' * (len(caught) > 1)} "
                "(ConvergenceWarning); the scores are those of the models as fitted")
    counts = {}
    for w in caught:
        counts[w.category.__name__] = counts.get(w.category.__name__, 0) + 1
    text = str(caught[0].message).strip().splitlines()
    return (", ".join(f"{n} x {name}" for name, n in counts.items())
            + f"; the first says: {text[0] if text else ''}")


#: Rows of :func:`_dm_both_ways` and their descriptions (their C is Wolbers' concordance).
DM_BOTH_WAYS = {
    "sarculator-coxph (DM, death censored)":
        "Sarculator variables, Cox with death censored; Wolbers C, death competing",
    "sarculator-finegray (DM, competing death)":
        "Sarculator variables, Fine-Gray (Sarculator's DM model); Wolbers C",
}


def _dm_both_ways(train, test, random_state):
    """DM rows of the Sarculator variables with death censored and with death competing.

    Both go through the evaluation routine of
    :func:`~sarcoma_survival.compare.compare_models` on the competing outcome (cause 1 =
    DM): the Cox model is trained with death censored, the Fine-Gray model with death
    competing, and both are scored on the test cohort's competing outcome (Wolbers'
    concordance with its bootstrap SD, integrated Brier score of the incidence).
    """
    from scipy.stats import spearmanr

    from .compare import _fit_and_score
    from .competing_risks import SarculatorFineGray, row_label
    from .models import SarculatorCoxPH

    rows = []
    for name, estimator in (("sarculator-coxph", SarculatorCoxPH()),
                            ("sarculator-finegray", SarculatorFineGray())):
        row = {"model": row_label(name, "DM", estimator), "outcome": "DM"}
        try:
            result, fit = _fit_and_score(
                estimator, train.X, train.y_dm_competing, test.X, test.y_dm_competing,
                n_bootstraps=DEMO_N_BOOTSTRAPS, random_state=random_state,
            )
            row.update(c_index=result["c_index"], c_index_sd=result["c_index_sd"], ibs=result["ibs"],
                       fit_s=result["fit_time_s"])
            row["spearman_true_risk"] = float(spearmanr(fit.risk, test["risk_dm"].to_numpy()).statistic)
        except Exception as exc:  # noqa: BLE001 - one failing model must not stop the demo
            row["error"] = _first_line(exc)
        rows.append(row)
    return rows


# ------------------------------------------------------------------ outputs
def _fmt(value, digits=3):
    return "" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def wide_table(results):
    """The long results (one row per model and outcome) as one row per model.

    Columns: for each outcome ``C (SD)`` (the C of a neural row within the measured
    seed-to-seed noise of another neural row's is marked ``tie``), the Spearman correlation with the true risk and
    the integrated Brier score; then fit seconds (both outcomes) and errors.
    """
    from ._registry import MODELS

    rows = []
    for name, group in results.groupby("model", sort=False):
        spec = MODELS.get(name)
        description = spec.description if spec else DM_BOTH_WAYS.get(name, "Harrell C of the true log-hazard")
        row = {"model": name, "description": description}
        for outcome, _ in OUTCOMES:
            sub = group[group["outcome"] == outcome]
            r = sub.iloc[0] if len(sub) else pd.Series(dtype=object)
            c, sd = r.get("c_index", np.nan), r.get("c_index_sd", np.nan)
            row[f"{outcome} C (SD)"] = f"{_fmt(c)} ({_fmt(sd)})" if np.isfinite(c) else ""
            row[f"{outcome} Spearman"] = _fmt(r.get("spearman_true_risk", np.nan), 2)
            row[f"{outcome} IBS"] = _fmt(r.get("ibs", np.nan))
        fit = group["fit_s"].sum(min_count=1) if "fit_s" in group else np.nan
        row["fit s"] = _fmt(fit, 1)
        errors = group["error"].dropna().unique() if "error" in group else []
        row["error"] = "; ".join(errors)
        rows.append(row)
    table = pd.DataFrame(rows).set_index("model")
    if not table["error"].astype(bool).any():
        table = table.drop(columns="error")
    return _mark_ties(table, results)


def to_markdown(table, title):
    """A pipe table (GitHub markdown) with a title and the 'simulated' note."""
    header = ["model", *table.columns]
    lines = [f"# {title}", "", f"*{SIMULATED_NOTE}*", ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    for name, row in table.iterrows():
        cells = [str(name), *(str(v).replace("|", "/") for v in row.to_numpy())]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *(f"{note}  " for note in (*neural_notes(table), *SIGNAL_NOTES))]
    return "\n".join(lines) + "\n"


def _save(fig, path, written):
    with atomic_path(path) as tmp:  # a failed write never leaves half a figure
        fig.savefig(tmp, dpi=110, bbox_inches="tight")
    written.append(path)


def _figures(folder, outcome, key, name, fit, train, test, written, verbose):
    """KM by risk group, td-ROC and calibration of one fitted model on the test cohort."""
    from matplotlib.figure import Figure

    from .plotting import plot_calibration, plot_kaplan_meier_by_risk, plot_time_dependent_roc

    y_train, y_test = train[f"y_{key}"], test[f"y_{key}"]
    tag = f"{name} on the synthetic test cohort (simulated)"
    event_times = y_test[y_test.dtype.names[1]][y_test[y_test.dtype.names[0]]]
    horizons = [
        h * _DAYS_PER_YEAR for h in ROC_HORIZONS_YEARS
        if event_times.size and event_times.min() < h * _DAYS_PER_YEAR < event_times.max()
    ]
    steps = [("km", "Kaplan-Meier by predicted risk group")]
    if horizons:
        steps.append(("roc", "time-dependent ROC"))
        if fit.survival is not None:
            horizon = horizons[len(horizons) // 2]
            steps.append(("calibration", f"calibration at {horizon / _DAYS_PER_YEAR:g} years"))
    for kind, what in steps:
        fig = Figure(figsize=(6, 4.5))
        ax = fig.subplots()
        try:
            if kind == "km":
                plot_kaplan_meier_by_risk(y_test, fit.risk, n_groups=2, ax=ax)
            elif kind == "roc":
                plot_time_dependent_roc(y_train, y_test, fit.risk, horizons, ax=ax)
            else:
                plot_calibration(y_test, fit.survival, horizon, n_groups=5, label=name, ax=ax)
        except Exception as exc:  # noqa: BLE001 - a figure failing must not lose the table
            _say(verbose, f"  figure {kind} ({outcome}) skipped: {_first_line(exc)}")
            continue
        ax.set_title(f"{outcome}: {what}\n{tag}", fontsize=9)
        _save(fig, folder / f"{kind}_{key}.png", written)


def _blending_figure(folder, name, key, estimator, written, verbose):
    from matplotlib.figure import Figure

    from .plotting import plot_blending_weights

    if estimator.get_params().get("gradient_blending") is not True:
        return  # fixed weights (the ablation, or uniform): nothing was estimated to draw
    record = getattr(estimator, "blending_weights_", None)
    if record is None:
        record = getattr(estimator, "history_", None)
    if record is None:
        return
    fig = Figure(figsize=(6, 4))
    ax = fig.subplots()
    try:
        plot_blending_weights(record, ax=ax)
    except Exception as exc:  # noqa: BLE001
        _say(verbose, f"  figure blending weights ({name}, {key.upper()}) skipped: {_first_line(exc)}")
        return
    ax.set_title(f"{key.upper()}: gradient-blending weights of {name} (simulated data)", fontsize=9)
    _save(fig, folder / f"blending_{name}_{key}.png", written)


# ------------------------------------------------------------------ the demo
def run_demo(
    output=None,
    n_patients=287,
    n_test=200,
    image_size=None,
    models=None,
    max_epochs=None,
    random_state=0,
    n_jobs=-1,
    verbose=True,
    net="compact",
):
    """Run every registered model on the synthetic cohort and write Table 3 and figures.

    Four steps: (1) **cohorts**: a training cohort ``make_synthetic_cohort(n_patients,
    random_state=random_state)`` and an independent test cohort of ``n_test`` patients
    (``random_state + 1``), summarized; (2) **fit**: for every model and outcome (OS, DM),
    fit on the training cohort, then on the test cohort Harrell's C with its bootstrap SD,
    the Spearman correlation of the predicted with the true risk (the generator's
    log-hazard), the integrated Brier score and the fit seconds (the scoring routine of
    :func:`~sarcoma_survival.compare.compare_models`), plus an oracle row (the true risk
    itself); a model that fails (a missing optional dependency, say) gets its error in
    the table and the demo goes on; (3) **tables**: ``table.csv`` (one row per model and
    outcome) and ``table.md``; (4) **figures**: PNG figures of the best model per outcome
    (Kaplan-Meier by risk group, time-dependent ROC at 1, 3 and 5 years, calibration at 3
    years) and the blending weights of any fitted multimodal network. When
    ``sarculator-coxph`` runs, two more DM rows on the Sarculator variables score DM with
    death as a competing risk (Wolbers' concordance and the IBS of the incidence on
    ``y_dm_competing``): the Cox model trained with death censored and
    :class:`~sarcoma_survival.competing_risks.SarculatorFineGray`. Every number is
    simulated.

    Images are cached on disk (the cohorts, the preprocessed volumes and the radiomics
    features, per patient), so a second run with the same arguments is much faster.

    Parameters
    ----------
    output : str or Path, optional
        Run folder; default ``./sarcoma_survival_runs/demo-<date>-<time>``.
    n_patients : int, default=287
        Training cohort size (the paper's cohort).
    n_test : int, default=200
        Size of the fresh test cohort (bootstrap SD of its C-index about 0.035 here).
    image_size : int, optional
        Edge of the synthetic T1 images and of the neural models' input grid
        (default 32).
    models : str or list of str, optional
        Registry names (comma-separated string or list); default every registered model
        (:func:`sarcoma_survival._registry.model_names`).
    max_epochs : int, optional
        Training epochs of the image models (``densenet``, ``mmnn``...; default 12); the
        clinical MLP is cheap and keeps its own.
    random_state : int, default=0
        Seed of the training cohort (the test cohort uses ``random_state + 1``) and of
        every model.
    n_jobs : int, default=-1
        Processes for image generation, preprocessing, radiomics and forests (-1: all
        cores). With two or more, each image network fits its OS and DM models side by side,
        one process per outcome with half the cores each (the same numbers as fitting them
        one after the other with half the cores' torch threads).
    verbose : bool, default=True
        Print progress, the cohort summary and the table.
    net : {"compact", "densenet121"}, default="compact"
        Size of the image networks: a compact 3-block DenseNet that keeps the demo near
        10 CPU minutes, or the paper's DenseNet-121 (much slower on a CPU).

    Returns
    -------
    Bunch
        ``folder`` (Path), ``results`` (DataFrame, one row per model and outcome, as in
        ``table.csv``), ``table`` (one row per model, as printed), ``files`` (written
        paths), ``seconds`` (wall time) and ``timeline`` (dict: seconds of each step, in
        order: ``"cohorts"``, ``"<model> (<outcome>)"`` for each fit (for an image model
        with ``n_jobs`` of two or more: ``"<model> (OS and DM side by side)"``, both outcomes
        fitted at once in two processes), ``"DM both ways"``,
        ``"tables and figures"``, ``"total"``; also printed as one "time line" line).

    Examples
    --------
    >>> import tempfile
    >>> from sarcoma_survival._demo import run_demo
    >>> run = run_demo(tempfile.mkdtemp(), n_patients=30, n_test=40, image_size=16,
    ...                models="sarculator-coxph", verbose=False)
    >>> sorted(p.name for p in run.files)[:3]
    ['calibration_dm.png', 'calibration_os.png', 'km_dm.png']
    >>> list(run.table.index)  # doctest: +NORMALIZE_WHITESPACE
    ['oracle (true risk)', 'sarculator-coxph', 'sarculator-coxph (DM, death censored)',
     'sarculator-finegray (DM, competing death)']
    """
    start_all = time.perf_counter()
    n_patients = _check_int(n_patients, "n_patients", 10)
    n_test = _check_int(n_test, "n_test", 10)
    image_size = _check_int(DEMO_IMAGE_SIZE if image_size is None else image_size, "image_size", 12)
    max_epochs = _check_int(DEMO_MAX_EPOCHS if max_epochs is None else max_epochs, "max_epochs", 1)
    random_state = _check_int(random_state, "random_state", 0)
    if net not in DEMO_NETS:
        raise ValueError(f"net must be one of {sorted(DEMO_NETS)}, got {net!r}")
    names = _check_models(models)
    folder = _run_folder(output)
    _say(verbose, f"sarcoma-survival demo: {len(names)} models, run folder {folder}")
    _say(verbose, SIMULATED_NOTE)

    start = time.perf_counter()
    train, test = _cohorts(n_patients, n_test, image_size, random_state, n_jobs, verbose)
    timeline = {"cohorts": time.perf_counter() - start}
    settings = {"image_size": image_size, "max_epochs": max_epochs, "n_jobs": n_jobs, "net": net}
    with config_context(n_jobs=n_jobs):  # every image reader, those built in fit too
        rows, fits = _fit_models(names, train, test, settings, random_state, verbose, timeline)
    start = time.perf_counter()
    results, table, title, files = _tables(rows, folder, n_patients, n_test)
    files += _figures_of_the_best(results, fits, train, test, folder, verbose)
    timeline["tables and figures"] = time.perf_counter() - start

    seconds = time.perf_counter() - start_all
    timeline["total"] = seconds
    if verbose:
        from .utils import get_cache_dir

        with pd.option_context("display.width", 200, "display.max_columns", 20,
                               "display.max_colwidth", 60):
            print()
            print(title + " (SIMULATED)")
            print(table.drop(columns="description").to_string())
            print()
            print("\n".join((*neural_notes(table), *SIGNAL_NOTES)))
        print()
        print(f"wrote {len(files)} files to {folder}")
        print("time line (s): " + ", ".join(f"{step} {t:.1f}" for step, t in timeline.items()))
        print(f"total {seconds:.0f} s. Synthetic images, preprocessed volumes and radiomics "
              f"features are cached per patient (cache {get_cache_dir()}), so a second run is "
              "much faster.")
    return Bunch(folder=folder, results=results, table=table, files=files, seconds=seconds,
                 timeline=timeline)


# ------------------------------------------------------------------ the four steps
def _cohorts(n_patients, n_test, image_size, random_state, n_jobs, verbose):
    """Step 1: the training cohort and the independent test cohort, summarized."""
    from .datasets import make_synthetic_cohort
    from .utils import get_data_dir

    start = time.perf_counter()
    gen = {"image_size": image_size, "n_jobs": n_jobs}
    train = make_synthetic_cohort(n_patients, random_state=random_state, **gen)
    test = make_synthetic_cohort(n_test, random_state=random_state + 1, **gen)
    _say(verbose, f"cohorts ready in {time.perf_counter() - start:.1f} s (files in {get_data_dir()})")
    _say(verbose, cohort_summary(train, f"training cohort (random_state={random_state})"))
    _say(verbose, cohort_summary(test, f"test cohort (random_state={random_state + 1})"))
    return train, test


def _fit_models(names, train, test, settings, random_state, verbose, timeline):
    """Step 2: the oracle rows, then every model fitted and scored for each outcome.

    Returns the rows of ``table.csv`` and ``{(name, outcome): fit}`` of the fitted models;
    the seconds of each fit are added to ``timeline``.
    """
    from ._parallel import n_jobs_of, parallel_map
    from ._registry import MODELS
    from .compare import _score_risk

    rows, fits = [], {}
    for label, key in OUTCOMES:
        scores = _score_risk(test[f"y_{key}"], test[f"risk_{key}"].to_numpy(),
                             n_bootstraps=DEMO_N_BOOTSTRAPS, random_state=random_state)
        rows.append({"model": ORACLE, "outcome": label, **scores, "spearman_true_risk": 1.0})
    total = len(names) * len(OUTCOMES)
    step = 0
    side_by_side = n_jobs_of(settings["n_jobs"]) >= len(OUTCOMES)
    for name in names:
        jobs = [(name, label, key, train, test, settings, random_state) for label, key in OUTCOMES]
        if side_by_side and MODELS[name].images:
            # One process per outcome, each with its share of the cores: an image network's
            # epoch spends much of its time in BatchNorm, concatenation and Python between
            # convolutions, which a second torch thread speeds up little: side by side, the three
            # image networks took 187 s of the cold demo on 2 cores, one after the other with two
            # threads each 263 s (benchmarks/measured/demo_cold_cpu.csv and its README).
            _say(verbose, f"[{step + 1}-{step + len(jobs)}/{total}] {name} (OS and DM side by side, one "
                          f"process each): fitting on {len(train.X)} patients ...")
            start = time.perf_counter()
            done = list(parallel_map(_fit_one_with_share, jobs, n_jobs=len(jobs)))
            timeline[f"{name} (OS and DM side by side)"] = time.perf_counter() - start
        else:
            done = []
            for job in jobs:
                _say(verbose, f"[{step + len(done) + 1}/{total}] {name} ({job[1]}): fitting on "
                              f"{len(train.X)} patients ...")
                start = time.perf_counter()
                done.append(_fit_one(*job))
                timeline[f"{name} ({job[1]})"] = time.perf_counter() - start
        for (label, _), (row, fit) in zip(OUTCOMES, done):
            step += 1
            rows.append(row)
            if row.get("warnings"):
                _say(verbose, f"    {label} note: {row['warnings']}")
            if fit is None:
                _say(verbose, f"    {label} failed: {row['error']}")
                continue
            fits[name, label] = fit
            _say(verbose, f"    {label}: fit {row['fit_s']:.1f} s, test C {row['c_index']:.3f} "
                          f"(SD {row['c_index_sd']:.3f}), Spearman with true risk "
                          f"{row['spearman_true_risk']:.2f}")
    if "sarculator-coxph" in names:
        _say(verbose, "DM both ways on the Sarculator variables (death censored / competing) ...")
        start = time.perf_counter()
        rows.extend(_dm_both_ways(train, test, random_state))
        timeline["DM both ways"] = time.perf_counter() - start
    return rows, fits


def _tables(rows, folder, n_patients, n_test):
    """Step 3: ``table.csv`` (one row per model and outcome) and ``table.md`` (one per model)."""
    columns = ["model", "outcome", "c_index", "c_index_sd", "spearman_true_risk", "ibs",
               "fit_s", "predict_s", "n_parameters", "warnings", "error"]
    results = pd.DataFrame(rows).reindex(columns=columns)
    results.insert(2, "n_train", n_patients)
    results.insert(3, "n_test", n_test)
    table = wide_table(results)
    csv_path = folder / "table.csv"
    with atomic_path(csv_path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(f"# {SIMULATED_NOTE}\n")
        results.to_csv(handle, index=False)
    title = (f"Table 3 on simulated data: trained on {n_patients} synthetic patients, "
             f"tested on {n_test} fresh ones")
    md_path = folder / "table.md"
    with atomic_path(md_path) as tmp:
        tmp.write_text(to_markdown(table, title), encoding="utf-8")
    return results, table, title, [csv_path, md_path]


def _figures_of_the_best(results, fits, train, test, folder, verbose):
    """Step 4: the figures of the best model per outcome and the blending weights."""
    files = []
    for label, key in OUTCOMES:
        scored = results[(results["outcome"] == label) & (results["model"] != ORACLE)
                         & ~results["model"].isin(list(DM_BOTH_WAYS))]
        scored = scored.dropna(subset=["c_index"])
        if scored.empty:
            continue
        best = scored.loc[scored["c_index"].idxmax(), "model"]
        _say(verbose, f"{label}: figures of the best model, {best}")
        _figures(folder, label, key, best, fits[best, label], train, test, files, verbose)
        for (name, outcome), fit in fits.items():
            if outcome == label and name.startswith("mmnn"):
                _blending_figure(folder, name, key, fit.estimator, files, verbose)
    return files
