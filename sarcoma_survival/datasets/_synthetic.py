"""The built-in synthetic cohort: real NIfTI files, a manifest, and the true risks.

This docstring is the authoritative description of the generative model. Every
number a user obtains from this cohort is **simulated**; none is a clinical
finding.

Patients and clinical variables
-------------------------------
Each patient is drawn independently. The marginals follow Table 1 of Bozzo et al.
(npj Precision Oncology 8:188, 2024) as summarized in the project's issue 2:
age ~ Normal(55.5, 18.0) clipped to [18, 92] years (simulated mean about 55.6,
SD about 17.3; paper 55.7 / 17.4); 42.5 % female; 90 % deep; largest diameter
log-normal with median 9.6 cm (deep) or 5.0 cm (superficial), log-SD 0.5,
clipped to [1.5, 35] cm (overall median about 9.1 cm); location 68 % lower
extremity, 18.5 % upper extremity, 13.5 % axial; 46 % pre-operative RT; 8 %
metastases at presentation (an assumption: not in the issue's summary);
neoadjuvant chemotherapy about 33 %, more likely for large high-grade tumors.
Histology subtypes (:data:`~._synthetic_model.HISTOLOGY_FREQUENCIES`) are an
**approximation**: the stored copy of the paper did not expose Table 2, so the
frequencies are those typical of extremity/trunk sarcoma series (pleomorphic
sarcoma 30 %, myxofibrosarcoma 17 %, myxoid liposarcoma 10 %, synovial sarcoma
9 %, leiomyosarcoma 9 %, ...). Grade is "high" for about 93 %, with low grade
more frequent in myxoid liposarcoma (25 %) and myxofibrosarcoma (12 %).
The tumor is an ellipsoid whose long axis (``tumor_size_cm``) runs roughly along
the limb and whose two short axes are 0.5-0.95 times it, so
``tumor_volume_cm3 = pi/6 * size**3 * rx * ry``. After the outcomes are drawn,
about 1-2 % of ``tumor_depth``, ``grade``, ``neoadjuvant_chemo`` and
``rt_timing`` are blanked (missing completely at random); the true values drive
the hazards and the images.

Image-only tumor properties (``latent``)
-----------------------------------------
Drawn independently of every clinical column, so that no clinical variable
reveals them:

* ``z_necrosis`` ~ N(0, 1) sets the necrotic fraction of the tumor volume,
  ``necrotic_fraction = 0.55 * sigmoid(logit(0.2 / 0.55) + z_necrosis)``
  (median 0.20, 95 % range about 0.04-0.45). This is the **histogram
  component**: necrosis is dark on T1 post-contrast and bright on T2 fat-sat,
  so it moves the tumor's global intensity histogram and first-order radiomics
  see it.
* ``z_pattern`` ~ N(0, 1) sets ``scatter = Phi(z_pattern)`` in (0, 1): 0 is one
  compact necrotic core at the center, 1 is several scattered necrotic foci. The
  necrotic region is the top ``necrotic_fraction`` of a field
  ``-(1 - scatter) * 2 * r**2 + scatter * F(u)`` inside 85 % of the tumor
  radius, with ``F`` a smooth random field whose length scale shrinks from 0.55
  to 0.25 tumor radii as ``scatter`` grows. The necrotic *volume* does not
  depend on ``scatter``: this is the **spatial component**. First-order
  (histogram) features see it only through partial-volume voxels at the
  necrosis boundary; texture features and convolutional networks can see it.
* Nuisance properties without effect on the outcomes: enhancing-rim thickness
  (6-14 % of the radius), viable-tissue enhancement (x0.85-1.15 on T1), texture
  amplitude (3-10 %), orientation, lobulation, position, bias field, noise.

Hazards and outcomes
--------------------
For outcome ``k`` in {OS, DM} the true log-hazard ratio is
``risk_k = clinical_weight * clinical_risk_k + image_risk``, with
``image_risk = necrosis_weight * z_necrosis + pattern_weight * z_pattern``
(the same for OS and DM) and ``clinical_risk_k`` linear in age, log size,
grade, depth, metastases at presentation, sex, location and histology
(coefficients in :data:`~._synthetic_model.CLINICAL_COEFFICIENTS`; treatment
variables have no effect). Event times are Weibull proportional-hazards times
(OS: scale 0.0135 / year, shape 1.1; DM: scale 0.031, shape 0.9). Follow-up is
uniform on [0.5, 8] years (administrative censoring); DM is also censored at
death. At the default weights this gives about 31 % OS events and 39 % DM
events (69 % / 61 % censored) and a reverse Kaplan-Meier median follow-up of
about 4.2 years (simulated, 20 000 patients). Times are in days.

Competing risks. A metastasis never happens after death: DM is censored at death.
So death without DM competes with DM (about 17 % of patients at the default
weights: the sarcoma death hazard does not wait for a metastasis).
``competing_death_weight`` (default 0) adds deaths from other causes, with an
exponential hazard ``competing_death_weight * 0.02 / year * exp(0.08 * (age -
55))``, so that older patients die without DM; it shortens OS too. Its times come
from a random stream of their own, so that for a given ``random_state`` the
clinical table, the images and every outcome at weight 0 are those of earlier
versions (tested), and a positive weight changes only the deaths it adds. At
weight 1: 40 % OS events, 37 % DM events, 23 % deaths without DM (20 000
patients). The true cause-specific hazards and cumulative incidences (1 = DM, 2 =
death without DM) are returned as ``oracle``
(:class:`~._synthetic_model.CompetingRisksOracle`); ``y_dm_competing`` is the
observed competing-risks outcome.

Regime knobs
------------
``clinical_noise_columns`` (default 0) appends that many uninformative columns
``noise_01``, ... (standard normal, rounded to 2 decimals) to the observed clinical
table; they come from a random stream of their own (spawn key 2 of ``random_state``)
and enter no hazard, so a clinical network that reads them can only memorise them.
``necrosis_contrast`` (default 1) scales the intensity difference between necrosis and
viable tumor on T1 and T2 (the hazards do not change): below 1 the histogram signal is
fainter. At their defaults every file and value is that of earlier versions (tested).

Images
------
Per patient, on a T1 grid of ``image_size x image_size x round(image_size / 3)``
voxels (slices 3x thicker than the in-plane spacing), with a cubic field of view
that scales with the tumor (about twice its short diameter): a limb cross-section
(skin-side fat layer, muscle, cortical bone with fatty marrow) and the tumor
(viable tissue with smooth texture, an enhancing rim, necrosis) replacing muscle
(deep) or sitting in the fat layer and bulging out (superficial). Intensities
(arbitrary units, before bias and noise) are T1: fat 900, muscle 380, viable
tumor 600, rim 830, necrosis 210; T2 fat-sat: fat 110, muscle 200, viable 640,
rim 560, necrosis 1050. A slight blur, a smooth multiplicative quadratic bias
field (log-amplitude SD 0.12 per term, so N4 has work) and Rician noise (SD 14)
follow; images are stored as int16 ``.nii.gz``. The mask (uint8) lies on the T1
grid. The T2 image has its own grid: in-plane spacing x1.15, slice spacing x0.9,
its center shifted by up to 2 mm and its axes rotated 1-3 degrees about x; all
tissues are functions of physical coordinates, so T1 and T2 are physically
aligned.

Who can see what
----------------
Clinical models see ``clinical_risk`` only (minus the blanked values). The
histogram component is visible to first-order radiomics and to any image model;
the spatial component needs texture radiomics or a spatial (convolutional) model
and is much harder to learn from ~200 patients. Oracle C-indices of each part
are returned so that models can be judged against them, preferably on a large
fresh cohort drawn with another ``random_state``.
"""
from __future__ import annotations

