"""The cohort contract: the table's schema and the one reading of its values.

The schema is the user guide's "The cohort table" page (column names here are public
API). Booleans (``neoadjuvant_chemo``, ``mets_at_presentation``) are held as float 1.0 /
0.0 so that a missing value can be NaN in the same column; categoricals are held as
strings with NaN for missing values; image columns hold absolute file or folder paths.

Every reader of a cohort (the manifest loader, the TCIA loader, the clinical encoder, the
web form, the command line) reads its values with the parsers below: numbers written as
text (:func:`parse_number`), booleans (:func:`parse_boolean`), categories in their
canonical spelling (:func:`canonical_categories`), plausible ranges
(:func:`check_plausible`), what counts as missing (:func:`is_missing`) and which patient
ids may become file names (:func:`check_patient_id`). This module imports nothing from the
package and imports numpy and pandas only inside the parsers, so that the command line
starts without them.
"""
from __future__ import annotations

import numbers
import re

#: Numeric clinical columns.
NUMERIC_COLUMNS = ("age", "tumor_size_cm", "tumor_volume_cm3")

#: Boolean clinical columns (stored as 0.0 / 1.0 / NaN).
BOOLEAN_COLUMNS = ("neoadjuvant_chemo", "mets_at_presentation")

#: Categorical clinical columns with a closed set of allowed values.
CATEGORIES = {
    "sex": ("F", "M"),
    "tumor_depth": ("superficial", "deep"),
    "grade": ("low", "high"),
    "location": ("axial", "upper_extremity", "lower_extremity"),
    "rt_timing": ("preop", "postop"),
}

#: Free-text categorical column (subtype names); any string is accepted.
FREE_CATEGORICAL_COLUMNS = ("histology",)

#: The 11 clinical variables of the paper's larger clinical model, in schema order.
CLINICAL_COLUMNS = (
    "age",
    "sex",
    "tumor_size_cm",
    "tumor_depth",
    "grade",
    "histology",
    "location",
    "tumor_volume_cm3",
    "neoadjuvant_chemo",
    "mets_at_presentation",
    "rt_timing",
)

#: The 4 Sarculator variables.
SARCULATOR_COLUMNS = ("age", "tumor_size_cm", "grade", "histology")

#: Image reference columns: T1 post-contrast, T2 fat-sat, tumor mask (on the T1 grid).
IMAGE_COLUMNS = ("t1", "t2", "mask")

#: Image channels in stacking order (the mask is not a channel).
CHANNEL_COLUMNS = ("t1", "t2")

#: Outcome columns of a manifest CSV (times in days).
OUTCOME_COLUMNS = {
    "os": ("os_event", "os_time"),
    "dm": ("dm_event", "dm_time"),
}

#: Column of a manifest CSV that holds the patient id (becomes the index of X).
PATIENT_ID_COLUMN = "patient_id"

#: Optional column of a manifest CSV (and of the cohort table) that states the cohort's time
#: origin, the day 0 of ``os_time`` and ``dm_time``: one value of :data:`TIME_ORIGINS`,
#: the same for every patient. A fitted estimator keeps it as ``time_origin_``.
TIME_ORIGIN_COLUMN = "time_origin"

#: Time origins a cohort can state (canonical spelling) and how outputs name them
#: ("days since <name>").
TIME_ORIGINS = {
    "surgery": "surgery",
    "diagnosis": "diagnosis",
    "biopsy": "biopsy",
    "mri": "the MRI",
    "treatment_start": "the start of treatment",
    "enrolment": "enrolment",
}

#: The time origin of a cohort that does not state one (``time_origin_`` of a model fitted
#: on it, and of a model file written before time origins existed).
TIME_ORIGIN_NOT_STATED = "not stated"

#: Other spellings of the time origins, after the comparison key of the categories (lower
#: case; spaces, hyphens and underscores removed).
TIME_ORIGIN_SYNONYMS = {
    "resection": "surgery", "surgicalresection": "surgery", "operation": "surgery",
    "dateofsurgery": "surgery", "dateofdiagnosis": "diagnosis", "histologicaldiagnosis": "diagnosis",
    "dateofbiopsy": "biopsy", "imaging": "mri", "mriscan": "mri", "baselinemri": "mri",
    "treatment": "treatment_start", "starttreatment": "treatment_start",
    "startoftreatment": "treatment_start", "enrollment": "enrolment", "inclusion": "enrolment",
}

