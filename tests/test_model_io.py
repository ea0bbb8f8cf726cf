"""Safe model files: ``save_model`` / ``load_model`` refuse to run code from a file.

The round trip of every exported estimator (identical predictions) is in
``tests/test_common.py``; this module checks the file format and what a hostile or
wrong file does.
"""
from __future__ import annotations

import io
import json
import os
import pickle
import zipfile

import joblib
import numpy as np
import pytest
import skops.io as sio
from sklearn.exceptions import NotFittedError
from sksurv.linear_model import CoxPHSurvivalAnalysis

from sarcoma_survival import SarculatorCoxPH, load_model, save_model
from sarcoma_survival._model_io import ModelFileError, PickleModelFileWarning


class _WritesMarker:
    """Unpickling this runs ``os.mkdir(marker)``: a stand-in for any shell command."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


class _SetsMarker:
    """An object whose restoration (``__setstate__``) writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __setstate__(self, state):
        with open(state["marker"], "w"):
            pass
        self.__dict__.update(state)


@pytest.fixture(scope="module")
def coxph(tiny_cohort):
    return SarculatorCoxPH().fit(tiny_cohort.X, tiny_cohort.y_os)


@pytest.fixture
def saved(coxph, tmp_path):
    return save_model(coxph, tmp_path / "coxph.ssm")


