"""The model card shown in docs/user_guide/model_files.rst, on the 51 real TCIA patients.

Fits SarculatorCoxPH for OS on the TCIA cohort (``load_tcia_sts``), measures its C-index by
5-fold cross-validation (out-of-fold risks, Harrell's C with a 95% bootstrap percentile
interval), saves it with that validation record and prints ``sarcoma-survival info``.

    .venv/bin/python scripts/model_card_tcia.py OUT.ssm
"""
from __future__ import annotations

import sys

import numpy as np
from sklearn.model_selection import StratifiedKFold

from sarcoma_survival import SarculatorCoxPH, save_model
from sarcoma_survival.cli import main
from sarcoma_survival.datasets import load_tcia_sts
from sarcoma_survival.metrics import bootstrap_concordance


def main_script(path):
    cohort = load_tcia_sts()
    X, y = cohort.X, cohort.y_os
    risk = np.empty(len(X))
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(X, y["event"]):
        risk[test] = SarculatorCoxPH().fit(X.iloc[train], y[train]).predict(X.iloc[test])
    c = bootstrap_concordance(y, risk, random_state=0)
    validation = {"c_index": round(float(c.cindex), 3), "ci_low": round(float(c.ci_low), 3),
                  "ci_high": round(float(c.ci_high), 3), "n_patients": len(X), "n_events": int(y["event"].sum()),
                  "method": "5-fold cross-validation, out-of-fold risks, 95% bootstrap interval"}
    save_model(SarculatorCoxPH().fit(X, y), path, validation=validation)
    return main(["info", str(path)])


if __name__ == "__main__":
    sys.exit(main_script(sys.argv[1]))
