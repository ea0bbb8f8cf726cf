"""ClinicalMLPSurvival reaches the DeepSurv paper's test C-index on its public splits."""
from __future__ import annotations

import numpy as np
import pytest
from sksurv.util import Surv

from sarcoma_survival.nn import ClinicalMLPSurvival

# Katzman et al. (2018), DeepSurv test C-index on the same train/test splits.
DEEPSURV_C_INDEX = {"metabric_IHC4_clinical": 0.643, "support": 0.618, "gbsg_cancer": 0.668}




def _split(validation_dir, name, group):
    h5py = pytest.importorskip("h5py")
    with h5py.File(validation_dir / "deepsurv" / f"{name}_train_test.h5", "r") as f:
        x = f[f"{group}/x"][:]
        y = Surv.from_arrays(f[f"{group}/e"][:].astype(bool), f[f"{group}/t"][:].astype(float))
    return x, y


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.parametrize("name", sorted(DEEPSURV_C_INDEX))
def test_reaches_deepsurv_c_index(validation_dir, name):
    X, y = _split(validation_dir, name, "train")
    X_test, y_test = _split(validation_dir, name, "test")
    # Library defaults (paper's clinical subnetwork, Adam 1e-3, batch 64, inner 20 % split
    # for model selection); only the number of epochs is set.
    model = ClinicalMLPSurvival(max_epochs=50, random_state=0).fit(X, y)
    c_index = model.score(X_test, y_test)
    assert abs(c_index - DEEPSURV_C_INDEX[name]) <= 0.02, c_index
    assert np.isfinite(model.predict(X_test)).all()
