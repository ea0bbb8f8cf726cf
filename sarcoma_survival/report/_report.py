"""``validation_report``: a fitted model and a cohort in, one self-contained HTML file out."""
from __future__ import annotations

import datetime
import importlib
import sys
import time as _time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

from .._model_card import validation_text
from ..competing_risks import incidence_calibration_table, is_competing_model
from ..utils import check_follow_up_times, curve_values, is_competing_y
from ..utils.validation import check_cohort_frame
from . import _figures as figures
from ._checks import check_columns, check_horizons, check_model
from ._html import esc, fmt, image, page, paragraph, table
from ._model_info import describe_model
from ._numbers import calibration, cohort_summary, discrimination, guarded, outcome_arrays
from ._tripod import tripod_checklist

#: Default horizons: 1, 3 and 5 years, in days.
DEFAULT_HORIZONS = (365.0, 1095.0, 1825.0)


class _Progress:
    """One line on stderr per long step (``report: <step> ... done in 1.2 s``)."""

    def __init__(self, verbose):
        self.verbose = verbose

    def __call__(self, step):
        if self.verbose:
            print(f"report: {step}", file=sys.stderr, flush=True)
        return self

    def __enter__(self):
        self.start = _time.perf_counter()
        return self

    def __exit__(self, *exc):
        if self.verbose and exc[0] is None:
            print(f"report:   done in {_time.perf_counter() - self.start:.1f} s", file=sys.stderr, flush=True)


def _risk_groups(model, risk):
    """Tertile group of each patient and how the cut-offs were chosen (training risks if known)."""
    training = getattr(model, "training_risks_", None)
    source = "tertiles of the model's training risks"
    cutoffs = None if training is None else np.quantile(np.asarray(training, dtype=float), [1 / 3, 2 / 3])
    if cutoffs is None or not np.all(np.diff(cutoffs) > 0):
        cutoffs, source = np.quantile(risk, [1 / 3, 2 / 3]), "tertiles of this cohort's predicted risks"
    if not np.all(np.diff(cutoffs) > 0):
        cutoffs, source = np.quantile(risk, [0.5]), "the median of this cohort's predicted risks"
    groups = np.searchsorted(cutoffs, risk, side="right")
    labels = ["low risk", "high risk"] if cutoffs.size == 1 else ["low risk", "intermediate risk", "high risk"]
    return groups, cutoffs, labels, source


def _predictions(model, X, horizons, competing, time_unit):
    """Risk scores, survival functions and the (n, n_horizons) survival / incidence at the horizons."""
    risk = np.asarray(model.predict(X), dtype=float)
    functions = survival = incidence = None
    if callable(getattr(model, "predict_survival_function", None)):
        functions = model.predict_survival_function(X)
        check_follow_up_times(functions[0], horizons, what="the model")
        survival = np.array([curve_values(fn, horizons, clip=True) for fn in functions]).reshape(len(X), -1)
    if competing:
        if is_competing_model(model):
            incidence = np.asarray(model.predict_cumulative_incidence(X, horizons), dtype=float).reshape(len(X), -1)
        else:
            incidence = 1.0 - survival
    return risk, functions, survival, incidence


def _gradcam_section(model, X, risk, n, progress):
    from ..explain import gradcam

    if getattr(model, "gradcam_layer_prefix", None) is None:
        raise ValueError(f"gradcam needs an image model (DenseNetSurvival or MMNNSurvival); "
                         f"{type(model).__name__} reads no image")
    order = np.argsort(risk, kind="stable")
    picks = order[np.unique(np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int))]
    with progress(f"Grad-CAM of {len(picks)} patient(s)"):
        maps = gradcam(model, X.iloc[picks])
        body = [paragraph(f"Grad-CAM of layer {maps.layer} for {len(picks)} patient(s) spread over the range "
                          "of predicted risk (lowest first). Red: where the image network's evidence for a "
                          "higher risk lies; it shows what the network used, not where the tumour is.")]
        uris = [figures.gradcam_figure(np.asarray(maps.volumes[i]), maps.maps[i],
                                       f"{X.index[p]} (risk {risk[p]:.2f})") for i, p in enumerate(picks)]
    return "".join(body) + '<div class="figs">' + "".join(image(u, "Grad-CAM") for u in uris) + "</div>"


