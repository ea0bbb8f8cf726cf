"""The manifest builder: a folder tree of patients (DICOM, RTSTRUCT/SEG, NIfTI) -> manifest CSV + report."""
from __future__ import annotations

import os
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.utils import Bunch

from .._schema import (
    CLINICAL_COLUMNS,
    OUTCOME_COLUMNS,
    PATIENT_ID_COLUMN,
    TIME_ORIGIN_COLUMN,
    TIME_ORIGIN_NOT_STATED,
    canonical_time_origin,
    categorical_columns,
    check_patient_id,
)
from ..preprocessing import (
    ImageReadError,
    read_image,
    read_mask,
    tumor_largest_diameter_cm,
    tumor_volume_cm3,
)
from ..utils import atomic_path
from ._cohort import CohortError, _parse_outcome, load_cohort, parse_clinical_fields

#: Default rules: a regular expression per role, searched (case-insensitive) in a
#: candidate's text. ``t1`` and ``t2`` accept "T1"/"T2" not followed by a digit and not
#: preceded by a letter or digit ("AXIAL SE T1", "MR_T1_image", "t2_tse_fs"); STIR counts
#: as T2 (fat-suppressed). A file or series matching ``mask`` is a mask candidate, never
#: an image; every RTSTRUCT and SEG is a mask candidate whatever its text.
DEFAULT_RULES = {
    "t1": r"(?<![a-z0-9])t1(?![0-9])",
    "t2": r"(?<![a-z0-9])t2(?![0-9])|stir",
    "mask": r"mask|seg|label|roi|gtv|contour|rtstruct",
}

#: File name endings read as image files (anything else is tried as DICOM).
IMAGE_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")

#: What ``measure`` may be.
MEASURE_POLICIES = ("missing", "always", "never")

_OUTCOME_NAMES = tuple(column for pair in OUTCOME_COLUMNS.values() for column in pair)


@dataclass
class _Candidate:
    kind: str  # "series" (DICOM image series folder), "file" (NIfTI/NRRD/MHA), "RTSTRUCT", "SEG"
    path: Path
    text: str  # what the rules are searched in
    series_uid: str | None = None
    referenced_uid: str | None = None
    shared_folder: int = 1  # number of image series in the series' folder


def _referenced_series(ds):
    """The SeriesInstanceUID an RTSTRUCT or SEG was drawn on, when it says so."""
    try:
        if ds.Modality == "SEG":
            return str(ds.ReferencedSeriesSequence[0].SeriesInstanceUID)
        frame = ds.ReferencedFrameOfReferenceSequence[0]
        return str(frame.RTReferencedStudySequence[0].RTReferencedSeriesSequence[0].SeriesInstanceUID)
    except (AttributeError, IndexError, KeyError):
        return None


def _dicom_header(path, pydicom):
    """The DICOM header of ``path``, or None; a ``.dcm`` file without the DICM preamble (old
    exports) is read too, as GDCM reads it, when it holds the elements of an SOP instance."""
    try:
        return pydicom.dcmread(path, stop_before_pixels=True)
    except Exception:  # noqa: BLE001 (anything pydicom raises on a file that is not DICOM)
        pass
    if path.suffix.lower() != ".dcm":
        return None
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    except Exception:  # noqa: BLE001
        return None
    return ds if "SOPClassUID" in ds and "Modality" in ds else None


