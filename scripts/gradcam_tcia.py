"""The outlined heat maps (Grad-CAM, integrated gradients) of a real TCIA patient shown in
docs/user_guide/explain.rst.

Fits a compact DenseNetSurvival for OS on the 51 TCIA patients (T1 only; the IBSI images are
already N4-corrected, so ``n4=False``; a 32-voxel grid and 12 epochs keep it to a minute or two
on a CPU), on cubic crops (``box_shape="cube"``: tissue instead of padding around the tumour),
and writes the heat map of one patient, through the tumour, with its outline, colour bar and
scale bar. The model is small and fitted on 51 patients: the figure shows how a heat map reads, not a
validated finding.

    .venv/bin/python scripts/gradcam_tcia.py docs/_static/gradcam_tcia.png \
        docs/_static/integrated_gradients_tcia.png [PATIENT]
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from sarcoma_survival import DenseNetSurvival, VolumePreprocessor
from sarcoma_survival.datasets import load_tcia_sts
from sarcoma_survival.explain import save_gradcam


def main(output, output_integrated, patient="STS_001"):
    cohort = load_tcia_sts()
    X = cohort.X
    model = DenseNetSurvival(preprocessor=VolumePreprocessor(32, n4=False, box_shape="cube"), max_epochs=12,
                             batch_size=8, module__init_features=8, module__growth_rate=4,
                             module__block_config=(2, 2, 2, 2), random_state=0).fit(X, cohort.y_os)
    print(f"kept epoch {model.best_epoch_} of {len(model.history_)}; training C-index "
          f"{model.score(X, cohort.y_os):.3f} (on the training patients: optimistic)")
    for method, path in (("gradcam", output), ("integrated-gradients", output_integrated)):
        with tempfile.TemporaryDirectory() as folder:
            written = save_gradcam(model, X.loc[[patient]], folder, method=method)
            shutil.copyfile(written[0], path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), *sys.argv[3:4])
