"""
=======================================================
Calibration and decision curve of a model at 3 years
=======================================================

Discrimination (the C-index) says whether a model ranks patients; calibration says
whether its predicted probabilities come true, and a decision curve whether acting on
them would help. This example fits the Sarculator Cox model on one cohort and validates it
on another: calibration-in-the-large, calibration slope, the smoothed calibration curve
with its integrated calibration index (Austin et al. 2020), D-calibration over the whole
survival curve, and the net benefit against treating everyone or no one.

**Everything here is simulated**: two cohorts of
:func:`~sarcoma_survival.datasets.make_synthetic_cohort` (600 patients to fit, a fresh
1000 to validate). None of these numbers says anything about real sarcoma patients.
"""

# %%
# Fit on one simulated cohort, predict on a fresh one
# ---------------------------------------------------
# The Sarculator Cox model does not read the images, so they are rendered at the smallest
# size. The validation cohort comes from another ``random_state``.
import matplotlib.pyplot as plt
import numpy as np

from sarcoma_survival import SarculatorCoxPH
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import (
    calibration_in_the_large,
    calibration_slope,
    d_calibration,
    integrated_calibration_index,
)
from sarcoma_survival.plotting import plot_calibration, plot_decision_curve

train = make_synthetic_cohort(600, image_size=12, random_state=0)
test = make_synthetic_cohort(1000, image_size=12, random_state=1)
model = SarculatorCoxPH().fit(train.X, train.y_os)
functions = model.predict_survival_function(test.X)
horizon = 3 * 365.25

# %%
# Calibration numbers at 3 years
# ------------------------------
# O/E above 1: more deaths than predicted; a slope below 1: predictions too extreme (the
# model over-fits its 600 training patients); ICI, E50, E90: the mean, median and 90th
# percentile distance between predicted and smoothed observed risk.
oe = calibration_in_the_large(test.y_os, functions, horizon)
slope = calibration_slope(test.y_os, functions, horizon)
ici, e50, e90 = integrated_calibration_index(test.y_os, functions, horizon)
statistic, p_value = d_calibration(test.y_os, functions)
print(f"O/E {oe:.3f}  slope {slope:.3f}  ICI {ici:.3f}  E50 {e50:.3f}  E90 {e90:.3f}")
print(f"D-calibration: chi2 {statistic:.2f}, p = {p_value:.3f}")

# %%
# Calibration plot and decision curve
# -----------------------------------
# Left: grouped Kaplan-Meier points, the smoothed curve with its bootstrap band (200
# resamples) and the distribution of predicted survival. Right: the net benefit of
# treating the patients whose predicted 3-year risk of death reaches each threshold.
fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
plot_calibration(test.y_os, functions, horizon, n_groups=10, label="Sarculator Cox",
                 smooth=True, histogram=True, n_bootstrap=200, random_state=0, ax=left)
risk = 1 - np.array([fn(horizon) for fn in functions])
plot_decision_curve(test.y_os, risk, horizon, label="Sarculator Cox", ax=right)
fig.tight_layout()
plt.show()
