"""Model files that can be shared between sites without running code on load.

A model file is a zip archive holding

* ``manifest.json``: format name and version, package version, the estimator's class name
  (one of this package's exported estimators) and its parameters as readable JSON;
* ``estimator.skops``: the scikit-learn / scikit-survival parts (parameters and fitted
  attributes: forests, Cox coefficients, Breslow baselines, encoders, scalers) in the
  skops format, read back with an explicit allow-list of types (never ``trusted=all``);
* ``<attribute>.safetensors``: the weights of each fitted torch module (state dict);
* ``history.json``: the training history of a neural estimator.

The manifest also carries the estimator's **model card** under ``"model_card"`` (see
:func:`read_model_card`): its training cohort and inputs, preprocessing, kept epoch and
validation. Files written before cards existed have none and still load.

Pickle and joblib files can run arbitrary code when they are read; :func:`load_model`
reads them only with ``allow_pickle=True``, and warns.
"""
from __future__ import annotations

import contextlib
import importlib
import json
import os
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np

from .utils import fill_doc

FORMAT = "sarcoma-survival-model"
FORMAT_VERSION = 1
_MANIFEST = "manifest.json"
_ESTIMATOR = "estimator.skops"
_HISTORY = "history.json"

# Subpackages whose exported estimator classes may be saved and loaded.
_ESTIMATOR_MODULES = ("sarcoma_survival", "sarcoma_survival.nn", "sarcoma_survival.competing_risks")
# Of those, the modules that import torch (the neural estimators).
_NEURAL_MODULES = ("sarcoma_survival.nn",)

# skorch attributes re-created by ``initialize()`` (or training-only state): not stored.
_NET_REBUILT = frozenset({
    "callbacks_", "criterion_", "optimizer_", "history_", "initialized_", "virtual_params_",
    "init_context_", "prefixes_", "cuda_dependent_attributes_", "device_",
    "validation_dataset_", "blend_dataset_",
})
# Parameters that name a path of the fitting machine, and what a model file keeps of them
# (also applied to a file written before they were dropped). ``cache_dir``: nothing, so the
# reading site's own settings apply (``SARCOMA_SURVIVAL_CACHE`` or its default cache
# folder). ``pretrained_weights`` (read only by a refit): the file's name without its
# folder, so a refit elsewhere names the checkpoint it needs instead of a site's folders.
_SITE_PATH_PARAMS = {
    "cache_dir": lambda value: None,
    "pretrained_weights": lambda value: Path(value).name,
}
# Trusted third-party types, measured on every exported estimator (skops itself trusts
# scikit-learn's estimators and numpy's basic types). Loading builds instances of these
# through their ordinary state restoration; no function named by the file is called.
_THIRD_PARTY_TYPES = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sksurv.ensemble.forest.RandomSurvivalForest",
    "sksurv.tree.tree.SurvivalTree",
    "sksurv.functions.StepFunction",
    "sksurv.linear_model.coxph.BreslowEstimator",
    "sksurv.linear_model.coxph.CoxPHSurvivalAnalysis",
    "sksurv.linear_model.coxnet.CoxnetSurvivalAnalysis",
    "skorch.dataset.Dataset",
    "torch.utils.data.dataloader.DataLoader",
    "torch.optim.adam.Adam",
    "torch.optim.adamw.AdamW",
    "torch.optim.sgd.SGD",
    # the radiomics models' private feature step (not exported, so named here)
    "sarcoma_survival.models._radiomics_features.RadiomicsFeatures",
    # files written before CoxPHLoss moved to nn._loss name it where it was (still importable)
    "sarcoma_survival.nn._callbacks.CoxPHLoss",
    "sarcoma_survival.competing_risks._sarculator.SarculatorFineGray",  # before it moved to models
)


class ModelFileError(ValueError):
    """A model file that is missing, unreadable, of another kind, or unsafe to read."""


class PickleModelFileWarning(UserWarning):
    """A pickle/joblib model file is being read (``allow_pickle=True``): it can run code."""


