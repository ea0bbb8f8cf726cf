"""
=============================
Gradient-blending weights
=============================

The multimodal network :class:`~sarcoma_survival.MMNNSurvival` has three risk heads during
training: the clinical subnetwork's, the image subnetwork's and the multimodal one that
fuses both. Gradient blending (Wang, Tran & Feiszli, 2020) weighs their Cox losses by how
much each head generalizes per unit of overfitting, re-estimated during training on a
*blend set* held out of the training patients. This example trains the network briefly,
draws the weights of each epoch (the paper's Fig. 1) with
:func:`~sarcoma_survival.plotting.plot_blending_weights`, and scores each head.

**Everything here is simulated** and small: the paper-size synthetic cohort of
:func:`~sarcoma_survival.datasets.make_synthetic_cohort`, 16-voxel image crops without N4
correction, a small 3D DenseNet instead of DenseNet-121, ten epochs without augmentation,
re-estimating the weights every two epochs after a two-epoch warm-up (the defaults are a
10-epoch warm-up and every 5 epochs). That keeps it near two minutes on a
CPU; the weights of such a short run are noisy, and say nothing about real patients.
"""

# %%
# Train with gradient blending
# ----------------------------
# The paper's split: the network trains on the training part and keeps the epoch with the
# lowest *unweighted* multimodal Cox loss on the validation part (``validation_data``). The
# blend set is carved from the training part (``blend_size=0.2``), so it is used neither for
# model selection nor for testing. With the default ``blend_refit=True`` the network is then
# trained a second time, on the whole training part, replaying the weights estimated in the
# first run; ``blend_history_`` keeps the first run's history.
import matplotlib.pyplot as plt
import pandas as pd

from sarcoma_survival import MMNNSurvival, VolumePreprocessor
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import concordance_index
from sarcoma_survival.model_selection import train_val_test_split
from sarcoma_survival.plotting import plot_blending_weights

cohort = make_synthetic_cohort(287, image_size=24, random_state=0)
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    cohort.X, cohort.y_os, random_state=0)

model = MMNNSurvival(
    preprocessor=VolumePreprocessor(size=16, n4=False),
    gradient_blending=True,
    blend_warmup=2,
    blend_period=2,
    augment=None,
    max_epochs=10,
    module__init_features=8,
    module__growth_rate=8,
    module__block_config=(2, 2),
    random_state=0,
)
model.fit(X_train, y_train, validation_data=(X_val, y_val))
print(f"kept the weights of epoch {model.best_epoch_}")

# %%
# The weights, epoch by epoch
# ---------------------------
# ``blending_weights_`` holds the weight of each head used in each epoch: uniform (1/3)
# during the warm-up, then the latest estimate, renewed every ``blend_period`` epochs. A head whose
# held-out loss did not improve over the window gets weight 0; when only one head improved,
# it takes all the weight for the next window.
model.blending_weights_.round(3)

# %%
# The weights come from the Cox losses measured in the first run, on the whole training part
# and on the whole blend set, at the end of the warm-up and of each period:
measured = pd.DataFrame([row for row in model.blend_history_ if "blend_heldout_loss_image" in row])
measured.set_index("epoch").filter(like="blend_heldout_loss").round(3)

# %%
fig, ax = plt.subplots(figsize=(6, 3.5))
plot_blending_weights(model.blending_weights_, ax=ax)
ax.set_title("Gradient-blending weights (simulated, short run)")
fig.tight_layout()

# %%
# What each head learnt
# ---------------------
# :meth:`~sarcoma_survival.MMNNSurvival.predict_heads` gives the log-risk of every head; only
# the multimodal one is what :meth:`~sarcoma_survival.MMNNSurvival.predict` returns. Scoring
# the auxiliary heads shows which modality the network learnt from. The 44 test patients
# give a C-index with a standard error near 0.07; the true risk of the simulator ("oracle")
# is shown for scale.
heads = model.predict_heads(X_test)
scores = {head: concordance_index(y_test, heads[head]) for head in heads}
scores["oracle (true risk)"] = concordance_index(y_test, cohort.risk_os.loc[X_test.index])
pd.Series(scores, name="test C-index (OS)").round(3)

# %%
# The training curves of skorch's history: training loss (blended) and the unweighted
# validation loss of the multimodal head that selects the kept epoch.
history = pd.DataFrame(model.history_[:, ["epoch", "train_loss", "valid_loss"]],
                       columns=["epoch", "train_loss", "valid_loss"]).set_index("epoch")
ax = history.plot(marker="o", figsize=(6, 3.5))
ax.axvline(model.best_epoch_, color="gray", ls=":", label="kept epoch")
ax.set_ylabel("Cox loss")
ax.legend()
ax.figure.tight_layout()
