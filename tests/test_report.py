"""The external validation report (issue 27, item 6): Python API, command line, refusals,
rendering in headless Chromium, and the real TCIA cohort (slow)."""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sarcoma_survival import SarculatorCoxPH, save_model
from sarcoma_survival.cli import main
from sarcoma_survival.datasets import make_synthetic_cohort
from sarcoma_survival.metrics import (
    calibration_in_the_large,
    calibration_slope,
    concordance_index,
    integrated_calibration_index,
)
from sarcoma_survival.report import DEFAULT_HORIZONS, tripod_checklist, validation_report

HORIZONS = [365.0, 1095.0]


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    data = tmp_path_factory.mktemp("report_cohorts")
    train = make_synthetic_cohort(150, image_size=12, random_state=0, data_dir=data)
    test = make_synthetic_cohort(150, image_size=12, random_state=1, data_dir=data)
    return train, test


@pytest.fixture(scope="module")
def coxph(cohorts):
    return SarculatorCoxPH().fit(cohorts[0].X, cohorts[0].y_os)


@pytest.fixture(scope="module")
def report(coxph, cohorts, tmp_path_factory):
    output = tmp_path_factory.mktemp("report") / "report.html"
    return validation_report(coxph, cohorts[1].X, cohorts[1].y_os, horizons=HORIZONS, output=output,
                             n_bootstraps=100, n_calibration_bootstraps=20, cohort_name="synthetic test")


def _external_references(text):
    """Every src/href value that is not an embedded data URI or an anchor in the page."""
    return [v for v in re.findall(r'(?:src|href)="([^"]*)"', text) if not v.startswith(("data:", "#"))]


def test_the_page_is_one_self_contained_file(report):
    text = report.output.read_text(encoding="utf-8")
    assert text == report.html
    assert _external_references(text) == []
    assert "<script" not in text and "<link" not in text and "@import" not in text
    for anchor in ("model", "cohort", "discrimination", "coefficients", "calibration", "groups", "tripod"):
        assert f'id="{anchor}"' in text
    # a calibration plot and a decision curve per horizon, and the Kaplan-Meier figure
    assert text.count('src="data:image/png;base64,') == 2 * len(HORIZONS) + 1


def test_numbers_are_the_metrics_of_the_library(report, coxph, cohorts):
    test = cohorts[1]
    functions = coxph.predict_survival_function(test.X)
    disc = report.discrimination.set_index("measure")
    assert disc.loc["Harrell's C", "estimate"] == pytest.approx(concordance_index(test.y_os, coxph.predict(test.X)))
    low, high = disc.loc["Harrell's C", ["ci_low", "ci_high"]]
    assert low < disc.loc["Harrell's C", "estimate"] < high
    for row in report.calibration.itertuples():
        s = np.array([fn(row.horizon) for fn in functions])
        assert row.observed_expected == pytest.approx(calibration_in_the_large(test.y_os, s, row.horizon))
        assert row.slope == pytest.approx(calibration_slope(test.y_os, s, row.horizon))
        assert (row.ici, row.e50, row.e90) == pytest.approx(integrated_calibration_index(test.y_os, s, row.horizon))
    assert report.missing["missing"].to_dict() == test.X.isna().sum().to_dict()
    assert report.cohort["n_patients"] == 150 and report.cohort["events"] == {1: int(test.y_os["event"].sum())}
    assert report.model["n_training"] == 150
    statistic, p_value, _ = report.d_calibration
    assert np.isfinite(statistic) and 0 <= p_value <= 1


def test_coefficients_and_checklist_are_shown(report, coxph):
    for feature in coxph.coef_table_.index:
        assert f"<td>{feature}</td>" in report.html
    status = report.checklist.set_index("item")["status"]
    assert status["23a"] == "given by this report" and status["17"] == "to add"
    assert "are yours to add" in report.html


def test_model_section_reads_the_model_files_manifest(coxph, cohorts, tmp_path):
    import json
    import zipfile

    from sarcoma_survival import __version__

    path = save_model(coxph, tmp_path / "coxph.ssm")
    rep = validation_report(coxph, cohorts[1].X, cohorts[1].y_os, horizons=HORIZONS, model_file=path,
                            n_bootstraps=20, n_calibration_bootstraps=0)
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    assert rep.model["package_version"] == __version__ and rep.model["params"] == manifest["params"]
    assert rep.model["file"] == "coxph.ssm" and rep.model["class"] == "SarculatorCoxPH"
    # the training cohort comes from the file's model card: patients, events, time zero
    y = cohorts[0].y_os
    assert (rep.model["n_training"], rep.model["training_events"]) == (len(y), int(y["event"].sum()))
    assert manifest["model_card"]["training"]["cohort"]["n_events"] == rep.model["training_events"]
    assert f"<td>training events</td><td class=\"num\">{int(y['event'].sum())}</td>" in rep.html
    assert rep.model["time_origin"] == "not stated" and "none recorded" in rep.html
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as archive:
        archive.writestr("readme.txt", "not a model")
    with pytest.raises(ValueError, match="has no manifest.json"):
        validation_report(coxph, cohorts[1].X, cohorts[1].y_os, horizons=HORIZONS, model_file=tmp_path / "other.zip")