def _type_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _estimator_classes(*, neural=True):
    """Exported estimator classes (name -> class) that model files may hold.

    ``neural=False`` leaves the neural estimators (those of :data:`_NEURAL_MODULES`) out
    without importing them, so that saving or loading a clinical or radiomics model
    imports no torch.
    """
    from sklearn.base import BaseEstimator

    classes = {}
    for module_name in _ESTIMATOR_MODULES:
        if not neural and module_name in _NEURAL_MODULES:
            continue
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        lazy = getattr(module, "_LAZY", {})  # the top-level package's lazy names
        for name in getattr(module, "__all__", ()):
            if not neural and lazy.get(name) in _NEURAL_MODULES:
                continue
            obj = getattr(module, name, None)
            if isinstance(obj, type) and issubclass(obj, BaseEstimator) and hasattr(obj, "predict"):
                classes[name] = obj
    return classes


def _estimator_class(name):
    """The exported estimator class called ``name``, or None.

    Looked up among the non-neural estimators first, so that a clinical model file is read
    and written without importing torch; the neural ones are imported only for a name
    that is not found there.
    """
    cls = _estimator_classes(neural=False).get(name)
    return cls if cls is not None else _estimator_classes().get(name)


def _trusted_types(*, neural=True):
    """The allow-list given to :func:`skops.io.load` (never a neural estimator class).

    A neural estimator's ``__setstate__`` (skorch's) would ``torch.load`` bytes from the
    file, so neural estimators are stored as a plain dict and rebuilt by this module.
    ``neural=False`` (the file of a clinical or radiomics model) leaves out the types of
    the neural stack without importing it: such a file never holds one, and one that
    does is refused.
    """
    from .preprocessing import ClinicalEncoder, VolumePreprocessor
    from .radiomics import RadiomicsExtractor

    ours = [ClinicalEncoder, VolumePreprocessor, RadiomicsExtractor]
    if neural:
        from .nn import (
            ClinicalMLP,
            CoxPHLoss,
            DenseNetRisk,
            FitSummary,
            KeepBestWeights,
            MultimodalNet,
            SurvivalValidSplit,
        )
        from .preprocessing import RandomAugment3D

        ours += [RandomAugment3D, ClinicalMLP, DenseNetRisk, MultimodalNet, CoxPHLoss,
                 SurvivalValidSplit, KeepBestWeights, FitSummary]
    ours += [cls for cls in _estimator_classes(neural=neural).values() if not _is_net_class(cls)]
    return sorted({*map(_type_name, ours), *_THIRD_PARTY_TYPES})


def _is_net_class(cls):
    # a skorch estimator's class is defined after importing skorch: without skorch
    # imported, ``cls`` is not one (and checking imports no torch)
    skorch = sys.modules.get("skorch")
    return skorch is not None and isinstance(cls, type) and issubclass(cls, skorch.NeuralNet)


def _skops_io():
    """``skops.io``, imported without the array libraries that scikit-learn's module walk pulls in.

    Importing ``skops.io`` lists scikit-learn's estimators (``sklearn.utils.all_estimators``),
    which imports every scikit-learn package, ``sklearn.externals.array_api_compat.torch``
    and ``.dask`` included, and so torch and Dask: about a second of CPU for a command that
    uses neither. Those stay unimported (unless they already are); the list of estimators,
    and so skops' trusted types, is the same.
    """
    from .utils import import_without

    return import_without("skops.io", blocked=("torch", "dask", "jax", "cupy"))


def _jsonable(value):
    """A readable JSON form of a parameter value (for the manifest only, never read back)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, type):
        return {"class": _type_name(value)}
    if hasattr(value, "get_params"):
        return {"class": _type_name(type(value)),
                "params": {k: _jsonable(v) for k, v in value.get_params(deep=False).items()}}
    if isinstance(value, np.generic):
        return value.item()
    return repr(value)


def _is_frame(value):
    import pandas as pd

    return isinstance(value, pd.DataFrame)


def _without_generators(value):
    """An estimator attribute that holds a torch random generator, stored unfitted.

    Such a generator is training-time state (augmentation), re-seeded by the next fit.
    """
    import torch
    from sklearn.base import BaseEstimator, clone

    if isinstance(value, BaseEstimator) and any(
        isinstance(v, torch.Generator) for v in vars(value).values()
    ):
        return clone(value)
    return value


_FRAME = "__dataframe__"


def _encode_frame(frame):
    """A DataFrame as plain lists and arrays (skops stores no pandas objects)."""
    return {
        _FRAME: FORMAT_VERSION,
        "columns": [str(c) for c in frame.columns],
        "arrays": [frame[c].to_numpy() for c in frame.columns],
        "index": frame.index.to_numpy(),
        "index_name": frame.index.name,
    }


def _decode_frame(value):
    import pandas as pd

    frame = pd.DataFrame(dict(zip(value["columns"], value["arrays"])), index=value["index"])
    frame.index.name = value["index_name"]
    return frame


def _is_stored_attribute(key, params):
    """Whether a skorch estimator's attribute ``key`` goes into the model file."""
    # private attributes are skorch's own bookkeeping, except those it lists as params
    return not ((key.startswith("_") and key not in params) or key in _NET_REBUILT)


