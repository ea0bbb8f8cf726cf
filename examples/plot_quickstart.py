"""
===========
Quick start
===========

Fit the paper's two Sarculator-style clinical models on a simulated cohort, measure their
C-index on the paper's 15 % hold-out test set with a bootstrap standard deviation, draw
Kaplan-Meier curves by predicted risk group, and see why a 44-patient test set cannot rank
models: the same models scored on 1000 fresh simulated patients.

**Everything here is simulated.** The patients, images and outcomes come from
:func:`~sarcoma_survival.datasets.make_synthetic_cohort`, whose hazards are known, so every
C-index below can be compared with the C-index of the *true* risk (the "oracle"). None of
these numbers says anything about real sarcoma patients.
"""

# %%
# A simulated cohort of the paper's size
# --------------------------------------
# :func:`~sarcoma_survival.datasets.make_synthetic_cohort` writes real NIfTI files (T1, T2,
# tumor mask) and a manifest, and returns the cohort table ``X`` (one row per patient), the
# outcomes ``y_os`` / ``y_dm`` (scikit-survival structured arrays, times in days) and the true
# log-hazard ratios ``risk_os`` / ``risk_dm``. The clinical models of this example do not read
# the images, so they are rendered small (``image_size=24``); the files are cached, and a
# second call with the same arguments reuses them.
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sarcoma_survival import ClinicalRSF, SarculatorCoxPH
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import bootstrap_concordance, concordance_index
from sarcoma_survival.model_selection import train_val_test_split
from sarcoma_survival.plotting import plot_kaplan_meier_by_risk

cohort = make_synthetic_cohort(287, image_size=24, random_state=0)
X, y = cohort.X, cohort.y_os
print(f"{len(X)} simulated patients, {y['event'].sum()} deaths "
      f"({y['event'].mean():.0%}), median time {np.median(y['time']):.0f} days")
X.drop(columns=["t1", "t2", "mask"]).head()

# %%
# The paper's 70/15/15 split
# --------------------------
# :func:`~sarcoma_survival.model_selection.train_val_test_split` stratifies by tumor volume,
# location, RT timing and the event indicator. The validation part exists for the neural
# networks (checkpoint selection); the clinical models below are trained on training +
# validation patients, as :func:`~sarcoma_survival.compare.compare_models` does.
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(X, y, random_state=0)
X_fit = pd.concat([X_train, X_val])
y_fit = np.concatenate([y_train, y_val])
print(f"train {len(X_train)}, validation {len(X_val)}, test {len(X_test)} "
      f"({y_test['event'].sum()} deaths in the test set)")

# %%
# Fit two clinical models
# -----------------------
# :class:`~sarcoma_survival.SarculatorCoxPH` is a Cox model on the four Sarculator variables
# (age, tumor size, grade, histology); :class:`~sarcoma_survival.ClinicalRSF` is a random
# survival forest on all eleven clinical variables. Both take the cohort table directly:
# missing values are imputed and categories one-hot encoded inside, on the training patients.
models = {
    "Sarculator CoxPH": SarculatorCoxPH(),
    "Clinical (11) RSF": ClinicalRSF(n_estimators=200, random_state=0),
}
for model in models.values():
    model.fit(X_fit, y_fit)

# %%
# C-index on the 44 test patients, with a bootstrap SD
# ----------------------------------------------------
# ``predict`` returns a risk score (higher = earlier death). Harrell's C-index is computed on
# the test patients, and its standard deviation by resampling the test patients with
# replacement (predictions fixed), as in the paper. The oracle row scores the simulator's
# true risk: no model can be expected to beat it.
test_risks = {name: model.predict(X_test) for name, model in models.items()}
test_risks["oracle (true risk)"] = cohort.risk_os.loc[X_test.index].to_numpy()
rows = {}
for name, risk in test_risks.items():
    boot = bootstrap_concordance(y_test, risk, n_bootstraps=1000, random_state=0)
    rows[name] = {"C-index": boot.cindex, "bootstrap SD": boot.sd,
                  "95% CI low": boot.ci_low, "95% CI high": boot.ci_high}