def validation_report(model, X, y, *, horizons=DEFAULT_HORIZONS, output=None, model_file=None, cause=1,
                      cohort_name=None, n_bootstraps=1000, n_calibration_bootstraps=100, gradcam=0,
                      random_state=0, verbose=False):
    """External validation report of a fitted model on a cohort, as one self-contained HTML file.

    The page holds the model (class, parameters, version from the model file's manifest,
    training cohort size), the cohort (patients, events, follow-up, missing values per
    column), discrimination with bootstrap intervals, the coefficient table of a Cox-type
    model, calibration (observed/expected, slope, ICI, E50, E90, calibration plot) and
    decision curves at each horizon, Kaplan-Meier curves by predicted-risk group, the
    competing-risks incidence for a competing outcome, Grad-CAM of a few patients of an
    image model on request, and a TRIPOD+AI checklist of what the report gives and what the
    author must add. Figures are embedded as PNG data; the page loads nothing (no script,
    style sheet or font from a network), so it can be archived and sent as it is.

    Parameters
    ----------
    model : fitted estimator of sarcoma_survival
        A survival model (``predict_survival_function``) or, for a competing outcome, a
        model of the cumulative incidence (``predict_cumulative_incidence``).
    X : DataFrame
        Cohort table of the validation patients (the model's columns).
    y : structured ndarray
        Their outcome: survival (:func:`sksurv.util.Surv.from_arrays`) or competing risks
        (:func:`sarcoma_survival.competing_risks.competing_y`, e.g. ``y_dm_competing``).
    horizons : sequence of float, default=(365, 1095, 1825)
        Days at which calibration and decision curves are computed; each must lie within the
        cohort's follow-up and the model's training follow-up.
    output : str or path-like, optional
        HTML file to write (atomically); nothing is written when None.
    model_file : str or path-like, optional
        The model file ``model`` was read from: its manifest gives the version and parameters.
    cause : int, default=1
        Cause of interest of a competing outcome.
    cohort_name : str, optional
        How the page names the cohort (e.g. the manifest's file name).
    n_bootstraps : int, default=1000
        Resamples of the C-index intervals.
    n_calibration_bootstraps : int, default=100
        Resamples of the band of each smoothed calibration curve (0: no band).
    gradcam : int, default=0
        Patients whose Grad-CAM is shown (image models only).
    random_state : int, default=0
        Seed of every bootstrap.
    verbose : bool, default=False
        Print a progress line per long step on stderr.

    Returns
    -------
    Bunch
        ``html`` (the page), ``output`` (Path or None), ``model`` (dict), ``cohort`` (dict),
        ``missing``, ``discrimination``, ``calibration`` (DataFrames), ``d_calibration``
        (``(statistic, p_value, note)`` or None), ``checklist`` (DataFrame) and ``horizons``.

    Raises
    ------
    ValueError
        On a horizon beyond the cohort's or the model's follow-up, a cohort that lacks the
        model's columns, a competing-risks model on a survival outcome, or ``gradcam`` for a
        model without images; the message is one line naming the horizon, column or model.

    Examples
    --------
    >>> from sarcoma_survival import SarculatorCoxPH
    >>> from sarcoma_survival.datasets import make_synthetic_cohort
    >>> from sarcoma_survival.report import validation_report
    >>> train = make_synthetic_cohort(200, image_size=12, random_state=0)
    >>> test = make_synthetic_cohort(200, image_size=12, random_state=1)
    >>> model = SarculatorCoxPH().fit(train.X, train.y_os)
    >>> report = validation_report(model, test.X, test.y_os, horizons=[365, 1095], n_bootstraps=50,
    ...                            n_calibration_bootstraps=0)
    >>> report.html.startswith("<!DOCTYPE html>"), list(report.calibration["horizon"])
    (True, [365.0, 1095.0])
    """
    progress = _Progress(verbose)
    competing = is_competing_y(y)
    check_model(model, competing)
    check_cohort_frame(X, "validation_report")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} patients but y has {len(y)} outcomes")
    check_columns(model, X, f"cohort {cohort_name}" if cohort_name else "the cohort")
    if not isinstance(gradcam, (int, np.integer)) or isinstance(gradcam, bool) or gradcam < 0:
        raise ValueError(f"gradcam must be a whole number >= 0, got {gradcam!r}")
    if gradcam and getattr(model, "gradcam_layer_prefix", None) is None:
        raise ValueError(f"gradcam needs an image model (DenseNetSurvival or MMNNSurvival); "
                         f"{type(model).__name__} reads no image")
    event, time = outcome_arrays(y, competing)
    horizons = check_horizons(list(np.atleast_1d(horizons)), time)
    info = describe_model(model, model_file)  # before the long steps: a bad file fails first

    with progress(f"predicting {len(X)} patients"):
        risk, functions, survival, incidence = _predictions(model, X, horizons, competing, "days")
    summary, missing = cohort_summary(X, y, competing)
    with progress(f"discrimination ({n_bootstraps} bootstrap resamples)"):
        disc = discrimination(y, risk, horizons, survival, incidence, competing=competing, cause=cause,
                              n_bootstraps=n_bootstraps, random_state=random_state)
    with progress(f"calibration at {', '.join(f'{h:g}' for h in horizons)} days"):
        calib, dcal = calibration(y, survival, incidence, horizons, competing=competing, cause=cause,
                                  functions=functions)
    label = type(model).__name__
    sections = [("model", "Model", _model_html(info)),
                ("cohort", "Cohort", _cohort_html(summary, missing, competing, cohort_name)),
                ("discrimination", "Discrimination", _discrimination_html(disc, n_bootstraps))]
    coef = getattr(model, "coef_table_", None)
    if isinstance(coef, pd.DataFrame):
        sections.append(("coefficients", "Coefficients", _coef_html(coef)))
    with progress("calibration plots and decision curves"):
        sections.append(("calibration", "Calibration and decision curves",
                         _calibration_html(y, calib, dcal, survival, incidence, horizons, competing, cause, label,
                                           n_calibration_bootstraps, random_state)))
    groups, cutoffs, group_labels, source = _risk_groups(model, risk)
    with progress("risk groups"):
        if competing:
            uri = figures.incidence_figure(y, groups, group_labels, cause)
            text = (f"Patients grouped by predicted risk at {fmt(list(np.round(cutoffs, 3)))} ({source}). Left: "
                    f"Aalen-Johansen incidence of cause {cause} by group; right: every cause in the whole cohort.")
            sections.append(("groups", "Incidence by predicted-risk group", paragraph(text) + image(uri, "incidence")))
        else:
            uri = figures.km_figure(y, risk, cutoffs, group_labels)
            text = f"Patients grouped by predicted risk at {fmt(list(np.round(cutoffs, 3)))} ({source})."
            sections.append(("groups", "Kaplan-Meier by predicted-risk group", paragraph(text) + image(uri, "KM")))
    if gradcam:
        sections.append(("gradcam", "Grad-CAM", _gradcam_section(model, X, risk, gradcam, progress)))
    checklist = _checklist(info, summary, horizons, competing)
    sections.append(("tripod", "TRIPOD+AI checklist", _checklist_html(checklist)))
    sections.append(("methods", "Methods of this report", _methods_html(competing, n_bootstraps)))
    __version__ = importlib.import_module("sarcoma_survival").__version__
    subtitle = (f"Model {label} on {summary['n_patients']} patients"
                f"{' of ' + cohort_name if cohort_name else ''}; written "
                f"{datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC by sarcoma_survival {__version__}.")
    text = page("External validation report", subtitle, sections)
    path = None
    if output is not None:
        from ..utils import atomic_path

        path = Path(output)
        with atomic_path(path) as tmp:
            Path(tmp).write_text(text, encoding="utf-8")
    return Bunch(html=text, output=path, model=info, cohort=summary, missing=missing, discrimination=disc,
                 calibration=calib, d_calibration=dcal, checklist=checklist, horizons=horizons)