def _origin_key(value):
    return re.sub(r"[\s_\-]+", "", str(value).strip().lower())


def canonical_time_origin(value, *, where="time_origin"):
    """THE spelling of a cohort's time origin (the day 0 of its outcome times).

    One of :data:`TIME_ORIGINS` (``surgery``, ``diagnosis``, ``biopsy``, ``mri``,
    ``treatment_start``, ``enrolment``), matched ignoring case, spaces, hyphens and
    underscores, or a synonym of :data:`TIME_ORIGIN_SYNONYMS` (``"date of surgery"``,
    ``"resection"`` -> ``"surgery"``). ``None``, NaN, an empty text or ``"not stated"``
    itself are :data:`TIME_ORIGIN_NOT_STATED`. Kept here, with no import, so that the
    command line checks ``--time-origin`` before importing anything heavy.

    Parameters
    ----------
    value : str or None
    where : str, default="time_origin"
        What the value came from, for the error message.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For any other value; the message lists the accepted ones.

    Examples
    --------
    >>> from sarcoma_survival._schema import canonical_time_origin
    >>> canonical_time_origin("Date of surgery"), canonical_time_origin("MRI"), canonical_time_origin(None)
    ('surgery', 'mri', 'not stated')
    """
    if value is None or (isinstance(value, float) and value != value) or not str(value).strip():
        return TIME_ORIGIN_NOT_STATED
    key = _origin_key(value)
    if key == _origin_key(TIME_ORIGIN_NOT_STATED):
        return TIME_ORIGIN_NOT_STATED
    origin = {**{_origin_key(name): name for name in TIME_ORIGINS}, **TIME_ORIGIN_SYNONYMS}.get(key)
    if origin is None:
        raise ValueError(
            f"{where}: unknown time origin {str(value)!r}; expected one of {', '.join(TIME_ORIGINS)} "
            "(the day 0 of os_time and dm_time)"
        )
    return origin


#: Regions over which :class:`~sarcoma_survival.VolumePreprocessor` computes its z-score
#: (its ``normalize``; the command line's ``--normalize``, where ``none`` is ``None``).
NORMALIZE_REGIONS = ("foreground", "image", "crop", "tumor")


def categorical_columns(columns):
    """Return the categorical columns among ``columns``, in the given order."""
    return [c for c in columns if c in CATEGORIES or c in FREE_CATEGORICAL_COLUMNS]


def numeric_like_columns(columns):
    """Return the numeric and boolean columns among ``columns``, in the given order."""
    return [c for c in columns if c in NUMERIC_COLUMNS or c in BOOLEAN_COLUMNS]


#: Other spellings of the closed-set categories, after the comparison key of
#: :func:`sarcoma_survival.utils.validation.canonical_categories` (lower case, spaces,
#: hyphens and underscores removed). Grade follows §1 of the design: "high" is FNCLCC
#: grade 2 or 3 or dedifferentiated, "low" is grade 1.
CATEGORY_SYNONYMS = {
    "sex": {"female": "F", "woman": "F", "male": "M", "man": "M"},
    "grade": {
        **{key: "low" for key in ("1", "g1", "grade1", "i", "gradei")},
        **{
            key: "high"
            for key in ("2", "3", "g2", "g3", "grade2", "grade3", "ii", "iii", "gradeii",
                        "gradeiii", "intermediate", "dedifferentiated")
        },
    },
}

#: Canonical histology names of the subtypes the paper's Table 2 and Sarculator name, in
#: their current WHO (2020) spelling, lower case. ``histology`` stays free text: a subtype
#: outside this list is kept as written (lower-cased), so that rare subtypes are not lost.
HISTOLOGY_NAMES = (
    "undifferentiated pleomorphic sarcoma",
    "myxofibrosarcoma",
    "myxoid liposarcoma",
    "dedifferentiated liposarcoma",
    "pleomorphic liposarcoma",
    "well-differentiated liposarcoma",
    "leiomyosarcoma",
    "synovial sarcoma",
    "malignant peripheral nerve sheath tumor",
    "solitary fibrous tumor",
    "spindle cell sarcoma",
    "other",
)