small_test = pd.DataFrame(rows).T
small_test.round(3)

# %%
# Kaplan-Meier curves by risk group
# ---------------------------------
# Test patients are split at the median of the *training* risks of the forest, so that the
# groups are not chosen on the test set; the log-rank p-value is written on the plot.
rsf = models["Clinical (11) RSF"]
cutoff = np.median(rsf.predict(X_fit))
fig, ax = plt.subplots(figsize=(6, 4))
plot_kaplan_meier_by_risk(y_test, test_risks["Clinical (11) RSF"], cutoffs=[cutoff], ax=ax)
ax.set_title("Clinical RSF, 44 simulated test patients")
fig.tight_layout()

# %%
# Why 44 test patients cannot rank models
# ---------------------------------------
# With a dozen deaths in the test set, the bootstrap SD above is 0.07-0.10: two models whose
# true C-indices differ by 0.05 are indistinguishable, and the ranking changes with
# the split. To see it, refit the Cox model on 20 different random splits of the same cohort
# and look at the spread of its test C-index.
split_scores = []
for seed in range(20):
    Xa, Xb, Xc, ya, yb, yc = train_val_test_split(X, y, random_state=seed)
    cox = SarculatorCoxPH().fit(pd.concat([Xa, Xb]), np.concatenate([ya, yb]))
    split_scores.append(concordance_index(yc, cox.predict(Xc)))
spread = np.std(split_scores, ddof=1)
print(f"Sarculator CoxPH over 20 random splits: test C-index from "
      f"{min(split_scores):.3f} to {max(split_scores):.3f} (SD {spread:.3f})")

# %%
# The honest verdict: a large fresh cohort
# ----------------------------------------
# The simulator can draw as many new patients as we like from the same population. Scoring
# the models fitted above on 1000 fresh patients (another ``random_state``) shrinks the
# bootstrap SD about five-fold, and shows how far each model is from the oracle.
fresh = make_synthetic_cohort(1000, image_size=24, random_state=1)
rows = {}
fresh_risks = {name: model.predict(fresh.X) for name, model in models.items()}
fresh_risks["oracle (true risk)"] = fresh.risk_os.to_numpy()
for name, risk in fresh_risks.items():
    boot = bootstrap_concordance(fresh.y_os, risk, n_bootstraps=200, random_state=0)
    rows[name] = {"C-index": boot.cindex, "bootstrap SD": boot.sd,
                  "corr. with true risk": np.corrcoef(risk, fresh.risk_os)[0, 1]}
large_test = pd.DataFrame(rows).T
large_test.round(3)

# %%
# Side by side: the spread of the 44-patient estimates (one dot per random split, Cox model)
# against the 1000-patient estimates of the same kind of model.
fig, ax = plt.subplots(figsize=(6, 3.5))
jitter = np.random.default_rng(0).uniform(-0.08, 0.08, len(split_scores))
ax.scatter(split_scores, 1 + jitter, alpha=0.7,
           label="Cox, 44-patient test sets (20 splits)")
ax.errorbar(large_test.loc["Sarculator CoxPH", "C-index"], 0,
            xerr=1.96 * large_test.loc["Sarculator CoxPH", "bootstrap SD"], fmt="o",
            color="C1", capsize=4, label="Cox, 1000 fresh patients (95% interval)")
ax.axvline(large_test.loc["oracle (true risk)", "C-index"], color="k", ls="--",
           label="oracle on 1000 fresh patients")
ax.set_yticks([])
ax.set_ylim(-0.6, 2.8)
ax.set_xlabel("Harrell's C-index (OS)")
ax.legend(loc="upper left", fontsize="small")
fig.tight_layout()

# %%
# Take-home: keep the paper-size split to follow the recipe, but judge models on a large
# fresh cohort (or repeated cross-validation), and always next to the oracle. The next
# examples compare every model of the paper this way.