def _rewrite(path, target, **members):
    """Copy the archive ``path`` to ``target`` with some members replaced."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, members.pop(name, src.read(name)))
        for name, data in members.items():
            dst.writestr(name, data)
    return target


def test_file_is_json_and_skops_without_pickle(saved, coxph, tiny_cohort):
    with zipfile.ZipFile(saved) as archive:
        assert sorted(archive.namelist()) == ["estimator.skops", "manifest.json"]
        manifest = json.loads(archive.read("manifest.json"))
        payload = archive.read("estimator.skops")
    assert manifest["format"] == "sarcoma-survival-model" and manifest["format_version"] == 1
    assert manifest["class"] == "SarculatorCoxPH"
    assert manifest["params"] == json.loads(json.dumps(coxph.get_params(deep=False)))
    # The skops part names only allow-listed types, and loads with that list alone.
    untrusted = sio.get_untrusted_types(data=payload)
    assert "sksurv.linear_model.coxph.CoxPHSurvivalAnalysis" in untrusted
    model = load_model(saved)
    np.testing.assert_array_equal(model.predict(tiny_cohort.X), coxph.predict(tiny_cohort.X))


def test_neural_file_holds_safetensors_weights(tiny_cohort, tmp_path):
    from safetensors.torch import load

    from sarcoma_survival import ClinicalMLPSurvival

    net = ClinicalMLPSurvival(max_epochs=2, batch_size=12, random_state=0).fit(tiny_cohort.X, tiny_cohort.y_os)
    path = save_model(net, tmp_path / "mlp.ssm")
    with zipfile.ZipFile(path) as archive:
        assert {"module_.safetensors", "history.json"} <= set(archive.namelist())
        weights = load(archive.read("module_.safetensors"))
    for key, value in net.module_.state_dict().items():
        np.testing.assert_array_equal(weights[key].numpy(), value.numpy())
    model = load_model(path)
    assert [row["epoch"] for row in model.history_] == [1, 2]
    assert model.history_[-1]["train_loss"] == net.history_[-1]["train_loss"]


@pytest.mark.parametrize("writer", ["pickle", "joblib", "zlib", "gzip", "bz2", "xz", "lzma"])
def test_crafted_pickle_does_not_run_by_default(writer, tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.joblib"
    if writer == "pickle":
        path.write_bytes(pickle.dumps(_WritesMarker(marker)))
    else:
        compress = {"joblib": 0, "zlib": 3}.get(writer, (writer, 3))
        joblib.dump(_WritesMarker(marker), path, compress=compress)
    with pytest.raises(ModelFileError, match=r"pickle/joblib file, which can run any code.*allow_pickle=True"):
        load_model(path)
    assert not marker.exists()
    # The payload is real: with the explicit opt-in it runs (with a warning), and the
    # object it returns is still refused.
    with pytest.warns(PickleModelFileWarning, match="runs code from the file"), \
            pytest.raises(ModelFileError, match="not an estimator of this package"):
        load_model(path, allow_pickle=True)
    assert marker.exists()


def test_crafted_skops_part_is_refused(saved, tmp_path):
    marker = tmp_path / "pwned"
    crafted = _rewrite(saved, tmp_path / "crafted.ssm",
                       **{"estimator.skops": sio.dumps(_SetsMarker(marker))})
    with pytest.raises(ModelFileError, match=r"outside the allow-list: .*_SetsMarker"):
        load_model(crafted)
    assert not marker.exists()


def test_manifest_class_must_be_an_exported_estimator(saved, tmp_path):
    with zipfile.ZipFile(saved) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    manifest["class"] = "Popen"
    crafted = _rewrite(saved, tmp_path / "crafted.ssm", **{"manifest.json": json.dumps(manifest)})
    with pytest.raises(ModelFileError, match="names class 'Popen', which is not an estimator"):
        load_model(crafted)
    manifest["class"], manifest["format_version"] = "SarculatorCoxPH", 99
    crafted = _rewrite(saved, tmp_path / "newer.ssm", **{"manifest.json": json.dumps(manifest)})
    with pytest.raises(ModelFileError, match="format version 99; this sarcoma_survival reads version 1"):
        load_model(crafted)
    manifest["format_version"], manifest["class"] = 1, "ClinicalRSF"
    crafted = _rewrite(saved, tmp_path / "other.ssm", **{"manifest.json": json.dumps(manifest)})
    with pytest.raises(ModelFileError, match="says ClinicalRSF but holds .*SarculatorCoxPH"):
        load_model(crafted)


def _zip_without_manifest(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.txt", "hello")


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "is not a regular file"),
        (lambda p: p.write_bytes(b""), "is empty"),
        (lambda p: p.write_text("patient_id,age\nP1,50\n"), "is not a sarcoma-survival model file"),
        (_zip_without_manifest, "zip archive but not a sarcoma-survival model file"),
        (lambda p: p.write_bytes(pickle.dumps({"a": 1})), "allow_pickle=True"),
    ],
    ids=["missing", "folder", "empty", "csv", "other-zip", "pickle"],
)
def test_wrong_files_give_one_line_named_errors(make, message, tmp_path):
    path = tmp_path / "model.ssm"
    make(path)
    with pytest.raises(ModelFileError, match=message) as info:
        load_model(path)
    text = str(info.value)
    assert "\n" not in text and str(path) in text


def test_truncated_file_is_named(saved, tmp_path):
    data = saved.read_bytes()
    truncated = tmp_path / "cut.ssm"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="cut.ssm"):
        load_model(truncated)


def test_pickle_of_another_object_is_refused_after_opt_in(tmp_path):
    path = tmp_path / "dict.joblib"
    joblib.dump({"weights": [1, 2]}, path)
    with pytest.warns(PickleModelFileWarning), pytest.raises(ModelFileError, match="holds a builtins.dict"):
        load_model(path, allow_pickle=True)


def test_trusted_pickle_loads_with_opt_in(coxph, tiny_cohort, tmp_path):
    path = tmp_path / "coxph.joblib"
    joblib.dump(coxph, path)
    with pytest.warns(PickleModelFileWarning, match="only do this for a file you trust"):
        model = load_model(path, allow_pickle=True)
    np.testing.assert_array_equal(model.predict(tiny_cohort.X), coxph.predict(tiny_cohort.X))


@pytest.mark.parametrize("name", ["SarculatorCoxPH", "ClinicalMLPSurvival"])
def test_save_refuses_unfitted_models(name, tmp_path):
    import sarcoma_survival

    with pytest.raises(NotFittedError):
        save_model(getattr(sarcoma_survival, name)(), tmp_path / "m.ssm")
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_foreign_estimators_and_missing_folders(coxph, tiny_cohort, tmp_path):
    other = CoxPHSurvivalAnalysis()
    with pytest.raises(TypeError, match="got sksurv.linear_model.coxph.CoxPHSurvivalAnalysis"):
        save_model(other, tmp_path / "m.ssm")
    with pytest.raises(FileNotFoundError, match="folder of model file"):
        save_model(coxph, tmp_path / "missing" / "m.ssm")
    assert not (tmp_path / "m.ssm").exists()


def test_save_refuses_unknown_types_inside(tiny_cohort, tmp_path):
    from sarcoma_survival import ClinicalRSF

    model = ClinicalRSF(n_estimators=5, random_state=0).fit(tiny_cohort.X, tiny_cohort.y_os)
    model.extra_ = _SetsMarker(tmp_path / "x")  # a type outside the allow-list
    with pytest.raises(TypeError, match=r"type test_model_io._SetsMarker, which the safe model format"):
        save_model(model, tmp_path / "m.ssm")
    model.extra_ = io.BytesIO(b"x")  # a type skops cannot store at all
    with pytest.raises(TypeError, match=r"an object that the safe model format cannot store"):
        save_model(model, tmp_path / "m.ssm")
    assert list(tmp_path.iterdir()) == []  # no partial file


OLD_FILES = os.path.join(os.path.dirname(__file__), "fixtures", "model_files")


def test_model_files_written_before_the_neural_refactor_still_load(tmp_path):
    # files of commit 3d4ce64 (see fixtures/model_files/README.md): they name CoxPHLoss in
    # nn._callbacks and store last_blend_estimate_ as an attribute
    import warnings

    from sarcoma_survival import config_context
    from sarcoma_survival.datasets import make_synthetic_cohort

    data = make_synthetic_cohort(30, image_size=16, random_state=0, competing_death_weight=1,
                                 data_dir=tmp_path / "data")
    with config_context(cache=False):  # the file names a cache folder of the machine that wrote it
        mmnn = load_model(os.path.join(OLD_FILES, "mmnn_written_by_3d4ce64.ssm"))
        risk = mmnn.predict(data.X)
        assert np.isfinite(risk).all() and mmnn.criterion_.head_weights is None
        with pytest.warns(FutureWarning, match="last_blend_estimate_ is deprecated"):
            last = mmnn.last_blend_estimate_  # the value the file stored
        assert last.shape == (3,) and last.sum() == pytest.approx(1.0)
        assert mmnn.blending_weights_.shape == (3, 3)
        np.testing.assert_array_equal(load_model(save_model(mmnn, tmp_path / "again.ssm")).predict(data.X), risk)
    competing = load_model(os.path.join(OLD_FILES, "clinical_mlp_competing_written_by_3d4ce64.ssm"))
    assert competing.n_causes_ == 2 and competing.cause == 2
    incidence = competing.predict_cumulative_incidence(data.X, [300.0, 900.0])
    assert incidence.shape == (len(data.X), 2) and ((incidence >= 0) & (incidence <= 1)).all()
    with pytest.raises(AttributeError, match="competing-risks outcome"):
        competing.predict_survival_function(data.X)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(
            load_model(save_model(competing, tmp_path / "c.ssm")).predict(data.X), competing.predict(data.X))


# ------------------------------------------------- the model the file claims, or nothing
@pytest.fixture(scope="module")
def mlp(tiny_cohort):
    from sarcoma_survival import ClinicalMLPSurvival

    return ClinicalMLPSurvival(max_epochs=1, batch_size=12, module__hidden_sizes=(4,),
                               random_state=0).fit(tiny_cohort.X, tiny_cohort.y_os)


@pytest.fixture
def mlp_file(mlp, tmp_path):
    return save_model(mlp, tmp_path / "mlp.ssm")


def _manifest(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("manifest.json"))


def _without(path, target, *names, **members):
    """Copy the archive ``path`` to ``target`` without ``names``, with ``members`` replaced."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(target, "w") as dst:
        for name in src.namelist():
            if name not in names:
                dst.writestr(name, members.pop(name, src.read(name)))
    return target


