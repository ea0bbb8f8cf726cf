"""The ``sarcoma-survival`` command line, end to end on the tiny synthetic cohort.

Every sub-command runs through :func:`sarcoma_survival.cli.main` (return codes and
captured output), and its results are checked against the Python API and scikit-survival.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sksurv.metrics import concordance_index_censored

from sarcoma_survival import SarculatorCoxPH, __version__, load_model, save_model
from sarcoma_survival._registry import MODELS, ModelSpec, model_names
from sarcoma_survival.cli import build_parser, main

SUBCOMMANDS = ("demo", "preprocess", "fit", "predict", "evaluate", "explain", "compare", "info")


def _harrell(y, risk):
    return concordance_index_censored(y["event"], y["time"], risk)[0]


def _error_line(capsys, command):
    """The captured stderr: exactly one line naming the sub-command, no traceback."""
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"sarcoma-survival {command}: error: ")
    return lines[0]


@pytest.mark.parametrize("command", (None, *SUBCOMMANDS))
def test_help(command, capsys):
    argv = ["--help"] if command is None else [command, "--help"]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: sarcoma-survival")
    if command is None:
        assert all(name in out for name in SUBCOMMANDS)


def test_parser_lists_every_model():
    help_text = build_parser()._subparsers._group_actions[0].choices["fit"].format_help()
    assert all(name in help_text for name in MODELS)


def test_fit_predict_evaluate(tiny_cohort, tmp_path, capsys):
    manifest = str(tiny_cohort.manifest)
    model_file = tmp_path / "coxph.ssm"
    assert main(["fit", manifest, "--model", "sarculator-coxph", "--outcome", "dm",
                 "--output", str(model_file)]) == 0
    assert "fitted sarculator-coxph on 24 patients (DM)" in capsys.readouterr().out

    # The saved model is a safe model file of the Python API's model fitted on the same data.
    model = load_model(model_file)
    reference = SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_dm)
    np.testing.assert_allclose(model.predict(tiny_cohort.X), reference.predict(tiny_cohort.X))

    csv = tmp_path / "pred.csv"
    assert main(["predict", manifest, "--model-file", str(model_file), "--times", "365,1825",
                 "--output", str(csv)]) == 0
    assert f"wrote predictions for 24 patients to {csv}" in capsys.readouterr().out
    table = pd.read_csv(csv, index_col=0)
    assert list(table.index) == list(tiny_cohort.X.index)
    assert list(table.columns) == ["risk", "survival_365d", "survival_1825d"]
    np.testing.assert_allclose(table["risk"], reference.predict(tiny_cohort.X), rtol=1e-10)
    expected = [fn(365.0) for fn in reference.predict_survival_function(tiny_cohort.X)]
    np.testing.assert_allclose(table["survival_365d"], expected, rtol=1e-10)
    assert ((table["survival_1825d"] <= table["survival_365d"] + 1e-12)
            & table["survival_1825d"].between(0, 1)).all()

    assert main(["evaluate", manifest, "--model-file", str(model_file), "--outcome", "dm"]) == 0
    out = capsys.readouterr().out
    c = _harrell(tiny_cohort.y_dm, table["risk"].to_numpy())
    assert f"DM Harrell C-index on 24 patients: {c:.3f} (bootstrap SD " in out


def test_predict_one_time_point_and_an_atomic_csv(tiny_cohort, coxph_file, tmp_path, monkeypatch, capsys):
    csv = tmp_path / "pred.csv"
    manifest = str(tiny_cohort.manifest)
    assert main(["predict", manifest, "--model-file", str(coxph_file), "--times", "365",
                 "--output", str(csv)]) == 0
    table = pd.read_csv(csv, index_col=0)
    expected = [fn(365.0) for fn in load_model(coxph_file).predict_survival_function(tiny_cohort.X)]
    np.testing.assert_allclose(table["survival_365d"], expected, rtol=1e-10)
    before = csv.read_bytes()

    def full_disk(self, path, *args, **kwargs):
        Path(path).write_text("patient_id,risk\nP0")  # a truncated write, then the disk is full
        raise OSError(28, "No space left on device")

    capsys.readouterr()
    monkeypatch.setattr(pd.DataFrame, "to_csv", full_disk)
    assert main(["predict", manifest, "--model-file", str(coxph_file), "--output", str(csv)]) == 2
    assert "No space left on device" in _error_line(capsys, "predict")
    assert csv.read_bytes() == before  # the earlier predictions are intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pred.csv"]  # no temporary file left


def test_fit_param_and_default_output(tiny_cohort, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["fit", str(tiny_cohort.manifest), "--model", "clinical-rsf",
                 "--param", "n_estimators=7", "--param", "random_state=3"]) == 0
    model = load_model(tmp_path / "clinical-rsf-os.ssm")
    assert model.get_params()["n_estimators"] == 7
    assert model.get_params()["random_state"] == 3
    assert "saved clinical-rsf-os.ssm" in capsys.readouterr().out


def test_compare_matches_python_api(tiny_cohort, tmp_path, capsys):
    from sarcoma_survival._registry import make_model
    from sarcoma_survival.compare import compare_models

    csv = tmp_path / "table.csv"
    names = ["sarculator-coxph", "sarculator-rsf"]
    assert main(["compare", str(tiny_cohort.manifest), "--models", ",".join(names), "--cv", "2",
                 "--outcomes", "os", "--random-state", "1", "--output", str(csv)]) == 0
    out = capsys.readouterr().out
    assert f"saved {csv}" in out and all(name in out for name in names)
    table = pd.read_csv(csv, header=[0, 1], index_col=0)
    assert list(table.index) == names
    expected = compare_models(tiny_cohort.X, {"OS": tiny_cohort.y_os},
                              models={"sarculator-coxph": make_model("sarculator-coxph"),
                                      "sarculator-rsf": make_model("sarculator-rsf", random_state=1)},
                              cv=2, random_state=1)
    for metric in ("cv_c_index_mean", "cv_c_index_sd", "cv_ibs_mean"):
        np.testing.assert_allclose(table["OS", metric], expected["OS", metric], rtol=1e-9)
    assert table["OS", "cv_c_index_mean"].between(0, 1).all()


def test_compare_seeds_and_reference_match_python_api(tiny_cohort, tmp_path, capsys):
    from sarcoma_survival._registry import make_model
    from sarcoma_survival.compare import compare_models

    csv = tmp_path / "table.csv"
    names = ["sarculator-coxph", "sarculator-rsf"]
    assert main(["compare", str(tiny_cohort.manifest), "--models", ",".join(names), "--cv", "2",
                 "--outcomes", "os", "--seeds", "3", "4", "--reference", "sarculator-coxph",
                 "--output", str(csv)]) == 0
    table = pd.read_csv(csv, header=[0, 1], index_col=0)
    expected = compare_models(tiny_cohort.X, {"OS": tiny_cohort.y_os},
                              models={name: make_model(name) for name in names}, cv=2, random_state=0,
                              random_states=[3, 4], reference="sarculator-coxph")
    for metric in ("cv_c_index_mean", "cv_c_index_seed_sd", "cv_c_index_diff", "n_seeds"):
        np.testing.assert_allclose(table["OS", metric], expected["OS", metric], rtol=1e-9)
    assert table.loc["sarculator-rsf", ("OS", "n_seeds")] == 2


def test_preprocess(tiny_cohort, capsys):
    from sarcoma_survival.preprocessing import VolumePreprocessor

    assert main(["preprocess", str(tiny_cohort.manifest), "--image-size", "12", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "preprocessed 24 patients into shape (2, 12, 12, 12)" in out
    # The per-patient results are in the cache: the Python API reads the same arrays.
    volumes = np.asarray(VolumePreprocessor(size=12).fit(tiny_cohort.X).transform(tiny_cohort.X))
    assert volumes.shape == (24, 2, 12, 12, 12) and np.isfinite(volumes).all()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """One tiny demo run shared by the demo tests (two cheap models + a failing one)."""
    folder = tmp_path_factory.mktemp("demo") / "run"
    data = tmp_path_factory.mktemp("demo_data")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SARCOMA_SURVIVAL_DATA", str(data))
        # A registered model whose construction fails stands in for a missing dependency.
        mp.setitem(MODELS, "broken-model", ModelSpec("SarculatorCoxPH", {"no_such_param": 1}, "fails"))
        rc = main(["demo", "--n-patients", "30", "--n-test", "40", "--image-size", "16",
                   "--models", "sarculator-coxph,clinical-rsf,broken-model",
                   "--n-jobs", "1", "--output", str(folder), "--quiet"])
    return rc, folder, data


def test_demo_writes_table_and_figures(demo_run):
    rc, folder, _ = demo_run
    assert rc == 0
    names = {p.name for p in folder.iterdir()}
    assert {"table.csv", "table.md", "km_os.png", "km_dm.png", "roc_os.png"} <= names
    for png in folder.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    md = (folder / "table.md").read_text()
    assert "SIMULATED" in md and "| clinical-rsf |" in md and "| oracle (true risk) |" in md
    # two lines under the table say which signal each kind of model can see, with the docs page
    from sarcoma_survival._demo import SIGNAL_NOTES

    tail = md.rstrip().splitlines()[-2:]
    assert [line.strip() for line in tail] == list(SIGNAL_NOTES)
    assert "first-order radiomics" in tail[0] and "CNN" in tail[1] and "synthetic.rst" in tail[1]
    assert (folder / "table.csv").read_text().startswith("# All numbers are SIMULATED")


def test_demo_numbers_match_independent_fit(demo_run):
    from sarcoma_survival.datasets import make_synthetic_cohort

    _, folder, data = demo_run
    results = pd.read_csv(folder / "table.csv", comment="#")
    assert set(results["model"]) == {"oracle (true risk)", "sarculator-coxph", "clinical-rsf",
                                     "broken-model", "sarculator-coxph (DM, death censored)",
                                     "sarculator-finegray (DM, competing death)"}
    # The failing model is reported, not fatal.
    broken = results[results["model"] == "broken-model"]
    assert len(broken) == 2 and broken["error"].str.contains("no_such_param").all()
    assert broken["c_index"].isna().all()

    train = make_synthetic_cohort(30, image_size=16, random_state=0, data_dir=data)
    test = make_synthetic_cohort(40, image_size=16, random_state=1, data_dir=data)
    row = results.set_index(["model", "outcome"])
    for outcome, y, true_risk in (("OS", test.y_os, test.risk_os), ("DM", test.y_dm, test.risk_dm)):
        oracle = row.loc[("oracle (true risk)", outcome)]
        assert oracle["c_index"] == pytest.approx(_harrell(y, true_risk.to_numpy()), abs=1e-12)
        assert 0 < oracle["c_index_sd"] < 0.2
    risk = SarculatorCoxPH().fit(train.X, train.y_dm).predict(test.X)
    fitted = row.loc[("sarculator-coxph", "DM")]
    assert fitted["c_index"] == pytest.approx(_harrell(test.y_dm, risk), abs=1e-12)
    from scipy.stats import spearmanr

    assert fitted["spearman_true_risk"] == pytest.approx(spearmanr(risk, test.risk_dm).statistic)
    assert (fitted["n_train"], fitted["n_test"]) == (30, 40)
    assert 0 < fitted["ibs"] < 0.5 and fitted["fit_s"] >= 0


def test_demo_prints_summary_and_table(tmp_path, capsys):
    from sarcoma_survival._demo import run_demo

    run = run_demo(tmp_path / "run", n_patients=30, n_test=40, image_size=12,
                   models=["sarculator-coxph"], random_state=4, n_jobs=1, verbose=True)
    out = capsys.readouterr().out
    assert "training cohort (random_state=4): 30 patients (simulated)" in out
    assert "test cohort (random_state=5): 40 patients (simulated)" in out
    assert "% censored, median follow-up" in out and "SIMULATED" in out
    assert f"wrote {len(run.files)} files to {run.folder}" in out
    assert "a second run is much faster" in out
    from sarcoma_survival._demo import SIGNAL_NOTES

    assert "\n".join(SIGNAL_NOTES) in out
    steps = ["cohorts", "sarculator-coxph (OS)", "sarculator-coxph (DM)", "DM both ways",
             "tables and figures", "total"]
    assert list(run.timeline) == steps and run.timeline["total"] == run.seconds
    assert sum(run.timeline[s] for s in steps[:-1]) <= run.seconds
    assert "time line (s): " + ", ".join(f"{s} {run.timeline[s]:.1f}" for s in steps) in out
    assert list(run.table.index) == ["oracle (true risk)", "sarculator-coxph",
                                     "sarculator-coxph (DM, death censored)",
                                     "sarculator-finegray (DM, competing death)"]


@pytest.mark.parametrize("max_epochs, schedule", [(12, (2, 2)), (30, (6, 3)), (8, (2, 2)), (50, (10, 5)),
                                                  (200, (10, 5))])
def test_demo_scales_the_blending_schedule_to_its_epochs(max_epochs, schedule):
    from sarcoma_survival._demo import demo_settings
    from sarcoma_survival._registry import make_model

    for name in ("mmnn", "mmnn-no-blending"):
        params = demo_settings(make_model(name), image_size=16, max_epochs=max_epochs, random_state=0,
                               n_jobs=1, images=True).get_params()
        assert (params["max_epochs"], params["blend_warmup"], params["blend_period"]) == (max_epochs, *schedule)
    # an estimation made at the end of the warm-up is used by a later epoch of the run
    assert schedule[0] < max_epochs
    densenet = demo_settings(make_model("densenet"), image_size=16, max_epochs=max_epochs, random_state=0,
                             n_jobs=1, images=True).get_params()
    assert "blend_warmup" not in densenet


def test_demo_fits_an_image_network_for_both_outcomes_side_by_side(tmp_path):
    """With two jobs an image model's OS and DM fits run at once, in two processes, and give
    the rows of the one-after-the-other run (one torch thread each way, as in the suite)."""
    from sarcoma_survival._demo import run_demo

    kwargs = dict(n_patients=30, n_test=40, image_size=16, models=["densenet"], max_epochs=2,
                  random_state=4, verbose=False)
    one = run_demo(tmp_path / "one", n_jobs=1, **kwargs)
    two = run_demo(tmp_path / "two", n_jobs=2, **kwargs)
    assert "densenet (OS)" in one.timeline and "densenet (DM)" in one.timeline
    assert "densenet (OS and DM side by side)" in two.timeline
    assert not any(step in two.timeline for step in ("densenet (OS)", "densenet (DM)"))
    columns = ["model", "outcome", "c_index", "c_index_sd", "spearman_true_risk", "ibs"]
    pd.testing.assert_frame_equal(one.results[columns], two.results[columns])
    assert two.results["error"].isna().all()


def test_demo_default_models_are_the_registered_ones(monkeypatch, tmp_path):
    """Without --models every registered model runs (a new one is picked up by itself)."""
    from sarcoma_survival import _demo

    seen = []
    def fake_fit(name, outcome, *args):
        seen.append(name)
        return {"model": name, "outcome": outcome, "error": "not fitted in this test"}, None

    monkeypatch.setattr(_demo, "_fit_one", fake_fit)
    _demo.run_demo(tmp_path / "run", n_patients=30, n_test=40, image_size=12, random_state=4,
                   n_jobs=1, verbose=False)
    assert list(dict.fromkeys(seen)) == model_names()


@pytest.mark.parametrize(
    "argv, message",
    [
        (["fit", "{missing}", "--model", "clinical-rsf"], "file does not exist"),
        (["fit", "{bad}", "--model", "clinical-rsf"], "column"),
        (["fit", "{manifest}", "--model", "no-such-model"], "unknown model 'no-such-model'"),
        (["fit", "{manifest}", "--model", "clinical-rsf", "--param", "oops"], "NAME=VALUE"),
        (["predict", "{manifest}", "--model-file", "{missing}"], "does not exist"),
        (["evaluate", "{manifest}", "--model-file", "{missing}"], "does not exist"),
        (["compare", "{manifest}", "--models", "clinical-rsf,nope"], "unknown model 'nope'"),
        (["compare", "{manifest}", "--models", "clinical-rsf", "--reference", "sarculator-rsf",
          "--seeds", "0", "1"], "--reference 'sarculator-rsf' is not one of the compared models"),
        (["compare", "{manifest}", "--models", "clinical-rsf", "--reference", "clinical-rsf"],
         "--reference needs --seeds"),
        (["preprocess", "{missing}"], "file does not exist"),
        (["demo", "--models", "nope", "--output", "{tmp}/run"], "unknown model 'nope'"),
        (["demo", "--n-patients", "3", "--output", "{tmp}/run"], "n_patients must be"),
    ],
)
def test_input_errors_are_one_line(argv, message, tiny_cohort, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("patient_id,age\nP1,50\n")
    paths = {"missing": str(tmp_path / "nope.csv"), "bad": str(bad),
             "manifest": str(tiny_cohort.manifest), "tmp": str(tmp_path)}
    argv = [a.format(**paths) for a in argv]
    assert main(argv) == 2
    assert message in _error_line(capsys, argv[0])


def test_missing_image_names_patient(tiny_cohort, tmp_path, capsys):
    table = pd.read_csv(tiny_cohort.manifest)
    folder = Path(tiny_cohort.manifest).parent
    for column in ("t1", "t2", "mask"):
        table[column] = [str(folder / p) for p in table[column]]
    patient = table.loc[3, "patient_id"]
    table.loc[3, "t2"] = str(tmp_path / "gone.nii.gz")
    manifest = tmp_path / "manifest.csv"
    table.to_csv(manifest, index=False)
    assert main(["fit", str(manifest), "--model", "sarculator-coxph"]) == 2
    line = _error_line(capsys, "fit")
    assert str(patient) in line and "gone.nii.gz" in line


def test_traceback_flag_reraises(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        main(["--traceback", "fit", str(tmp_path / "nope.csv"), "--model", "clinical-rsf"])


def test_installed_entry_point(tmp_path):
    exe = shutil.which("sarcoma-survival", path=str(Path(sys.executable).parent))
    assert exe is not None, "the sarcoma-survival entry point is not installed next to python"
    proc = subprocess.run([exe, "evaluate", str(tmp_path / "nope.csv"), "--model-file", "m.joblib"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sarcoma-survival evaluate: error: ")
    assert "nope.csv" in lines[0] and "does not exist" in lines[0]


@pytest.fixture(scope="module")
def densenet_file(tiny_cohort, tmp_path_factory):
    from sarcoma_survival import DenseNetSurvival
    from sarcoma_survival.preprocessing import VolumePreprocessor

    model = DenseNetSurvival(preprocessor=VolumePreprocessor(16, n4=False), max_epochs=1, batch_size=6,
                             module__init_features=8, module__growth_rate=4, module__block_config=(2, 2),
                             random_state=0).fit(tiny_cohort.X, tiny_cohort.y_os)
    return save_model(model, tmp_path_factory.mktemp("densenet") / "densenet.ssm")


def test_explain_writes_heat_maps(tiny_cohort, densenet_file, tmp_path, capsys):
    model_file = densenet_file
    out = tmp_path / "maps"
    patients = ",".join(tiny_cohort.X.index[:2])
    assert main(["explain", str(tiny_cohort.manifest), "--model-file", str(model_file),
                 "--patients", patients, "--nifti", "--output", str(out)]) == 0
    assert "wrote 4 heat-map files" in capsys.readouterr().out
    assert len(list(out.glob("*_gradcam.png"))) == 2 and len(list(out.glob("*_gradcam.nii.gz"))) == 2
    assert main(["explain", str(tiny_cohort.manifest), "--model-file", str(model_file),
                 "--patients", "NOBODY"]) == 2
    assert "NOBODY" in capsys.readouterr().err


def test_explain_with_integrated_gradients(tiny_cohort, densenet_file, tmp_path, capsys):
    import SimpleITK as sitk

    out = tmp_path / "maps"
    patient = tiny_cohort.X.index[0]
    assert main(["explain", str(tiny_cohort.manifest), "--model-file", str(densenet_file), "--patients", patient,
                 "--nifti", "--output", str(out), "--method", "integrated-gradients"]) == 0
    assert "wrote 2 heat-map files" in capsys.readouterr().out
    heat = sitk.GetArrayFromImage(sitk.ReadImage(str(out / f"{patient}_gradcam.nii.gz")))
    t1 = sitk.ReadImage(str(tiny_cohort.X.loc[patient, "t1"]))
    assert heat.shape == sitk.GetArrayFromImage(t1).shape and 0 < heat.max() <= 1.0
    with pytest.raises(SystemExit) as exit_:
        main(["explain", str(tiny_cohort.manifest), "--model-file", str(densenet_file), "--method", "occlusion"])
    assert exit_.value.code == 2 and "integrated-gradients" in capsys.readouterr().err


@pytest.mark.parametrize("patient", ["../../outside", "/tmp/abs_outside", "..", "a\\b"])
def test_heat_map_names_stay_in_the_output_folder(patient, tiny_cohort, densenet_file, tmp_path):
    """The Python API (a table not read by load_cohort) refuses such ids before any work."""
    from sarcoma_survival.explain import save_gradcam

    X = tiny_cohort.X.iloc[:1].rename(index={tiny_cohort.X.index[0]: patient})
    out = tmp_path / "a" / "b" / "maps"
    with pytest.raises(ValueError, match="ids become file names"):
        save_gradcam(load_model(densenet_file), X, out)
    assert list(tmp_path.rglob("*")) == []  # nothing written anywhere, not even the folder


# --------------------------------------------------------------- hardening (issue 15)
def _manifest_copy(tiny_cohort, folder, rows=None, ids=None):
    """A copy of the tiny manifest (absolute image paths), optionally some rows / new ids."""
    table = pd.read_csv(tiny_cohort.manifest)
    source = Path(tiny_cohort.manifest).parent
    for column in ("t1", "t2", "mask"):
        table[column] = [str(source / p) for p in table[column]]
    if rows is not None:
        table = table.iloc[rows]
    if ids is not None:
        table["patient_id"] = ids
    path = Path(folder) / "manifest.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def coxph_file(tiny_cohort, tmp_path_factory):
    model = SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_os)
    return save_model(model, tmp_path_factory.mktemp("coxph") / "coxph.ssm")


class _WritesMarker:
    """Unpickling this runs ``os.mkdir(marker)``: a stand-in for any shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        import os

        return os.mkdir, (self.marker,)


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sarcoma-survival {__version__}"