def _scan(folder):
    """(candidates, problems) of one patient folder, read recursively (headers only)."""
    import pydicom

    candidates, problems, series = [], [], {}
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in path.relative_to(folder).parts) or not path.is_file():
            continue
        if path.name.lower().endswith(IMAGE_SUFFIXES):
            candidates.append(_Candidate("file", path, relative))
            continue
        ds = _dicom_header(path, pydicom)
        if ds is None:  # not DICOM: notes, spreadsheets, licences, the data file of an .mhd
            if path.suffix.lower() == ".dcm":
                problems.append(f"file {relative!r} is not a readable DICOM file")
            continue
        modality = str(getattr(ds, "Modality", ""))
        description = str(getattr(ds, "SeriesDescription", ""))
        if modality in ("RTSTRUCT", "SEG"):
            candidates.append(_Candidate(modality, path, f"{description} | {relative}",
                                         series_uid=str(getattr(ds, "SeriesInstanceUID", "")) or None,
                                         referenced_uid=_referenced_series(ds)))
            continue
        uid = str(getattr(ds, "SeriesInstanceUID", "")) or f"(no SeriesInstanceUID) {path.parent}"
        series.setdefault((path.parent, uid), description)
    per_folder = pd.Series([parent for parent, _ in series]).value_counts().to_dict() if series else {}
    for (parent, uid), description in series.items():
        relative = parent.relative_to(folder).as_posix()
        candidates.append(_Candidate("series", parent, f"{description} | {relative}", series_uid=uid,
                                     shared_folder=per_folder[parent]))
    return candidates, problems


def _describe(candidate):
    return f"{candidate.text!r}" if candidate.kind != "file" else f"file {candidate.text!r}"


def _pick_images(candidates, pattern, mask_pattern):
    """The image candidates whose text matches ``pattern`` (masks excluded)."""
    return [c for c in candidates if c.kind in ("series", "file") and not mask_pattern.search(c.text)
            and pattern.search(c.text)]


def _pick_mask(candidates, t1, patterns):
    """The mask candidates, narrowed to the one drawn on the T1 when that is decidable."""
    masks = [c for c in candidates if c.kind in ("RTSTRUCT", "SEG")
             or (c.kind in ("series", "file") and patterns["mask"].search(c.text))]
    if len(masks) > 1 and t1.series_uid is not None:
        on_t1 = [c for c in masks if c.referenced_uid == t1.series_uid]
        if on_t1:
            masks = on_t1
        else:  # drop those that say they were drawn on another series
            masks = [c for c in masks if c.referenced_uid is None] or masks
    if len(masks) > 1:
        t1_named = [c for c in masks if patterns["t1"].search(c.text) and not patterns["t2"].search(c.text)]
        masks = t1_named or masks
    return masks


def _clinical_table(clinical, id_column, measured=()):
    """(rows by patient id, outcome columns present, where, cohort-level notes) of the clinical CSV.

    ``measured``: the clinical columns the builder fills from the masks when empty."""
    path = Path(clinical)
    where = f"clinical table {str(path)!r}"
    if not path.is_file():
        raise CohortError(f"{where}: file does not exist")
    try:
        table = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise CohortError(f"{where}: cannot be read as CSV ({exc})") from None
    table.columns = [str(c).strip() for c in table.columns]
    if id_column not in table.columns:
        raise CohortError(f"{where}: no {id_column!r} column (the patient ids, the names of the patient "
                          "folders); name it with id_column= (command line: --id-column)")
    ids = table[id_column].str.strip()
    duplicated = sorted(set(ids[ids.duplicated()]))
    if duplicated:
        raise CohortError(f"{where}: duplicate patient id(s): {', '.join(duplicated)}")
    for event, days in OUTCOME_COLUMNS.values():
        if (event in table.columns) != (days in table.columns):
            present, absent = (event, days) if event in table.columns else (days, event)
            raise CohortError(f"{where}: column {present!r} is present but {absent!r} is missing")
    notes = []
    absent = [c for c in CLINICAL_COLUMNS if c not in table.columns and c not in measured]
    if absent:
        notes.append(f"clinical column(s) absent from the clinical table, left empty: {', '.join(absent)}")
    from_masks = [c for c in measured if c not in table.columns]
    if from_masks:
        notes.append(f"clinical column(s) absent from the clinical table, measured from the masks: "
                     f"{', '.join(from_masks)}")
    ignored = [c for c in table.columns if c not in (id_column, *CLINICAL_COLUMNS, *_OUTCOME_NAMES)]
    if ignored:
        notes.append(f"column(s) of the clinical table not copied to the manifest: {', '.join(ignored)}")
    rows = {pid: row for pid, (_, row) in zip(ids, table.iterrows())}
    return rows, [c for c in _OUTCOME_NAMES if c in table.columns], where, notes


