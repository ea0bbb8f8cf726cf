"""What the page says about each loaded model: its training cohort and validation, from its card."""
from __future__ import annotations

from .._model_card import check_validation

_TITLES = {"os": "Overall survival", "dm": "DM-free survival", "clinical_only": "Clinical-only (OS)"}


def _years(days):
    return "not recorded" if days is None else f"{days / 365.25:.1f} years"


def provenance(cards):
    """Per role, the lines the page shows under "About the models".

    Parameters
    ----------
    cards : dict
        Role -> model card (:func:`~sarcoma_survival._model_card.model_card`).

    Returns
    -------
    list of dict
        ``role``, ``title``, ``estimator``, ``cohort`` (one sentence), ``validation`` (one
        sentence: the C-index with its interval and method, or that none was recorded) and
        ``training`` (a network's kept epoch and losses, or None).
    """
    rows = []
    for role, card in cards.items():
        card = card or {}
        cohort = (card.get("training") or {}).get("cohort", {})
        if cohort:
            origin = cohort.get("time_origin", "not stated")
            about = (f"trained on {cohort.get('n_patients', '?')} patients with {cohort.get('n_events', '?')} "
                     f"events; median follow-up {_years(cohort.get('follow_up_median_days'))} (longest "
                     f"{_years(cohort.get('follow_up_max_days'))}); time zero: {origin}")
        else:
            about = "training cohort not recorded (a model file written before model cards)"
        unreadable = None
        try:  # a record edited in the model file is not trusted: the writer's own check
            validation = check_validation(card.get("validation"))
        except (TypeError, ValueError) as exc:
            validation, unreadable = None, f"the model file's validation record is unreadable ({exc})"
        if unreadable:
            checked = unreadable
        elif validation:
            interval = (f" (95 % interval {validation['ci_low']:.2f}–{validation['ci_high']:.2f})"
                        if "ci_low" in validation and "ci_high" in validation else "")
            checked = f"C-index {validation['c_index']:.2f}{interval}, {validation['method']}"
        else:
            checked = "no validation recorded in the model file: how good it is on new patients is unknown"
        run = card.get("training_run")
        training = None
        if run:
            training = f"kept epoch {run['kept_epoch']} of {run['epochs_run']} ({run['kept_by']})"
        rows.append({"role": role, "title": _TITLES.get(role, role), "estimator": card.get("estimator", "?"),
                     "cohort": about, "validation": checked, "training": training})
    return rows