@pytest.mark.parametrize("command", ["predict", "evaluate", "explain"])
def test_crafted_model_file_does_not_run(command, tiny_cohort, tmp_path, capsys):
    marker = tmp_path / "pwned"
    crafted = tmp_path / "model.joblib"
    joblib.dump(_WritesMarker(marker), crafted)
    assert main([command, str(tiny_cohort.manifest), "--model-file", str(crafted),
                 "--output" if command != "evaluate" else "--outcome",
                 str(tmp_path / "out") if command != "evaluate" else "os"]) == 2
    line = _error_line(capsys, command)
    assert "pickle/joblib file, which can run any code" in line and "--allow-pickle" in line
    assert not marker.exists()


def test_allow_pickle_reads_a_trusted_joblib_file_and_warns(tiny_cohort, tmp_path, capsys):
    model = SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_os)
    model_file = tmp_path / "coxph.joblib"
    joblib.dump(model, model_file)
    csv = tmp_path / "pred.csv"
    assert main(["predict", str(tiny_cohort.manifest), "--model-file", str(model_file),
                 "--allow-pickle", "--output", str(csv)]) == 0
    captured = capsys.readouterr()
    warning_lines = captured.err.strip().splitlines()
    assert len(warning_lines) == 1 and warning_lines[0].startswith("sarcoma-survival predict: warning: ")
    assert "only do this for a file you trust" in warning_lines[0]
    np.testing.assert_allclose(pd.read_csv(csv, index_col=0)["risk"], model.predict(tiny_cohort.X), rtol=1e-12)

    joblib.dump({"weights": [1, 2]}, model_file)  # a pickle of some other object
    assert main(["evaluate", str(tiny_cohort.manifest), "--model-file", str(model_file), "--allow-pickle"]) == 2
    warning, error = capsys.readouterr().err.strip().splitlines()
    assert warning.startswith("sarcoma-survival evaluate: warning: reading pickle/joblib model file")
    assert error.startswith("sarcoma-survival evaluate: error: ")
    assert "holds a builtins.dict, not an estimator of this package" in error


