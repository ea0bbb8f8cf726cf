"""The demo's table marks neural rows whose difference is within the measured seed noise (issue 28)."""
from __future__ import annotations

import pandas as pd

from sarcoma_survival import _demo


def _results(c_by_model):
    rows = []
    for name, (c_os, c_dm) in c_by_model.items():
        for outcome, c in (("OS", c_os), ("DM", c_dm)):
            rows.append({"model": name, "outcome": outcome, "c_index": c, "c_index_sd": 0.02,
                         "spearman_true_risk": 0.5, "ibs": 0.2, "fit_s": 1.0, "error": None})
    return pd.DataFrame(rows)


def test_tie_marks_neural_rows_within_the_measured_sd():
    sd = _demo.NEURAL_SEED_SD
    assert 0 < sd < 0.1
    results = _results({
        "oracle (true risk)": (0.80, 0.78),
        "clinical-rsf": (0.700, 0.650),            # not neural: never marked
        "mmnn": (0.700, 0.700),
        "mmnn-no-blending": (0.700 + sd / 2, 0.700 + 3 * sd),
        "densenet": (0.700 - 3 * sd, 0.700 + 3 * sd + sd / 2),
    })
    table = _demo.wide_table(results)
    os_ = table["OS C (SD)"]
    assert os_["mmnn"].endswith(" tie") and os_["mmnn-no-blending"].endswith(" tie")
    assert not os_["densenet"].endswith("tie") and not os_["clinical-rsf"].endswith("tie")
    assert not os_["oracle (true risk)"].endswith("tie")
    dm = table["DM C (SD)"]
    assert not dm["mmnn"].endswith("tie")
    assert dm["mmnn-no-blending"].endswith(" tie") and dm["densenet"].endswith(" tie")
    assert os_["mmnn"] == "0.700 (0.020) tie"

    notes = _demo.neural_notes(table)
    assert "one seed" in notes[0] and f"{sd:.3f}" in notes[1] and "blending_regimes_cpu.csv" in notes[1]
    md = _demo.to_markdown(table, "title")
    assert [line.strip() for line in md.rstrip().splitlines()[-2:]] == list(_demo.SIGNAL_NOTES)
    assert all(note in md for note in notes)


def test_no_neural_rows_no_notes():
    table = _demo.wide_table(_results({"oracle (true risk)": (0.8, 0.78), "clinical-rsf": (0.7, 0.7),
                                       "sarculator-coxph": (0.7, 0.7)}))
    assert _demo.neural_notes(table) == ()
    assert not table["OS C (SD)"].str.contains("tie").any()
