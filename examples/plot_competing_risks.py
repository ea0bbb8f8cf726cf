"""
======================================================
Distant metastasis when death competes: what it costs
======================================================

A patient who dies without a metastasis will never have one. Treating that death as
censoring (what the paper and its code do for DM) pretends the patient could still have
metastasised later, so the estimated DM incidence comes out too high. This example
measures that bias on a simulated cohort with deaths from other causes, against the
generator's true incidence (the oracle), and compares the two ways of modelling DM on
the Sarculator variables: a Cox model with death censored
(:class:`~sarcoma_survival.SarculatorCoxPH`) and the Fine-Gray model Sarculator's DM
nomogram uses (:class:`~sarcoma_survival.models.SarculatorFineGray`).

**Everything here is simulated**: :func:`~sarcoma_survival.datasets.make_synthetic_cohort`
with ``competing_death_weight=1.0`` (older patients die more often without DM). None of
these numbers says anything about real sarcoma patients.
"""

# %%
# Two simulated cohorts with competing deaths
# -------------------------------------------
# ``y_dm_competing`` codes each patient as 1 (DM), 2 (death without DM) or 0 (censored);
# ``oracle`` holds the true cause-specific hazards and incidences. The models below do
# not read the images, so they are rendered at the smallest size.
import matplotlib.pyplot as plt
import numpy as np
from sksurv.nonparametric import kaplan_meier_estimator

from sarcoma_survival import SarculatorCoxPH
from sarcoma_survival.competing_risks import (
    CauseSpecificCoxPH,
    SarculatorFineGray,
    aalen_johansen,
    concordance_index_competing,
    incidence_calibration_table,
    plot_stacked_incidence,
)
from sarcoma_survival.datasets import make_synthetic_cohort

train = make_synthetic_cohort(600, image_size=12, random_state=0, competing_death_weight=1.0)
test = make_synthetic_cohort(1500, image_size=12, random_state=1, competing_death_weight=1.0)
counts = np.bincount(test.y_dm_competing["event"], minlength=3)
print(f"test cohort: {counts[1]} metastases, {counts[2]} deaths without DM, {counts[0]} censored")

# %%
# The bias of censoring death
# ---------------------------
# One minus the Kaplan-Meier estimate with death censored estimates the DM incidence of a
# world without death; the Aalen-Johansen estimate accounts for death and follows the
# true (oracle) incidence of this cohort.
y = test.y_dm_competing
grid = np.linspace(0.0, 6 * 365.25, 200)
km_times, km_surv = kaplan_meier_estimator(y["event"] == 1, y["time"])
naive = 1.0 - np.concatenate([[1.0], km_surv])[np.searchsorted(km_times, grid, side="right")]
aj_times, aj = aalen_johansen(y, cause=1)
competing = np.concatenate([[0.0], aj])[np.searchsorted(aj_times, grid, side="right")]
truth = test.oracle.cumulative_incidence(grid[1:], cause=1).mean(axis=0)

fig, ax = plt.subplots()
ax.plot(grid / 365.25, naive, label="1 - Kaplan-Meier, death censored")
ax.plot(grid / 365.25, competing, label="Aalen-Johansen, death competing")
ax.plot(grid[1:] / 365.25, truth, "k--", label="true incidence (oracle)")
ax.set_xlabel("years")
ax.set_ylabel("cumulative incidence of DM")
ax.legend()
ax.set_title("Censoring death overestimates DM (simulated)")
year5 = np.searchsorted(grid, 5 * 365.25)
print(f"5-year DM incidence: death censored {naive[year5]:.3f}, "
      f"competing {competing[year5]:.3f}, true {truth[year5 - 1]:.3f}")

# %%
# Calibration by risk decile
# --------------------------
# Both models see the same 4 Sarculator variables. The Cox model is trained with death
# censored, so its ``1 - S(t)`` predicts the DM incidence of a world without death; the
# Fine-Gray model predicts the incidence itself. Deciles of the test patients' predicted
# 3-year incidence against the Aalen-Johansen incidence of each decile:
horizon = 3 * 365.25
cox = SarculatorCoxPH().fit(train.X, train.y_dm)
fine_gray = SarculatorFineGray().fit(train.X, train.y_dm_competing)
predicted = {
    "CoxPH (DM, death censored)": 1.0 - np.array(
        [fn(horizon) for fn in cox.predict_survival_function(test.X)]),
    "SarculatorFineGray (DM, competing death)": fine_gray.predict_cumulative_incidence(
        test.X, [horizon])[:, 0],
}
fig, ax = plt.subplots()
for label, values in predicted.items():
    table = incidence_calibration_table(y, values, horizon, cause=1, n_groups=10)
    ax.plot(table["predicted"], table["observed"], "o-", label=label)
    excess = (table["predicted"] - table["observed"]).mean()
    c = concordance_index_competing(y, values, cause=1, tau=horizon)
    print(f"{label}: mean predicted - observed {excess:+.3f}, Wolbers C at 3 y {c:.3f}")
ax.plot([0, 1], [0, 1], "k:", lw=1)
ax.set_xlabel("predicted 3-year DM incidence (decile mean)")
ax.set_ylabel("observed (Aalen-Johansen)")
ax.legend()
ax.set_title("Calibration by risk decile (simulated)")

# %%
# One patient's stacked incidence
# -------------------------------
# Cause-specific Cox models for DM and for death without DM, combined by Aalen-Johansen,
# give incidences that add up: the white space above the two bands is the probability of
# being alive without metastasis.
from sarcoma_survival.preprocessing import ClinicalEncoder

encoder = ClinicalEncoder("sarculator", min_frequency=5).fit(train.X)
Z_train, Z_test = encoder.transform(train.X), encoder.transform(test.X.iloc[[0]])
years = np.linspace(0.0, 6 * 365.25, 100)
bands = [CauseSpecificCoxPH(cause=k, alpha=1.0).fit(Z_train, train.y_dm_competing)
         .predict_cumulative_incidence(Z_test, years)[0] for k in (1, 2)]
ax = plot_stacked_incidence(years / 365.25, bands)
ax.set_xlabel("years")
ax.set_title(f"Patient {test.X.index[0]} (age {test.X['age'].iloc[0]:.0f}), simulated")
plt.show()
