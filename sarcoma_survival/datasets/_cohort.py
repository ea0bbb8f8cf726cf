"""The manifest loader: one CSV file in, the cohort table and survival targets out."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sksurv.util import Surv

from .._schema import (
    BOOLEAN_COLUMNS,
    CATEGORIES,
    CLINICAL_COLUMNS,
    FREE_CATEGORICAL_COLUMNS,
    IMAGE_COLUMNS,
    NUMERIC_COLUMNS,
    OUTCOME_COLUMNS,
    PATIENT_ID_COLUMN,
)
from ..utils import dm_competing_y

_TRUE = {"true", "1", "1.0", "yes", "y", "t"}
_FALSE = {"false", "0", "0.0", "no", "n", "f"}
_MAX_LISTED = 10


class CohortError(ValueError):
    """A manifest cannot be turned into a cohort table; the message says what and where."""


def _listing(items):
    items = list(items)
    text = ", ".join(str(i) for i in items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        text += f" and {len(items) - _MAX_LISTED} more"
    return text


def _missing(value):
    return (value is None or (isinstance(value, float) and np.isnan(value))
            or (isinstance(value, str) and not value.strip()))


def _parse_boolean(values, column, ids, *, allow_missing, where):
    out = np.full(len(values), np.nan)
    bad, absent = [], []
    for i, value in enumerate(values):
        if _missing(value):
            absent.append(ids[i])
            continue
        text = str(value).strip().lower()
        if text in _TRUE:
            out[i] = 1.0
        elif text in _FALSE:
            out[i] = 0.0
        else:
            bad.append(f"{ids[i]} ({value!r})")
    if bad:
        raise CohortError(
            f"{where}: column {column!r} must be boolean (True/False, 1/0, yes/no); "
            f"invalid value for patient(s): {_listing(bad)}"
        )
    if absent and not allow_missing:
        raise CohortError(f"{where}: column {column!r} is empty for patient(s): {_listing(absent)}")
    return out


def _parse_numeric(values, column, ids, where):
    out = np.full(len(values), np.nan)
    bad = []
    for i, value in enumerate(values):
        if _missing(value):
            continue
        try:
            out[i] = float(str(value).strip())
        except ValueError:
            bad.append(f"{ids[i]} ({value!r})")
            continue
        if not np.isfinite(out[i]):
            bad.append(f"{ids[i]} ({value!r})")
    if bad:
        raise CohortError(f"{where}: column {column!r} must be numeric; invalid value for patient(s): {_listing(bad)}")
    negative = [f"{ids[i]} ({out[i]:g})" for i in np.flatnonzero(out < 0)]
    if negative:
        raise CohortError(f"{where}: column {column!r} must not be negative; patient(s): {_listing(negative)}")
    return out


def _parse_category(values, column, ids, where):
    allowed = CATEGORIES[column]
    lookup = {a.lower(): a for a in allowed}
    out = np.empty(len(values), dtype=object)
    bad = []
    for i, value in enumerate(values):
        if _missing(value):
            out[i] = np.nan
            continue
        canonical = lookup.get(str(value).strip().lower())
        if canonical is None:
            bad.append(f"patient {ids[i]}: {value!r}")
        out[i] = canonical
    if bad:
        raise CohortError(
            f"{where}: unknown category in column {column!r} ({_listing(bad)}); "
            f"allowed values: {', '.join(allowed)} (or empty for missing)"
        )
    return out


def _parse_free_text(values):
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        out[i] = np.nan if _missing(value) else str(value).strip()
    return out


def _parse_outcome(raw, outcome, ids, where):
    event_col, time_col = OUTCOME_COLUMNS[outcome]
    present = [c for c in (event_col, time_col) if c in raw.columns]
    if not present:
        return None
    if len(present) == 1:
        other = time_col if present[0] == event_col else event_col
        raise CohortError(f"{where}: column {present[0]!r} is present but {other!r} is missing")
    event = _parse_boolean(raw[event_col].to_numpy(), event_col, ids, allow_missing=False, where=where)
    time = np.full(len(raw), np.nan)
    bad = []
    for i, value in enumerate(raw[time_col].to_numpy()):
        try:
            time[i] = float(str(value).strip()) if not _missing(value) else np.nan
        except ValueError:
            bad.append(f"{ids[i]} ({value!r})")
    if bad:
        raise CohortError(
            f"{where}: column {time_col!r} must be numeric (days); invalid for patient(s): {_listing(bad)}"
        )
    nan = [ids[i] for i in np.flatnonzero(~np.isfinite(time))]
    if nan:
        raise CohortError(f"{where}: column {time_col!r} is empty, NaN or infinite for patient(s): {_listing(nan)}")
    nonpositive = [f"{ids[i]} ({time[i]:g})" for i in np.flatnonzero(time <= 0)]
    if nonpositive:
        raise CohortError(
            f"{where}: column {time_col!r} must be > 0 days; zero or negative for patient(s): {_listing(nonpositive)}"
        )
    return Surv.from_arrays(event=event.astype(bool), time=time)


def _parse_images(raw, ids, folder, where):
    present = [c for c in IMAGE_COLUMNS if c in raw.columns]
    if not present:
        return {}
    if "t1" not in present:
        raise CohortError(
            f"{where}: image column(s) {', '.join(present)} given without 't1'; the mask lies on the T1 grid, "
            "so a cohort with images needs 't1' and 'mask' (and optionally 't2')"
        )
    if "mask" not in present:
        raise CohortError(
            f"{where}: image column(s) {', '.join(present)} given without 'mask' (the tumor mask on the T1 grid)"
        )
    out = {}
    for column in present:
        paths = np.empty(len(raw), dtype=object)
        for i, value in enumerate(raw[column].to_numpy()):
            if _missing(value):
                raise CohortError(f"{where}: patient {ids[i]}: column {column!r} is empty (no image file given)")
            path = Path(str(value).strip()).expanduser()
            if not path.is_absolute():
                path = folder / path
            path = path.resolve()
            if not path.exists():
                raise CohortError(f"{where}: patient {ids[i]}: {column} image {str(path)!r} does not exist")
            paths[i] = str(path)
        out[column] = paths
    return out


def _parse_extra(values):
    numeric = pd.to_numeric(pd.Series(values), errors="coerce")
    if numeric.notna().sum() == pd.Series(values).notna().sum():
        return numeric.to_numpy()
    return values


def load_cohort(manifest):
    """Load a cohort from a manifest CSV file.

    The manifest has one row per patient: a ``patient_id`` column, the 11 clinical
    columns of the cohort schema (``age, sex, tumor_size_cm, tumor_depth, grade,
    histology, location, tumor_volume_cm3, neoadjuvant_chemo, mets_at_presentation,
    rt_timing``), optionally the image columns (``t1`` and ``mask``, optionally
    ``t2``) and the outcome columns ``os_event, os_time, dm_event, dm_time`` (times
    in days). Values may be empty where unknown (clinical columns only).

    Parameters
    ----------
    manifest : str or Path
        Path of the CSV file. Relative image paths are resolved against the folder
        that holds it.

    Returns
    -------
    Bunch
        ``X``: DataFrame indexed by patient id (index name ``patient_id``) with the
        clinical columns in schema order (booleans as float 1.0/0.0/NaN, numerics as
        float, categoricals as str with NaN), then the image columns present
        (absolute paths), then any extra column of the manifest unchanged.
        ``y_os``, ``y_dm``: scikit-survival structured arrays made by
        :func:`sksurv.util.Surv.from_arrays` (fields ``event``, bool, and
        ``time``, float days), or ``None`` when the manifest has neither column of
        that outcome (a cohort for prediction only, or one outcome only).
        ``y_dm_competing``: DM with death as a competing risk (event 0 = censored,
        1 = DM, 2 = death without DM; see
        :func:`sarcoma_survival.competing_risks.competing_y`), or ``None`` without
        both outcomes.
        ``manifest``: the absolute path of the manifest.

    Raises
    ------
    CohortError
        A subclass of ``ValueError`` whose message names the offending
        column(s), patient(s), value(s) or file: a missing clinical column, an
        unknown category (with the allowed values), a non-numeric or negative
        number, a non-boolean or empty event, a NaN, zero or negative time, a
        duplicate or empty patient id, an image column without ``t1``/``mask``, a
        missing or non-existent image file.

    Notes
    -----
    Categorical values are matched case-insensitively and stored in their canonical
    spelling (``"High"`` becomes ``"high"``). Booleans accept ``True/False``,
    ``1/0``, ``yes/no``, ``t/f``, ``y/n`` in any case. Clinical columns may be
    entirely empty (for example a cohort without neoadjuvant chemotherapy data),
    but they must exist: pipelines impute missing values, they never drop patients.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sarcoma_survival.datasets import load_cohort
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "cohort.csv").write_text(
    ...     "patient_id,age,sex,tumor_size_cm,tumor_depth,grade,histology,location,"
    ...     "tumor_volume_cm3,neoadjuvant_chemo,mets_at_presentation,rt_timing,os_event,os_time\\n"
    ...     "P1,61,F,8.5,deep,high,myxofibrosarcoma,lower_extremity,150,no,no,preop,1,400\\n"
    ...     "P2,45,M,,superficial,Low,,axial,,yes,0,postop,0,1200\\n")
    >>> cohort = load_cohort(folder / "cohort.csv")
    >>> cohort.X["grade"].tolist(), cohort.X["neoadjuvant_chemo"].tolist()
    (['high', 'low'], [0.0, 1.0])
    >>> cohort.y_os["time"].tolist(), cohort.y_dm is None
    ([400.0, 1200.0], True)
    """
    path = Path(manifest).expanduser().resolve()
    where = f"manifest {str(path)!r}"
    if not path.is_file():
        raise CohortError(f"{where}: file does not exist")
    try:
        raw = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CohortError(f"{where}: cannot be read as CSV ({exc})") from exc
    raw.columns = [str(c).strip() for c in raw.columns]

    required = [PATIENT_ID_COLUMN, *CLINICAL_COLUMNS]
    missing = [c for c in required if c not in raw.columns]
    if missing:
        raise CohortError(
            f"{where}: missing column(s): {', '.join(missing)}; a manifest needs "
            f"{PATIENT_ID_COLUMN!r} and the clinical columns {', '.join(CLINICAL_COLUMNS)} "
            "(leave values empty where unknown)"
        )
    duplicated = [c for c in set(raw.columns) if list(raw.columns).count(c) > 1]
    if duplicated:
        raise CohortError(f"{where}: duplicated column name(s): {', '.join(sorted(duplicated))}")
    if len(raw) == 0:
        raise CohortError(f"{where}: no patient rows")

    id_values = raw[PATIENT_ID_COLUMN].to_numpy()
    empty_rows = [str(i + 2) for i, v in enumerate(id_values) if _missing(v)]
    if empty_rows:
        raise CohortError(f"{where}: empty {PATIENT_ID_COLUMN!r} on CSV line(s): {_listing(empty_rows)}")
    ids = [str(v).strip() for v in id_values]
    counts = pd.Series(ids).value_counts()
    dupes = counts[counts > 1]
    if len(dupes):
        raise CohortError(
            f"{where}: duplicate patient id(s): {_listing(f'{k} ({v} rows)' for k, v in dupes.items())}"
        )

    columns = {}
    for column in CLINICAL_COLUMNS:
        values = raw[column].to_numpy()
        if column in NUMERIC_COLUMNS:
            columns[column] = _parse_numeric(values, column, ids, where)
        elif column in BOOLEAN_COLUMNS:
            columns[column] = _parse_boolean(values, column, ids, allow_missing=True, where=where)
        elif column in CATEGORIES:
            columns[column] = _parse_category(values, column, ids, where)
        elif column in FREE_CATEGORICAL_COLUMNS:
            columns[column] = _parse_free_text(values)
    columns.update(_parse_images(raw, ids, path.parent, where))
    y_os = _parse_outcome(raw, "os", ids, where)
    y_dm = _parse_outcome(raw, "dm", ids, where)

    known = {PATIENT_ID_COLUMN, *CLINICAL_COLUMNS, *IMAGE_COLUMNS}
    known.update(c for pair in OUTCOME_COLUMNS.values() for c in pair)
    for column in raw.columns:
        if column not in known:
            columns[column] = _parse_extra(raw[column].to_numpy())

    X = pd.DataFrame(columns, index=pd.Index(ids, name=PATIENT_ID_COLUMN))
    for column in CLINICAL_COLUMNS:
        if column in NUMERIC_COLUMNS or column in BOOLEAN_COLUMNS:
            X[column] = X[column].astype(float)
        else:
            X[column] = X[column].astype(object)
    return Bunch(X=X, y_os=y_os, y_dm=y_dm, y_dm_competing=dm_competing_y(y_os, y_dm), manifest=path)
