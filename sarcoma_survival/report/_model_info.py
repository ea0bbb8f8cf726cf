"""What the report says about the model: its class, parameters, version, training cohort."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .._model_io import read_manifest

#: Manifest keys shown under their own heading (the rest of a manifest is listed as is).
_KNOWN_KEYS = ("format", "format_version", "package_version", "class", "params", "torch_modules", "model_card")


def _mapping(value):
    return value if isinstance(value, dict) else {}


def describe_model(model, model_file=None):
    """``dict`` of what is known about the model, for the report's Model section.

    Keys: ``class``, ``kind`` (survival or competing-risks), ``params`` (dict),
    ``package_version`` (the one recorded in the model file, else ``None``),
    ``file`` (name), ``n_training`` and ``training_events`` (patients and events the model
    was fitted on, from its model card, else patients from its ``training_risks_`` and
    events ``None``), ``time_origin`` and ``follow_up_median_days`` of the training cohort
    (``None`` when not recorded), ``validation`` (the card's validation record or
    ``None``), ``card`` (the model card, see :func:`sarcoma_survival.read_model_card`),
    ``features`` (cohort columns it reads) and ``extra`` (other manifest entries, shown as
    they are).
    """
    from .._model_card import model_card

    manifest = read_manifest(model_file) if model_file is not None else None
    params = manifest.get("params") if manifest else None
    if params is None:
        params = {key: repr(value) for key, value in model.get_params(deep=False).items()}
    # a model file is not trusted to hold a well-formed card: what is not a dict is not a card
    card = _mapping((manifest or {}).get("model_card")) or model_card(model)
    cohort = _mapping(_mapping(card.get("training")).get("cohort"))
    training = getattr(model, "training_risks_", None)
    n_training = cohort.get("n_patients", None if training is None else int(np.asarray(training).size))
    features = getattr(model, "feature_names_in_", None)
    return {
        "class": type(model).__name__,
        "kind": "competing risks" if callable(getattr(model, "predict_cumulative_incidence", None))
                and not callable(getattr(model, "predict_survival_function", None)) else "survival",
        "params": params,
        "package_version": (manifest or {}).get("package_version"),
        "file": None if model_file is None else Path(model_file).name,
        "n_training": n_training,
        "training_events": cohort.get("n_events"),
        "time_origin": cohort.get("time_origin"),
        "follow_up_median_days": cohort.get("follow_up_median_days"),
        "validation": _mapping(card.get("validation")) or None,
        "card": card,
        "features": None if features is None else [str(f) for f in features],
        "extra": {k: v for k, v in (manifest or {}).items() if k not in _KNOWN_KEYS},
    }
