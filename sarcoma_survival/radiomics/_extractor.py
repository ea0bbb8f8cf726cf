"""RadiomicsExtractor: PyRadiomics features of T1 and T2 inside the tumor mask, per patient."""
from __future__ import annotations

import os
import sys
import time
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted
from tqdm.auto import tqdm

from .._config import ReaderSettingsMixin
from .._parallel import parallel_map
from .._schema import CHANNEL_COLUMNS
from ..preprocessing import NONFINITE_POLICIES
from ..utils import InputPathError, clean_stale_temp_files_once, file_digest, get_cache_dir, hash_params
from ..utils.validation import LaterParamsMixin, check_cohort_frame
from ._params import feature_names, load_params
from ._patient import RadiomicsExtractionError, extract_patient, log_level_for, read_cache

#: Bump when the cached record changes meaning; old records are then ignored.
_CACHE_VERSION = 2

#: Preprocessor parameters that do not change its images, left out of the cache key.
_NOT_IN_KEY = frozenset({"n_jobs", "verbose", "cache", "cache_n4", "cache_dir", "max_voxels"})


def _check_paths(X, columns):
    missing_cols = [c for c in columns if c not in X.columns]
    if missing_cols:
        raise ValueError(
            f"the cohort table has no column {missing_cols[0]!r} (image columns needed: {list(columns)})"
        )
    for column in columns:
        empty = X[column].isna() | (X[column].astype(str).str.strip() == "")
        if empty.any():
            names = ", ".join(str(p) for p in X.index[empty.to_numpy()][:10])
            raise ValueError(f"column {column!r} has no image path for patient(s): {names}")


