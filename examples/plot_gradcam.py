"""
===========================
Grad-CAM heat maps on MRI
===========================

Where in the tumor does an image model look? Grad-CAM weighs the feature maps of a layer
of the 3D network by the gradient of the predicted risk, giving a heat map over the input
volume. :func:`~sarcoma_survival.explain.gradcam` computes it for a fitted
:class:`~sarcoma_survival.DenseNetSurvival` (or the image subnetwork of
:class:`~sarcoma_survival.MMNNSurvival`) on a private copy of the network, and
:func:`~sarcoma_survival.explain.plot_gradcam` overlays it on the T1 and T2 slices
through its peak.

**Everything here is simulated.** A heat map is only worth looking at if the network has
learnt something, and a network has to train for minutes to learn from the default
synthetic cohort. To stay near two minutes on a CPU, this example simulates an easier
cohort: 200 patients whose outcome depends on the images only, through the necrotic
fraction of the tumor (``clinical_weight=0``, ``necrosis_weight=2``, no spatial
pattern; see :func:`~sarcoma_survival.datasets.make_synthetic_cohort`). Necrosis is dark on
T1 post-contrast and bright on T2 fat-sat. The network is a small 3D DenseNet, trained for
eight epochs on 32-voxel crops without N4 correction or augmentation.
"""

# %%
# Train a small image model
# -------------------------
import numpy as np

from sarcoma_survival import DenseNetSurvival, VolumePreprocessor
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.explain import gradcam, plot_gradcam
from sarcoma_survival.metrics import concordance_index
from sarcoma_survival.model_selection import train_val_test_split

cohort = make_synthetic_cohort(200, image_size=32, random_state=0, clinical_weight=0.0,
                               necrosis_weight=2.0, pattern_weight=0.0)
X_train, X_val, X_test, y_train, y_val, y_test = train_val_test_split(
    cohort.X, cohort.y_os, random_state=0)

model = DenseNetSurvival(
    preprocessor=VolumePreprocessor(size=32, n4=False),
    augment=None,
    max_epochs=8,
    batch_size=16,
    lr=0.03,
    module__init_features=8,
    module__growth_rate=8,
    module__block_config=(2, 2),
    random_state=0,
)
model.fit(X_train, y_train, validation_data=(X_val, y_val))
risk = model.predict(X_test)
true_risk = cohort.risk_os.loc[X_test.index]
print(f"test C-index {concordance_index(y_test, risk):.3f}; true risk (oracle) "
      f"{concordance_index(y_test, true_risk):.3f}; "
      f"correlation with the true risk {np.corrcoef(risk, true_risk)[0, 1]:.2f}")

# %%
# Heat maps of two test patients
# ------------------------------
# ``layer="auto"`` takes the deepest dense block whose map still has at least 8 voxels per
# side: here the first block (8 x 8 x 8 for a 32-voxel input, upsampled to the input grid).
# Deeper blocks are coarser (their sizes are in ``resolutions``). The two test patients
# with the highest and the lowest predicted risk:
order = np.argsort(risk)
patients = X_test.iloc[[order[-1], order[0]]]
maps = gradcam(model, patients)
print(f"layer {maps.layer}; map sizes: {maps.resolutions}")

# %%
# ``plot_gradcam`` draws the axial, coronal and sagittal slices through the peak of the map,
# one row per MRI sequence. The heat map is relative (scaled to [0, 1] per patient): it
# shows where the risk prediction is most sensitive, not how high the risk is. It is not a
# segmentation either: compare it with the images before drawing conclusions, since a
# network that ranks patients well may be most sensitive outside the region that carries
# the signal (here the simulator's necrosis), and an 8-voxel map is coarse.
# The simulator's necrotic fraction of each tumor is in the title.
necrosis = cohort.latent["necrotic_fraction"]
for i, patient in enumerate(maps.index):
    label = "highest" if i == 0 else "lowest"
    fig = plot_gradcam(np.asarray(maps.volumes[i]), maps.maps[i],
                       title=f"{patient}: {label} predicted risk, "
                             f"necrotic fraction {necrosis[patient]:.2f}")

# %%
# :func:`~sarcoma_survival.explain.save_gradcam` writes the same figures as PNG files and,
# with ``nifti=True``, each map resampled onto the patient's original T1 grid, to open over
# the scan in 3D Slicer or ITK-SNAP.