#: What a clinician reads for each clinical column (the web page's field labels).
COLUMN_LABELS = {
    "age": "Age at surgery",
    "sex": "Sex",
    "tumor_size_cm": "Tumour size (largest diameter)",
    "tumor_depth": "Depth relative to the fascia",
    "grade": "Grade (FNCLCC)",
    "histology": "Histological subtype",
    "location": "Tumour site",
    "tumor_volume_cm3": "Tumour volume",
    "neoadjuvant_chemo": "Neoadjuvant chemotherapy",
    "mets_at_presentation": "Metastases at presentation",
    "rt_timing": "Radiotherapy",
}

#: What a clinician reads for each category code (the stored value stays the code).
CATEGORY_LABELS = {
    "sex": {"F": "Female", "M": "Male"},
    "tumor_depth": {"superficial": "Superficial", "deep": "Deep"},
    "grade": {"low": "Low (grade 1)", "high": "High (grade 2, 3 or dedifferentiated)"},
    "location": {"axial": "Trunk / axial", "upper_extremity": "Upper limb", "lower_extremity": "Lower limb"},
    "rt_timing": {"preop": "Pre-operative", "postop": "Post-operative"},
    "neoadjuvant_chemo": {"yes": "Yes", "no": "No"},
    "mets_at_presentation": {"yes": "Yes", "no": "No"},
}


def category_label(column, value):
    """The clinical label of a category code (a histology name in sentence case).

    Examples
    --------
    >>> category_label("grade", "high"), category_label("histology", "myxoid liposarcoma")
    ('High (grade 2, 3 or dedifferentiated)', 'Myxoid liposarcoma')
    """
    value = str(value)
    label = CATEGORY_LABELS.get(column, {}).get(value)
    if label is not None:
        return label
    return value[:1].upper() + value[1:] if column in FREE_CATEGORICAL_COLUMNS else value


#: Former and alternative names of soft-tissue sarcoma subtypes -> canonical name, keyed
#: by the histology comparison key (lower case; spaces, hyphens, underscores and slashes
#: as one space). From the WHO classifications of soft-tissue tumours (2002, 2013, 2020):
#: malignant fibrous histiocytoma (MFH) became undifferentiated pleomorphic sarcoma (its
#: myxoid variant myxofibrosarcoma); round cell liposarcoma became part of myxoid
#: liposarcoma; malignant schwannoma and neurofibrosarcoma are MPNST; (malignant)
#: haemangiopericytoma is a solitary fibrous tumour.
HISTOLOGY_SYNONYMS = {
    **{key: "undifferentiated pleomorphic sarcoma" for key in (
        "mfh", "malignant fibrous histiocytoma", "pleomorphic mfh", "storiform pleomorphic mfh",
        "pleomorphic malignant fibrous histiocytoma", "storiform pleomorphic malignant fibrous histiocytoma",
        "inflammatory mfh", "inflammatory malignant fibrous histiocytoma", "ups",
        "undifferentiated pleomorphic sarcoma mfh", "undifferentiated high grade pleomorphic sarcoma",
    )},
    **{key: "myxofibrosarcoma" for key in (
        "myxoid mfh", "myxoid malignant fibrous histiocytoma", "mfs")},
    **{key: "myxoid liposarcoma" for key in (
        "round cell liposarcoma", "myxoid round cell liposarcoma", "myxoid and round cell liposarcoma",
        "myxoid liposarcoma round cell")},
    **{key: "well-differentiated liposarcoma" for key in (
        "well differentiated liposarcoma", "wdlps", "atypical lipomatous tumor", "atypical lipomatous tumour")},
    "ddlps": "dedifferentiated liposarcoma",
    "lms": "leiomyosarcoma",
    **{key: "malignant peripheral nerve sheath tumor" for key in (
        "mpnst", "malignant peripheral nerve sheath tumour", "malignant schwannoma", "neurofibrosarcoma")},
    **{key: "solitary fibrous tumor" for key in (
        "solitary fibrous tumour", "malignant solitary fibrous tumor", "malignant solitary fibrous tumour",
        "hemangiopericytoma", "haemangiopericytoma", "malignant hemangiopericytoma",
        "malignant haemangiopericytoma")},
}


