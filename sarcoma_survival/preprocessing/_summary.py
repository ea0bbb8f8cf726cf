"""What a model saw at fit: summary statistics of its training inputs, and new patients unlike them.

:func:`summarize_inputs` describes a training cohort table (its clinical ranges and
categories, and for each image column the geometry and intensities of the files); every
estimator of the package keeps it as ``training_summary_`` and its model file carries it in
its model card. :func:`out_of_training_range` compares new patients with such a summary and
:func:`warn_out_of_training_range` turns each finding into an
:class:`OutOfTrainingRangeWarning` naming the patient and the quantity.
"""
from __future__ import annotations

import functools
import os
import warnings

import numpy as np

from .._schema import BOOLEAN_COLUMNS, CHANNEL_COLUMNS, NUMERIC_COLUMNS

#: A positive scale quantity (spacing, extent, mask fraction, a size or volume) is flagged when
#: it is more than this factor below the training minimum or above the training maximum.
RATIO_TOLERANCE = 2.0

#: Any other number (age, intensity percentiles) is flagged when it lies farther outside the
#: training range than this fraction of the range's width.
SPAN_TOLERANCE = 0.5

# image quantities: key -> (label, unit, scale kind)
IMAGE_QUANTITIES = {
    "spacing_min_mm": ("finest voxel spacing", "mm", "ratio"),
    "spacing_max_mm": ("coarsest voxel spacing (slice spacing)", "mm", "ratio"),
    "extent_min_mm": ("shortest side of the field of view", "mm", "ratio"),
    "extent_max_mm": ("longest side of the field of view", "mm", "ratio"),
    "mask_fraction": ("fraction of the image inside the tumour mask", "", "ratio"),
    "intensity_p01": ("1st intensity percentile", "", "span"),
    "intensity_p50": ("median intensity", "", "span"),
    "intensity_p99": ("99th intensity percentile", "", "span"),
}
_RATIO_COLUMNS = frozenset({"tumor_size_cm", "tumor_volume_cm3"})


class OutOfTrainingRangeWarning(UserWarning):
    """A new patient lies well outside the inputs a model was trained on."""


def _stats(values):
    values = np.asarray([v for v in values if np.isfinite(v)], dtype=float)
    if not len(values):
        return None
    return {"n": int(len(values)), "min": float(values.min()), "median": float(np.median(values)),
            "max": float(values.max())}


def image_measures(image_path, mask_path=None, *, patient=None, column="t1", reference=None):
    """Geometry and intensities of one image file (and the fraction of it in the mask).

    Parameters
    ----------
    image_path : str or Path
        Image file or DICOM series folder.
    mask_path : str or Path, optional
        Tumour mask, put on the image's grid (``mask_fraction`` is left out without one).
    patient, column : str, optional
        Named in error messages.
    reference : SimpleITK.Image, optional
        The grid the mask is read on (default: this image).

    Returns
    -------
    dict
        The keys of ``IMAGE_QUANTITIES`` (geometry from the header, percentiles over all voxels).
    """
    import SimpleITK as sitk

    from ._io import read_image, read_mask

    with warnings.catch_warnings():
        # the model's own reading of the same files decides the NaN policy and reports what it
        # finds (NaN voxels filled, a mask partly outside the image): not said twice here
        warnings.simplefilter("ignore", UserWarning)
        image = read_image(image_path, patient=patient, column=column, nonfinite="fill")
        mask = None
        if mask_path is not None:
            try:
                mask = read_mask(mask_path, image if reference is None else reference, patient=patient)
            except ValueError:  # a multi-label mask read with the model's own mask_label: no fraction
                mask = None
    spacing = np.asarray(image.GetSpacing(), dtype=float)
    extent = spacing * np.asarray(image.GetSize(), dtype=float)
    p01, p50, p99 = np.percentile(sitk.GetArrayViewFromImage(image), [1, 50, 99])  # NaN voxels read as 0
    measures = {
        "spacing_min_mm": float(spacing.min()), "spacing_max_mm": float(spacing.max()),
        "extent_min_mm": float(extent.min()), "extent_max_mm": float(extent.max()),
        "intensity_p01": float(p01), "intensity_p50": float(p50), "intensity_p99": float(p99),
    }
    if mask is not None:
        measures["mask_fraction"] = float(sitk.GetArrayViewFromImage(mask).mean())
    return measures