def _model_html(info):
    rows = [("class", info["class"]), ("kind", info["kind"]),
            ("model file", info["file"] or "not given (model passed in memory)"),
            ("written by sarcoma_survival", info["package_version"] or "not recorded"),
            ("training patients", info["n_training"] if info["n_training"] is not None else "not recorded"),
            ("training events", info["training_events"] if info["training_events"] is not None
             else "not recorded in the model file: add it from the development study"),
            ("training time zero", info["time_origin"] or "not recorded"),
            ("training median follow-up (reverse Kaplan-Meier)",
             "not recorded" if info["follow_up_median_days"] is None
             else f"{fmt(info['follow_up_median_days'], 0)} days"),
            ("validation in the model file", validation_text(info["validation"])),
            ("cohort columns read", ", ".join(info["features"]) if info["features"] else "not recorded")]
    rows += [(f"manifest: {k}", v) for k, v in info["extra"].items()]
    params = sorted(info["params"].items())
    return (table(None, rows) + "<h3>Parameters</h3>" + table(["parameter", "value"], params))


def _cohort_html(summary, missing, competing, cohort_name):
    events = summary["events"]
    rows = [("cohort", cohort_name or "given in memory"), ("patients", summary["n_patients"])]
    if competing:
        rows += [(f"events of cause {k}", v) for k, v in events.items()]
    else:
        rows.append(("events", events.get(1, 0)))
    rows += [("median follow-up (reverse Kaplan-Meier)", f"{fmt(summary['median_follow_up'], 0)} days"),
             ("longest follow-up", f"{fmt(summary['max_follow_up'], 0)} days")]
    holes = missing[missing["missing"] > 0]
    complete = [str(c) for c in missing.index if c not in holes.index]
    miss = [(c, int(r.missing), f"{r.percent:.1f} %") for c, r in holes.iterrows()]
    body = table(None, rows) + "<h3>Missing values per column</h3>"
    if miss:
        body += table(["column", "missing", "share"], miss)
    body += paragraph(("No value is missing in: " + ", ".join(complete) + ".") if complete
                      else "Every column has missing values.")
    return body


