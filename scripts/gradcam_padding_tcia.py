"""Where the Grad-CAM heat of a TCIA model lies, with the tight crop (padding) and the cubic crop.

Fits the compact DenseNetSurvival of ``scripts/gradcam_tcia.py`` on the 51 TCIA patients (OS,
T1 only, 32-voxel grid, 12 epochs) once with ``VolumePreprocessor(box_shape="tight")`` and once
with ``box_shape="cube"``, and prints, over the 51 patients, the share of the input that is
fill (padding or outside the field of view), the C-index of that share alone for OS, and the
share of the Grad-CAM heat in the fill, in the tumour and in the 2-voxel border of the grid.

    .venv/bin/python scripts/gradcam_padding_tcia.py [SEED]
"""
from __future__ import annotations

import sys

import numpy as np

from sarcoma_survival import DenseNetSurvival, VolumePreprocessor
from sarcoma_survival.datasets import load_tcia_sts
from sarcoma_survival.explain import gradcam, tumour_on_grid
from sarcoma_survival.metrics import concordance_index


def measure(cohort, box_shape, seed):
    X, y = cohort.X, cohort.y_os
    model = DenseNetSurvival(preprocessor=VolumePreprocessor(32, n4=False, box_shape=box_shape), max_epochs=12,
                             batch_size=8, module__init_features=8, module__growth_rate=4,
                             module__block_config=(2, 2, 2, 2), random_state=seed).fit(X, y)
    result = gradcam(model, X)
    volumes = np.stack([np.asarray(v) for v in result.volumes])
    fill = (volumes == 0).all(axis=1)
    tumour = np.stack([tumour_on_grid(result.volumes, i, X.iloc[i]["mask"], X.iloc[i]["t1"]) for i in range(len(X))])
    shell = np.ones(fill.shape[1:], bool)
    shell[2:-2, 2:-2, 2:-2] = False
    maps = result.maps
    total = maps.sum(axis=(1, 2, 3)) + 1e-12

    def share(region):
        return float(np.mean((maps * region).sum(axis=(1, 2, 3)) / total))

    share_fill = fill.mean(axis=(1, 2, 3))
    print(f"box_shape={box_shape} seed={seed}: kept epoch {model.best_epoch_}; fill {np.median(share_fill):.3f} of "
          f"the input (median; C-index of the fill share alone for OS {concordance_index(y, -share_fill):.3f}); "
          f"heat in fill {share(fill):.3f}, in the tumour {share(tumour):.3f} (tumour {tumour.mean():.3f} of the "
          f"input), in the 2-voxel border {share(shell):.3f} (border {shell.mean():.3f} of the input)")


if __name__ == "__main__":
    seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    cohort = load_tcia_sts()
    for shape in ("tight", "cube"):
        measure(cohort, shape, seed)