def _image_rows(X, channels):
    """Per patient and channel, the measures of :func:`image_measures` (patients without a file,
    or with one this package's reader cannot open, are left out: the count ``n`` of each
    statistic says how many were read).

    A model reads its images through its own preprocessor, which may take files the package's
    reader does not (a user's format) and reports a bad file with its own message; a summary
    of what the model saw must not fail its fit or its prediction instead."""
    has_mask = "mask" in X.columns
    rows = {}
    for patient, row in X.iterrows():
        for channel in channels:
            path = row.get(channel)
            if not isinstance(path, str) or not path:
                continue
            # the mask is on the T1 grid (the cohort schema): its fraction is the T1's
            mask = row.get("mask") if channel == "t1" and has_mask and isinstance(row.get("mask"), str) else None
            try:
                rows[(str(patient), channel)] = dict(_file_measures(path, _stamp(path), mask, _stamp(mask)))
            except (OSError, ValueError, RuntimeError):  # ImageReadError is a ValueError
                continue
    return rows


def _stamp(path):
    """What says a file is unchanged: its modification time and size (None: no file)."""
    if path is None:
        return None
    stat = os.stat(path)
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=4096)
def _file_measures(image_path, image_stamp, mask_path, mask_stamp):
    """:func:`image_measures` once per unchanged file pair in this process: every fit records
    its training summary, so a cross-validation or a grid search would read each image again
    in every fold and candidate."""
    return image_measures(image_path, mask_path)


def _follow_up(time, event):
    """Median follow-up by the reverse Kaplan-Meier (censoring as the event), in days."""
    from sksurv.nonparametric import kaplan_meier_estimator

    if event.all():  # no censored patient: everyone was followed to an event
        return float(np.median(time))
    t, s = kaplan_meier_estimator(~event, time)
    below = np.flatnonzero(s <= 0.5)
    return float(t[below[0]]) if len(below) else None


def _outcome_arrays(y):
    """(event as bool, time) of a survival or competing-risks structured outcome (any event)."""
    fields = [y[name] for name in y.dtype.names]
    event = next(f for f in fields if f.dtype.kind in "bui")
    time = next(f for f in fields if f.dtype.kind == "f")
    return np.asarray(event) != 0, np.asarray(time, dtype=float)


def _cohort(X, y):
    cohort = {"n_patients": int(len(X)), "time_origin": _time_origin(X)}
    if y is None:
        return cohort
    event, time = _outcome_arrays(np.asarray(y))
    cohort.update({
        "n_events": int(event.sum()),
        "follow_up_median_days": _follow_up(time, event),
        "follow_up_max_days": float(time.max()),
        "time_min_days": float(time.min()),
    })
    return cohort


def _time_origin(X):
    """The cohort's stated time zero, read as every reader of the cohort table reads it
    (:func:`~sarcoma_survival.utils.validation.cohort_time_origin`: its ``time_origin``
    column; ``"not stated"`` without one)."""
    from ..utils.validation import cohort_time_origin

    return cohort_time_origin(X)


