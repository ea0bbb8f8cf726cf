"""One patient through the loaded models: validation, prediction, percentile, Grad-CAM.

The fitted models are private deep copies, loaded once. Every cache inside them (image
preprocessing, radiomics) is pointed at the request's private folder while the request
holds the lock (:func:`~sarcoma_survival.config_context`, which wins over the folder a
model was fitted with), so a patient's volumes never outlive the request, Grad-CAM reuses
the volumes preprocessed for the prediction, and two requests never see each other's data.
"""
from __future__ import annotations

import copy
import threading
from pathlib import Path

import numpy as np

from .._config import config_context
from .._model_card import model_card
from .._schema import (
    BOOLEAN_COLUMNS,
    CATEGORIES,
    CLINICAL_COLUMNS,
    COLUMN_LABELS,
    IMAGE_COLUMNS,
    NUMERIC_COLUMNS,
    category_label,
    parse_number,
)
from ..competing_risks import needs_competing_y
from ..datasets import CohortError, parse_clinical_fields
from ..nn import SurvivalNeuralNet
from ..preprocessing import (
    ClinicalEncoder,
    ImageReadError,
    check_image,
    describe_finding,
    out_of_training_range,
)
from ..utils import check_follow_up_times, curve_values, walk_estimators
from ._uploads import IMAGE_SUFFIXES, InputError, unpack_zip

#: Default bound on the voxels of one uploaded image (``--max-voxels``): 2**26, e.g. 512 x 512 x 256,
#: 256 MiB as float32. Checked from the header of every upload before the request waits for the models.
DEFAULT_MAX_VOXELS = 1 << 26

#: Default evaluation times of ``POST /api/predict`` (1, 2 and 5 years, in days), kept where they
#: lie within every loaded model's training follow-up (see :func:`default_times`).
DEFAULT_TIMES = (365.0, 730.0, 1825.0)

# horizons offered when 5 years lies beyond a model's follow-up: 1, 2, 3 years, then 6 months
_FALLBACK_TIMES = (365.0, 730.0, 1095.0, 182.0)

_UNITS = {"age": "years", "tumor_size_cm": "cm", "tumor_volume_cm3": "cm³"}
_ROLES = ("os", "dm", "clinical_only")


def _clinical_fields(models):
    """Schema entries of the clinical columns read by the fitted encoders, in schema order."""
    used, seen_categories = set(), {}
    for model in models:
        for part in walk_estimators(model):
            if not isinstance(part, ClinicalEncoder) or not hasattr(part, "transformer_"):
                continue
            used.update(part.feature_names_in_)
            for column, categories in part.categories_.items():
                known = seen_categories.setdefault(column, [])
                known.extend(str(c) for c in categories if str(c) not in known)
    fields = []
    for column in CLINICAL_COLUMNS:
        if column not in used:
            continue
        if column in NUMERIC_COLUMNS:
            kind, allowed = "number", None
        elif column in BOOLEAN_COLUMNS:
            kind, allowed = "boolean", ["yes", "no"]
        elif column in CATEGORIES:
            kind, allowed = "category", seen_categories.get(column, list(CATEGORIES[column]))
        else:  # free text: the training categories are suggestions, others are accepted
            kind, allowed = "text", seen_categories.get(column, [])
        fields.append({"name": column, "type": kind, "unit": _UNITS.get(column), "allowed": allowed,
                       "label": COLUMN_LABELS.get(column, column),
                       "labels": [category_label(column, a) for a in allowed] if allowed else []})
    return fields


def follow_up_end(model):
    """The last time of a model's predicted survival functions (its training follow-up)."""
    times = getattr(model, "unique_times_", None)
    if times is None:
        times = getattr(getattr(model, "baseline_model_", None), "unique_times_", None)
    if times is None or not len(times):
        cohort = (getattr(model, "training_summary_", None) or {}).get("cohort", {})
        return cohort.get("follow_up_max_days")
    return float(np.max(times))


def default_times(models):
    """1, 2 and 5 years where they lie within every model's follow-up; otherwise the horizons of
    ``1, 2, 3 years, 6 months`` that do, or half and 90 % of the shortest follow-up."""
    ends = [end for end in (follow_up_end(m) for m in models) if end is not None]
    if not ends:
        return list(DEFAULT_TIMES)
    end = min(ends)
    if DEFAULT_TIMES[-1] <= end:
        return list(DEFAULT_TIMES)
    kept = sorted(t for t in _FALLBACK_TIMES if t <= end)
    return kept[-3:] if len(kept) >= 2 else [float(np.floor(end / 2)), float(np.floor(0.9 * end))]


