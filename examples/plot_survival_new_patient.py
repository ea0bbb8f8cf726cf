"""
===================================
Survival curves for a new patient
===================================

Fit a clinical model once, then predict the survival curve and risk of a patient who was not
in the training cohort, entered by hand as one row of the cohort table. Before trusting the
predicted probabilities, check their calibration at a horizon on patients the model has not
seen.

**Everything here is simulated.** The model is trained on the synthetic cohort of
:func:`~sarcoma_survival.datasets.make_synthetic_cohort`, so its predictions describe
simulated patients only. This is research software: it must not be used to make decisions
about real patients.
"""

# %%
# Fit a model on the training cohort
# ----------------------------------
# :class:`~sarcoma_survival.SarculatorCoxPH` uses the four variables of the Sarculator
# nomogram (age, tumor size, grade, histology) and gives a survival function for every
# patient (Cox model with a Breslow baseline hazard). Clinical models do not read the images,
# so the cohort's images are rendered small.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sarcoma_survival import ClinicalRSF, SarculatorCoxPH
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.plotting import calibration_table, plot_calibration, plot_survival_curve

cohort = make_synthetic_cohort(287, image_size=24, random_state=0)
model = SarculatorCoxPH().fit(cohort.X, cohort.y_os)
pd.Series(model.coef_, index=model.get_feature_names_out(), name="log hazard ratio").round(2)

# %%
# A new patient, entered by hand
# ------------------------------
# A new patient is one row of the cohort table, indexed by a patient id, with the columns of
# the cohort schema; unknown values may be left out (``NaN``) and are imputed with the
# training statistics (median of numbers, most frequent category). Here three hypothetical
# patients: a younger one with a small myxoid liposarcoma, an older one with a large
# undifferentiated pleomorphic sarcoma, and the same large tumor in a patient of unknown
# age (imputed as the median age of the training cohort).
new_patients = pd.DataFrame(
    {
        "age": [45.0, 75.0, np.nan],
        "tumor_size_cm": [5.0, 16.0, 16.0],
        "grade": ["high", "high", "high"],
        "histology": ["myxoid liposarcoma", "undifferentiated pleomorphic sarcoma",
                      "undifferentiated pleomorphic sarcoma"],
    },
    index=pd.Index(["NEW-1", "NEW-2", "NEW-3 (age unknown)"], name="patient_id"),
)
new_patients  # noqa: B018 - sphinx-gallery shows the cell's last expression

# %%
# Risk score and survival probabilities
# -------------------------------------
# ``predict`` gives a risk score (the linear predictor: higher means earlier death);
# its percentile among the training patients makes it easier to read.
# ``predict_survival_function`` gives one step function per patient.
risk = model.predict(new_patients)
training_risk = model.predict(cohort.X)
horizons = [2 * 365.25, 5 * 365.25]
functions = model.predict_survival_function(new_patients)
pd.DataFrame(
    {
        "risk score": risk,
        "risk percentile in training cohort": [(training_risk < r).mean() * 100 for r in risk],
        "S(2 years)": [fn(horizons[0]) for fn in functions],
        "S(5 years)": [fn(horizons[1]) for fn in functions],
    },
    index=new_patients.index,
).round(3)

# %%
# :func:`~sarcoma_survival.plotting.plot_survival_curve` draws each curve and annotates the
# predicted survival at the horizons.
fig, ax = plt.subplots(figsize=(6, 4))
for patient, fn in zip(new_patients.index, functions):
    plot_survival_curve(fn, horizons=horizons, label=patient, ax=ax)
ax.set_ylim(0, 1.02)
ax.set_title("Predicted overall survival (simulated model)")
ax.legend(loc="lower left")
fig.tight_layout()

# %%
# Is the model calibrated?
# ------------------------
# A risk ranking can be good while the probabilities are off. Calibration compares, in groups
# of patients with similar predictions, the mean predicted survival at a horizon with the
# Kaplan-Meier estimate of what happened. It needs patients the model has not seen, and
# enough of them: here 1000 fresh simulated patients drawn with another ``random_state``.
# The random survival forest on the eleven clinical variables is shown for comparison.
fresh = make_synthetic_cohort(1000, image_size=24, random_state=1)
forest = ClinicalRSF(n_estimators=200, random_state=0).fit(cohort.X, cohort.y_os)
horizon = 3 * 365.25
fig, ax = plt.subplots(figsize=(5, 5))
for name, estimator in [("Sarculator CoxPH", model), ("Clinical RSF", forest)]:
    plot_calibration(fresh.y_os, estimator.predict_survival_function(fresh.X), horizon,
                     n_groups=5, label=name, ax=ax)
fig.tight_layout()

# %%
# The numbers behind the plot, for the Cox model: one row per group of predicted survival,
# with the Kaplan-Meier estimate and its 95 % confidence interval.
calibration_table(fresh.y_os, model.predict_survival_function(fresh.X), horizon).round(3)
