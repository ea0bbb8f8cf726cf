"""Loader of the real 51-patient TCIA Soft-tissue-Sarcoma cohort (T1 MRI + mask + outcomes)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch
from sksurv.util import Surv

from .._schema import CLINICAL_COLUMNS, TIME_ORIGIN_COLUMN
from ..competing_risks import dm_competing_y
from ..preprocessing import tumor_largest_diameter_cm

#: ``site_region`` of ``clinical.csv`` -> schema ``location``. Buttock tumours are
#: counted with the lower limb (limb girdle, as in extremity-sarcoma series); pelvis/groin
#: and the parascapular trunk tumours are counted as axial.
SITE_REGION_TO_LOCATION = {
    "thigh": "lower_extremity",
    "knee/lower leg": "lower_extremity",
    "buttock": "lower_extremity",
    "upper limb": "upper_extremity",
    "pelvis/groin": "axial",
    "trunk (parascapular)": "axial",
}

#: Sheet grade -> schema grade (high = grade 2 or 3, as the cohort schema of the user guide).
GRADE_MAP = {"Low": "low", "Intermediate": "high", "High": "high"}

#: Sheet sex -> schema sex.
SEX_MAP = {"Female": "F", "Male": "M"}

#: "MSKCC type" -> histology name. MFH (malignant fibrous histiocytoma) is the former
#: name of undifferentiated pleomorphic sarcoma.
HISTOLOGY_MAP = {
    "MFH": "undifferentiated pleomorphic sarcoma",
    "Liposarcoma": "liposarcoma",
    "Leiomyosarcoma": "leiomyosarcoma",
    "Synovial sarcoma": "synovial sarcoma",
    "Extraskeletal bone sarcoma": "extraskeletal bone sarcoma",
    "Fibrosarcoma": "fibrosarcoma",
    "Other": "other",
}

_REQUIRED = (
    "patient_id", "age", "sex", "histology", "grade", "site_region",
    "os_event", "os_time_days", "dm_event", "dm_time_days", "mask_volume_cm3",
)

def _default_folder():
    env = os.environ.get("SARCOMA_SURVIVAL_VALIDATION")
    if env:
        return Path(env) / "sts_tcia"
    return Path(__file__).resolve().parents[2].parent / "shared" / "validation" / "sts_tcia"


def load_tcia_sts(folder=None):
    """Load the real TCIA Soft-tissue-Sarcoma cohort (51 patients, T1 MRI only).

    Reads ``clinical.csv`` and ``nifti/STS_xxx/MR_T1_{image,mask}.nii.gz`` from the
    validation bundle and maps them onto the cohort schema of the toolkit, so that every
    estimator runs on it unchanged.

    Parameters
    ----------
    folder : str or Path, optional
        The ``sts_tcia`` folder. Default: ``$SARCOMA_SURVIVAL_VALIDATION/sts_tcia`` when
        that variable is set, else ``<repository>/../shared/validation/sts_tcia``.

    Returns
    -------
    Bunch
        ``X`` : DataFrame indexed by patient id (``STS_001`` ...) with the 11 clinical
        columns of the schema plus ``t1`` and ``mask`` (absolute paths; no ``t2``).
        ``y_os``, ``y_dm`` : structured survival arrays (``event``, ``time`` in days).
        ``y_dm_competing`` : DM with death without DM as competing cause 2.
        ``clinical`` : the full ``clinical.csv`` table, indexed by patient id (outcome
        details, verbatim sheet values, ``lung_mets`` ...). ``DESCR`` : this mapping.

    Raises
    ------
    FileNotFoundError
        If the folder, ``clinical.csv`` or a patient's image or mask is missing (the
        message names the patient and file).
    ValueError
        If ``clinical.csv`` lacks a needed column or holds an unknown category.

    Notes
    -----
    How the sheet becomes the schema:

    * ``sex``: Female/Male -> ``"F"``/``"M"``.
    * ``grade``: Intermediate and High -> ``"high"``, Low -> ``"low"``; ``N/A`` (3
      patients) -> NaN.
    * ``histology``: the sheet's "MSKCC type" grouping, lower-cased; MFH is named
      ``"undifferentiated pleomorphic sarcoma"`` (see :data:`HISTOLOGY_MAP`).
    * ``location`` from ``site_region``: thigh, knee/lower leg and buttock ->
      ``"lower_extremity"``; upper limb -> ``"upper_extremity"``; pelvis/groin and
      trunk (parascapular) -> ``"axial"``.
    * ``tumor_volume_cm3``: the mask volume (``mask_volume_cm3``).
    * ``tumor_size_cm``: not in the sheet; measured here as the largest 3D diameter of the
      tumour mask between voxel centres
      (:func:`~sarcoma_survival.preprocessing.tumor_largest_diameter_cm`, the default
      ``convention="centers"``): an imaging size, not the pathological size Sarculator
      was built on, and about one voxel smaller than the voxelised tumour.
    * ``neoadjuvant_chemo``: NaN. The sheet records only whether a patient had
      chemotherapy at some point (``clinical["treat_chemotherapy"]``), not when. It
      must not stand in for neoadjuvant chemotherapy: 17 of the 21 patients with
      chemotherapy had a distant metastasis against 7 of the 30 without, which suggests
      much of it treated the metastases, i.e. it is partly an *outcome*; used as a
      predictor it leaks the DM label (apparent Harrell C 0.70 for DM on its own).
    * ``tumor_depth``, ``mets_at_presentation``, ``rt_timing``: not recorded -> NaN.
    * Outcomes: ``y_os`` from ``os_event`` / ``os_time_days`` (15 deaths), ``y_dm`` from
      ``dm_event`` / ``dm_time_days`` (24 distant metastases; local/regional recurrences
      are censored for DM). ``y_dm_competing``: DM with death as a competing risk
      (see :func:`~sarcoma_survival.competing_risks.competing_y`); only 1 of the 51
      patients died without a metastasis before it (cause 2), so on this cohort the
      competing-risks incidence of DM differs little from the death-censored one.

    Caveats (from the bundle's README): the images are T1 only and spin-echo, **probably
    not post-contrast**, and there is no T2 fat-sat; they were preprocessed by the IBSI
    team (N4 bias-field correction, normalisation to subcutaneous fat, cropped 5 cm
    around the tumour, resampled onto the PET/CT grid, 3.27 mm slices), so intensities and
    field of view differ from raw MR. n = 51 with 15 OS and 24 DM events: this checks the
    mechanics of a pipeline and gives only a weak signal, not a benchmark. Only the first
    outcome of each patient is recorded; time zero is the biopsy (diagnosis), not the MRI:
    ``X`` has a ``time_origin`` column ``"biopsy"`` (and the bunch a ``time_origin`` key), so
    models fitted on it say so (``time_origin_``, see the cohort page of the user guide).

    Please cite the TCIA collection (Vallières et al. 2015, doi:10.7937/K9/TCIA.2015.7GO2GSKS),
    the study (Phys Med Biol 60:5471) and IBSI (Radiology 2020;295:328) when using it.

    Examples
    --------
    >>> from sarcoma_survival.datasets import load_tcia_sts
    >>> cohort = load_tcia_sts()  # doctest: +SKIP
    >>> cohort.X.shape, int(cohort.y_os["event"].sum())  # doctest: +SKIP
    ((51, 13), 15)
    """
    folder = Path(folder) if folder is not None else _default_folder()
    if not folder.is_dir():
        raise FileNotFoundError(
            f"TCIA STS folder not found: {str(folder)!r}; pass folder= or set "
            "SARCOMA_SURVIVAL_VALIDATION to the validation bundle"
        )
    csv = folder / "clinical.csv"
    if not csv.is_file():
        raise FileNotFoundError(f"clinical table not found: {str(csv)!r}")
    table = pd.read_csv(csv, dtype={"patient_id": str})
    missing = [c for c in _REQUIRED if c not in table.columns]
    if missing:
        raise ValueError(f"{csv}: missing columns {missing}")
    table = table.set_index("patient_id")
    table.index.name = "patient_id"

    def mapped(column, mapping):
        values = table[column]
        unknown = sorted(set(values.dropna()) - set(mapping))
        if unknown:
            raise ValueError(f"{csv}: unknown values {unknown} in column {column!r}")
        return values.map(mapping)

    X = pd.DataFrame(index=table.index)
    X["age"] = table["age"].astype(float)
    X["sex"] = mapped("sex", SEX_MAP)
    X["tumor_size_cm"] = np.nan
    X["tumor_depth"] = np.nan
    X["grade"] = mapped("grade", GRADE_MAP)
    X["histology"] = mapped("histology", HISTOLOGY_MAP)
    X["location"] = mapped("site_region", SITE_REGION_TO_LOCATION)
    X["tumor_volume_cm3"] = table["mask_volume_cm3"].astype(float)
    X["neoadjuvant_chemo"] = np.nan
    X["mets_at_presentation"] = np.nan
    X["rt_timing"] = np.nan
    for column in ("tumor_depth", "rt_timing"):
        X[column] = X[column].astype(object)
    X = X[list(CLINICAL_COLUMNS)]

    t1_paths, mask_paths, sizes = [], [], []
    for patient in X.index:
        base = (folder / "nifti" / patient).resolve()
        t1, mask = base / "MR_T1_image.nii.gz", base / "MR_T1_mask.nii.gz"
        for path in (t1, mask):
            if not path.is_file():
                raise FileNotFoundError(f"patient {patient}: file {str(path)!r} not found")
        sizes.append(tumor_largest_diameter_cm(mask, patient=patient))
        t1_paths.append(str(t1))
        mask_paths.append(str(mask))
    X["tumor_size_cm"] = sizes
    X["t1"] = t1_paths
    X["mask"] = mask_paths
    X[TIME_ORIGIN_COLUMN] = "biopsy"  # the sheet's times run from the biopsy (diagnosis)

    y_os = Surv.from_arrays(table["os_event"].astype(bool).to_numpy(),
                            table["os_time_days"].astype(float).to_numpy())
    y_dm = Surv.from_arrays(table["dm_event"].astype(bool).to_numpy(),
                            table["dm_time_days"].astype(float).to_numpy())
    return Bunch(X=X, y_os=y_os, y_dm=y_dm, y_dm_competing=dm_competing_y(y_os, y_dm),
                 clinical=table, time_origin="biopsy", DESCR=load_tcia_sts.__doc__)