@pytest.mark.parametrize(
    "argv, message",
    [
        (["predict", "{manifest}", "--model-file", "{empty}"], "is empty"),
        (["evaluate", "{manifest}", "--model-file", "{empty}"], "is empty"),
        (["predict", "{manifest}", "--model-file", "{manifest}"], "is not a sarcoma-survival model file"),
        (["predict", "{loop}", "--model-file", "{coxph}"], "cannot be resolved (Symlink loop"),
        (["predict", "{manifest}", "--model-file", "{coxph}", "--times", "abc"],
         "argument --times: expected comma-separated days such as 365,1825; 'abc' is not a number"),
        (["predict", "{manifest}", "--model-file", "{coxph}", "--times", "-100"],
         "argument --times: expected comma-separated days > 0; got '-100'"),
        (["predict", "{manifest}", "--model-file", "{coxph}", "--times", "365,nan"],
         "expected comma-separated days > 0; got 'nan'"),
        (["predict", "{manifest}", "--model-file", "{coxph}", "--output", "{manifest}"],
         "is an input of this command; it would be overwritten"),
        (["predict", "{manifest}", "--model-file", "{coxph}", "--output", "{tmp}/no/dir/p.csv"],
         "does not exist"),
        (["fit", "{manifest}", "--model", "sarculator-coxph", "--output", "{manifest}"],
         "is an input of this command; it would be overwritten"),
        (["fit", "{manifest}", "--model", "sarculator-coxph", "--output", "{tmp}"], "is a folder"),
        (["explain", "{manifest}", "--model-file", "{coxph}", "--n-patients", "0"],
         "argument --n-patients: expected a whole number >= 1, got '0'"),
        (["explain", "{manifest}", "--model-file", "{coxph}", "--n-patients", "-19"],
         "argument --n-patients: expected a whole number >= 1, got '-19'"),
        (["explain", "{manifest}", "--model-file", "{coxph}", "--output", "{tmp}/maps"],
         "Grad-CAM needs an image model (DenseNetSurvival or MMNNSurvival); got SarculatorCoxPH"),
        (["explain", "{manifest}", "--model-file", "{coxph}", "--output", "{manifest}"],
         "is a file, not a folder"),
        (["evaluate", "{one}", "--model-file", "{coxph}"],
         "cannot evaluate on 1 patient(s) with"),
        # issue 23: underscores in numbers, times beyond follow-up, argument ranges
        (["predict", "{manifest}", "--model-file", "{coxph}", "--times", "3_65"],
         "argument --times: expected comma-separated days such as 365,1825; '3_65' is not a number"),
        (["predict", "{manifest}", "--model-file", "{coxph}", "--times", "365,99999"],
         "times: 99999 days is beyond the model's training follow-up ("),
        (["serve", "--model-file", "{coxph}", "--port", "99999"],
         "argument --port: expected a whole number from 1 to 65535, got '99999'"),
        (["serve", "--model-file", "{coxph}", "--port", "0"],
         "argument --port: expected a whole number from 1 to 65535, got '0'"),
        (["serve", "--model-file", "{coxph}", "--max-upload-mb", "-1"],
         "argument --max-upload-mb: expected a number > 0, got '-1'"),
        (["compare", "{manifest}", "--cv", "1"], "argument --cv: expected a whole number >= 2, got '1'"),
        (["compare", "{manifest}", "--n-jobs", "0"],
         "argument --n-jobs: expected a whole number other than 0 (-1: all cores), got '0'"),
        (["demo", "--random-state", "-1"],
         "argument --random-state: expected a whole number from 0 to 4294967295, got '-1'"),
        (["demo", "--image-size", "0"], "argument --image-size: expected a whole number >= 1, got '0'"),
        (["explain", "{manifest}", "--model-file", "{coxph}", "--n-patients", "1_0"],
         "argument --n-patients: expected a whole number >= 1, got '1_0'"),
    ],
)
def test_cli_failures_are_one_named_line(argv, message, tiny_cohort, coxph_file, tmp_path, capsys):
    (tmp_path / "empty.ssm").write_bytes(b"")
    (tmp_path / "loop_a.csv").symlink_to(tmp_path / "loop_b.csv")
    (tmp_path / "loop_b.csv").symlink_to(tmp_path / "loop_a.csv")
    one = tmp_path / "one"
    one.mkdir()
    paths = {"manifest": str(_manifest_copy(tiny_cohort, tmp_path)), "empty": str(tmp_path / "empty.ssm"),
             "loop": str(tmp_path / "loop_a.csv"),
             "coxph": str(coxph_file), "tmp": str(tmp_path),
             "one": str(_manifest_copy(tiny_cohort, one, rows=[0]))}
    before = Path(paths["manifest"]).read_bytes()
    argv = [a.format(**paths) for a in argv]
    message = message.format(**paths)
    try:
        rc = main(argv)
    except SystemExit as exc:  # argparse's own errors
        rc = exc.code
    assert rc == 2
    assert message in _error_line(capsys, argv[0])
    assert Path(paths["manifest"]).read_bytes() == before  # no input is ever overwritten