@pytest.mark.parametrize("keep_weights", [True, False], ids=["weights-kept", "weights-removed"])
def test_manifest_listing_no_torch_module_is_refused(mlp_file, keep_weights, tmp_path):
    # Before: the network loaded with fresh random weights and no error.
    manifest = _manifest(mlp_file)
    assert manifest["torch_modules"] == ["module_"]
    manifest["torch_modules"] = []
    dropped = () if keep_weights else ("module_.safetensors",)
    crafted = _without(mlp_file, tmp_path / "crafted.ssm", *dropped, **{"manifest.json": json.dumps(manifest)})
    with pytest.raises(ModelFileError, match=r"crafted.ssm.* lists no weights for module_: .*untrained weights"):
        load_model(crafted)


def test_missing_or_partial_weights_are_refused(mlp, mlp_file, tmp_path):
    from safetensors.torch import save

    crafted = _without(mlp_file, tmp_path / "gone.ssm", "module_.safetensors")
    with pytest.raises(ModelFileError, match=r"gone.ssm.*the weights of module_ do not load"):
        load_model(crafted)
    state = {k: v.clone() for k, v in mlp.module_.state_dict().items()}
    state.pop(sorted(state)[0])  # one tensor short: strict loading names it
    crafted = _without(mlp_file, tmp_path / "part.ssm", **{"module_.safetensors": save(state)})
    with pytest.raises(ModelFileError, match=r"part.ssm.*the weights of module_ do not load.*Missing key") as info:
        load_model(crafted)
    assert "\n" not in str(info.value)


