"""
==============================
Bring your own cohort manifest
==============================

Your cohort enters the toolkit as one CSV file, the *manifest*: one row per patient with a
``patient_id``, the clinical columns of the cohort schema, the image files (``t1``, ``t2``
optional, ``mask``) and the outcomes (``os_event, os_time, dm_event, dm_time``, times in
days). :func:`~sarcoma_survival.datasets.load_cohort` turns it into the cohort table ``X``
and the survival targets, or stops with a message that names the patient, column, value or
file at fault.

This example plays the part of a hospital: it starts from a spreadsheet with its own column
names and codes, converts it to a manifest, loads it, shows what the errors of a bad
manifest look like, and runs a model on the result. **The "hospital" data are simulated**:
the spreadsheet and the images are built from the synthetic cohort of
:func:`~sarcoma_survival.datasets.make_synthetic_cohort`, so the images and outcomes are
not those of real patients.
"""

# %%
# A hospital spreadsheet
# ----------------------
# Real spreadsheets rarely follow the schema: here the grade is FNCLCC 1-3, sex and the
# treatment flags are written out, the follow-up is in months and the images sit in one
# folder per patient next to the spreadsheet. We build such a folder from the synthetic
# cohort (copying its NIfTI files).
import shutil
import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import cross_val_score

from sarcoma_survival import ClinicalRSF, VolumePreprocessor
from sarcoma_survival.datasets import CohortError, load_cohort, make_synthetic_cohort
from sarcoma_survival.metrics import concordance_scorer
from sarcoma_survival.model_selection import SurvivalStratifiedKFold

synthetic = make_synthetic_cohort(287, image_size=24, random_state=0)
study = Path(tempfile.mkdtemp(prefix="my_sarcoma_study_"))
rng = np.random.default_rng(0)
days_per_month = 365.25 / 12

sheet = pd.DataFrame(index=pd.Index([f"H{i:03d}" for i in range(len(synthetic.X))],
                                    name="Study ID"))
S = synthetic.X.set_axis(sheet.index)
sheet["Age at surgery"] = S["age"]
sheet["Sex"] = S["sex"].map({"F": "female", "M": "male"})
sheet["Max diameter (cm)"] = S["tumor_size_cm"]
sheet["Depth"] = S["tumor_depth"]
# FNCLCC grade 1 is "low"; grades 2-3 are "high" in the schema.
sheet["FNCLCC grade"] = S["grade"].map({"low": 1, "high": 2}).where(
    S["grade"] != "high", rng.choice([2, 3], len(S)))
sheet["Histology"] = S["histology"]
sheet["Site"] = S["location"]
sheet["Volume (cm3)"] = S["tumor_volume_cm3"]
sheet["Neoadjuvant chemo"] = S["neoadjuvant_chemo"].map({1.0: "yes", 0.0: "no"})
sheet["M1 at diagnosis"] = S["mets_at_presentation"].map({1.0: "yes", 0.0: "no"})
sheet["RT"] = S["rt_timing"].map({"preop": "pre-operative", "postop": "post-operative"})
sheet["Dead"] = synthetic.y_os["event"].astype(int)
sheet["OS (months)"] = (synthetic.y_os["time"] / days_per_month).round(2)
sheet["Distant mets"] = synthetic.y_dm["event"].astype(int)
sheet["DMFS (months)"] = (synthetic.y_dm["time"] / days_per_month).round(2)
for new_id, old_id in zip(sheet.index, synthetic.X.index):
    (study / "images" / new_id).mkdir(parents=True)
    for column, name in [("t1", "T1_post.nii.gz"), ("t2", "T2_fs.nii.gz"),
                         ("mask", "tumor_mask.nii.gz")]:
        shutil.copy(synthetic.X.at[old_id, column], study / "images" / new_id / name)
sheet.head()