def _discrimination_html(disc, n_bootstraps):
    rows = [tuple(r) for r in disc[["measure", "estimate", "ci_low", "ci_high", "note"]].itertuples(index=False)]
    return (table(["measure", "estimate", "95% CI low", "95% CI high", "note"], rows)
            + paragraph(f"Intervals: percentile bootstrap of the patients ({n_bootstraps} resamples, predictions "
                        "fixed, the model not refitted).", "note"))


def _coef_html(coef):
    frame = coef.reset_index()
    return (table(list(frame.columns), [tuple(r) for r in frame.itertuples(index=False)])
            + paragraph("Wald tests and 95% confidence intervals of the hazard ratios, from the model's fit "
                        "on its training cohort (not from this cohort).", "note"))


def _calibration_html(y, calib, dcal, survival, incidence, horizons, competing, cause, label, n_boot, seed):
    rows = [(f"{r.horizon:g}", r.observed_expected, r.slope, r.ici, r.e50, r.e90, r.note) for r in calib.itertuples()]
    parts = [table(["horizon (days)", "O/E", "slope", "ICI", "E50", "E90", "note"], rows),
             paragraph("O/E: observed over expected risk (1 is perfect; above 1 the model under-predicts). "
                       "Slope: 1 is perfect; below 1 predictions are too extreme. ICI, E50, E90: mean, median and "
                       "90th percentile of |predicted - smoothed observed risk|.", "note")]
    if dcal is not None:
        parts.append(paragraph(f"D-calibration over the whole survival curve: chi-squared {fmt(dcal[0])}, "
                               f"p = {dcal[1]:.2g}{'; ' + dcal[2] if dcal[2] else ''}."))
    for j, h in enumerate(horizons):
        uris = []
        if competing:
            tab, note = guarded(incidence_calibration_table, y, incidence[:, j], h, cause=cause, n_groups=5)
            if isinstance(tab, pd.DataFrame):
                uris.append(figures.grouped_calibration_figure(tab, h, label))
            risk_h = incidence[:, j]
        else:
            uri, note = guarded(figures.calibration_figure, y, survival[:, j], h, n_bootstrap=n_boot,
                                random_state=seed, label=label)
            if isinstance(uri, str):
                uris.append(uri)
            risk_h = 1.0 - survival[:, j]
        dc, note2 = guarded(figures.decision_figure, y, risk_h, h, cause=cause if competing else None, label=label)
        if isinstance(dc, str):
            uris.append(dc)
        notes = "; ".join(n for n in (note, note2) if n)
        parts.append(f"<h3>{h:g} days</h3>" + (paragraph(notes, "warn") if notes else "")
                     + '<div class="figs">' + "".join(image(u, f"figure at {h:g} days") for u in uris) + "</div>")
    return "".join(parts)