def _patient(folder, patient, *, patterns, sequences, roi_name, mask_label, measure, convention, row, where_clinical):
    """One patient: (manifest row or None, [(severity, problem)])."""
    problems = []
    candidates, scan_problems = _scan(folder)
    problems += [("warning", p) for p in scan_problems]
    chosen = {}
    for role in sequences:
        found = _pick_images(candidates, patterns[role], patterns["mask"])
        if not found:
            shown = "; ".join(_describe(c) for c in candidates if c.kind in ("series", "file")) or "none"
            problems.append(("excluded", f"no {role.upper()} image matches the {role} rule "
                                         f"{patterns[role].pattern!r} (images found: {shown})"))
        elif len(found) > 1:
            problems.append(("excluded", f"{len(found)} {role.upper()} candidates: "
                                         f"{'; '.join(_describe(c) for c in found)}; narrow the {role} rule"))
        else:
            chosen[role] = found[0]
    for role, candidate in chosen.items():
        if candidate.kind == "series" and candidate.shared_folder > 1:
            problems.append(("excluded", f"the {role.upper()} series {_describe(candidate)} shares its folder with "
                                         f"{candidate.shared_folder - 1} other series; put each series in a "
                                         "folder of its own (one series per folder is what the readers take)"))
            return None, problems
    if "t1" in chosen and chosen["t1"] is chosen.get("t2"):
        problems.append(("excluded", f"{_describe(chosen['t1'])} matches both the t1 and the t2 rule"))
        return None, problems
    if "t1" not in chosen:
        return None, problems
    masks = _pick_mask(candidates, chosen["t1"], patterns)
    if not masks:
        problems.append(("excluded", f"no mask: no RTSTRUCT, no SEG and no file matching the mask rule "
                                     f"{patterns['mask'].pattern!r}"))
        return None, problems
    if len(masks) > 1:
        problems.append(("excluded", f"{len(masks)} mask candidates: {'; '.join(_describe(c) for c in masks)}; "
                                     "narrow the mask rule"))
        return None, problems
    if len(chosen) < len(sequences):
        return None, problems
    paths = {role: chosen[role].path for role in sequences}
    paths["mask"] = masks[0].path
    try:  # read as every estimator will (the readers' policy), so a broken file shows here
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            t1 = read_image(paths["t1"], patient=patient, column="t1")
            if "t2" in paths:
                read_image(paths["t2"], patient=patient, column="t2")
            mask = read_mask(paths["mask"], t1, label=mask_label, roi_name=roi_name, patient=patient)
        problems += [("warning", str(w.message).splitlines()[0]) for w in caught]
    except ImageReadError as exc:
        problems.append(("excluded", str(exc).splitlines()[0]))
        return None, problems
    fields = dict(row) if row is not None else {}
    for column, measured in (("tumor_size_cm", lambda: tumor_largest_diameter_cm(mask, convention=convention)),
                             ("tumor_volume_cm3", lambda: tumor_volume_cm3(mask))):
        empty = not str(fields.get(column, "")).strip()
        if measure == "always" or (measure == "missing" and empty):
            fields[column] = f"{measured():.6g}"
    try:
        parsed = parse_clinical_fields({c: fields.get(c, "") for c in CLINICAL_COLUMNS}, patient=patient,
                                       where=where_clinical)
        for column in categorical_columns(CLINICAL_COLUMNS):  # canonical spelling ("MFH" -> its WHO name)
            value = parsed[column].iloc[0]
            fields[column] = "" if pd.isna(value) else value
        for outcome in OUTCOME_COLUMNS:
            names = OUTCOME_COLUMNS[outcome]
            if names[0] in fields:
                _parse_outcome(pd.DataFrame({n: [fields[n]] for n in names}), outcome, [patient], where_clinical)
    except CohortError as exc:
        problems.append(("excluded", str(exc)))
        return None, problems
    out = {PATIENT_ID_COLUMN: patient, **{c: fields.get(c, "") for c in CLINICAL_COLUMNS}}
    out.update({role: paths[role] for role in (*sequences, "mask")})
    out.update({c: fields[c] for c in _OUTCOME_NAMES if c in fields})
    return out, problems