def _torch_module_names(net):
    """Names of the fitted torch modules of a skorch estimator that a model file stores."""
    import torch

    params = net.get_params(deep=False)
    return sorted(key for key, value in vars(net).items()
                  if isinstance(value, torch.nn.Module) and _is_stored_attribute(key, params))


def _nonfinite_tensors(tensors):
    """Names of the floating-point tensors of a state dict that hold a NaN or an infinity."""
    import torch

    return sorted(name for name, tensor in tensors.items()
                  if torch.is_floating_point(tensor) and not bool(torch.isfinite(tensor).all()))


def _net_state(model):
    """Split a fitted skorch estimator into (skops-safe dict, torch state dicts, histories)."""
    import torch
    from skorch.history import History

    state, modules, histories = {}, {}, {}
    params = model.get_params(deep=False)
    for key, value in vars(model).items():
        if isinstance(value, History):
            histories[key] = list(value)
        elif not _is_stored_attribute(key, params):
            continue
        elif isinstance(value, torch.nn.Module):
            modules[key] = {k: v.detach().cpu().contiguous() for k, v in value.state_dict().items()}
        elif _is_frame(value):
            state[key] = _encode_frame(value)
        else:
            state[key] = _without_generators(value)
    return state, modules, histories


def _site_path_parts(model):
    """(part, parameter, value, kept value) of every path of the fitting machine in ``model``."""
    from .utils import walk_estimators

    found = []
    for part in walk_estimators(model, params=True):
        for name, keep in _SITE_PATH_PARAMS.items():
            value = vars(part).get(name)
            if isinstance(value, (str, os.PathLike)) and keep(value) != value:
                found.append((part, name, value, keep(value)))
    return found


@contextlib.contextmanager
def _site_paths_dropped(model):
    """``model`` without its site paths (:data:`_SITE_PATH_PARAMS`) inside the block.

    The values are put back afterwards, so saving leaves the caller's model as it was.
    """
    found = _site_path_parts(model)
    for part, name, _, kept in found:
        setattr(part, name, kept)
    try:
        yield model
    finally:
        for part, name, value, _ in found:
            setattr(part, name, value)


def _drop_site_paths(model):
    """A loaded model caches where the reading site says, whatever an older file holds."""
    for part, name, _, kept in _site_path_parts(model):
        setattr(part, name, kept)
    return model


#: The first lines of the examples of ``save_model`` and ``read_model_card``: 40 patients of
#: the Sarculator columns and their outcome (``fill_doc``).
_EXAMPLE_COHORT = """    >>> import pathlib, tempfile
    >>> import numpy as np, pandas as pd
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival import SarculatorCoxPH, save_model
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"age": rng.uniform(30, 80, 40), "tumor_size_cm": rng.uniform(2, 20, 40),
    ...                   "grade": rng.choice(["low", "high"], 40),
    ...                   "histology": rng.choice(["liposarcoma", "leiomyosarcoma"], 40)})
    >>> y = Surv.from_arrays(rng.random(40) < 0.6, rng.uniform(30, 3000, 40))
"""


