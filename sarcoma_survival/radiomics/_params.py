"""PyRadiomics parameters: the shipped defaults, user files/dicts, validation, feature names."""
from __future__ import annotations

import copy
import functools
import json
import logging
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from ._quiet import quiet_radiomics

#: Shape feature classes: they depend on the mask only, not on the image intensities.
SHAPE_CLASSES = ("shape", "shape2D")

_DEFAULT_FILES = {"zscore": "radiomics_zscore.yaml", "raw": "radiomics_raw.yaml"}


def default_params_path(kind="zscore"):
    """Path of a PyRadiomics parameter file shipped with sarcoma_survival.

    Parameters
    ----------
    kind : {"zscore", "raw"}, default="zscore"
        ``"zscore"``: settings for N4-corrected, z-scored images (the default of
        :class:`RadiomicsExtractor`); ``"raw"``: PyRadiomics' own default settings, used when
        features are extracted from the raw files (``preprocessor=None``). Both enable the
        same 100 features.

    Returns
    -------
    pathlib.Path
        The YAML parameter file shipped inside the installed package.

    Examples
    --------
    >>> from sarcoma_survival.radiomics import default_params_path
    >>> default_params_path("raw").name
    'radiomics_raw.yaml'
    """
    if kind not in _DEFAULT_FILES:
        raise ValueError(f"kind must be one of {sorted(_DEFAULT_FILES)}, got {kind!r}")
    return Path(str(resources.files("sarcoma_survival") / "data" / _DEFAULT_FILES[kind]))


def _read_yaml(path):
    from ruamel.yaml import YAML  # a dependency of pykwalify, itself required by PyRadiomics

    with open(path, encoding="utf-8") as handle:
        data = YAML(typ="safe", pure=True).load(handle)
    # Plain builtins only (JSON round trip): hashable for the cache key and picklable.
    return json.loads(json.dumps(data if data is not None else {}))


def load_params(params, *, preprocessed=True):
    """Return a validated PyRadiomics parameter dict.

    Parameters
    ----------
    params : None, str, Path or dict
        ``None`` picks the shipped default (:func:`default_params_path`, ``"zscore"`` when
        ``preprocessed`` else ``"raw"``); a path names a PyRadiomics YAML/JSON parameter
        file; a dict has PyRadiomics' top-level keys (``imageType``, ``featureClass``,
        ``setting``, ``voxelSetting``).
    preprocessed : bool, default=True
        Whether images arrive N4-corrected and z-scored (selects the default file only).

    Returns
    -------
    dict
        A plain (JSON-able) copy of the parameters, validated by PyRadiomics' own schema.

    Raises
    ------
    FileNotFoundError
        If a parameter file does not exist.
    ValueError
        If PyRadiomics rejects the parameters; the message names the file when there is one.

    Examples
    --------
    >>> from sarcoma_survival.radiomics import load_params
    >>> load_params(None, preprocessed=False)["setting"]["binWidth"]
    25
    """
    source = "parameter dict"
    if params is None:
        params = default_params_path("zscore" if preprocessed else "raw")
    if isinstance(params, (str, Path)):
        path = Path(params)
        if not path.is_file():
            raise FileNotFoundError(f"PyRadiomics parameter file {str(path)!r} does not exist")
        source = f"parameter file {str(path)!r}"
        params = _read_yaml(path)
    elif isinstance(params, dict):
        params = json.loads(json.dumps(params))
    else:
        raise TypeError(
            "params must be None, a path to a PyRadiomics parameter file or a dict, "
            f"got {type(params).__name__}"
        )
    if not isinstance(params, dict):
        raise ValueError(f"{source}: expected a mapping at top level")
    unknown = set(params) - {"imageType", "featureClass", "setting", "voxelSetting"}
    if unknown:
        raise ValueError(f"{source}: unknown top-level keys {sorted(unknown)}")
    try:
        make_extractor(params)
    except Exception as exc:  # pykwalify's SchemaError and friends
        raise ValueError(f"{source} rejected by PyRadiomics: {exc}") from exc
    return params


def make_extractor(params, *, drop_shape=False, log_level=logging.ERROR):
    """PyRadiomics extractor for ``params``; without the shape classes if ``drop_shape``.

    ``log_level`` is the level of PyRadiomics' logger while it is built (see
    :func:`quiet_radiomics`).
    """
    from radiomics.featureextractor import RadiomicsFeatureExtractor

    with quiet_radiomics(log_level), warnings.catch_warnings():
        # pykwalify (PyRadiomics' parameter validator) loads its schema extension with the
        # deprecated importlib ``load_module``; nothing we can change from here.
        warnings.filterwarnings(
            "ignore", message=r"the load_module\(\) method is deprecated", category=DeprecationWarning
        )
        extractor = RadiomicsFeatureExtractor(copy.deepcopy(params))
    # Settings that pyradiomics' own loader enforces: results only, no provenance entries.
    extractor.settings["additionalInfo"] = False
    if drop_shape:
        extractor.enabledFeatures = {
            name: feats for name, feats in extractor.enabledFeatures.items() if name not in SHAPE_CLASSES
        }
    return extractor


def _phantom(settings):
    """A small image + mask on which every enabled feature can be computed."""
    rng = np.random.default_rng(0)
    low, high = 0.0, 100.0
    if settings.get("resegmentRange"):
        bounds = list(settings["resegmentRange"]) + [None]
        low = float(bounds[0])
        high = float(bounds[1]) if bounds[1] is not None else low + 100.0
    elif settings.get("binWidth"):
        high = 20.0 * float(settings["binWidth"])
    values = rng.uniform(low, high, size=(14, 14, 14))
    image = sitk.GetImageFromArray(values.astype(np.float32))
    labels = np.zeros((14, 14, 14), dtype=np.uint32)
    region = [slice(3, 11), slice(4, 10), slice(3, 12)]
    if settings.get("force2D"):  # 2D shape needs a ROI one voxel thick along force2Ddimension
        region[int(settings.get("force2Ddimension", 0))] = slice(7, 8)
    labels[tuple(region)] = int(settings.get("label", 1))
    mask = sitk.GetImageFromArray(labels)
    return image, mask


@functools.lru_cache(maxsize=64)
def _feature_names_cached(params_json, drop_shape):
    params = json.loads(params_json)
    extractor = make_extractor(params, drop_shape=drop_shape)
    if not extractor.enabledFeatures:
        return ()
    image, mask = _phantom(extractor.settings)
    with quiet_radiomics():
        result = extractor.execute(image, mask)
    return tuple(name for name in result if not name.startswith("diagnostics_"))


def feature_names(params, *, drop_shape=False):
    """Names PyRadiomics gives the features enabled by ``params``, in its output order.

    Found by running the extractor once on a small random phantom, so that every image type
    and filter of a user's parameter file is named exactly as PyRadiomics names it.
    """
    return list(_feature_names_cached(json.dumps(params, sort_keys=True), bool(drop_shape)))
