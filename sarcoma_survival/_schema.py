"""The cohort table schema (the user guide's "The cohort table" page). Column names here are public API.

Booleans (``neoadjuvant_chemo``, ``mets_at_presentation``) are held as float 1.0 / 0.0
so that a missing value can be NaN in the same column; categoricals are held as strings
with NaN for missing values; image columns hold absolute file or folder paths.
"""
from __future__ import annotations

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