@fill_doc(example_cohort=_EXAMPLE_COHORT)
def save_model(model, path, *, validation=None):
    """Save a fitted estimator of this package to a safe model file, with its model card.

    The file holds no pickle: JSON, safetensors weights and skops data, which
    :func:`load_model` reads back with an allow-list of types, so loading a file from
    another site runs none of its content. Its manifest carries the model card (see
    :func:`read_model_card`), built from what the fit kept (``training_summary_``, a
    network's history and kept epoch, an inner cross-validation) and ``validation``.

    Parameters
    ----------
    model : estimator
        A fitted estimator exported by ``sarcoma_survival`` (for example
        :class:`~sarcoma_survival.SarculatorCoxPH` or
        :class:`~sarcoma_survival.MMNNSurvival`).
    path : str or path-like
        File to write (conventionally ``*.ssm``); its folder must exist. It is written
        to a temporary file first and then renamed, so a failure never leaves half a file.
    validation : dict, optional
        How well the model did on patients it was not fitted on, measured by you: keys
        ``c_index`` and ``method`` (for example ``"5-fold cross-validation"`` or
        ``"held-out test set, 43 patients"``), optionally ``ci_low``/``ci_high`` (an interval
        of the C-index), ``n_patients``, ``n_events``. Shown by ``sarcoma-survival info``,
        ``predict``, ``evaluate`` and the web page.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    TypeError
        When ``model`` is not one of this package's estimators, or holds an object of a
        type the safe format cannot store (the message names the type).
    ValueError
        When a neural model's weights hold NaN or infinite values (the message names the
        tensors).
    sklearn.exceptions.NotFittedError
        When ``model`` is not fitted.

    Notes
    -----
    No path of the fitting machine is stored: ``cache_dir`` is left out (the reading site's
    own cache settings apply) and ``pretrained_weights`` keeps only the file's name.

    Examples
    --------
    <example_cohort>
    >>> from sarcoma_survival import load_model
    >>> model = SarculatorCoxPH().fit(X, y)
    >>> path = save_model(model, pathlib.Path(tempfile.mkdtemp()) / "coxph.ssm")
    >>> bool((load_model(path).predict(X) == model.predict(X)).all())
    True
    """
    from sklearn.utils.validation import check_is_fitted

    from ._model_card import check_validation, model_card

    check_validation(validation)
    sio = _skops_io()
    name = type(model).__name__
    if _estimator_class(name) is not type(model):
        classes = _estimator_classes()
        raise TypeError(
            f"save_model saves this package's exported estimators ({', '.join(sorted(classes))}); "
            f"got {_type_name(type(model))}"
        )
    # skorch sets some fitted-looking attributes in __init__: a neural model is fitted
    # once it has its training risks (set by a fit on a survival or a competing y)
    check_is_fitted(model, "training_risks_" if _is_net_class(type(model)) else None)
    members = [m for m in getattr(model, "estimators_", ()) if _is_net_class(type(m))]
    if members:
        raise TypeError(
            f"{name} of neural members ({type(members[0]).__name__}) cannot be stored in a safe "
            "model file yet (only its forest and Cox members can); use joblib for a model file "
            "that stays at your site"
        )
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"the folder of model file {str(path)!r} does not exist")

    with _site_paths_dropped(model):
        if _is_net_class(type(model)):
            state, modules, histories = _net_state(model)
        else:
            state, modules, histories = model, {}, {}
        try:
            payload = sio.dumps(state)
        except Exception as exc:
            raise TypeError(
                f"{name} holds an object that the safe model format cannot store ({exc}); use joblib "
                "for a model file that stays at your site"
            ) from exc
        params = _jsonable(model.get_params(deep=False))
    for key, tensors in modules.items():
        bad = _nonfinite_tensors(tensors)
        if bad:
            raise ValueError(
                f"{name}: the weights of {key} hold NaN or infinite values ({', '.join(bad[:5])}); a "
                "model with such weights predicts NaN, so it is not saved: refit it (lower the "
                "learning rate) and save again"
            )
    trusted = _trusted_types(neural=_is_net_class(type(model)))
    untrusted = sorted(set(sio.get_untrusted_types(data=payload)) - set(trusted))
    if untrusted:
        raise TypeError(
            f"{name} holds object(s) of type {', '.join(untrusted)}, which the safe model format "
            "does not store; use joblib for a model file that stays at your site"
        )
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "package_version": importlib.import_module("sarcoma_survival").__version__,
        "class": name,
        "params": params,
        "torch_modules": sorted(modules),
        "model_card": model_card(model, validation=validation),
    }
    from .utils import atomic_path

    if modules:
        from safetensors.torch import save  # imports torch: only for a neural model's weights

    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(_MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))
        archive.writestr(_ESTIMATOR, payload)
        if histories:
            archive.writestr(_HISTORY, json.dumps(histories, default=_jsonable))
        for key, tensors in modules.items():
            archive.writestr(f"{key}.safetensors", save(tensors))
    return path