class RadiomicsExtractor(LaterParamsMixin, ReaderSettingsMixin, TransformerMixin, BaseEstimator):
    """PyRadiomics features of each MRI sequence inside the tumor mask.

    For each patient (row of the cohort table) the T1 image, the T2 image when the table has
    a ``t2`` column, and the tumor mask are read; by default they are N4-corrected and
    z-scored on the native T1 grid by :meth:`VolumePreprocessor.load_native
    <sarcoma_survival.preprocessing.VolumePreprocessor.load_native>`, the same preprocessing
    as the neural models. PyRadiomics then computes the enabled features of every sequence
    inside the mask. Columns are prefixed ``t1_`` / ``t2_`` (for example
    ``t1_original_glcm_Contrast``) and concatenated.

    The default parameters enable 100 features per sequence (PyRadiomics' 107 default
    features of the original image minus 7 that are functions of the others; see the user
    guide). Shape features depend on the mask only, so by default they are reported once,
    under ``t1_``: 100 T1 + 90 T2 = 190 columns (``duplicate_shape=True`` gives the paper's
    200). A table without a ``t2`` column gives the T1 features only.

    Results are cached on disk per patient, keyed by the contents of the image files, the
    parameters and the preprocessing, so refits inside cross-validation or grid search
    never extract a patient twice.

    Parameters
    ----------
    params : None, str, Path or dict, default=None
        PyRadiomics parameters: a YAML/JSON parameter file or a dict with PyRadiomics'
        top-level keys (``imageType``, ``featureClass``, ``setting``). ``None`` uses the
        shipped defaults (``default_params_path("zscore")`` for preprocessed images,
        ``default_params_path("raw")`` when ``preprocessor=None``).
    preprocessor : "default", None or VolumePreprocessor, default="default"
        ``"default"``: ``VolumePreprocessor()``; an instance: that preprocessor (cloned and
        fitted), whose ``load_native(row)`` supplies the images; ``None``: the raw files as
        stored (as in PyRadiomics' own tests; a T2 on its own grid is resampled linearly
        onto the mask's grid).
    duplicate_shape : bool, default=False
        Repeat the shape features under every sequence's prefix (identical values).
    nonfinite : {"error", "fill"} or None, default=None
        NaN or infinite voxels in a T1 or T2 file: an error naming the patient and file, or
        replaced by 0 with a warning giving their number. Applies to the raw files
        (``preprocessor=None``) and to the ``"default"`` preprocessor; a preprocessor
        instance follows its own ``nonfinite``. ``None``: the policy of
        :func:`~sarcoma_survival.config_context` at fit (``"error"`` outside one), kept
        afterwards as ``nonfinite_``.
    max_voxels : int, optional
        Largest number of voxels of one input image, checked from its header before
        anything is allocated (default 2**28, see
        :func:`~sarcoma_survival.preprocessing.read_image`). Applies like ``nonfinite``; not
        part of the cache key. ``config_context(max_voxels=...)`` wins over it.
    cache : bool, default=True
        Read and write the per-patient cache (checksummed JSON records; a damaged record is
        logged and extracted again). ``config_context(cache=...)`` wins over it.
    cache_dir : str or Path, default=None
        Cache root (a ``radiomics`` folder is made inside); default
        ``$SARCOMA_SURVIVAL_CACHE``, else ``~/.cache/sarcoma_survival``.
        ``config_context(cache_dir=...)`` wins over it.
    n_jobs : int, default=None
        (``config_context(n_jobs=...)`` wins over it.) Patients extracted in parallel through
        joblib, with scikit-learn's meaning:
        ``None`` is 1 unless inside a :func:`joblib.parallel_backend` context (for example
        ``"dask"``), which then decides; ``-1`` is every core. Each worker runs ITK and BLAS
        with its share of the cores.
    verbose : int, default=0
        ``>= 1``: a progress bar with the seconds per patient and an estimate of the time
        left, then one line with the extraction time per patient; ``>= 2``: also let
        PyRadiomics' own log messages through (by default only its errors are shown).

    Attributes
    ----------
    channels_ : tuple of str
        The sequences used, in column order (``("t1",)`` or ``("t1", "t2")``).
    params_ : dict
        The validated PyRadiomics parameters.
    preprocessor_ : VolumePreprocessor or None
        The fitted preprocessor (None for raw files).
    feature_names_out_ : ndarray of str
        Output column names.
    n_features_in_ : int
        Number of columns of the table seen in ``fit``.
    feature_names_in_ : ndarray of str
        Columns of the table seen in ``fit``.

    See Also
    --------
    sarcoma_survival.RadiomicsRSF : random survival forest on these features.

    Examples
    --------
    >>> import numpy as np, pandas as pd, SimpleITK as sitk, tempfile, os
    >>> from sarcoma_survival.radiomics import RadiomicsExtractor
    >>> folder = tempfile.mkdtemp()
    >>> rng = np.random.default_rng(0)
    >>> rows = {}
    >>> for pid in ["P1", "P2"]:
    ...     label = np.zeros((12, 16, 16), np.uint8); label[3:9, 4:12, 4:12] = 1
    ...     paths = {}
    ...     for name, arr in [("t1", rng.normal(100, 20, label.shape)), ("mask", label)]:
    ...         paths[name] = os.path.join(folder, f"{pid}_{name}.nii.gz")
    ...         sitk.WriteImage(sitk.GetImageFromArray(arr), paths[name])
    ...     rows[pid] = paths
    >>> X = pd.DataFrame.from_dict(rows, orient="index")
    >>> features = RadiomicsExtractor(preprocessor=None, cache_dir=folder).fit_transform(X)
    >>> features.shape
    (2, 100)
    >>> features.columns[0]
    't1_original_shape_Maximum2DDiameterColumn'
    """

    _parameter_constraints = {
        "params": [None, str, os.PathLike, dict],
        "preprocessor": [StrOptions({"default"}), None, HasMethods(["fit", "load_native"])],
        "duplicate_shape": ["boolean"],
        "nonfinite": [StrOptions(set(NONFINITE_POLICIES)), None],
        "max_voxels": [Interval(Integral, 1, None, closed="left"), None],
        "cache": ["boolean"],
        "cache_dir": [None, str, os.PathLike],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        params=None,
        *,
        preprocessor="default",
        duplicate_shape=False,
        nonfinite=None,
        max_voxels=None,
        cache=True,
        cache_dir=None,
        n_jobs=None,
        verbose=0,
    ):
        self.params = params
        self.preprocessor = preprocessor
        self.duplicate_shape = duplicate_shape
        self.nonfinite = nonfinite
        self.max_voxels = max_voxels
        self.cache = cache
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.verbose = verbose

    # objects saved before max_voxels existed (model files, pickles) read with its default
    _params_added_later = {"max_voxels": None}

    def fit(self, X, y=None):
        """Validate the table and the parameters, and record the output feature names.

        No image is read: extraction happens in :meth:`transform` (and is cached).

        Parameters
        ----------
        X : DataFrame
            Cohort table with a ``t1`` and a ``mask`` column (and optionally ``t2``).
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        check_cohort_frame(X, "RadiomicsExtractor.fit", allow_empty=True)
        if "t1" not in X.columns:
            raise ValueError("the cohort table has no column 't1': RadiomicsExtractor needs at least T1")
        self._record_nonfinite()
        self.channels_ = tuple(c for c in CHANNEL_COLUMNS if c in X.columns)
        _check_paths(X, (*self.channels_, "mask"))
        if isinstance(self.preprocessor, str):  # "default"
            from ..preprocessing import VolumePreprocessor

            self.preprocessor_ = VolumePreprocessor(cache=self.cache, cache_dir=self.cache_dir,
                                                    nonfinite=self._setting("nonfinite"),
                                                    max_voxels=self.max_voxels).fit(X)
        elif self.preprocessor is None:
            self.preprocessor_ = None
        else:
            self.preprocessor_ = clone(self.preprocessor).fit(X)
        self.params_ = load_params(self.params, preprocessed=self.preprocessor_ is not None)
        names = []
        for position, channel in enumerate(self.channels_):
            drop_shape = position > 0 and not self.duplicate_shape
            names += [f"{channel}_{name}" for name in feature_names(self.params_, drop_shape=drop_shape)]
        self.feature_names_out_ = np.asarray(names, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.feature_names_in_ = np.asarray([str(c) for c in X.columns], dtype=object)
        return self

    def _task(self, cache_file):
        return {
            "params": self.params_,
            "channels": self.channels_,
            "duplicate_shape": self.duplicate_shape,
            "preprocessor": self.preprocessor_,
            "nonfinite": self._setting("nonfinite"),
            "max_voxels": self._setting("max_voxels"),
            "cache_file": cache_file,
            "log_level": log_level_for(self.verbose),
        }

    def _row(self, row):
        """What a worker needs of a patient's row: the image paths as a dict for raw files.

        A dict instead of a pandas Series spares the worker the pandas import (with scikit-learn,
        most of its start-up); a preprocessor's ``load_native`` gets the whole row.
        """
        if self.preprocessor_ is not None:
            return row
        return {column: row[column] for column in (*self.channels_, "mask")}

    def _preprocessor_identity(self):
        pre = self.preprocessor_
        if pre is None:
            return None
        params = {k: v for k, v in pre.get_params(deep=True).items() if k not in _NOT_IN_KEY}
        return [type(pre).__module__, type(pre).__qualname__, repr(sorted(params.items()))]

    def _cache_key(self, row):
        return hash_params(
            {
                "version": _CACHE_VERSION,
                "pyradiomics": _pyradiomics_version(),
                "params": self.params_,
                "channels": list(self.channels_),
                "duplicate_shape": bool(self.duplicate_shape),
                "preprocessor": self._preprocessor_identity(),
                "nonfinite": self._setting("nonfinite") if self.preprocessor_ is None else None,
                "files": {col: _digest(row, col) for col in (*self.channels_, "mask")},
            }
        )

    def transform(self, X):
        """Extract (or read from the cache) the features of every patient.

        Parameters
        ----------
        X : DataFrame
            Cohort table with the image columns seen in ``fit`` (other columns are ignored,
            their order does not matter).

        Returns
        -------
        DataFrame of shape (n_patients, n_features)
            Indexed like ``X``, columns :attr:`feature_names_out_`, float64. A feature
            PyRadiomics cannot compute for a patient is NaN.

        Raises
        ------
        RadiomicsExtractionError
            If reading or extracting a patient fails; the message names the patient and file.
        """
        check_is_fitted(self, "feature_names_out_")
        check_cohort_frame(X, "RadiomicsExtractor.transform", allow_empty=True)
        _check_paths(X, (*self.channels_, "mask"))
        folder = Path(get_cache_dir(self._setting("cache_dir"))) / "radiomics" if self._setting("cache") else None
        if folder is not None:
            clean_stale_temp_files_once(folder)

        keys = [self._cache_key(X.iloc[i]) for i in range(len(X))]
        results, todo = {}, {}
        for i, key in enumerate(keys):
            if key in results or key in todo:
                continue  # the same patient twice (e.g. a bootstrap sample): extract once
            cached = read_cache(folder / f"{key}.json") if folder is not None else None
            if cached is not None:
                results[key] = cached
            else:
                todo[key] = i

        if todo:
            jobs = [
                (str(X.index[i]), self._row(X.iloc[i]), self._task(folder / f"{key}.json" if folder else None))
                for key, i in todo.items()
            ]
            start = time.perf_counter()
            outputs = parallel_map(extract_patient, jobs, self._setting("n_jobs"))
            # the bar shows the seconds per patient and the time left once a patient is done
            with tqdm(total=len(todo), desc="radiomics", unit="patient", disable=self.verbose < 1) as progress:
                for key, features in zip(todo, outputs):
                    results[key] = features
                    progress.update()
            if self.verbose >= 1:
                seconds = time.perf_counter() - start
                print(f"radiomics: extracted {len(todo)} patient(s) in {seconds:.0f} s ({seconds / len(todo):.1f} s "
                      f"per patient); {len(results) - len(todo)} read from the cache", file=sys.stderr, flush=True)

        names = list(self.feature_names_out_)
        rows = []
        for i, key in enumerate(keys):
            features = results[key]
            missing = [n for n in names if n not in features]
            if missing:
                raise ValueError(
                    f"patient {X.index[i]}: PyRadiomics returned no value for {len(missing)} feature(s), "
                    f"e.g. {missing[:3]}"
                )
            rows.append([features[n] for n in names])
        values = np.asarray(rows, dtype=float).reshape(len(X), len(names))
        return pd.DataFrame(values, index=X.index, columns=names)

    def get_feature_names_out(self, input_features=None):
        """Output column names (``t1_...`` then ``t2_...``).

        Parameters
        ----------
        input_features : ignored
            Present for API compatibility.

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "feature_names_out_")
        return self.feature_names_out_.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.input_tags.allow_nan = True
        tags.target_tags.required = False
        return tags


def _digest(row, column):
    """Content digest of one image path of a row; a path that is no image is a named error."""
    try:
        return file_digest(row[column])
    except InputPathError as exc:
        raise RadiomicsExtractionError(
            f"patient {row.name}, column {column!r}, file {str(row[column])!r}: {exc.reason}"
        ) from None


def _pyradiomics_version():
    import radiomics

    return radiomics.__version__