def summarize_inputs(X, y=None, *, columns=None):
    """Summary statistics of a training cohort table: what a model saw at fit.

    Parameters
    ----------
    X : DataFrame
        The cohort table (one row per patient, index = patient id). Any other input (an
        array) gets a cohort summary only.
    y : structured ndarray, optional
        The outcome (``Surv.from_arrays(event, time)``): adds events and follow-up.
    columns : iterable of str, optional
        The columns the model reads (default: all of ``X``). Image columns (``t1``, ``t2``)
        are read file by file; the ``mask`` gives each image's ``mask_fraction``.

    Returns
    -------
    dict
        JSON-ready: ``cohort`` (``n_patients``, ``n_events``, ``follow_up_median_days`` by the
        reverse Kaplan-Meier, ``follow_up_max_days``, ``time_origin``), ``clinical`` (per
        numeric column its ``n``/``min``/``median``/``max``, per categorical column its
        ``categories`` and counts) and ``images`` (per channel, per quantity of
        ``IMAGE_QUANTITIES``, ``n``/``min``/``median``/``max``).

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.preprocessing import summarize_inputs
    >>> X = pd.DataFrame({"age": [40.0, 60.0, 70.0], "grade": ["low", "high", "high"]},
    ...                  index=["P1", "P2", "P3"])
    >>> summary = summarize_inputs(X)
    >>> summary["clinical"]["age"]["max"], summary["clinical"]["grade"]["categories"]
    (70.0, {'high': 2, 'low': 1})
    """
    import pandas as pd

    summary = {"cohort": _cohort(X, y) if isinstance(X, pd.DataFrame) else {"n_patients": int(len(X))},
               "clinical": {}, "images": {}}
    if not isinstance(X, pd.DataFrame):
        return summary
    columns = list(X.columns) if columns is None else [c for c in columns if c in X.columns]
    for column in columns:
        if column in CHANNEL_COLUMNS or column in ("mask", "time_origin"):
            continue
        values = X[column]
        if column in BOOLEAN_COLUMNS:  # 1.0 / 0.0 / NaN: counted as yes / no
            flags = pd.to_numeric(values, errors="coerce").dropna()
            summary["clinical"][column] = {"categories": {"no": int((flags == 0).sum()),
                                                          "yes": int((flags != 0).sum())}}
        elif column in NUMERIC_COLUMNS or pd.api.types.is_numeric_dtype(values):
            stats = _stats(pd.to_numeric(values, errors="coerce").to_numpy(dtype=float))
            if stats is not None:
                summary["clinical"][column] = stats
        else:
            counts = values.dropna().astype(str).value_counts()
            summary["clinical"][column] = {"categories": {str(k): int(v) for k, v in sorted(counts.items())}}
    channels = [c for c in CHANNEL_COLUMNS if c in columns]
    rows = _image_rows(X, channels)
    for channel in channels:
        per = [m for (_, c), m in rows.items() if c == channel]
        if per:
            summary["images"][channel] = {
                key: stats for key in IMAGE_QUANTITIES
                if (stats := _stats([m[key] for m in per if key in m])) is not None
            }
    return summary


def _bounds(stats, kind):
    low, high = stats["min"], stats["max"]
    if kind == "ratio" and low > 0:
        return low / RATIO_TOLERANCE, high * RATIO_TOLERANCE
    span = high - low if high > low else max(abs(high), 1.0)
    return low - SPAN_TOLERANCE * span, high + SPAN_TOLERANCE * span


def _finding(patient, quantity, label, value, stats, bounds, unit):
    return {"patient": str(patient), "quantity": quantity, "label": label, "value": value,
            "training_min": stats["min"], "training_max": stats["max"],
            "low": bounds[0], "high": bounds[1], "unit": unit}


