"""The model card of a fitted estimator: what it was trained on, how, and how well it did.

Built from what the fit kept (``training_summary_``, a network's ``history_`` and
``best_epoch_``, an inner cross-validation's ``cv_results_``) plus, optionally, a validation
the user measured; :func:`~sarcoma_survival.save_model` writes it into the model file's
manifest under ``"model_card"`` and :func:`~sarcoma_survival.read_model_card` reads it back.
:func:`format_model_card` renders it as the lines ``sarcoma-survival info`` prints.
"""
from __future__ import annotations

import numbers

import numpy as np

from .utils import walk_estimators

#: Version of the card's layout (bumped when a key changes meaning).
CARD_VERSION = 1

# classes whose parameters describe the preprocessing of the inputs
_PREPROCESSORS = ("VolumePreprocessor", "ClinicalEncoder", "RadiomicsExtractor", "RandomAugment3D")
# parameters that name a path of the fitting machine or change no result
_SITE_PARAMS = frozenset({"cache_dir", "cache", "cache_n4", "n_jobs", "max_voxels", "verbose"})
# keys of the user's validation record
_VALIDATION_KEYS = ("c_index", "ci_low", "ci_high", "method", "n_patients", "n_events")


def _plain(value):
    """A JSON-ready copy of a parameter value (classes and estimators by name)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return type(value).__name__ if not isinstance(value, type) else value.__name__


def _preprocessing(model):
    steps, seen = [], set()
    for part in walk_estimators(model, params=True):
        name = type(part).__name__
        if name not in _PREPROCESSORS or name in seen:
            continue
        seen.add(name)
        params = {k: _plain(v) for k, v in part.get_params(deep=False).items() if k not in _SITE_PARAMS}
        step = {"step": name, "params": params}
        columns = getattr(part, "feature_names_in_", None)
        if columns is not None:
            step["columns"] = [str(c) for c in columns]
        steps.append(step)
    return steps


def _row_value(row, key):
    value = row.get(key)
    return float(value) if isinstance(value, numbers.Real) and np.isfinite(value) else None


def _training_run(model):
    """Epochs, the kept epoch and its losses: the information that shows overfitting."""
    history = getattr(model, "history_", None)
    if history is None or not len(history):
        return None
    rows = list(history)
    kept = getattr(model, "best_epoch_", None)
    kept_row = next((r for r in rows if r.get("epoch") == kept), rows[-1])
    last = rows[-1]
    has_valid = any("valid_loss" in r for r in rows)
    return {
        "epochs_run": int(last.get("epoch", len(rows))),
        "max_epochs": int(getattr(model, "max_epochs", len(rows))),
        "kept_epoch": int(kept_row.get("epoch", len(rows))),
        "kept_by": ("the one of lowest validation loss" if has_valid else "the last; no validation set"),
        "kept_train_loss": _row_value(kept_row, "train_loss"),
        "kept_valid_loss": _row_value(kept_row, "valid_loss"),
        "last_train_loss": _row_value(last, "train_loss"),
        "last_valid_loss": _row_value(last, "valid_loss"),
        "stopped_early": int(last.get("epoch", 0)) < int(getattr(model, "max_epochs", 0) or 0),
    }


def _measured_validation(model):
    """The C-index the fit itself measured (an inner cross-validation), or None."""
    results = getattr(model, "cv_results_", None)
    if not isinstance(results, dict) or "mean_test_score" not in results:
        return None
    means = np.asarray(results["mean_test_score"], dtype=float)
    if not np.isfinite(means).any():
        return None
    best = int(np.nanargmax(means))
    n_folds = sum(1 for key in results if key.startswith("split") and key.endswith("_test_score"))
    return {"c_index": float(means[best]), "sd": float(np.asarray(results["std_test_score"])[best]),
            "method": f"{n_folds}-fold cross-validation inside fit (the alpha chosen by it; optimistic)"}


def check_validation(validation):
    """A user's validation record as the card stores it (an error naming a bad key or value)."""
    if validation is None:
        return None
    if not isinstance(validation, dict):
        raise TypeError(f"validation must be a dict with keys {', '.join(_VALIDATION_KEYS)}; got "
                        f"{type(validation).__name__}")
    unknown = sorted(set(validation) - set(_VALIDATION_KEYS))
    if unknown:
        raise ValueError(f"validation: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(_VALIDATION_KEYS)}")
    if "c_index" not in validation or "method" not in validation:
        raise ValueError("validation: 'c_index' and 'method' (how it was measured) are required")
    record = {}
    for key, value in validation.items():
        if key == "method":
            record[key] = str(value)
            continue
        if not isinstance(value, numbers.Real) or not np.isfinite(value):
            raise ValueError(f"validation: {key} must be a finite number, got {value!r}")
        record[key] = int(value) if key.startswith("n_") else float(value)
    return record