def test_fit_checks_the_output_before_any_work(tiny_cohort, tmp_path, monkeypatch, capsys):
    from sarcoma_survival import datasets

    def fail(*args, **kwargs):
        raise AssertionError("the cohort was loaded before the output path was checked")

    monkeypatch.setattr(datasets, "load_cohort", fail)
    assert main(["fit", str(tiny_cohort.manifest), "--model", "sarculator-coxph",
                 "--output", str(tmp_path / "missing" / "m.ssm")]) == 2
    line = _error_line(capsys, "fit")
    assert "missing" in line and "does not exist" in line


@pytest.mark.parametrize("bad_id", ["../../x", "/abs/x", "a\\b", "..", "P\x00"])
def test_manifest_ids_that_are_paths_are_refused(bad_id, tiny_cohort, tmp_path, capsys):
    ids = list(pd.read_csv(tiny_cohort.manifest)["patient_id"])
    ids[2] = bad_id
    manifest = _manifest_copy(tiny_cohort, tmp_path, ids=ids)
    out = tmp_path / "maps"
    assert main(["explain", str(manifest), "--model-file", str(tmp_path / "m.ssm"), "--output", str(out)]) == 2
    line = _error_line(capsys, "explain")
    if "\x00" in bad_id:
        assert "contains NUL bytes" in line
    else:
        assert "CSV line 4" in line and "ids become file names" in line
    assert not out.exists()