def out_of_training_range(summary, X):
    """The patients of ``X`` that lie well outside a training summary, and in what.

    A number is flagged when it lies more than a factor ``RATIO_TOLERANCE`` (2) outside the
    training minimum or maximum for a positive scale quantity (voxel spacing, field-of-view
    extent, mask fraction, tumour size and volume), or farther outside the training range than
    ``SPAN_TOLERANCE`` (half) of its width for any other number (age, intensity percentiles);
    a category is flagged when no training patient had it. Missing values are not flagged.

    Parameters
    ----------
    summary : dict
        From :func:`summarize_inputs` (a model's ``training_summary_``).
    X : DataFrame
        New patients (the cohort table).

    Returns
    -------
    list of dict
        One per (patient, quantity): ``patient``, ``quantity`` (a column, or
        ``"<channel>.<image quantity>"``), ``label``, ``value``, ``training_min``,
        ``training_max``, the flagging bounds ``low``/``high`` and ``unit``; for a category,
        ``value`` and ``categories`` instead of the bounds.

    Examples
    --------
    >>> import pandas as pd
    >>> from sarcoma_survival.preprocessing import out_of_training_range, summarize_inputs
    >>> train = pd.DataFrame({"tumor_size_cm": [3.0, 8.0, 12.0]}, index=["A", "B", "C"])
    >>> new = pd.DataFrame({"tumor_size_cm": [5.0, 40.0]}, index=["N1", "N2"])
    >>> [(f["patient"], f["quantity"]) for f in out_of_training_range(summarize_inputs(train), new)]
    [('N2', 'tumor_size_cm')]
    """
    import pandas as pd

    findings = []
    if not isinstance(X, pd.DataFrame) or not summary:
        return findings
    clinical = summary.get("clinical", {})
    for column, stats in clinical.items():
        if column not in X.columns:
            continue
        if "categories" in stats:
            seen = set(stats["categories"])
            for patient, value in X[column].items():
                if isinstance(value, str) and value and value not in seen:
                    findings.append({"patient": str(patient), "quantity": column, "label": column,
                                     "value": value, "categories": sorted(seen)})
            continue
        kind = "ratio" if column in _RATIO_COLUMNS else "span"
        bounds = _bounds(stats, kind)
        for patient, value in pd.to_numeric(X[column], errors="coerce").items():
            if np.isfinite(value) and not bounds[0] <= value <= bounds[1]:
                findings.append(_finding(patient, column, column, float(value), stats, bounds, ""))
    images = summary.get("images", {})
    if images:
        rows = _image_rows(X, [c for c in images if c in X.columns])
        for (patient, channel), measures in rows.items():
            for key, value in measures.items():
                stats = images[channel].get(key)
                if stats is None:
                    continue
                label, unit, kind = IMAGE_QUANTITIES[key]
                bounds = _bounds(stats, kind)
                if not bounds[0] <= value <= bounds[1]:
                    findings.append(_finding(patient, f"{channel}.{key}", f"{channel} {label}", value,
                                             stats, bounds, unit))
    return findings


def _number(value, unit=""):
    text = f"{value:.3g}" if abs(value) < 1e4 else f"{value:.0f}"
    return f"{text} {unit}".rstrip()


def describe_finding(finding):
    """One line for a finding of :func:`out_of_training_range`, naming patient and quantity."""
    if "categories" in finding:
        return (f"patient {finding['patient']}: {finding['label']} {finding['value']!r} was not seen in "
                f"training ({', '.join(finding['categories'])})")
    unit = finding["unit"]
    side = "above" if finding["value"] > finding["high"] else "below"
    return (f"patient {finding['patient']}: {finding['label']} {_number(finding['value'], unit)} is far {side} "
            f"the training range {_number(finding['training_min'])}–{_number(finding['training_max'], unit)}; "
            "the prediction extrapolates")


def warn_out_of_training_range(model, X, *, stacklevel=2):
    """Warn once per patient and quantity where ``X`` lies well outside the model's training inputs.

    Parameters
    ----------
    model : fitted estimator
        One with ``training_summary_`` (a model fitted or saved before it existed has none:
        nothing is checked).
    X : DataFrame
        New patients.
    stacklevel : int, default=2

    Returns
    -------
    list of dict
        The findings of :func:`out_of_training_range` (each also given as an
        :class:`OutOfTrainingRangeWarning`).

    Examples
    --------
    >>> import warnings
    >>> import pandas as pd
    >>> from sarcoma_survival.preprocessing import summarize_inputs, warn_out_of_training_range
    >>> class Fitted:
    ...     training_summary_ = summarize_inputs(pd.DataFrame({"age": [40.0, 60.0]}))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = warn_out_of_training_range(Fitted(), pd.DataFrame({"age": [99.0]}, index=["P7"]))
    >>> str(caught[0].message)
    'patient P7: age 99 is far above the training range 40–60; the prediction extrapolates'
    """
    summary = getattr(model, "training_summary_", None)
    findings = out_of_training_range(summary, X) if summary else []
    for finding in findings:
        warnings.warn(describe_finding(finding), OutOfTrainingRangeWarning, stacklevel=stacklevel + 1)
    return findings