# %%
# From spreadsheet to manifest
# ----------------------------
# A few lines of pandas map the names and codes onto the schema. Image paths may be relative:
# they are resolved against the folder of the manifest. Unknown values stay empty; pipelines
# impute them, they never drop a patient.
manifest = pd.DataFrame(index=sheet.index.rename("patient_id"))
manifest["age"] = sheet["Age at surgery"]
manifest["sex"] = sheet["Sex"].map({"female": "F", "male": "M"})
manifest["tumor_size_cm"] = sheet["Max diameter (cm)"]
manifest["tumor_depth"] = sheet["Depth"]
manifest["grade"] = sheet["FNCLCC grade"].map({1: "low", 2: "high", 3: "high"})
manifest["histology"] = sheet["Histology"]
manifest["location"] = sheet["Site"]
manifest["tumor_volume_cm3"] = sheet["Volume (cm3)"]
manifest["neoadjuvant_chemo"] = sheet["Neoadjuvant chemo"]  # yes/no is understood
manifest["mets_at_presentation"] = sheet["M1 at diagnosis"]
manifest["rt_timing"] = sheet["RT"].map({"pre-operative": "preop", "post-operative": "postop"})
manifest["t1"] = [f"images/{pid}/T1_post.nii.gz" for pid in sheet.index]
manifest["t2"] = [f"images/{pid}/T2_fs.nii.gz" for pid in sheet.index]
manifest["mask"] = [f"images/{pid}/tumor_mask.nii.gz" for pid in sheet.index]
manifest["os_event"] = sheet["Dead"]
manifest["os_time"] = sheet["OS (months)"] * days_per_month
manifest["dm_event"] = sheet["Distant mets"]
manifest["dm_time"] = sheet["DMFS (months)"] * days_per_month
manifest_path = study / "manifest.csv"
manifest.to_csv(manifest_path)
print(manifest_path.read_text().splitlines()[1])

# %%
# Load it
# -------
# ``X`` holds the clinical columns in schema order (booleans as 1.0 / 0.0 / NaN) and the
# absolute image paths; ``y_os`` and ``y_dm`` are scikit-survival structured arrays.
cohort = load_cohort(manifest_path)
print(f"{len(cohort.X)} patients; OS events: {cohort.y_os['event'].sum()}, "
      f"DM events: {cohort.y_dm['event'].sum()}")
print("missing values per column:", cohort.X.isna().sum()[lambda s: s > 0].to_dict())
cohort.X.head(3)

# %%
# What a bad manifest looks like
# ------------------------------
# Every problem stops the loading with a
# :class:`~sarcoma_survival.datasets.CohortError` (a ``ValueError``) whose message says what
# is wrong and where. Four typical mistakes, each in a copy of the
# manifest:


def try_loading(edit, description):
    bad = manifest.copy()
    edit(bad)
    path = study / "bad_manifest.csv"
    bad.to_csv(path)
    try:
        load_cohort(path)
    except CohortError as error:
        print(f"{description}:\n    {type(error).__name__}: {error}\n")


def unmapped_grade(m):
    m.loc["H007", "grade"] = "G3"  # an FNCLCC code left unmapped


def missing_column(m):
    del m["rt_timing"]


def missing_image(m):
    m.loc["H012", "t2"] = "images/H012/T2.nii.gz"  # wrong file name


def negative_time(m):
    m.loc["H020", "os_time"] = -30.0


try_loading(unmapped_grade, "an unknown category")
try_loading(missing_column, "a missing clinical column")
try_loading(missing_image, "an image file that does not exist")
try_loading(negative_time, "a negative follow-up time")

# %%
# Run a model on your cohort
# --------------------------
# Every estimator takes the loaded table as it is. A random survival forest on the eleven
# clinical variables, scored by 5-fold cross-validation (stratified on the event) with the
# toolkit's shared C-index scorer:
cv = SurvivalStratifiedKFold(n_splits=5, shuffle=True, random_state=0)
scores = cross_val_score(ClinicalRSF(random_state=0), cohort.X, cohort.y_os, cv=cv,
                         scoring=concordance_scorer)
print(f"OS C-index over 5 folds: {scores.mean():.3f} (SD {scores.std(ddof=1):.3f})")

# %%
# The image models read the files named in the manifest. A quick look at what they see:
# :class:`~sarcoma_survival.VolumePreprocessor` crops each patient's T1 and T2 to the tumor
# and its surroundings and resizes them to a cube (N4 bias-field correction is switched off
# here to save time). Middle slice of the first three patients:
volumes = VolumePreprocessor(size=24, n4=False).fit_transform(cohort.X.iloc[:3])
fig, axes = plt.subplots(2, 3, figsize=(7, 4.8))
for j in range(3):
    volume = volumes[j]  # (channel, depth, height, width)
    for i, channel in enumerate(["T1", "T2"]):
        axes[i, j].imshow(volume[i, volume.shape[1] // 2], cmap="gray")
        axes[i, j].set_title(f"{cohort.X.index[j]} {channel}", fontsize="small")
        axes[i, j].axis("off")
fig.tight_layout()

# %%
# The example's folder is temporary; remove it.
shutil.rmtree(study)