def test_checklist_refuses_unknown_items():
    with pytest.raises(ValueError, match="unknown TRIPOD"):
        tripod_checklist({"99": "x"})


def test_default_horizons_are_one_three_five_years():
    assert DEFAULT_HORIZONS == (365.0, 1095.0, 1825.0)


def test_horizon_beyond_follow_up_is_refused(coxph, cohorts):
    test = cohorts[1]
    last = test.y_os["time"].max()
    with pytest.raises(ValueError, match=rf"horizon {last + 10:g} days is beyond the cohort's follow-up"):
        validation_report(coxph, test.X, test.y_os, horizons=[365, last + 10])


def test_horizon_beyond_the_models_training_follow_up_is_refused(cohorts):
    from sksurv.util import Surv

    train, test = cohorts
    short = Surv.from_arrays(train.y_os["event"] & (train.y_os["time"] <= 800), np.minimum(train.y_os["time"], 800))
    model = SarculatorCoxPH().fit(train.X, short)
    with pytest.raises(ValueError, match="1095 days is beyond the model's training follow-up"):
        validation_report(model, test.X, test.y_os, horizons=HORIZONS)


def test_missing_columns_are_named(coxph, cohorts):
    test = cohorts[1]
    with pytest.raises(ValueError, match=r"the cohort lacks the model's column\(s\) grade, histology"):
        validation_report(coxph, test.X.drop(columns=["grade", "histology"]), test.y_os, horizons=HORIZONS)


def test_competing_model_on_a_survival_outcome_is_refused(cohorts):
    from sarcoma_survival.competing_risks import SarculatorFineGray

    train, test = cohorts
    model = SarculatorFineGray().fit(train.X, train.y_dm_competing)
    with pytest.raises(ValueError, match="SarculatorFineGray, a competing-risks model"):
        validation_report(model, test.X, test.y_os, horizons=HORIZONS)


def test_gradcam_needs_an_image_model(coxph, cohorts):
    with pytest.raises(ValueError, match="gradcam needs an image model.*SarculatorCoxPH reads no image"):
        validation_report(coxph, cohorts[1].X, cohorts[1].y_os, horizons=HORIZONS, gradcam=2)


def test_competing_outcome_shows_incidence(cohorts):
    from sarcoma_survival.competing_risks import SarculatorFineGray

    train, test = cohorts
    model = SarculatorFineGray().fit(train.X, train.y_dm_competing)
    rep = validation_report(model, test.X, test.y_dm_competing, horizons=HORIZONS, n_bootstraps=30)
    assert 'id="groups"' in rep.html and "Aalen-Johansen incidence of cause 1" in rep.html
    incidence = model.predict_cumulative_incidence(test.X, HORIZONS)
    for j, row in enumerate(rep.calibration.itertuples()):
        assert row.observed_expected == pytest.approx(
            calibration_in_the_large(test.y_dm_competing, 1 - incidence[:, j], row.horizon, cause=1))
        assert np.isnan(row.slope) and "survival outcomes only" in row.note
    assert rep.discrimination["measure"][0].startswith("Wolbers' C")
    assert _external_references(rep.html) == []


def test_gradcam_of_an_image_model(tiny_cohort):
    from sarcoma_survival import DenseNetSurvival
    from sarcoma_survival.preprocessing import VolumePreprocessor

    net = DenseNetSurvival(preprocessor=VolumePreprocessor(16, n4=False), max_epochs=1, batch_size=6,
                           module__init_features=8, module__growth_rate=4, module__block_config=(2, 2),
                           random_state=0).fit(tiny_cohort.X, tiny_cohort.y_os)
    horizon = float(np.quantile(tiny_cohort.y_os["time"], 0.5))
    rep = validation_report(net, tiny_cohort.X, tiny_cohort.y_os, horizons=[horizon], gradcam=2, n_bootstraps=20,
                            n_calibration_bootstraps=0)
    assert 'id="gradcam"' in rep.html
    section = rep.html.split('id="gradcam"')[1].split("</section>")[0]
    assert section.count('src="data:image/png;base64,') == 2