# ---------------------------------------------------------------------------- reading
# How pickle and joblib files start: pickle protocol >= 2 (joblib's uncompressed files too),
# then joblib's compressors: zlib, gzip, bz2, xz, lzma, zstd, lz4.
_PICKLE_MAGIC = (
    b"\x80", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x1f\x8b", b"BZh",
    b"\xfd7zXZ", b"\x5d\x00\x00", b"\x28\xb5\x2f\xfd", b"\x04\x22\x4d\x18",
)


def _check_file(path):
    if not path.exists():
        raise ModelFileError(f"model file {str(path)!r} does not exist")
    if not path.is_file():
        raise ModelFileError(f"model file {str(path)!r} is not a regular file")
    if path.stat().st_size == 0:
        raise ModelFileError(f"model file {str(path)!r} is empty")


#: Bounds of a model file's zip and of the skops zip inside it, checked from their central
#: directories before a member is read: members, one member and all members uncompressed (the
#: latter also at most MAX_DEFLATE_RATIO times the model file's size: the skops part is stored
#: uncompressed inside a deflated member, so no real file exceeds it).
MODEL_MAX_MEMBERS = 100_000
MODEL_MAX_MEMBER_BYTES = 4 << 30
MODEL_MAX_TOTAL_BYTES = 16 << 30


def _open_model_zip(path, payload=None):
    """The model file's zip (or, given ``payload``, the skops zip inside it), opened within bounds."""
    from .utils import MAX_DEFLATE_RATIO, ArchiveError, open_bounded_zip

    total = min(MODEL_MAX_TOTAL_BYTES, MAX_DEFLATE_RATIO * path.stat().st_size)
    try:
        return open_bounded_zip(path if payload is None else payload, max_members=MODEL_MAX_MEMBERS,
                                max_member_bytes=MODEL_MAX_MEMBER_BYTES, max_total_bytes=total)
    except ArchiveError as exc:
        part = "" if payload is None else f" (its {_ESTIMATOR} part)"
        raise ModelFileError(f"model file {str(path)!r}{part} is refused: {exc.reason}") from None


def _parse_manifest(path, archive):
    """The manifest of the open model-file ``archive``, checked to be this package's format."""
    try:
        manifest = json.loads(archive.read(_MANIFEST))
    except KeyError:
        raise ModelFileError(
            f"{str(path)!r} is a zip archive but not a sarcoma-survival model file: it has no {_MANIFEST}"
        ) from None
    except (ValueError, UnicodeDecodeError):
        raise ModelFileError(
            f"{str(path)!r} is a zip archive but not a sarcoma-survival model file (no valid {_MANIFEST})"
        ) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is not a sarcoma-survival model file ({_MANIFEST} format)")
    return manifest


def read_manifest(path):
    """The manifest of a safe model file, without loading the model; None for another file.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    dict or None
        The manifest (format, versions, class, parameters, model card), or None when the file
        is not a zip archive (a pickle/joblib file, which has none).

    Raises
    ------
    ModelFileError
        When the file is missing or empty, or a zip archive that is refused (its bounds) or
        is not a sarcoma-survival model file.
    """
    path = Path(path)
    _check_file(path)
    if not zipfile.is_zipfile(path):
        return None
    try:
        with _open_model_zip(path) as archive:
            return _parse_manifest(path, archive)
    except zipfile.BadZipFile:
        raise ModelFileError(f"{str(path)!r} is not a sarcoma-survival model file (no valid {_MANIFEST})") from None


