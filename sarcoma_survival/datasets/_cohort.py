"""The manifest loader: one CSV file in, the cohort table and survival targets out."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sksurv.util import Surv

from .._schema import (
    BOOLEAN_COLUMNS,
    CLINICAL_COLUMNS,
    IMAGE_COLUMNS,
    NUMERIC_COLUMNS,
    OUTCOME_COLUMNS,
    PATIENT_ID_COLUMN,
    TIME_ORIGIN_COLUMN,
    TIME_ORIGIN_NOT_STATED,
    canonical_categories,
    canonical_time_origin,
    check_patient_id,
    check_plausible,
    is_missing,
    listing,
    parse_boolean,
    parse_number,
)
from ..competing_risks import dm_competing_y
from ..utils.validation import cohort_time_origin


class CohortError(ValueError):
    """A manifest cannot be turned into a cohort table; the message says what and where."""

    #: The offending column when one is known (set by :func:`parse_clinical_fields`).
    column = None


def _checked_id(value, row, where):
    """A patient id that is safe as part of a file name (ids name heat maps and caches)."""
    try:
        return check_patient_id(str(value).strip(), where=f"{where}, CSV line {row + 2}")
    except ValueError as exc:
        raise CohortError(str(exc)) from None


def _parse_boolean(values, column, ids, *, allow_missing, where):
    try:
        out = parse_boolean(values, column=column, ids=ids)
    except ValueError as exc:
        raise CohortError(f"{where}: {exc}") from None
    absent = [ids[i] for i in np.flatnonzero(np.isnan(out))]
    if absent and not allow_missing:
        raise CohortError(f"{where}: column {column!r} is empty for patient(s): {listing(absent)}")
    return out


def _parse_numeric(values, column, ids, where):
    out = np.full(len(values), np.nan)
    bad = []
    for i, value in enumerate(values):
        if is_missing(value):
            continue
        try:
            out[i] = parse_number(value)
        except ValueError:
            bad.append(f"{ids[i]} ({value!r})")
            continue
        if not np.isfinite(out[i]):
            bad.append(f"{ids[i]} ({value!r})")
    if bad:
        raise CohortError(f"{where}: column {column!r} must be numeric; invalid value for patient(s): {listing(bad)}")
    negative = [f"{ids[i]} ({out[i]:g})" for i in np.flatnonzero(out < 0)]
    if negative:
        raise CohortError(f"{where}: column {column!r} must not be negative; patient(s): {listing(negative)}")
    return _plausible(out, column, ids, where)


def _plausible(values, column, ids, where, kind=None):
    try:
        return check_plausible(values, column=column, ids=ids, kind=kind)
    except ValueError as exc:
        raise CohortError(f"{where}: {exc}") from None


def _parse_category(values, column, ids, where):
    try:
        return canonical_categories(values, column=column, ids=ids)
    except ValueError as exc:
        raise CohortError(f"{where}: {exc}") from None


def _parse_clinical_column(values, column, ids, where):
    """One clinical column of the schema, parsed and checked as the manifest loader does."""
    if column in NUMERIC_COLUMNS:
        return _parse_numeric(values, column, ids, where)
    if column in BOOLEAN_COLUMNS:
        return _parse_boolean(values, column, ids, allow_missing=True, where=where)
    return _parse_category(values, column, ids, where)  # closed-set and free-text columns


def parse_clinical_fields(fields, *, patient="patient", where="form"):
    """Validate one patient's clinical values given as text, exactly as :func:`load_cohort` does.

    The values are what a manifest row would hold (for example the fields of a web
    form): an empty string or an absent column means missing, booleans and categories
    are spelled as the loader accepts them.

    Parameters
    ----------
    fields : mapping of str to str
        Clinical column name -> cell text. Names outside the clinical schema columns
        are not read (the caller decides what an unknown name means).
    patient : str, default="patient"
        Patient id used in error messages and as the row's index.
    where : str, default="form"
        Prefix of error messages (``load_cohort`` uses ``"manifest '<path>'"``).

    Returns
    -------
    DataFrame
        One row indexed by ``patient`` (index name ``patient_id``) with the 11 clinical
        columns in schema order and the dtypes of :func:`load_cohort`'s ``X``.

    Raises
    ------
    CohortError
        With the loader's one-line message; its ``column`` attribute names the field.

    Examples
    --------
    >>> from sarcoma_survival.datasets._cohort import parse_clinical_fields
    >>> row = parse_clinical_fields({"age": "61", "grade": "High", "neoadjuvant_chemo": "yes"})
    >>> row["age"].tolist(), row["grade"].tolist(), row["neoadjuvant_chemo"].tolist()
    ([61.0], ['high'], [1.0])
    >>> try:
    ...     parse_clinical_fields({"tumor_size_cm": "big"})
    ... except CohortError as exc:
    ...     print(exc.column, "|", exc)
    tumor_size_cm | form: column 'tumor_size_cm' must be numeric; invalid value for patient(s): patient ('big')
    """
    columns = {}
    for column in CLINICAL_COLUMNS:
        values = np.array([fields.get(column, "")], dtype=object)
        try:
            columns[column] = _parse_clinical_column(values, column, [patient], where)
        except CohortError as exc:
            exc.column = column
            raise
    X = pd.DataFrame(columns, index=pd.Index([patient], name=PATIENT_ID_COLUMN))
    return _schema_dtypes(X)


def _schema_dtypes(X):
    for column in CLINICAL_COLUMNS:
        if column in NUMERIC_COLUMNS or column in BOOLEAN_COLUMNS:
            X[column] = X[column].astype(float)
        else:
            X[column] = X[column].astype(object)
    return X


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
            time[i] = parse_number(value) if not is_missing(value) else np.nan
        except ValueError:
            bad.append(f"{ids[i]} ({value!r})")
    if bad:
        raise CohortError(
            f"{where}: column {time_col!r} must be numeric (days); invalid for patient(s): {listing(bad)}"
        )
    nan = [ids[i] for i in np.flatnonzero(~np.isfinite(time))]
    if nan:
        raise CohortError(f"{where}: column {time_col!r} is empty, NaN or infinite for patient(s): {listing(nan)}")
    nonpositive = [f"{ids[i]} ({time[i]:g})" for i in np.flatnonzero(time <= 0)]
    if nonpositive:
        raise CohortError(
            f"{where}: column {time_col!r} must be > 0 days; zero or negative for patient(s): {listing(nonpositive)}"
        )
    _plausible(time, time_col, ids, where, kind="time_days")
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
            if is_missing(value):
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


def _time_origin(raw, ids, time_origin, where):
    """The cohort's time origin: the manifest's ``time_origin`` column and/or the argument."""
    stated = TIME_ORIGIN_NOT_STATED
    if TIME_ORIGIN_COLUMN in raw.columns:
        try:
            stated = cohort_time_origin(pd.DataFrame({TIME_ORIGIN_COLUMN: raw[TIME_ORIGIN_COLUMN].to_numpy()},
                                                     index=pd.Index(ids)))
        except ValueError as exc:
            raise CohortError(f"{where}: {exc}") from None
    if time_origin is None:
        return stated
    try:
        given = canonical_time_origin(time_origin, where="time_origin")
    except ValueError as exc:
        raise CohortError(str(exc)) from None
    if stated != TIME_ORIGIN_NOT_STATED and given != stated:
        raise CohortError(
            f"{where}: its column {TIME_ORIGIN_COLUMN!r} says the times start at {stated}, but "
            f"time_origin={given!r} was given; give the manifest's or none"
        )
    return given


def load_cohort(manifest, *, time_origin=None):
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
    time_origin : str, optional
        The day 0 of the outcome times (``"surgery"``, ``"diagnosis"``, ``"biopsy"``,
        ``"mri"``, ``"treatment_start"``, ``"enrolment"``), for a manifest without a
        ``time_origin`` column; a manifest that states another one is an error.

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
        ``time_origin``: the day 0 of the outcome times, from the manifest's optional
        ``time_origin`` column (one value for every patient) or the ``time_origin``
        argument, else ``"not stated"``. A stated origin is also the ``time_origin``
        column of ``X`` (canonical spelling), from which every estimator's ``fit`` records
        it as ``time_origin_``.

    Raises
    ------
    CohortError
        A subclass of ``ValueError`` whose message names the offending
        column(s), patient(s), value(s) or file: a missing clinical column, an
        unknown category (with the allowed values), a non-numeric or negative
        number, a value outside its plausible range, a non-boolean or empty event, a NaN, zero or negative time, a
        duplicate or empty patient id, an image column without ``t1``/``mask``, a
        missing or non-existent image file.

    Notes
    -----
    Categorical values are stored in their canonical spelling by
    :func:`~sarcoma_survival.utils.validation.canonical_categories`, which the
    estimators' :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` applies too:
    case, spaces, hyphens and underscores do not matter (``"High"`` becomes
    ``"high"``), grade numbers follow the schema (``1`` is ``"low"``; ``2``, ``3``,
    ``"grade 3"`` and ``"dedifferentiated"`` are ``"high"``) and histology is
    lower-cased, former subtype names taking their current WHO name (``"MFH"`` is
    ``"undifferentiated pleomorphic sarcoma"``; see the user guide's clinical vocabulary).
    Booleans accept ``True/False``, ``1/0``, ``yes/no``, ``t/f``,
    ``y/n`` in any case (:func:`~sarcoma_survival.utils.validation.parse_boolean`).
    Age, tumour size and volume and the outcome times must lie in their plausible
    ranges (:func:`~sarcoma_survival.utils.validation.check_plausible`: age 0-120
    years, size (0, 100] cm, volume (0, 100 000] cm³, times (0, 36 525] days). Clinical columns may be
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
    try:
        path = Path(manifest).expanduser().resolve()
    except (RuntimeError, OSError) as exc:  # a symlink loop (RuntimeError before Python 3.13)
        raise CohortError(f"manifest {str(manifest)!r}: cannot be resolved ({exc})") from None
    where = f"manifest {str(path)!r}"
    if not path.is_file():
        raise CohortError(f"{where}: file does not exist")
    if b"\x00" in path.read_bytes():  # pandas would silently cut values at a NUL
        raise CohortError(f"{where}: contains NUL bytes; a manifest is a UTF-8 text CSV")
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
    empty_rows = [str(i + 2) for i, v in enumerate(id_values) if is_missing(v)]
    if empty_rows:
        raise CohortError(f"{where}: empty {PATIENT_ID_COLUMN!r} on CSV line(s): {listing(empty_rows)}")
    ids = [_checked_id(v, i, where) for i, v in enumerate(id_values)]
    counts = pd.Series(ids).value_counts()
    dupes = counts[counts > 1]
    if len(dupes):
        raise CohortError(
            f"{where}: duplicate patient id(s): {listing(f'{k} ({v} rows)' for k, v in dupes.items())}"
        )

    columns = {column: _parse_clinical_column(raw[column].to_numpy(), column, ids, where)
               for column in CLINICAL_COLUMNS}
    columns.update(_parse_images(raw, ids, path.parent, where))
    y_os = _parse_outcome(raw, "os", ids, where)
    y_dm = _parse_outcome(raw, "dm", ids, where)

    origin = _time_origin(raw, ids, time_origin, where)
    if origin != TIME_ORIGIN_NOT_STATED:
        columns[TIME_ORIGIN_COLUMN] = np.full(len(ids), origin, dtype=object)
    known = {PATIENT_ID_COLUMN, *CLINICAL_COLUMNS, *IMAGE_COLUMNS, TIME_ORIGIN_COLUMN}
    known.update(c for pair in OUTCOME_COLUMNS.values() for c in pair)
    for column in raw.columns:
        if column not in known:
            columns[column] = _parse_extra(raw[column].to_numpy())

    X = _schema_dtypes(pd.DataFrame(columns, index=pd.Index(ids, name=PATIENT_ID_COLUMN)))
    return Bunch(X=X, y_os=y_os, y_dm=y_dm, y_dm_competing=dm_competing_y(y_os, y_dm), manifest=path,
                 time_origin=origin)
