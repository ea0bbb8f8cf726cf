"""MMNN and DenseNetSurvival on the 51 real TCIA STS patients (T1 only), by 5-fold CV.

Needs ``../shared/validation/sts_tcia`` (or ``$SARCOMA_SURVIVAL_VALIDATION``). Compact image
network at 32^3, tumor z-score (``normalize="tumor"``, as the user guide recommends for
image networks), 30 epochs, the paper's SGD recipe; prints ``compare_models``' table.
Run: ``python benchmarks/bench_mmnn_tcia.py`` (about 6 minutes on 2 CPU cores).
"""
import time

import torch

from sarcoma_survival import DenseNetSurvival, MMNNSurvival
from sarcoma_survival.compare import compare_models
from sarcoma_survival.datasets import load_tcia_sts
from sarcoma_survival.model_selection import RepeatedSurvivalStratifiedKFold
from sarcoma_survival.preprocessing import VolumePreprocessor

torch.set_num_threads(2)

tcia = load_tcia_sts()
net = {"module__init_features": 32, "module__growth_rate": 16, "module__block_config": (3, 6, 6)}
# the IBSI images are already N4-corrected
pre = VolumePreprocessor(size=32, n4=False, normalize="tumor", n_jobs=2)
common = dict(preprocessor=pre, max_epochs=30, random_state=0, **net)
models = {
    "MMNN (blending)": MMNNSurvival(gradient_blending=True, **common),
    "MMNN (blending, no refit)": MMNNSurvival(gradient_blending=True, blend_refit=False, **common),
    "MMNN (no blending)": MMNNSurvival(gradient_blending=False, **common),
    "DenseNet (compact)": DenseNetSurvival(**common),
}
t = time.time()
cv = RepeatedSurvivalStratifiedKFold(n_splits=5, n_repeats=1, random_state=0)
table = compare_models(tcia.X, {"OS": tcia.y_os, "DM": tcia.y_dm}, models=models, cv=cv, random_state=0)
print(table.to_string())
print(f"{time.time() - t:.0f} s")