def _read_safe(path, archive):
    sio = _skops_io()

    manifest = _parse_manifest(path, archive)
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(
            f"model file {str(path)!r} has format version {version!r}; this sarcoma_survival reads "
            f"version {FORMAT_VERSION} (written by sarcoma_survival {manifest.get('package_version')})"
        )
    name = manifest.get("class")
    cls = _estimator_class(name) if isinstance(name, str) else None
    if cls is None:
        raise ModelFileError(
            f"model file {str(path)!r} names class {manifest.get('class')!r}, which is not an "
            "estimator of this package"
        )
    try:
        payload = archive.read(_ESTIMATOR)
        _open_model_zip(path, payload).close()  # skops' own zip, bounded before skops opens it
        trusted = _trusted_types(neural=_is_net_class(cls))
        untrusted = sorted(set(sio.get_untrusted_types(data=payload)) - set(trusted))
        if untrusted:
            raise ModelFileError(
                f"model file {str(path)!r} holds type(s) outside the allow-list: {', '.join(untrusted)}"
            )
        obj = sio.loads(payload, trusted=trusted)
    except ModelFileError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged skops part: name the file, not the internals
        raise ModelFileError(f"model file {str(path)!r} is damaged: {type(exc).__name__}: {exc}") from None
    if _is_net_class(cls):
        if not isinstance(obj, dict):
            raise ModelFileError(f"model file {str(path)!r} is damaged: its estimator part is not a dict")
        try:
            return _drop_site_paths(_rebuild_net(path, cls, obj, manifest, archive))
        except ModelFileError:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever the stored parameters break
            raise ModelFileError(
                f"model file {str(path)!r}: {cls.__name__} cannot be rebuilt: {type(exc).__name__}: {exc}"
            ) from None
    if type(obj) is not cls:
        raise ModelFileError(
            f"model file {str(path)!r} says {cls.__name__} but holds {_type_name(type(obj))}"
        )
    return _drop_site_paths(obj)


def _rebuild_net(path, cls, state, manifest, archive):
    """A fitted skorch estimator from its stored parameters, attributes and weights."""
    from safetensors.torch import load
    from skorch.history import History

    try:
        net = cls(**{k: v for k, v in state.items() if not k.endswith("_") and not k.startswith("_")})
    except TypeError as exc:
        raise ModelFileError(f"model file {str(path)!r} has parameters {cls.__name__} does not take: {exc}") from None
    fitted = {
        k: _decode_frame(v) if isinstance(v, dict) and _FRAME in v else v
        for k, v in state.items() if k.endswith("_") or k.startswith("_")
    }
    vars(net).update(fitted)
    pretrained = vars(net).get("pretrained_weights")
    if pretrained is not None:
        net.pretrained_weights = None  # the stored weights replace them; the file may be elsewhere
    net.initialize()
    if pretrained is not None:
        net.pretrained_weights = pretrained
    vars(net).update(fitted)  # initialize() may reset some of them
    listed = manifest.get("torch_modules")
    if not isinstance(listed, list) or not all(isinstance(key, str) for key in listed):
        raise ModelFileError(f"model file {str(path)!r} is damaged: its manifest's torch_modules is not a "
                             "list of names")
    expected = _torch_module_names(net)
    missing, unknown = sorted(set(expected) - set(listed)), sorted(set(listed) - set(expected))
    if missing or unknown:
        what = (f"lists no weights for {', '.join(missing)}" if missing
                else f"lists weights for {', '.join(unknown)}, which {cls.__name__} does not have")
        raise ModelFileError(
            f"model file {str(path)!r} {what}: it would predict with untrained weights; the file is "
            "damaged or was not written by save_model, so save the fitted model again"
        )
    for key in expected:
        try:
            tensors = load(archive.read(f"{key}.safetensors"))
            getattr(net, key).load_state_dict(tensors, strict=True)
        except Exception as exc:  # noqa: BLE001 - safetensors, shapes or names: one message
            raise ModelFileError(
                f"model file {str(path)!r}: the weights of {key} do not load: {type(exc).__name__}: "
                + " ".join(str(exc).split())  # torch's message spans lines: one line
            ) from None
        bad = _nonfinite_tensors(tensors)
        if bad:
            raise ModelFileError(
                f"model file {str(path)!r}: the weights of {key} hold NaN or infinite values "
                f"({', '.join(bad[:5])}); such a model predicts NaN: refit it and save it again"
            )
    if _HISTORY in archive.namelist():
        for key, rows in json.loads(archive.read(_HISTORY)).items():
            setattr(net, key, History(rows))
    return net