import json
import numbers
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from joblib import Parallel, delayed

from ..utils import get_data_dir, hash_params
from ._cohort import load_cohort
from ._synthetic_images import render_patient
from ._synthetic_model import simulate_patients

#: Bumped whenever the generator's output changes, so that stale folders are not reused.
GENERATOR_VERSION = 1

_COMPLETE = "COMPLETE"
_MANIFEST = "manifest.csv"


def _check_params(n_patients, image_size, random_state, weights, n_jobs):
    if not isinstance(n_patients, numbers.Integral) or isinstance(n_patients, bool) or n_patients < 2:
        raise ValueError(f"n_patients must be an integer >= 2, got {n_patients!r}")
    if not isinstance(image_size, numbers.Integral) or isinstance(image_size, bool) or not 12 <= image_size <= 512:
        raise ValueError(f"image_size must be an integer between 12 and 512, got {image_size!r}")
    if random_state is not None and (
        not isinstance(random_state, numbers.Integral) or isinstance(random_state, bool) or random_state < 0
    ):
        raise ValueError(
            f"random_state must be a non-negative integer or None, got {random_state!r} "
            "(an integer names the folder of generated files, so that a second call reuses them)"
        )
    for name, value in weights.items():
        if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value):
            raise ValueError(f"{name} must be a finite number, got {value!r}")
    if n_jobs is not None and (not isinstance(n_jobs, numbers.Integral) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero integer, got {n_jobs!r}")


def _write_patient(folder, pid, clinical, latent, image_size, necrosis_contrast=1.0):
    t1, t2, mask = render_patient(clinical, latent, image_size, necrosis_contrast=necrosis_contrast)
    patient_dir = folder / "images" / pid
    patient_dir.mkdir(parents=True, exist_ok=True)
    for name, image in (("t1", t1), ("t2", t2), ("mask", mask)):
        sitk.WriteImage(image, str(patient_dir / f"{name}.nii.gz"), True)
    return {name: f"images/{pid}/{name}.nii.gz" for name in ("t1", "t2", "mask")}


def _generate(folder, table, image_size, params, n_jobs, necrosis_contrast=1.0):
    clinical_true = table["clinical_true"]
    latent = table["latent"]
    jobs = []
    for pid in clinical_true.index:
        clinical = {"tumor_size_cm": clinical_true.at[pid, "tumor_size_cm"],
                    "_deep": clinical_true.at[pid, "tumor_depth"] == "deep"}
        jobs.append(delayed(_write_patient)(folder, pid, clinical, latent.loc[pid].to_dict(), image_size,
                                            necrosis_contrast))
    if n_jobs is None or n_jobs == 1:
        paths = [fn(*args, **kwargs) for fn, args, kwargs in jobs]
    else:
        # threads: numpy and SimpleITK release the GIL, and workers need no start-up imports
        paths = Parallel(n_jobs=n_jobs, prefer="threads")(jobs)
    manifest = table["clinical"].copy()
    for column in ("t1", "t2", "mask"):
        manifest[column] = [p[column] for p in paths]
    manifest = manifest.join(table["outcomes"])
    manifest.to_csv(folder / _MANIFEST, index_label="patient_id")
    truth = table["latent"].copy()
    for key in ("risk_os", "risk_dm", "clinical_risk_os", "clinical_risk_dm", "image_risk_os", "image_risk_dm"):
        truth[key] = table[key]
    truth.to_csv(folder / "truth.csv", index_label="patient_id")
    (folder / "params.json").write_text(json.dumps(params, indent=1, sort_keys=True))
    (folder / _COMPLETE).write_text("ok\n")


def make_synthetic_cohort(
    n_patients=287,
    *,
    image_size=48,
    random_state=0,
    data_dir=None,
    necrosis_weight=1.0,
    pattern_weight=0.5,
    clinical_weight=1.0,
    competing_death_weight=0.0,
    clinical_noise_columns=0,
    necrosis_contrast=1.0,
    n_jobs=None,
):
    """Build (or reuse) a synthetic sarcoma cohort with real NIfTI images.

    Writes, per patient, a T1 post-contrast image, a T2 fat-sat image on its own
    grid and a tumor mask on the T1 grid (``.nii.gz``), plus a manifest CSV, into
    a folder under ``get_data_dir(data_dir)`` named from all the arguments; a
    second call with the same arguments reuses the files. The folder is written
    under a temporary name and renamed when complete, so an interrupted run is
    never reused. The generative model is documented in
    :mod:`sarcoma_survival.datasets._synthetic` and in the user guide; every
    number it produces is simulated.

    Parameters
    ----------
    n_patients : int, default=287
        Number of patients (the paper's cohort size).
    image_size : int, default=48
        In-plane matrix of the T1 grid; the T1 grid has ``round(image_size / 3)``
        slices three times thicker than the in-plane spacing.
    random_state : int or None, default=0
        Seed of everything (clinical draws, images, outcomes). ``None`` draws a
        fresh seed (the files are then not reused by a later call).
    data_dir : str or Path, optional
        Parent folder; default ``$SARCOMA_SURVIVAL_DATA`` or
        ``~/.cache/sarcoma_survival/data``.
    necrosis_weight : float, default=1.0
        Log-hazard ratio per SD of the histogram component (necrotic fraction),
        for OS and DM.
    pattern_weight : float, default=0.5
        Log-hazard ratio per SD of the spatial component (compact core vs
        scattered necrotic foci at equal necrotic volume), for OS and DM.
    clinical_weight : float, default=1.0
        Multiplier of the clinical log-hazard (0 makes outcomes image-only).
    competing_death_weight : float, default=0.0
        Multiplier of the hazard of death from other causes (older patients die
        without DM; see the module docstring). 0 keeps only sarcoma deaths.
    clinical_noise_columns : int, default=0
        Number of uninformative numeric columns ``noise_01``, ``noise_02``, ... (standard
        normal, two decimals, from a random stream of their own) appended to the
        clinical table. They enter no hazard: a clinical network that reads them (give it
        a ``ClinicalEncoder`` that names them) can only memorise them. A regime knob for
        multimodal training (docs/user_guide/synthetic.rst, "Regimes").
    necrosis_contrast : float, default=1.0
        Intensity difference between necrosis and viable tumor on T1 and T2, as a
        fraction of the default one (0 to 1: necrosis fainter, so the image signal is
        harder and slower to learn; the hazards do not change). A regime knob.
    n_jobs : int, optional
        Processes used to render images (does not change the result).

    Returns
    -------
    Bunch
        What :func:`load_cohort` returns for the written manifest (``X``,
        ``y_os``, ``y_dm``, ``y_dm_competing``, ``manifest``), plus ``oracle``
        (true cause-specific hazards and incidences of DM and death without DM), ``risk_os``, ``risk_dm`` (true
        log-hazard ratios), ``clinical_risk_os``, ``clinical_risk_dm``,
        ``image_risk_os``, ``image_risk_dm`` (their parts; pandas Series indexed
        by patient), ``latent`` (DataFrame of the generator's tumor properties)
        ``folder`` (where the files are) and ``params`` (the generator's
        arguments, with the seed actually used when ``random_state=None``).

    Examples
    --------
    >>> import tempfile
    >>> from sarcoma_survival.datasets import make_synthetic_cohort
    >>> cohort = make_synthetic_cohort(20, image_size=16, data_dir=tempfile.mkdtemp())
    >>> cohort.X.shape, cohort.y_os.shape
    ((20, 14), (20,))
    >>> list(cohort.X.columns[-3:])
    ['t1', 't2', 'mask']
    """
    weights = {"necrosis_weight": necrosis_weight, "pattern_weight": pattern_weight, "clinical_weight": clinical_weight}
    _check_params(n_patients, image_size, random_state,
                  {**weights, "competing_death_weight": competing_death_weight}, n_jobs)
    if competing_death_weight < 0:
        raise ValueError(f"competing_death_weight must be >= 0, got {competing_death_weight!r}")
    if (not isinstance(clinical_noise_columns, numbers.Integral) or isinstance(clinical_noise_columns, bool)
            or not 0 <= clinical_noise_columns <= 99):
        raise ValueError(f"clinical_noise_columns must be an integer between 0 and 99, got {clinical_noise_columns!r}")
    if (not isinstance(necrosis_contrast, numbers.Real) or isinstance(necrosis_contrast, bool)
            or not 0 <= necrosis_contrast <= 1):
        raise ValueError(f"necrosis_contrast must be a number between 0 and 1, got {necrosis_contrast!r}")
    if random_state is None:
        random_state = int(np.random.default_rng().integers(0, 2**31 - 1))
    params = {
        "generator_version": GENERATOR_VERSION,
        "n_patients": int(n_patients),
        "image_size": int(image_size),
        "random_state": int(random_state),
        **{k: float(v) for k, v in weights.items()},
    }
    if competing_death_weight:  # absent at 0, so that earlier folders keep their names
        params["competing_death_weight"] = float(competing_death_weight)
    if clinical_noise_columns:  # regime knobs: absent at their defaults, for the same reason
        params["clinical_noise_columns"] = int(clinical_noise_columns)
    if necrosis_contrast != 1.0:
        params["necrosis_contrast"] = float(necrosis_contrast)
    name = f"synthetic_v{GENERATOR_VERSION}_n{n_patients}_size{image_size}_rs{random_state}_{hash_params(params)[:12]}"
    parent = get_data_dir(data_dir)
    folder = parent / name
    table = simulate_patients(int(n_patients), int(random_state), **weights,
                              competing_death_weight=float(competing_death_weight),
                              clinical_noise_columns=int(clinical_noise_columns))
    if not (folder / _COMPLETE).is_file():
        if folder.exists():  # left by an older, non-atomic writer: not trusted
            shutil.rmtree(folder)
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".partial", dir=parent))
        try:
            _generate(tmp, table, int(image_size), params, n_jobs, float(necrosis_contrast))
            try:
                os.rename(tmp, folder)
            except OSError:
                if not (folder / _COMPLETE).is_file():
                    raise
                shutil.rmtree(tmp)  # another process finished the same cohort first
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    cohort = load_cohort(folder / _MANIFEST)
    for key in ("risk_os", "risk_dm", "clinical_risk_os", "clinical_risk_dm", "image_risk_os", "image_risk_dm",
                "latent"):
        cohort[key] = table[key]
    cohort["oracle"] = table["oracle"]
    cohort["folder"] = folder
    cohort["params"] = params
    return cohort