#: Plausible ranges ``(low, high)``, both inclusive unless noted, of the numeric clinical
#: columns and of outcome times (days). A value outside is refused with the patient named:
#: it is a data-entry or unit error (age in days, size in mm, time in seconds), not a
#: rare patient. Tumour size and volume must be > 0 (a measured tumour has a size).
PLAUSIBLE_RANGES = {
    "age": (0.0, 120.0),
    "tumor_size_cm": (0.0, 100.0),
    "tumor_volume_cm3": (0.0, 100_000.0),
    "time_days": (0.0, 36_525.0),
}

#: Columns whose lower bound is exclusive (a zero is implausible).
POSITIVE_COLUMNS = ("tumor_size_cm", "tumor_volume_cm3", "time_days")


def parse_number(text):
    """THE parser of a number written as text (manifest cells, web form fields, CLI days).

    Python's ``float`` also reads ``"6_5"`` as 65 (underscores group digits in Python
    source) and digits of other scripts (``"٦٥"``); in a clinical table either is a typing
    error, so both are refused. Surrounding spaces are ignored. ``"nan"`` and ``"inf"``
    are returned as such: each caller refuses them with its own message.

    Parameters
    ----------
    text : str or number

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When the text is not a plain decimal number.

    Examples
    --------
    >>> parse_number(" 6.5 ")
    6.5
    >>> parse_number("6_5")
    Traceback (most recent call last):
    ...
    ValueError: '6_5' is not a number (an underscore or a non-ASCII character)
    """
    text = str(text).strip()
    if "_" in text or not text.isascii():
        raise ValueError(f"{text!r} is not a number (an underscore or a non-ASCII character)")
    return float(text)


# --------------------------------------------------------------------------- value parsers
_MAX_LISTED = 10


def patient_labels(ids, n):
    """Patient ids as strings, or ``sample <i>`` when there are none."""
    return [str(i) for i in ids] if ids is not None else [f"sample {i}" for i in range(n)]


def listing(items):
    """``"a, b, c"``, the first ten items and how many more (for error messages)."""
    items = list(items)
    text = ", ".join(str(i) for i in items[:_MAX_LISTED])
    if len(items) > _MAX_LISTED:
        text += f" and {len(items) - _MAX_LISTED} more"
    return text


def is_missing(value):
    """True for None, NaN, ``pd.NA``, ``pd.NaT`` and blank strings."""
    import numpy as np
    import pandas as pd
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isnan(value)


_TRUE = {"true", "1", "1.0", "yes", "y", "t"}
_FALSE = {"false", "0", "0.0", "no", "n", "f"}


def parse_boolean(values, *, column, ids=None):
    """THE boolean parser of the package: the loader and the clinical encoder use it.

    ``True/False``, ``1/0``, ``yes/no``, ``t/f``, ``y/n`` (any case, surrounding
    spaces ignored) and Python/numpy booleans; missing values (None, NaN, blank) become
    NaN.

    Parameters
    ----------
    values : sequence
    column : str
        Named in the error message.
    ids : sequence, optional
        Patient ids, named in the error message (row numbers otherwise).

    Returns
    -------
    ndarray of float64
        1.0, 0.0 or NaN.

    Raises
    ------
    ValueError
        Naming the column and each patient with an invalid value.

    Examples
    --------
    >>> from sarcoma_survival.utils.validation import parse_boolean
    >>> parse_boolean(["Yes", 0, None, True], column="neoadjuvant_chemo").tolist()
    [1.0, 0.0, nan, 1.0]
    """
    import numpy as np
    values = list(values)
    labels = patient_labels(ids, len(values))
    out = np.full(len(values), np.nan)
    bad = []
    for i, value in enumerate(values):
        if is_missing(value):
            continue
        if isinstance(value, (bool, np.bool_)):
            out[i] = float(value)
            continue
        if isinstance(value, numbers.Real) and value in (0, 1):
            out[i] = float(value)
            continue
        text = str(value).strip().lower()
        if text in _TRUE:
            out[i] = 1.0
        elif text in _FALSE:
            out[i] = 0.0
        else:
            bad.append(f"{labels[i]} ({value!r})")
    if bad:
        raise ValueError(
            f"column {column!r} must be boolean (True/False, 1/0, yes/no); invalid value for "
            f"patient(s): {listing(bad)}"
        )
    return out