def _read_pickle(path, allow_pickle):
    if not allow_pickle:
        raise ModelFileError(
            f"model file {str(path)!r} is a pickle/joblib file, which can run any code when it is "
            "read; re-save it with save_model, or pass allow_pickle=True (CLI: --allow-pickle) "
            "only for a file you trust"
        )
    import joblib

    warnings.warn(
        f"reading pickle/joblib model file {str(path)!r}: this runs code from the file; "
        "only do this for a file you trust",
        PickleModelFileWarning,
        stacklevel=3,
    )
    try:
        return joblib.load(path)
    except Exception as exc:  # noqa: BLE001 - a broken pickle can raise anything
        raise ModelFileError(
            f"model file {str(path)!r} is not a readable joblib/pickle file: {type(exc).__name__}: {exc}"
        ) from None


@fill_doc(example_cohort=_EXAMPLE_COHORT)
def read_model_card(path):
    """The model card of a model file, read from its manifest without loading the model.

    Parameters
    ----------
    path : str or path-like
        A model file written by :func:`save_model`.

    Returns
    -------
    dict or None
        The card (``estimator``, ``training``: cohort size, events, follow-up, time origin and
        the summary of the training inputs; ``preprocessing``; ``training_run``: a network's
        epochs, kept epoch and losses; ``validation``), or None for a file written before
        model cards existed.

    Raises
    ------
    ModelFileError
        When the file is not a safe model file (a pickle has no manifest, hence no card).

    Examples
    --------
    <example_cohort>
    >>> from sarcoma_survival import read_model_card
    >>> path = save_model(SarculatorCoxPH().fit(X, y), pathlib.Path(tempfile.mkdtemp()) / "m.ssm",
    ...                   validation={"c_index": 0.64, "method": "5-fold cross-validation"})
    >>> card = read_model_card(path)
    >>> card["training"]["cohort"]["n_patients"], card["validation"]["c_index"]
    (40, 0.64)
    """
    manifest = read_manifest(path)
    if manifest is None:
        raise ModelFileError(f"{str(path)!r} is not a safe sarcoma-survival model file (a zip archive); "
                             "only those carry a model card")
    card = manifest.get("model_card")
    return card if isinstance(card, dict) else None


def load_model(path, *, allow_pickle=False):
    """Read a model file written by :func:`save_model` (or, on request, a pickle).

    Parameters
    ----------
    path : str or path-like
        Model file.
    allow_pickle : bool, default=False
        Also read pickle / joblib files. Reading one runs code stored in it: only use
        this for a file you trust (a :class:`PickleModelFileWarning` says so each time).

    Returns
    -------
    estimator
        The fitted estimator, ready to ``predict``.

    Raises
    ------
    ModelFileError
        (a :class:`ValueError`) When the file is missing, empty, of another kind (a CSV,
        another zip archive), damaged, holds a type outside the allow-list or an object
        that is not one of this package's estimators, lacks the weights of one of a
        neural model's torch modules (or holds weights that do not match it exactly, or
        that are NaN or infinite), or is a pickle without ``allow_pickle=True``. The
        message is one line naming the file.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sarcoma_survival import load_model
    >>> csv = pathlib.Path(tempfile.mkdtemp()) / "cohort.csv"
    >>> _ = csv.write_text("patient_id,age\\nP1,50\\n")
    >>> load_model(csv)
    Traceback (most recent call last):
    ...
    sarcoma_survival._model_io.ModelFileError: ... is not a sarcoma-survival model file ...
    """
    path = Path(path)
    _check_file(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
    if zipfile.is_zipfile(path):
        try:
            with _open_model_zip(path) as archive:
                return _read_safe(path, archive)
        except zipfile.BadZipFile as exc:
            raise ModelFileError(f"model file {str(path)!r} is damaged: {exc}") from None
    if head.startswith(_PICKLE_MAGIC):
        model = _read_pickle(path, allow_pickle)
        if _estimator_class(type(model).__name__) is not type(model):
            raise ModelFileError(
                f"model file {str(path)!r} holds a {_type_name(type(model))}, not an estimator "
                "of this package"
            )
        return model
    raise ModelFileError(
        f"{str(path)!r} is not a sarcoma-survival model file (neither a save_model archive nor, "
        "with allow_pickle=True, a joblib/pickle file)"
    )