def test_nonfinite_weights_are_refused_at_save_and_at_load(mlp, mlp_file, tmp_path):
    import torch
    from safetensors.torch import save

    state = {k: v.clone() for k, v in mlp.module_.state_dict().items()}
    name = next(k for k, v in state.items() if torch.is_floating_point(v))
    state[name][...] = float("nan")
    crafted = _without(mlp_file, tmp_path / "nan.ssm", **{"module_.safetensors": save(state)})
    with pytest.raises(ModelFileError, match=rf"nan.ssm.*weights of module_ hold NaN or infinite values \({name}"):
        load_model(crafted)

    broken = load_model(mlp_file)
    with torch.no_grad():
        broken.module_.state_dict()[name][...] = float("inf")
    with pytest.raises(ValueError, match=rf"weights of module_ hold NaN or infinite values \({name}.*refit"):
        save_model(broken, tmp_path / "inf.ssm")
    assert not (tmp_path / "inf.ssm").exists()


@pytest.fixture(scope="module")
def image_model(tiny_cohort, tmp_path_factory):
    from sarcoma_survival import DenseNetSurvival
    from sarcoma_survival.preprocessing import VolumePreprocessor

    site = tmp_path_factory.mktemp("fitting_site") / "site-cache"
    return DenseNetSurvival(
        preprocessor=VolumePreprocessor(12, n4=False, cache_dir=str(site)), max_epochs=1, batch_size=6,
        module__init_features=4, module__growth_rate=2, module__block_config=(1, 1), random_state=0,
    ).fit(tiny_cohort.X, tiny_cohort.y_os), site


def _cache_dirs(model):
    from sarcoma_survival.utils import walk_estimators

    return [part.cache_dir for part in walk_estimators(model, params=True) if hasattr(part, "cache_dir")]