def _image_columns(models):
    """Image fields the models read: their preprocessors' channels, then the mask."""
    channels = set()
    for model in models:
        for part in walk_estimators(model):
            channels.update(getattr(part, "channels_", ()) or ())
    return [c for c in IMAGE_COLUMNS if c in channels] + (["mask"] if channels else [])


def _is_gradcam_model(model):
    from ..nn import DenseNetSurvival, MMNNSurvival

    return isinstance(model, (DenseNetSurvival, MMNNSurvival))


def percentile(sorted_risks, risk):
    """Mid-rank percentile of ``risk`` among the training risks (ties count half)."""
    sorted_risks = np.asarray(sorted_risks, dtype=float)
    below = np.searchsorted(sorted_risks, risk, side="left")
    not_above = np.searchsorted(sorted_risks, risk, side="right")
    return float(100.0 * (below + not_above) / (2 * len(sorted_risks)))


def parse_times(text):
    """``"365,730"`` -> [365.0, 730.0]; a clear error naming the field ``times``."""
    if text is None or not str(text).strip():
        return list(DEFAULT_TIMES)
    times = []
    for part in str(text).split(","):
        try:
            value = parse_number(part)
        except ValueError:
            raise InputError(f"times: {part.strip()!r} is not a number of days", field="times") from None
        if not np.isfinite(value) or value <= 0:
            raise InputError(f"times: {part.strip()!r} must be a positive number of days", field="times")
        times.append(value)
    if len(times) > 50:
        raise InputError("times: at most 50 time points", field="times")
    return times