def test_unexpected_errors_are_one_line_too(tiny_cohort, monkeypatch, capsys):
    from sarcoma_survival import datasets

    def broken(manifest):
        raise IndexError("list index out of range")  # a bug, not an input problem

    monkeypatch.setattr(datasets, "load_cohort", broken)
    assert main(["preprocess", str(tiny_cohort.manifest)]) == 2
    line = _error_line(capsys, "preprocess")
    assert line.endswith("IndexError: list index out of range (rerun with --traceback for details)")
    with pytest.raises(IndexError):
        main(["--traceback", "preprocess", str(tiny_cohort.manifest)])


def test_demo_warning_line_is_one_line_in_its_own_words():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from sarcoma_survival._demo import warning_line

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("Optimization terminated early, increase max_iter\nsecond line", ConvergenceWarning,
                      stacklevel=1)
        warnings.warn("overflow in exp", RuntimeWarning, stacklevel=1)
        warnings.warn("overflow in exp", RuntimeWarning, stacklevel=1)
    line = warning_line(caught)
    assert "\n" not in line
    assert line == ("1 x ConvergenceWarning, 2 x RuntimeWarning; "
                    "the first says: Optimization terminated early, increase max_iter")
    assert warning_line(caught[:1]).startswith("the solver reached its iteration limit in 1 fit (ConvergenceWarning)")