def _category_key(value):
    if isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer():
        value = int(value)
    return re.sub(r"[\s_\-]+", "", str(value).strip().lower())


def _histology_key(value):
    return " ".join(re.sub(r"[\s_\-/]+", " ", str(value).lower()).split())


#: Histology comparison key -> canonical name: the canonical names themselves, then the synonyms.
_HISTOLOGY_LOOKUP = {**{_histology_key(name): name for name in HISTOLOGY_NAMES}, **HISTOLOGY_SYNONYMS}


def canonical_histology(value):
    """THE canonical spelling of a histology subtype (free text, never an error).

    Lower case with runs of spaces collapsed; a known subtype, compared ignoring spaces,
    hyphens, underscores and slashes, gets its name in
    :data:`sarcoma_survival._schema.HISTOLOGY_NAMES`, and a former or alternative name its
    current one (:data:`sarcoma_survival._schema.HISTOLOGY_SYNONYMS`: ``"MFH"`` ->
    ``"undifferentiated pleomorphic sarcoma"``). Any other text is kept, lower-cased.

    Examples
    --------
    >>> from sarcoma_survival.utils.validation import canonical_histology
    >>> canonical_histology("MFH"), canonical_histology("Myxoid/round cell liposarcoma")
    ('undifferentiated pleomorphic sarcoma', 'myxoid liposarcoma')
    >>> canonical_histology("  Clear  Cell Sarcoma")
    'clear cell sarcoma'
    """
    return _HISTOLOGY_LOOKUP.get(_histology_key(value), " ".join(str(value).split()).lower())


def canonical_categories(values, *, column, ids=None):
    """THE canonical spelling of categorical values (loader and every estimator).

    Closed-set schema columns (``sex``, ``tumor_depth``, ``grade``, ``location``,
    ``rt_timing``) are matched ignoring case, spaces, hyphens and underscores
    (``"High"`` -> ``"high"``, ``"Upper Extremity"`` -> ``"upper_extremity"``,
    ``"pre-op"`` -> ``"preop"``) and through the synonyms of
    :data:`sarcoma_survival._schema.CATEGORY_SYNONYMS` (``"female"`` -> ``"F"``; grade
    ``1`` -> ``"low"``, ``2``, ``3``, ``"grade 3"``, ``"dedifferentiated"`` ->
    ``"high"``); any other value is an error. ``histology`` is free text, lower-cased with
    runs of spaces collapsed, and former subtype names get their current one
    (:func:`canonical_histology`: ``"MFH"`` -> ``"undifferentiated pleomorphic sarcoma"``).
    Other columns are stripped strings.
    Missing values become NaN.

    Parameters
    ----------
    values : sequence
    column : str
    ids : sequence, optional
        Patient ids, named in the error message.

    Returns
    -------
    ndarray of object
        Canonical strings, NaN for missing values.

    Raises
    ------
    ValueError
        For a closed-set column, naming each patient and value that is not an allowed
        category, and the allowed values.

    Examples
    --------
    >>> from sarcoma_survival.utils.validation import canonical_categories
    >>> canonical_categories(["High", "grade 1", None], column="grade").tolist()
    ['high', 'low', nan]
    >>> canonical_categories(["  Myxoid  Liposarcoma", "MFH"], column="histology").tolist()
    ['myxoid liposarcoma', 'undifferentiated pleomorphic sarcoma']
    """
    import numpy as np
    values = list(values)
    labels = patient_labels(ids, len(values))
    out = np.empty(len(values), dtype=object)
    allowed = CATEGORIES.get(column)
    lookup = None
    if allowed is not None:
        lookup = {_category_key(a): a for a in allowed}
        lookup.update(CATEGORY_SYNONYMS.get(column, {}))
    bad = []
    for i, value in enumerate(values):
        if is_missing(value):
            out[i] = np.nan
        elif lookup is not None:
            out[i] = lookup.get(_category_key(value))
            if out[i] is None:
                bad.append(f"patient {labels[i]}: {value!r}")
        elif column == "histology":
            out[i] = canonical_histology(value)
        elif column in FREE_CATEGORICAL_COLUMNS:
            out[i] = " ".join(str(value).split()).lower()
        else:
            out[i] = str(value).strip()
    if bad:
        raise ValueError(
            f"unknown category in column {column!r} ({listing(bad)}); allowed values: "
            f"{', '.join(allowed)} (any case; or empty for missing)"
        )
    return out