def build_manifest(root, output, *, clinical=None, id_column=PATIENT_ID_COLUMN, rules=None, sequences=("t1", "t2"),
                   roi_name="GTV_Mass", mask_label=None, measure="missing", diameter="centers", report=None,
                   verbose=False, time_origin=None):
    """Build a manifest CSV from a folder tree with one folder per patient.

    Each sub-folder of ``root`` is a patient (its name is the patient id). Inside it, in
    any sub-folders, the builder finds the DICOM image series (one series per folder),
    DICOM RTSTRUCT and SEG files, and NIfTI/NRRD/MHA files; matches the T1, the T2 and the
    mask by ``rules``; reads each chosen image with the toolkit's readers (so that an
    unreadable, truncated or refused file shows here, not at ``fit``); merges the clinical
    table; and writes the manifest that :func:`load_cohort` reads, with image paths
    relative to the manifest's folder, plus a report of every patient left out and why.

    Parameters
    ----------
    root : str or Path
        Folder holding one folder per patient.
    output : str or Path
        Manifest CSV to write.
    clinical : str or Path, optional
        Clinical CSV with an ``id_column`` and any of the schema's clinical and outcome
        columns (``os_event, os_time, dm_event, dm_time``); other columns are not copied
        (the report names them). Without it, the clinical columns are left empty and the
        manifest has no outcomes (prediction only). With it, a patient without a row and
        a row without a folder are reported.
    id_column : str, default="patient_id"
        Patient id column of ``clinical``.
    rules : dict, optional
        Regular expressions by role, ``{"t1": ..., "t2": ..., "mask": ...}``, searched
        case-insensitively; a role left out keeps its default: ``t1``
        ``(?<![a-z0-9])t1(?![0-9])``, ``t2`` ``(?<![a-z0-9])t2(?![0-9])|stir``, ``mask``
        ``mask|seg|label|roi|gtv|contour|rtstruct``. The text searched
        is ``"<SeriesDescription> | <folder>"`` for a DICOM series, RTSTRUCT or SEG and the
        path inside the patient folder for a file (``"MR/T1_post.nii.gz"``). A candidate
        matching the mask rule is never an image.
    sequences : tuple, default=("t1", "t2")
        The images every patient must have; ``("t1",)`` for a T1-only cohort.
    roi_name : str, default="GTV_Mass"
        ROI of an RTSTRUCT, or segment of a SEG holding several (as
        ``VolumePreprocessor(roi_name=...)``, which must then be given the same name).
    mask_label : int, optional
        Tumour label of a multi-label mask file.
    measure : {"missing", "always", "never"}, default="missing"
        Fill ``tumor_size_cm`` (largest 3D diameter) and ``tumor_volume_cm3`` from the
        mask on the T1 grid with :func:`~sarcoma_survival.preprocessing.tumor_largest_diameter_cm`
        and :func:`~sarcoma_survival.preprocessing.tumor_volume_cm3`: only where the
        clinical table leaves them empty, always, or never. Mixing pathological sizes
        with imaging sizes in one cohort mixes two measurements (see the functions' notes).
    diameter : {"centers", "corners"}, default="centers"
        ``convention`` of the diameter.
    report : str or Path, optional
        Report CSV (``patient_id, status, problem``; status ``excluded`` or ``warning``);
        default: ``<manifest stem>-report.csv`` next to the manifest.
    verbose : bool, default=False
        Print one line per patient (on stderr): its number, id, outcome and time.
    time_origin : str, optional
        The day 0 of the outcome times (``"surgery"``, ``"biopsy"``, ...; see the user
        guide's time origin), written as the manifest's ``time_origin`` column. ``None``:
        no column (the cohort's time origin is then "not stated").

    Returns
    -------
    Bunch
        ``table`` (the manifest as written, patient ids as rows), ``problems`` (the
        report), ``manifest`` and ``report`` (their paths).

    Raises
    ------
    CohortError
        ``root`` is not a folder, the clinical table cannot be read or lacks its id column,
        a rule is not a valid regular expression, or no patient is complete.

    Examples
    --------
    >>> from sarcoma_survival.datasets import build_manifest
    >>> built = build_manifest("hospital/", "manifest.csv", clinical="clinical.csv")  # doctest: +SKIP
    >>> built.problems  # doctest: +SKIP
    """
    try:
        time_origin = canonical_time_origin(time_origin)
    except ValueError as exc:
        raise CohortError(str(exc)) from None
    root = Path(root)
    output = Path(output).resolve()
    report = Path(report).resolve() if report is not None else output.with_name(f"{output.stem}-report.csv")
    if not root.is_dir():
        raise CohortError(f"patient folder tree {str(root)!r} is not a folder")
    if measure not in MEASURE_POLICIES:
        raise ValueError(f"measure must be one of {MEASURE_POLICIES}, got {measure!r}")
    unknown = [s for s in sequences if s not in ("t1", "t2")] + [r for r in (rules or {}) if r not in DEFAULT_RULES]
    if unknown or "t1" not in sequences:
        raise ValueError(f"sequences must hold 't1' (and may hold 't2') and rules may name t1, t2, mask; "
                         f"got {list(sequences)} and {sorted(rules or {})}")
    patterns = {}
    for role, default in DEFAULT_RULES.items():
        text = (rules or {}).get(role, default)
        try:
            patterns[role] = re.compile(text, re.IGNORECASE)
        except re.error as exc:
            raise CohortError(f"the {role} rule {text!r} is not a regular expression ({exc})") from None
    rows, outcome_columns, where_clinical, notes = {}, [], "clinical table", []
    if clinical is not None:
        measured = () if measure == "never" else ("tumor_size_cm", "tumor_volume_cm3")
        rows, outcome_columns, where_clinical, notes = _clinical_table(clinical, id_column, measured)
    problems = [("(cohort)", "warning", note) for note in notes]
    records = []
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    for number, folder in enumerate(folders, start=1):
        start = time.perf_counter()
        try:
            patient = check_patient_id(folder.name, where=f"folder {str(folder)!r}")
        except ValueError as exc:
            found, record, patient = [("excluded", str(exc))], None, folder.name
        else:
            if clinical is not None and patient not in rows:
                found, record = [("excluded", f"no row in the clinical table (column {id_column!r})")], None
            else:
                record, found = _patient(folder, patient, patterns=patterns, sequences=tuple(sequences),
                                         roi_name=roi_name, mask_label=mask_label, measure=measure,
                                         convention=diameter, row=rows.get(patient), where_clinical=where_clinical)
        problems += [(patient, severity, problem) for severity, problem in found]
        if record is not None:
            records.append(record)
        if verbose:
            outcome = "ok" if record is not None else f"left out: {found[-1][1]}"
            print(f"[{number}/{len(folders)}] {patient}: {outcome} ({time.perf_counter() - start:.1f} s)",
                  file=sys.stderr, flush=True)
    names = {f.name for f in folders}
    problems += [(pid, "excluded", f"in the clinical table but no folder {pid!r} under {str(root)!r}")
                 for pid in rows if pid not in names]
    problem_table = pd.DataFrame(problems, columns=[PATIENT_ID_COLUMN, "status", "problem"])
    with atomic_path(report) as tmp:
        problem_table.to_csv(tmp, index=False)
    if not records:
        raise CohortError(f"no patient of {str(root)!r} is complete ({len(folders)} folder(s)); "
                          f"see the report {str(report)!r}")
    table = pd.DataFrame(records)
    for role in (*sequences, "mask"):
        table[role] = [os.path.relpath(p, output.parent) for p in table[role]]
    table = table[[PATIENT_ID_COLUMN, *CLINICAL_COLUMNS, *sequences, "mask", *outcome_columns]]
    if time_origin != TIME_ORIGIN_NOT_STATED:
        table[TIME_ORIGIN_COLUMN] = time_origin
    with atomic_path(output) as tmp:
        table.to_csv(tmp, index=False)
    load_cohort(output)  # what it wrote is what the loader reads
    return Bunch(table=table.set_index(PATIENT_ID_COLUMN), problems=problem_table, manifest=output, report=report)