def test_nonfinite_option_reaches_every_image_reader(tiny_cohort, tmp_path, capsys):
    import SimpleITK as sitk

    from sarcoma_survival._registry import make_model

    # every registry model leaves its readers' policy unset, so that the command's
    # config_context(nonfinite=...) reaches them (defaults built in fit read it too)
    def readers(estimator):
        params = estimator.get_params(deep=False)
        found = [estimator] if "nonfinite" in params else []
        for value in params.values():
            if hasattr(value, "get_params") and not isinstance(value, type):
                found += readers(value)
        return found

    for name in MODELS:
        assert all(reader.nonfinite is None for reader in readers(make_model(name))), name
    # a T1 with NaN voxels: an error naming the option without it, a warning with it
    table = pd.read_csv(tiny_cohort.manifest)
    folder = Path(tiny_cohort.manifest).parent
    for column in ("t1", "t2", "mask"):
        table[column] = [str(folder / p) for p in table[column]]
    image = sitk.ReadImage(table.loc[2, "t1"], sitk.sitkFloat32)
    array = sitk.GetArrayFromImage(image)
    array[0, 0, :3] = np.nan
    broken = sitk.GetImageFromArray(array)
    broken.CopyInformation(image)
    sitk.WriteImage(broken, str(tmp_path / "t1_nan.nrrd"))
    table.loc[2, "t1"] = str(tmp_path / "t1_nan.nrrd")
    manifest = tmp_path / "manifest.csv"
    table.to_csv(manifest, index=False)
    args = ["preprocess", str(manifest), "--image-size", "8", "--quiet"]
    assert main(args) == 2
    line = _error_line(capsys, "preprocess")
    assert str(table.loc[2, "patient_id"]) in line and "t1_nan.nrrd" in line and "--nonfinite fill" in line
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("default")  # as outside the test suite, where warnings are not errors
        assert main([*args, "--nonfinite", "fill"]) == 0
    err = capsys.readouterr().err  # the CLI reports a warning as one line of its own
    assert "sarcoma-survival preprocess: warning:" in err and "3 non-finite voxel(s)" in err
    # a skorch network's preprocessor built in fit takes the policy too, and the saved model keeps it
    model_file = tmp_path / "densenet.ssm"
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        assert main(["fit", str(manifest), "--model", "densenet", "--nonfinite", "fill", "--output",
                     str(model_file), "--param", "max_epochs=1", "--param", "module__block_config=[2,2]",
                     "--param", "module__init_features=8", "--param", "module__growth_rate=8"]) == 0
    assert load_model(model_file).preprocessor_.nonfinite_ == "fill"