def model_card(model, *, validation=None):
    """The model card of a fitted estimator (JSON-ready).

    Parameters
    ----------
    model : fitted estimator
    validation : dict, optional
        A validation measured outside the fit (keys ``c_index`` and ``method`` required,
        ``ci_low``, ``ci_high``, ``n_patients``, ``n_events`` optional), for example the mean
        C-index of :func:`sklearn.model_selection.cross_validate` or a held-out test score.

    Returns
    -------
    dict
        ``card_version``, ``estimator``, ``training`` (the model's ``training_summary_``: cohort,
        clinical ranges, image statistics; None for a model fitted before it existed),
        ``preprocessing`` (the steps and their parameters), ``training_run`` (networks: epochs,
        kept epoch and its train/validation loss), ``validation`` (the user's record, else the
        fit's own inner cross-validation, else None).
    """
    return {
        "card_version": CARD_VERSION,
        "estimator": type(model).__name__,
        "training": getattr(model, "training_summary_", None),
        "preprocessing": _preprocessing(model),
        "training_run": _training_run(model),
        "validation": check_validation(validation) or _measured_validation(model),
    }


def _days(value):
    return "not recorded" if value is None else f"{value:.0f} days ({value / 365.25:.1f} years)"


def _range(stats, unit=""):
    unit = f" {unit}" if unit else ""
    return f"{stats['min']:.4g}–{stats['max']:.4g}{unit} (median {stats['median']:.4g}, n={stats['n']})"


def validation_text(validation):
    """A card's validation record as one phrase: ``"C-index 0.620 [0.550, 0.690] (method)"``,
    or that none is recorded."""
    if not validation:
        return "validation: none recorded in the model file"
    try:  # read from a model file, which may have been edited: the writer's own check
        validation = check_validation(validation)
    except (TypeError, ValueError) as exc:
        return f"validation: the model file's record is unreadable ({exc})"
    interval = (f" [{validation['ci_low']:.3f}, {validation['ci_high']:.3f}]"
                if "ci_low" in validation and "ci_high" in validation else "")
    return f"C-index {validation['c_index']:.3f}{interval} ({validation['method']})"


def format_model_card(card, *, brief=False):
    """The card as readable lines (``sarcoma-survival info``; ``brief``: two lines for predict).

    Parameters
    ----------
    card : dict or None
        From :func:`model_card` or :func:`~sarcoma_survival.read_model_card` (None: a model
        file written before cards existed).
    brief : bool, default=False

    Returns
    -------
    list of str
    """
    if not card:
        return ["model card: none (the file was written before model cards existed; save it again "
                "after a refit to add one)"]
    training = card.get("training") or {}
    cohort = training.get("cohort", {})
    validation = card.get("validation")
    run = card.get("training_run")
    if cohort:
        who = (f"{card['estimator']} trained on {cohort.get('n_patients', '?')} patients, "
               f"{cohort.get('n_events', '?')} events, median follow-up "
               f"{_days(cohort.get('follow_up_median_days'))}; time zero: {cohort.get('time_origin', 'not stated')}")
    else:  # a model fitted before training summaries existed
        who = f"{card['estimator']}: training cohort not recorded"
    how = validation_text(validation)
    if brief:
        return [f"model card: {who}", f"model card: {how}"]
    lines = ["Model card", f"  {who}",
             f"  follow-up up to {_days(cohort.get('follow_up_max_days'))}", f"  {how}"]
    if run:
        train = "not recorded" if run["kept_train_loss"] is None else f"{run['kept_train_loss']:.4g}"
        valid = "" if run["kept_valid_loss"] is None else f", validation loss {run['kept_valid_loss']:.4g}"
        lines.append(f"  training: kept epoch {run['kept_epoch']} of {run['epochs_run']} run "
                     f"(max {run['max_epochs']}; {run['kept_by']}): train loss {train}{valid}")
    for step in card.get("preprocessing", []):
        params = ", ".join(f"{k}={v}" for k, v in sorted(step["params"].items()) if v is not None)
        lines.append(f"  preprocessing: {step['step']}({params})")
    clinical = training.get("clinical", {})
    if clinical:
        lines.append("  training inputs (clinical):")
        for column, stats in clinical.items():
            if "categories" in stats:
                shown = ", ".join(f"{k} {v}" for k, v in stats["categories"].items())
                lines.append(f"    {column}: {shown}")
            else:
                lines.append(f"    {column}: {_range(stats)}")
    for channel, quantities in training.get("images", {}).items():
        lines.append(f"  training inputs ({channel} images):")
        for key, stats in quantities.items():
            lines.append(f"    {key}: {_range(stats)}")
    return lines