# ------------------------------------------------------------------ command line
@pytest.fixture(scope="module")
def files(cohorts, coxph, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report_cli")
    return {"model": save_model(coxph, folder / "coxph.ssm"), "train": cohorts[0].manifest,
            "test": cohorts[1].manifest}


def _error_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("sarcoma-survival report: error: ")
    return lines[0]


def test_cli_writes_the_report_with_progress(files, tmp_path, capsys):
    output = tmp_path / "report.html"
    rc = main(["report", str(files["test"]), "--model-file", str(files["model"]), "--output", str(output),
               "--horizons", "365,1095", "--n-bootstraps", "50"])
    captured = capsys.readouterr()
    assert rc == 0, captured.err
    assert "wrote the validation report of 150 patients" in captured.out
    assert "report: discrimination (50 bootstrap resamples)" in captured.err
    text = output.read_text(encoding="utf-8")
    assert "coxph.ssm" in text and "SarculatorCoxPH" in text and _external_references(text) == []
    from sarcoma_survival import __version__

    assert f"<td>written by sarcoma_survival</td><td>{__version__}</td>" in text


def test_cli_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["report", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--model-file", "--horizons", "--outcome", "--gradcam", "--n-bootstraps", "--quiet"):
        assert option in out


def test_cli_refuses_a_horizon_beyond_follow_up(files, tmp_path, capsys):
    rc = main(["report", str(files["test"]), "--model-file", str(files["model"]), "--output",
               str(tmp_path / "r.html"), "--horizons", "365,99999", "--quiet"])
    assert rc == 2
    assert "horizon 99999 days is beyond the cohort's follow-up" in _error_line(capsys)
    assert not (tmp_path / "r.html").exists()


def test_cli_refuses_a_model_file_of_the_wrong_kind(files, tmp_path, capsys):
    rc = main(["report", str(files["test"]), "--model-file", str(files["test"]), "--output",
               str(tmp_path / "r.html"), "--quiet"])
    assert rc == 2
    assert "is not a sarcoma-survival model file" in _error_line(capsys)


def test_cli_refuses_a_cohort_without_the_model_columns(files, tmp_path, capsys):
    table = pd.read_csv(files["test"]).drop(columns=["histology"])
    manifest = Path(files["test"]).parent / "no_histology.csv"
    table.to_csv(manifest, index=False)
    try:
        rc = main(["report", str(manifest), "--model-file", str(files["model"]), "--output",
                   str(tmp_path / "r.html"), "--quiet"])
    finally:
        manifest.unlink()
    assert rc == 2
    line = _error_line(capsys)  # the manifest reader names the missing clinical column first
    assert "no_histology.csv" in line and "histology" in line


# ------------------------------------------------------------------ browser
def test_the_report_renders_in_headless_chromium(report, tmp_path, monkeypatch):
    from _browser import CHROMEDRIVER, CHROMIUM

    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.skip("needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver)")
    pytest.importorskip("selenium")
    from _browser import headless_chromium
    from selenium.webdriver.common.by import By

    monkeypatch.setenv("SE_OFFLINE", "true")
    driver = headless_chromium(width=1150, height=1500)
    try:
        driver.get(report.output.resolve().as_uri())
        assert driver.title == "External validation report"
        images = driver.find_elements(By.TAG_NAME, "img")
        assert len(images) == 2 * len(HORIZONS) + 1
        widths = driver.execute_script("return Array.from(document.images).map(i => i.naturalWidth)")
        assert min(widths) > 200  # every embedded figure decoded
        heading = driver.find_element(By.CSS_SELECTOR, "#calibration h2").text
        assert heading == "Calibration and decision curves"
        # the documentation's screenshot: discrimination, coefficients and the first calibration figures
        driver.set_window_size(1150, 2000)
        driver.execute_script("document.getElementById('discrimination').scrollIntoView()")
        screenshot = Path(os.environ.get("SARCOMA_SURVIVAL_REPORT_SCREENSHOT", tmp_path / "report.png"))
        assert driver.save_screenshot(str(screenshot))
        assert screenshot.stat().st_size > 10_000
    finally:
        driver.quit()


# ------------------------------------------------------------------ real data
@pytest.mark.realdata
@pytest.mark.slow
def test_report_on_the_tcia_cohort(validation_dir, cohorts, coxph, tmp_path):
    """Fit on the synthetic cohort, report on the 51 real TCIA patients (T1 only)."""
    from sarcoma_survival.datasets import load_tcia_sts

    sts = load_tcia_sts(validation_dir / "sts_tcia")
    last = float(sts.y_os["time"].max())
    horizons = [h for h in DEFAULT_HORIZONS if h < last]
    rep = validation_report(coxph, sts.X, sts.y_os, horizons=horizons, output=tmp_path / "tcia.html",
                            n_bootstraps=200, n_calibration_bootstraps=0, cohort_name="TCIA STS")
    assert rep.cohort["n_patients"] == 51
    c = rep.discrimination.set_index("measure").loc["Harrell's C", "estimate"]
    assert c == pytest.approx(concordance_index(sts.y_os, coxph.predict(sts.X)))
    assert len(rep.calibration) == len(horizons) and _external_references(rep.html) == []
    with pytest.raises(ValueError, match="beyond the cohort's follow-up"):
        validation_report(coxph, sts.X, sts.y_os, horizons=[last + 1])