def check_plausible(values, *, column, ids=None, kind=None):
    """Refuse numeric values outside the documented plausible range of ``column``.

    Ranges: :data:`sarcoma_survival._schema.PLAUSIBLE_RANGES` (age 0-120 years, tumour
    size (0, 100] cm, volume (0, 100 000] cm³, outcome times (0, 36 525] days, that is
    100 years). Columns without a range are returned unchanged.

    Parameters
    ----------
    values : array-like of float
        NaN (missing) is accepted.
    column : str
        Column name, in the message and to find the range (unless ``kind`` is given).
    ids : sequence, optional
    kind : str, optional
        Key of the range, for example ``"time_days"`` for ``os_time``.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    ValueError
        Naming the column, the patients and their values, and the range.

    Examples
    --------
    >>> from sarcoma_survival.utils.validation import check_plausible
    >>> check_plausible([250.0], column="age", ids=["P1"])
    Traceback (most recent call last):
    ...
    ValueError: column 'age': patient(s) P1 (250) outside the plausible range [0, 120] (a data-entry or unit error?)
    """
    import numpy as np
    values = np.asarray(values, dtype=float)
    key = column if kind is None else kind
    if key not in PLAUSIBLE_RANGES:
        return values
    low, high = PLAUSIBLE_RANGES[key]
    with np.errstate(invalid="ignore"):
        below = values <= low if key in POSITIVE_COLUMNS else values < low
        bad = below | (values > high)
    if bad.any():
        labels = patient_labels(ids, len(values))
        opening = "(" if key in POSITIVE_COLUMNS else "["
        listed = listing(f"{labels[i]} ({values[i]:g})" for i in np.flatnonzero(bad))
        raise ValueError(
            f"column {column!r}: patient(s) {listed} outside the plausible range "
            f"{opening}{low:g}, {high:g}] (a data-entry or unit error?)"
        )
    return values


# --------------------------------------------------------------------------- "auto" encoding


def check_patient_id(patient, *, where=None):
    """Return ``patient`` as a string, or raise when it cannot be part of a file name.

    Refused: empty ids, path separators (``/``, ``\\``), ``..``, NUL and other control
    characters.

    Parameters
    ----------
    patient : object
        The id (converted with ``str``).
    where : str, optional
        Prefix of the error message (for example the manifest and its CSV line).

    Returns
    -------
    str

    Raises
    ------
    ValueError
        One line naming the id and what is wrong with it.

    Examples
    --------
    >>> check_patient_id("STS_001")
    'STS_001'
    >>> check_patient_id("../../x")
    Traceback (most recent call last):
    ...
    ValueError: patient id '../../x' contains '/'; ids become file names, ...
    """
    text = str(patient)
    prefix = f"{where}: " if where else ""
    if not text.strip():
        raise ValueError(f"{prefix}empty patient id")
    bad = next((s for s in ("/", "\\", "..") if s in text), None)
    if bad is None and any(ord(c) < 32 or ord(c) == 127 for c in text):
        bad = "a control character (NUL, tab, newline...)"
    elif bad is not None:
        bad = repr(bad)
    if bad is None:
        return text
    raise ValueError(
        f"{prefix}patient id {text!r} contains {bad}; ids become file names, so they may not "
        "contain path separators, '..' or control characters"
    )