def _checklist(info, summary, horizons, competing):
    version = f", written by version {info['package_version']}" if info["package_version"] else ""
    filled = {
        "8a": f"Outcome as given ({'competing risks' if competing else 'time to event'}); horizons "
              f"{', '.join(f'{h:g}' for h in horizons)} days.",
        "12e": "Discrimination (C-index, time-dependent AUC, Brier score), calibration (O/E, slope, ICI/E50/E90, "
               "D-calibration), decision curves.",
        "15": "Predicted survival (incidence) at each horizon and risk groups (tertiles): Calibration, Risk groups.",
        "20a": f"{summary['n_patients']} patients, events {summary['events']}, follow-up: Cohort section.",
        "20b": "Missing values per column: Cohort section (other characteristics: to add).",
        "22": f"{info['class']} with its parameters{version}: Model section (share the model file itself).",
        "23a": "Discrimination with bootstrap intervals; calibration and decision curves at each horizon.",
    }
    if info["n_training"] is not None:
        events = ("events not recorded in the model file: add" if info["training_events"] is None
                  else f"{info['training_events']} events")
        filled["21"] = (f"Development: {info['n_training']} patients ({events}); "
                        f"validation: {summary['n_patients']} patients.")
    rows = tripod_checklist(filled)
    return pd.DataFrame(rows, columns=["item", "topic", "asks", "status", "in this report"])


def _checklist_html(checklist):
    rows = [tuple(r) for r in checklist.itertuples(index=False)]
    classes = ["done" if r[3] != "to add" else "todo" for r in rows]
    n_todo = classes.count("todo")
    return (paragraph(f"Condensed from TRIPOD+AI (Collins et al., BMJ 2024;385:e078378); check the official "
                      f"checklist when you report. {len(rows) - n_todo} item(s) are given by this report; "
                      f"{n_todo} are yours to add.")
            + table(["item", "topic", "what it asks", "status", "in this report"], rows, classes=classes))


def _methods_html(competing, n_bootstraps):
    lines = [
        "Predictions of the model as given; nothing is refitted on this cohort.",
        "Observed risk: Kaplan-Meier" + (" / Aalen-Johansen for the competing outcome" if competing else "")
        + "; smoothed calibration curve: Cox regression on a restricted cubic spline (3 knots) of the "
        "complementary log-log of the predicted risk (Austin, Harrell & van Klaveren 2020).",
        "Decision curves: net benefit of treating the patients whose predicted risk reaches each threshold, "
        "the treated patients' risk by " + ("Aalen-Johansen" if competing else "Kaplan-Meier")
        + " (Vickers et al. 2008).",
        f"C-index intervals: {n_bootstraps} bootstrap resamples of the patients.",
    ]
    return "<ul>" + "".join(f"<li>{esc(line)}</li>" for line in lines) + "</ul>"
