"""What ``micro_batch_size`` keeps and what it changes, with and without BatchNorm.

Fits ``ClinicalMLPSurvival`` (SGD, ``batch_size=32``, 30 epochs, one seed) on a
200-patient synthetic table with whole batches and with micro-batches of 16, 8 and 4, and
prints how far predictions and weights moved. Without BatchNorm the Cox loss and its
gradient are exact, so only float32 rounding differs; with ``module__batch_norm=True`` each
micro-batch is normalised with its own statistics (as in ghost batch normalisation), which
trains a different model. The numbers quoted in the neural-network guide come from this
script (one CPU, December 2026).

Usage: python benchmarks/bench_micro_batch_batchnorm.py
"""
from __future__ import annotations

import numpy as np
import torch
from sksurv.util import Surv

from sarcoma_survival.nn import ClinicalMLPSurvival

torch.set_num_threads(1)
rng = np.random.default_rng(0)
n = 200
X = rng.normal(size=(n, 6))
risk = X[:, 0] - 0.7 * X[:, 1] + 0.4 * X[:, 2] * X[:, 3]
t = rng.exponential(np.exp(-risk)) * 365 + 1
c = rng.uniform(100, 900, n)
y = Surv.from_arrays(t <= c, np.minimum(t, c))
for bn, lr in ((False, 0.5), (True, 0.05)):
    common = dict(module__batch_norm=bn, optimizer=torch.optim.SGD, lr=lr, max_epochs=30, batch_size=32,
                  train_split=None, random_state=0, preprocessor=None)
    whole = ClinicalMLPSurvival(**common).fit(X.astype(np.float32), y)
    for size in (16, 8, 4):
        micro = ClinicalMLPSurvival(micro_batch_size=size, **common).fit(X.astype(np.float32), y)
        a, b = whole.predict(X), micro.predict(X)
        wa = np.concatenate([p.detach().ravel().numpy() for p in whole.module_.parameters()])
        wb = np.concatenate([p.detach().ravel().numpy() for p in micro.module_.parameters()])
        print(f"batch_norm={bn} micro={size}: max |pred diff| {np.abs(a-b).max():.3g} on a range of {np.ptp(a):.3g}; "
              f"max |weight diff| {np.abs(wa-wb).max():.3g}; "
              f"C whole {whole.score(X, y):.3f} micro {micro.score(X, y):.3f}")