def test_no_fitting_site_path_in_the_file(image_model, tiny_cohort, tmp_path, monkeypatch):
    model, site = image_model
    path = save_model(model, tmp_path / "densenet.ssm")
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            assert str(site).encode() not in archive.read(name), name
    assert _cache_dirs(model) == [str(site)] * 2  # the caller's model is left as it was
    # The reading site's own cache setting applies: predict writes there, not at the site's path.
    reader_cache = tmp_path / "reader-cache"
    monkeypatch.setenv("SARCOMA_SURVIVAL_CACHE", str(reader_cache))
    loaded = load_model(path)
    assert _cache_dirs(loaded) == [None, None]
    before = sorted(p.name for p in site.rglob("*"))
    np.testing.assert_allclose(loaded.predict(tiny_cohort.X[:3]), model.predict(tiny_cohort.X[:3]))
    assert any(reader_cache.rglob("*.npy"))
    assert sorted(p.name for p in site.rglob("*")) == before


def test_a_pretrained_checkpoint_is_named_without_the_sites_folders(image_model, tmp_path, monkeypatch):
    model, _ = image_model
    checkpoint = tmp_path / "site-folders" / "yaware_densenet121.pth"
    monkeypatch.setattr(model, "pretrained_weights", str(checkpoint))  # as if fitted from it
    path = save_model(model, tmp_path / "densenet.ssm")
    with zipfile.ZipFile(path) as archive:
        assert not any(b"site-folders" in archive.read(name) for name in archive.namelist())
    assert model.pretrained_weights == str(checkpoint)  # the caller's model is left as it was
    # a refit elsewhere needs the checkpoint: the parameter still names it
    assert load_model(path).pretrained_weights == "yaware_densenet121.pth"


def test_old_file_with_a_cache_dir_loads_and_ignores_it(image_model, tmp_path, monkeypatch):
    import contextlib

    from sarcoma_survival import _model_io

    model, site = image_model
    # A file written before site paths were dropped: the same writer without that step.
    with monkeypatch.context() as patch:
        patch.setattr(_model_io, "_site_paths_dropped", contextlib.nullcontext)
        path = save_model(model, tmp_path / "old.ssm")
    with zipfile.ZipFile(path) as archive:
        assert str(site).encode() in archive.read("estimator.skops")
    assert _cache_dirs(load_model(path)) == [None, None]


def test_competing_risks_model_files_written_before_the_move_still_load(tmp_path):
    # files of commit 30c2254 (fixtures/model_files/README.md): SarculatorFineGray named by
    # its old module competing_risks._sarculator, FineGrayCoxPH and CauseSpecificCoxPH
    # without the cohort-table parameters; each predicts as a fit of the same data now
    from sarcoma_survival.competing_risks import CauseSpecificCoxPH, FineGrayCoxPH
    from sarcoma_survival.datasets import make_synthetic_cohort
    from sarcoma_survival.models import SarculatorFineGray

    data = make_synthetic_cohort(60, image_size=16, random_state=0, competing_death_weight=1,
                                 data_dir=tmp_path / "data")
    numeric = data.X[["age", "tumor_size_cm"]].to_numpy(float)
    cases = [
        ("fine_gray", FineGrayCoxPH(alpha=0.1), numeric),
        ("cause_specific", CauseSpecificCoxPH(cause=2, alpha=0.1), numeric),
        ("sarculator_fine_gray", SarculatorFineGray(min_frequency=1), data.X),
    ]
    times = [200.0, 500.0, 1000.0]
    for name, fresh, X in cases:
        old = load_model(os.path.join(OLD_FILES, f"{name}_written_by_30c2254.ssm"))
        assert type(old) is type(fresh)
        assert old.get_params() == fresh.get_params()  # the new parameters at their defaults
        fresh.fit(X, data.y_dm_competing)
        np.testing.assert_allclose(old.predict(X), fresh.predict(X), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(old.predict_cumulative_incidence(X, times),
                                   fresh.predict_cumulative_incidence(X, times), rtol=1e-10, atol=1e-12)
        again = load_model(save_model(old, tmp_path / f"{name}.ssm"))
        np.testing.assert_array_equal(again.predict(X), old.predict(X))
