"""The three competing-risks estimators on the cohort table (the user guide's example).

Distant metastasis (cause 1) with death without metastasis as the competing event (cause
2), on a simulated cohort: every estimator takes the same cohort table as the survival
models, and ``y_dm_competing`` from the loader. ``tests/test_competing_risks.py`` runs it.
"""
import tempfile

import numpy as np
from sklearn.model_selection import train_test_split

from sarcoma_survival.competing_risks import CauseSpecificCoxPH, FineGrayCoxPH, SarculatorFineGray
from sarcoma_survival.datasets import make_synthetic_cohort

with tempfile.TemporaryDirectory() as folder:
    data = make_synthetic_cohort(287, image_size=16, competing_death_weight=1, random_state=0,
                                 data_dir=folder)
X, y = data.X, data.y_dm_competing  # X: the cohort table (clinical columns and image paths)
train, test = train_test_split(np.arange(len(y)), test_size=0.3, stratify=y["event"], random_state=0)
years = np.array([1.0, 3.0, 5.0]) * 365.25

models = {
    # Fine-Gray on the 11 clinical variables (one-hot categories, a reference level left out)
    "FineGrayCoxPH": FineGrayCoxPH(cause=1, alpha=1.0),
    # one Cox model per cause, combined by Aalen-Johansen; coefficients are hazard ratios
    "CauseSpecificCoxPH": CauseSpecificCoxPH(cause=1, alpha=1.0),
    # Sarculator's DM nomogram model: Fine-Gray on age, tumour size, grade and histology
    "SarculatorFineGray": SarculatorFineGray(cause=1),
}
for name, model in models.items():
    model.fit(X.iloc[train], y[train])
    incidence = model.predict_cumulative_incidence(X.iloc[test], years)
    print(f"{name}: C = {model.score(X.iloc[test], y[test]):.3f}, mean DM incidence at "
          f"1/3/5 years = {np.round(incidence.mean(axis=0), 3).tolist()}")

# the hazard ratios of DM (cause 1) and of death without DM (cause 2), per encoded feature
print(models["CauseSpecificCoxPH"].coef_table_.loc[1, ["hr", "hr_lower", "hr_upper"]].round(2).head(5))
