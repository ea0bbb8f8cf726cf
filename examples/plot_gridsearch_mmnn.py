"""
=======================================================
Grid search over the multimodal network's parameters
=======================================================

:class:`~sarcoma_survival.MMNNSurvival` is a scikit-learn estimator, so
:class:`~sklearn.model_selection.GridSearchCV` tunes it like any other: every parameter of
its constructor, of its torch module (``module__*``), of its optimizer (``optimizer__*``)
and of its image preprocessor can be searched, with the toolkit's shared C-index scorer,
:data:`~sarcoma_survival.metrics.concordance_scorer`.

**Everything here is simulated**, and tiny: 150 patients of the synthetic cohort of
:func:`~sarcoma_survival.datasets.make_synthetic_cohort`, 16-voxel image crops, a small
3D DenseNet instead of DenseNet-121, six epochs, no augmentation and two folds, so that the
search runs in about two minutes on a CPU. With so little training the scores mostly
reflect noise: the example shows how to run a search, not which setting is best.
"""

# %%
# Data and a cached image preprocessor
# ------------------------------------
# Image preprocessing is a parameter of the estimator. The
# :class:`~sarcoma_survival.VolumePreprocessor` caches each patient's volume on disk, so the
# folds and candidates of the search never preprocess a patient twice. The patients not
# used by the search are kept aside to score the chosen model.
import matplotlib.pyplot as plt
import pandas as pd
from sklearn.model_selection import GridSearchCV

from sarcoma_survival import MMNNSurvival, VolumePreprocessor
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import concordance_index, concordance_scorer
from sarcoma_survival.model_selection import SurvivalStratifiedKFold

cohort = make_synthetic_cohort(287, image_size=24, random_state=0)
X_search, y_search = cohort.X.iloc[:150], cohort.y_os[:150]
X_rest, y_rest = cohort.X.iloc[150:], cohort.y_os[150:]

model = MMNNSurvival(
    preprocessor=VolumePreprocessor(size=16, n4=False),  # N4 off: saves time
    augment=None,
    max_epochs=6,
    blend_warmup=2,
    blend_period=2,
    module__init_features=8,
    module__growth_rate=8,
    module__block_config=(2, 2),
    random_state=0,
)

# %%
# The search
# ----------
# Two parameters: whether gradient blending is used (``False`` is the paper's ablation: the
# multimodal head alone is trained) and the peak learning rate of the one-cycle schedule.
# The folds are stratified on the event indicator. Each fit carves its own validation set
# (checkpoint selection) and, with blending, its blend set out of the training folds.
param_grid = {"gradient_blending": [True, False], "lr": [0.01, 0.05]}
search = GridSearchCV(
    model,
    param_grid,
    scoring=concordance_scorer,
    cv=SurvivalStratifiedKFold(n_splits=2, shuffle=True, random_state=0),
)
search.fit(X_search, y_search)

results = pd.DataFrame(search.cv_results_)
results[["param_gradient_blending", "param_lr", "mean_test_score", "std_test_score",
         "rank_test_score", "mean_fit_time"]].round(3)

# %%
# The best setting, refitted on the 150 search patients, scored on the 137 patients the
# search never saw (in the synthetic cohort, another draw from the same population):
print("best parameters:", search.best_params_)
print(f"C-index on the {len(X_rest)} other patients: "
      f"{concordance_index(y_rest, search.predict(X_rest)):.3f}")

# %%
# Mean cross-validated C-index of each candidate, with the spread over the two folds:
fig, ax = plt.subplots(figsize=(5, 3.5))
for blending, group in results.groupby("param_gradient_blending"):
    ax.errorbar(group["param_lr"].astype(float), group["mean_test_score"],
                yerr=group["std_test_score"], marker="o", capsize=4,
                label=f"gradient_blending={blending}")
ax.set_xscale("log")
ax.set_xlabel("peak learning rate")
ax.set_ylabel("CV C-index (OS)")
ax.axhline(0.5, color="gray", lw=0.8, ls=":")
ax.legend(fontsize="small")
fig.tight_layout()
