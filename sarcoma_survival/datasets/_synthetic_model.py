"""Patient-level part of the synthetic cohort: clinical variables, latent tumor
properties, true log-hazards and outcome times (no images).

The generative model is described in the module docstring of
:mod:`sarcoma_survival.datasets._synthetic`; this module implements its
tables so that they can be drawn quickly (thousands of patients per second)
without writing any image.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm

#: Histology subtypes and their simulated frequencies (approximation of the paper's
#: Table 2, see the module docstring of ``_synthetic``).
HISTOLOGY_FREQUENCIES = {
    "undifferentiated pleomorphic sarcoma": 0.30,
    "myxofibrosarcoma": 0.17,
    "myxoid liposarcoma": 0.10,
    "synovial sarcoma": 0.09,
    "leiomyosarcoma": 0.09,
    "dedifferentiated liposarcoma": 0.05,
    "pleomorphic liposarcoma": 0.04,
    "malignant peripheral nerve sheath tumor": 0.04,
    "spindle cell sarcoma": 0.04,
    "other": 0.08,
}

#: P(low grade | histology); the marginal P(low) is about 7 %.
_LOW_GRADE_PROBABILITY = {"myxoid liposarcoma": 0.25, "myxofibrosarcoma": 0.12}
_LOW_GRADE_DEFAULT = 0.03

#: Log hazard ratios of the clinical part of the OS and DM hazards.
CLINICAL_COEFFICIENTS = {
    "os": {
        "age_per_10y": 0.25,
        "log_size": 0.60,
        "grade_high": 0.90,
        "depth_deep": 0.35,
        "mets_at_presentation": 1.20,
        "sex_M": 0.10,
        "location_axial": 0.25,
        "location_upper_extremity": -0.10,
        "histology": {
            "undifferentiated pleomorphic sarcoma": 0.20,
            "myxoid liposarcoma": -0.60,
            "dedifferentiated liposarcoma": 0.30,
            "pleomorphic liposarcoma": 0.30,
            "synovial sarcoma": 0.10,
            "leiomyosarcoma": 0.30,
            "malignant peripheral nerve sheath tumor": 0.50,
            "spindle cell sarcoma": 0.10,
        },
    },
    "dm": {
        "age_per_10y": 0.05,
        "log_size": 0.70,
        "grade_high": 1.10,
        "depth_deep": 0.40,
        "mets_at_presentation": 1.50,
        "sex_M": 0.0,
        "location_axial": 0.15,
        "location_upper_extremity": 0.0,
        "histology": {
            "undifferentiated pleomorphic sarcoma": 0.30,
            "myxoid liposarcoma": -0.30,
            "dedifferentiated liposarcoma": 0.20,
            "synovial sarcoma": 0.30,
            "leiomyosarcoma": 0.40,
            "malignant peripheral nerve sheath tumor": 0.40,
        },
    },
}

#: Weibull baseline hazards h0(t) = scale * shape * t**(shape - 1), t in years,
#: tuned so that about 30 % (OS) and 39 % (DM) of patients have an event at the
#: default weights.
BASELINE = {"os": {"scale": 0.0135, "shape": 1.1}, "dm": {"scale": 0.031, "shape": 0.9}}

#: Death without sarcoma (other causes): exponential hazard, per year, of a 55-year-old,
#: multiplied by exp(age_per_year * (age - 55)) and by ``competing_death_weight``.
OTHER_CAUSE_DEATH = {"rate": 0.02, "age_per_year": 0.08}

#: Spawn key of the random stream of other-cause deaths: a stream of its own, so that
#: every draw of the main stream (clinical table, images, sarcoma outcomes) is the same
#: whatever ``competing_death_weight`` is.
_OTHER_CAUSE_STREAM = 1

#: Spawn key of the random stream of the uninformative clinical noise columns
#: (``clinical_noise_columns``): a stream of its own, for the same reason.
_NOISE_STREAM = 2

#: Name of the ``i``-th uninformative clinical column (1-based): ``noise_01``, ``noise_02``, ...
NOISE_COLUMN = "noise_{:02d}"

#: Censoring: follow-up uniform between these bounds (years), as if accrual were
#: uniform over the study period.
FOLLOW_UP_YEARS = (0.5, 8.0)

#: Largest necrotic fraction of the tumor volume (necrosis is kept inside 85 % of
#: the tumor radius, leaving a viable rim).
MAX_NECROTIC_FRACTION = 0.55
_NECROSIS_LOGIT_MEDIAN = np.log(0.2 / MAX_NECROTIC_FRACTION) - np.log1p(-0.2 / MAX_NECROTIC_FRACTION)

#: Fraction of missing values written into the observed clinical table.
MISSING_FRACTIONS = {"tumor_depth": 0.02, "grade": 0.01, "neoadjuvant_chemo": 0.015, "rt_timing": 0.01}

DAYS_PER_YEAR = 365.25


def sample_clinical(n, rng):
    """Draw the true (complete) clinical table and tumor shape of ``n`` patients.

    Returns
    -------
    clinical : DataFrame
        The 11 clinical columns, complete (no missing values yet).
    shape : DataFrame
        ``axis_ratio_x``, ``axis_ratio_y`` (in-plane semi-axes over the long
        semi-axis) used for the tumor volume and the images.
    """
    age = np.clip(rng.normal(55.5, 18.0, n), 18.0, 92.0)
    sex = np.where(rng.random(n) < 0.425, "F", "M")
    deep = rng.random(n) < 0.90
    # largest diameter: log-normal, superficial tumors smaller
    median = np.where(deep, 9.6, 5.0)
    size = np.clip(median * np.exp(rng.normal(0.0, 0.5, n)), 1.5, 35.0)
    names = list(HISTOLOGY_FREQUENCIES)
    probs = np.array(list(HISTOLOGY_FREQUENCIES.values()))
    histology = np.array(names)[rng.choice(len(names), size=n, p=probs / probs.sum())]
    p_low = np.array([_LOW_GRADE_PROBABILITY.get(h, _LOW_GRADE_DEFAULT) for h in histology])
    grade = np.where(rng.random(n) < p_low, "low", "high")
    location = np.array(["lower_extremity", "upper_extremity", "axial"])[
        rng.choice(3, size=n, p=[0.68, 0.185, 0.135])
    ]
    ratio_x = rng.uniform(0.5, 0.95, n)
    ratio_y = rng.uniform(0.5, 0.95, n)
    volume = np.pi / 6.0 * size**3 * ratio_x * ratio_y
    # neoadjuvant chemotherapy: more likely for high-grade, large tumors (33 % overall)
    logit_chemo = -0.95 + 1.2 * (grade == "high") * np.log(size / 9.0) + 0.6 * (grade == "high")
    chemo = rng.random(n) < expit(logit_chemo - 0.36)
    mets = rng.random(n) < 0.08
    rt_preop = rng.random(n) < 0.46
    clinical = pd.DataFrame(
        {
            "age": np.round(age, 1),
            "sex": sex,
            "tumor_size_cm": np.round(size, 1),
            "tumor_depth": np.where(deep, "deep", "superficial"),
            "grade": grade,
            "histology": histology,
            "location": location,
            "tumor_volume_cm3": np.round(volume, 1),
            "neoadjuvant_chemo": chemo.astype(float),
            "mets_at_presentation": mets.astype(float),
            "rt_timing": np.where(rt_preop, "preop", "postop"),
        }
    )
    shape = pd.DataFrame({"axis_ratio_x": ratio_x, "axis_ratio_y": ratio_y})
    return clinical, shape


def sample_latent(n, rng):
    """Draw the image-only tumor properties, independent of every clinical column.

    Returns a DataFrame with the standard-normal drivers ``z_necrosis`` (histogram
    component) and ``z_pattern`` (spatial component), the derived
    ``necrotic_fraction`` and ``scatter`` (0 = one compact central core, 1 = many
    scattered foci), nuisance properties without effect on the hazards
    (``rim_thickness``, ``enhancement``, ``texture_amplitude``) and the per-patient
    ``render_seed``.
    """
    z_necrosis = rng.standard_normal(n)
    z_pattern = rng.standard_normal(n)
    latent = pd.DataFrame(
        {
            "z_necrosis": z_necrosis,
            "z_pattern": z_pattern,
            "necrotic_fraction": MAX_NECROTIC_FRACTION * expit(_NECROSIS_LOGIT_MEDIAN + z_necrosis),
            "scatter": norm.cdf(z_pattern),
            "rim_thickness": rng.uniform(0.06, 0.14, n),
            "enhancement": rng.uniform(0.85, 1.15, n),
            "texture_amplitude": rng.uniform(0.03, 0.10, n),
            "render_seed": rng.integers(0, 2**31 - 1, n),
        }
    )
    return latent


def clinical_log_hazard(clinical, outcome):
    """Clinical part of the true log-hazard ratio for ``outcome`` in {"os", "dm"}."""
    c = CLINICAL_COEFFICIENTS[outcome]
    eta = (
        c["age_per_10y"] * (clinical["age"].to_numpy() - 55.0) / 10.0
        + c["log_size"] * np.log(clinical["tumor_size_cm"].to_numpy() / 9.0)
        + c["grade_high"] * (clinical["grade"].to_numpy() == "high")
        + c["depth_deep"] * (clinical["tumor_depth"].to_numpy() == "deep")
        + c["mets_at_presentation"] * clinical["mets_at_presentation"].to_numpy()
        + c["sex_M"] * (clinical["sex"].to_numpy() == "M")
        + c["location_axial"] * (clinical["location"].to_numpy() == "axial")
        + c["location_upper_extremity"] * (clinical["location"].to_numpy() == "upper_extremity")
        + np.array([c["histology"].get(h, 0.0) for h in clinical["histology"]])
    )
    return eta.astype(float)


def image_log_hazard(latent, necrosis_weight, pattern_weight):
    """Image-only part of the true log-hazard ratio (same for OS and DM)."""
    return necrosis_weight * latent["z_necrosis"].to_numpy() + pattern_weight * latent["z_pattern"].to_numpy()


def _weibull_times(eta, outcome, rng):
    base = BASELINE[outcome]
    u = rng.random(len(eta))
    return (-np.log(u) / (base["scale"] * np.exp(eta))) ** (1.0 / base["shape"])


def _add_missing(clinical, rng):
    observed = clinical.copy()
    for column, fraction in MISSING_FRACTIONS.items():
        hide = rng.random(len(observed)) < fraction
        observed.loc[hide, column] = np.nan
    return observed


def other_cause_log_hazard(clinical):
    """Log of the other-cause death hazard (per year) at weight 1: older patients die more."""
    age = clinical["age"].to_numpy(dtype=float)
    c = OTHER_CAUSE_DEATH
    return np.log(c["rate"]) + c["age_per_year"] * (age - 55.0)


class CompetingRisksOracle:
    """True cause-specific hazards and cumulative incidences of a synthetic cohort.

    Cause 1 is a distant metastasis, cause 2 a death without it. The latent times are
    independent given the patient: metastasis (Weibull, log-hazard ratio ``risk_dm``),
    sarcoma death (Weibull, ``risk_os``) and other-cause death (exponential,
    :func:`other_cause_log_hazard` times ``competing_death_weight``). Before any
    event, the cause-specific hazard of DM is the DM hazard and that of death without
    DM the sum of both death hazards; censoring (end of follow-up) is independent.

    Parameters
    ----------
    risk_dm, risk_os, log_other : array-like of shape (n_patients,)
    competing_death_weight : float

    Examples
    --------
    >>> from sarcoma_survival.datasets._synthetic_model import simulate_patients
    >>> oracle = simulate_patients(3, random_state=0, competing_death_weight=1.0)["oracle"]
    >>> oracle.cumulative_incidence([365.25, 730.5], cause=1).shape
    (3, 2)
    """

    def __init__(self, risk_dm, risk_os, log_other, competing_death_weight):
        self.risk_dm = np.asarray(risk_dm, dtype=float)
        self.risk_os = np.asarray(risk_os, dtype=float)
        self.log_other = np.asarray(log_other, dtype=float)
        self.competing_death_weight = float(competing_death_weight)

    def _cumulative_hazards(self, years, part=slice(None)):
        dm, os_ = BASELINE["dm"], BASELINE["os"]
        h_dm = dm["scale"] * np.exp(self.risk_dm[part])[:, None] * years[None, :] ** dm["shape"]
        h_death = os_["scale"] * np.exp(self.risk_os[part])[:, None] * years[None, :] ** os_["shape"]
        other = self.competing_death_weight * np.exp(self.log_other[part])
        h_death = h_death + other[:, None] * years[None, :]
        return h_dm, h_death

    def cumulative_cause_specific_hazards(self, times):
        """Cumulative cause-specific hazards at ``times`` (days): array (n, 2, n_times)."""
        years = np.asarray(times, dtype=float) / DAYS_PER_YEAR
        return np.stack(self._cumulative_hazards(years), axis=1)

    def cumulative_incidence(self, times, cause=1, *, n_steps=4000):
        """True cumulative incidence of ``cause`` (1 = DM, 2 = death without DM) at ``times`` (days).

        ``F_k(t) = integral_0^t S(u) dH_k(u)``, computed on a grid of ``n_steps`` steps
        up to the largest time (midpoint rule on the hazard increments; error well
        below 1e-4 at the default).
        """
        times = np.atleast_1d(np.asarray(times, dtype=float))
        if cause not in (1, 2):
            raise ValueError(f"cause must be 1 (DM) or 2 (death without DM), got {cause!r}")
        grid = np.linspace(0.0, times.max() / DAYS_PER_YEAR, n_steps + 1)
        position = np.interp(times / DAYS_PER_YEAR, grid, np.arange(grid.size))
        low = np.floor(position).astype(int)
        high = np.minimum(low + 1, grid.size - 1)
        frac = position - low
        out = np.empty((self.risk_dm.size, times.size))
        for start in range(0, self.risk_dm.size, 1000):  # bounds memory to 1000 x grid
            part = slice(start, start + 1000)
            h_dm, h_death = self._cumulative_hazards(grid, part)
            total = h_dm + h_death
            surv_mid = np.exp(-0.5 * (total[:, 1:] + total[:, :-1]))
            dh = np.diff(h_dm if cause == 1 else h_death, axis=1)
            cif = np.concatenate([np.zeros((total.shape[0], 1)), np.cumsum(surv_mid * dh, axis=1)], axis=1)
            out[part] = cif[:, low] * (1.0 - frac) + cif[:, high] * frac
        return out


def noise_columns(n_patients, n_columns, random_state):
    """Uninformative clinical columns: ``n_columns`` standard-normal columns, 2 decimals.

    Drawn from a random stream of their own (spawn key ``_NOISE_STREAM`` of
    ``random_state``), independent of every other draw; they enter no hazard.
    """
    rng = np.random.default_rng(np.random.SeedSequence(random_state, spawn_key=(_NOISE_STREAM,)))
    values = np.round(rng.standard_normal((n_patients, n_columns)), 2)
    return pd.DataFrame(values, columns=[NOISE_COLUMN.format(j + 1) for j in range(n_columns)])


def simulate_patients(n_patients, random_state=0, *, necrosis_weight=1.0, pattern_weight=0.5, clinical_weight=1.0,
                      competing_death_weight=0.0, clinical_noise_columns=0):
    """Draw the whole patient-level table of a synthetic cohort (no images).

    Parameters
    ----------
    n_patients : int
    random_state : int
    necrosis_weight, pattern_weight, clinical_weight, competing_death_weight : float
        See :func:`sarcoma_survival.datasets.make_synthetic_cohort`.
    clinical_noise_columns : int, default=0
        Uninformative numeric columns appended to ``clinical`` (:func:`noise_columns`).

    Returns
    -------
    dict
        ``clinical`` (observed table, with missing values, index = patient ids),
        ``latent`` (DataFrame of image-only and shape properties),
        ``risk_os``, ``risk_dm``, ``clinical_risk_os``, ``clinical_risk_dm``,
        ``image_risk_os``, ``image_risk_dm`` (Series), and ``outcomes``
        (DataFrame with ``os_event, os_time, dm_event, dm_time``, times in days),
        ``oracle`` (:class:`CompetingRisksOracle`).

    Examples
    --------
    >>> from sarcoma_survival.datasets._synthetic_model import simulate_patients
    >>> table = simulate_patients(5, random_state=0)
    >>> table["clinical"].shape
    (5, 11)
    """
    rng = np.random.default_rng(random_state)
    clinical, shape = sample_clinical(n_patients, rng)
    latent = pd.concat([shape, sample_latent(n_patients, rng)], axis=1)
    width = max(4, len(str(n_patients)))
    ids = pd.Index([f"SYN{i:0{width}d}" for i in range(n_patients)], name="patient_id")
    clinical.index = ids
    latent.index = ids
    result = {"latent": latent}
    for outcome in ("os", "dm"):
        clin = clinical_weight * clinical_log_hazard(clinical, outcome)
        img = image_log_hazard(latent, necrosis_weight, pattern_weight)
        result[f"clinical_risk_{outcome}"] = pd.Series(clin, index=ids, name=f"clinical_risk_{outcome}")
        result[f"image_risk_{outcome}"] = pd.Series(img, index=ids, name=f"image_risk_{outcome}")
        result[f"risk_{outcome}"] = pd.Series(clin + img, index=ids, name=f"risk_{outcome}")
    t_death = _weibull_times(result["risk_os"].to_numpy(), "os", rng)
    t_dm = _weibull_times(result["risk_dm"].to_numpy(), "dm", rng)
    follow_up = rng.uniform(*FOLLOW_UP_YEARS, n_patients)
    log_other = other_cause_log_hazard(clinical)
    other_rng = np.random.default_rng(np.random.SeedSequence(random_state, spawn_key=(_OTHER_CAUSE_STREAM,)))
    u_other = other_rng.random(n_patients)
    if competing_death_weight > 0:
        t_other = -np.log(u_other) / (competing_death_weight * np.exp(log_other))
        t_death = np.minimum(t_death, t_other)
    result["oracle"] = CompetingRisksOracle(
        result["risk_dm"].to_numpy(), result["risk_os"].to_numpy(), log_other, competing_death_weight
    )
    os_time = np.minimum(t_death, follow_up)
    os_event = t_death <= follow_up
    # distant metastasis is censored at death (competing event) or at end of follow-up:
    # it never happens after death
    dm_time = np.minimum(t_dm, os_time)
    dm_event = t_dm <= os_time
    # at least one day
    result["outcomes"] = pd.DataFrame(
        {
            "os_event": os_event,
            "os_time": np.maximum(np.round(os_time * DAYS_PER_YEAR), 1.0),
            "dm_event": dm_event,
            "dm_time": np.maximum(np.round(dm_time * DAYS_PER_YEAR), 1.0),
        },
        index=ids,
    )
    result["clinical_true"] = clinical
    result["clinical"] = _add_missing(clinical, rng)
    if clinical_noise_columns:  # after every draw of the main stream, from a stream of its own
        noise = noise_columns(n_patients, int(clinical_noise_columns), random_state)
        noise.index = ids
        result["clinical"] = pd.concat([result["clinical"], noise], axis=1)
    return result