class PredictionService:
    """The loaded models and what one request does with them (thread-safe).

    Parameters
    ----------
    os_model : fitted survival estimator
        Overall-survival model.
    dm_model, clinical_model : fitted survival estimator, optional
        Distant-metastasis model; clinical-only OS model shown side by side.
    max_voxels : int, default=DEFAULT_MAX_VOXELS
        Largest number of voxels of one uploaded image.
    cards : dict, optional
        Role -> model card (:func:`~sarcoma_survival.read_model_card` of the model file, which
        holds the validation stored with it); a role without one gets the card of the fitted
        model itself (no validation).
    """

    def __init__(self, os_model, *, dm_model=None, clinical_model=None, max_voxels=DEFAULT_MAX_VOXELS,
                 cards=None):
        self.max_voxels = int(max_voxels)
        models = {"os": os_model, "dm": dm_model, "clinical_only": clinical_model}
        self.models = {}
        for role in _ROLES:
            model = models[role]
            if model is None:
                continue
            final = model.steps[-1][1] if hasattr(model, "steps") else model
            if getattr(final, "n_causes_", None) is not None or needs_competing_y(model):
                raise ValueError(
                    f"the {role} model ({type(model).__name__}) was fitted on a competing-risks outcome: "
                    "this page shows survival curves, which such a model does not have (death of "
                    "another cause is not censoring); serve a model fitted on a survival outcome"
                )
            for attribute in ("predict_survival_function", "training_risks_"):
                if not hasattr(model, attribute):
                    raise ValueError(
                        f"the {role} model ({type(model).__name__}) has no {attribute}; "
                        "refit it with this version of sarcoma_survival"
                    )
            self.models[role] = copy.deepcopy(model)
        for part in (part for model in self.models.values() for part in walk_estimators(model)):
            if hasattr(part, "cache_dir") and hasattr(part, "verbose"):
                part.verbose = 0  # an image reader: no progress bars in the server's log
        self.lock = threading.Lock()
        cards = cards or {}
        self.cards = {role: cards.get(role) or model_card(model) for role, model in self.models.items()}
        self.times = default_times(self.models.values())
        self.fields = _clinical_fields(self.models.values())
        self.image_columns = _image_columns(self.models.values())
        self._gradcam_layer = "auto"
        self.gradcam_role = next((r for r in ("os", "dm") if r in self.models
                                  and _is_gradcam_model(self.models[r])), None)

    # ------------------------------------------------------------------ description
    def schema(self):
        """Fields of the form: clinical columns the models read, then the image files."""
        files = [{"name": c, "type": "file", "unit": None, "allowed": list(IMAGE_SUFFIXES)}
                 for c in self.image_columns]
        return {"fields": self.fields + files}

    def describe(self):
        return {role: type(model).__name__ for role, model in self.models.items()}

    def time_origin(self):
        """The models' time zero (from their cards), or ``"not stated"``."""
        origins = {((card or {}).get("training") or {}).get("cohort", {}).get("time_origin", "not stated")
                   for card in self.cards.values()}
        origins.discard("not stated")
        return " / ".join(sorted(origins)) if origins else "not stated"

    # ------------------------------------------------------------------ one request
    def _patient(self, fields, files, folder, limit_bytes):
        known = set(CLINICAL_COLUMNS) | set(IMAGE_COLUMNS) | {"times"}
        unknown = sorted((set(fields) | set(files)) - known)
        if unknown:
            raise InputError(
                f"unknown field(s): {', '.join(unknown)}; the fields are the cohort schema's "
                f"columns ({', '.join(CLINICAL_COLUMNS)}), the files {', '.join(IMAGE_COLUMNS)} and times",
                field=unknown[0],
            )
        for name in CLINICAL_COLUMNS + ("times",):
            if name in files:
                raise InputError(f"field {name!r} must be text, not a file", field=name)
        for name in IMAGE_COLUMNS:
            if fields.get(name, "").strip():
                raise InputError(f"field {name!r} must be an uploaded file", field=name)
        try:
            X = parse_clinical_fields(fields, patient="patient", where="form")
        except CohortError as exc:
            raise InputError(str(exc), field=exc.column) from None
        if not self.image_columns:
            if files:
                name = min(files)
                raise InputError(f"field {name!r}: the loaded models take no images", field=name)
            return X
        for column in self.image_columns:
            if column not in files:
                raise InputError(
                    f"field {column!r}: the loaded image model needs the files "
                    f"{', '.join(self.image_columns)}; {column} was not uploaded", field=column)
        extra = sorted(set(files) - set(self.image_columns))
        if extra:
            raise InputError(f"field {extra[0]!r}: the loaded models do not read this image", field=extra[0])
        for column in self.image_columns:
            path = files[column]
            if path.suffix == ".zip":
                path = unpack_zip(path, column, limit_bytes)
            # the reader policy, from the headers only, before the request waits for the models
            try:
                check_image(path, column=column, max_voxels=self.max_voxels, allow_rtstruct=column == "mask")
            except ImageReadError as exc:
                raise InputError(str(exc), field=column) from None
            X[column] = str(path)
        return X

    @staticmethod
    def _risk_and_curve(model, role, X, times):
        risk = float(model.predict(X)[0])
        if isinstance(model, SurvivalNeuralNet):
            # What its predict_survival_function computes, without a second forward pass.
            fn = model.survival_function_from_risk([risk])[0]
        else:
            fn = model.predict_survival_function(X)[0]
        try:
            check_follow_up_times(fn, times, what=f"the {role} model")
        except ValueError as exc:
            raise InputError(str(exc), field="times") from None
        return risk, fn

    def predict(self, fields, files, folder, limit_bytes, times_text=None, *, with_figures=True):
        """Answer of ``POST /api/predict`` for one patient (see the API reference)."""
        times = parse_times(times_text) if times_text is not None and str(times_text).strip() else list(self.times)
        X = self._patient(fields, files, folder, limit_bytes)
        cache_dir = Path(folder) / "cache"
        with self.lock, config_context(cache=True, cache_dir=cache_dir, n_jobs=1):
            return self._predict_locked(X, times, with_figures)

    def _predict_locked(self, X, times, with_figures):
        from ._figures import curves_png, gradcam_png
        from ._intervals import survival_interval

        answer, curves = {"outcome": "os", "time_origin": self.time_origin()}, {}
        for role, model in self.models.items():
            risk, fn = self._risk_and_curve(model, role, X, times)
            survival = curve_values(fn, times)
            low, high, method = survival_interval(model, X, times, survival)
            part = {
                "risk": risk,
                "risk_percentile": percentile(model.training_risks_, risk),
                "times": list(times),
                "survival": survival.tolist(),
                "survival_low": None if low is None else np.asarray(low, float).tolist(),
                "survival_high": None if high is None else np.asarray(high, float).tolist(),
                "interval_method": method,
                "warnings": [describe_finding(f).replace("patient patient: ", "")
                             for f in out_of_training_range(getattr(model, "training_summary_", None), X)],
            }
            curves[role] = (fn, low, high)
            if role == "os":
                answer.update(part)
            else:
                answer[role] = part
        if with_figures:
            answer["curves_png"] = curves_png(curves, times, time_origin=self.time_origin())
            if self.gradcam_role is not None:
                # the layer "auto" picks depends only on the network: chosen once, then reused
                answer["gradcam_png"], self._gradcam_layer = gradcam_png(
                    self.models[self.gradcam_role], X, layer=self._gradcam_layer)
        return answer
