"""VolumePreprocessor: MRI files of the cohort table to model-ready (n, C, D, H, W) volumes."""
from __future__ import annotations

import logging
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._config import ReaderSettingsMixin
from .._schema import CHANNEL_COLUMNS, NORMALIZE_REGIONS
from ..utils import (
    InputPathError,
    clean_stale_temp_files_once,
    file_digest,
    get_cache_dir,
    hash_params,
    input_files,
)
from ..utils.validation import LaterParamsMixin, check_cohort_frame
from ._geometry import crop_box, grid_to_dict, output_grid, resample, tumor_box
from ._io import NONFINITE_POLICIES, ImageReadError, read_image, read_mask
from ._volume_array import VolumeArray
from ._volume_patient import _normalize, _prepare, _process_patient, _read_entry

logger = logging.getLogger("sarcoma_survival")

#: Bumped whenever the processing changes, so stale cache entries are never reused.
_CACHE_VERSION = 2

_NORMALIZE_REGIONS = NORMALIZE_REGIONS


class VolumePreprocessor(LaterParamsMixin, ReaderSettingsMixin, TransformerMixin, BaseEstimator):
    """Turn the MRI references of the cohort table into fixed-size, tumour-centred volumes.

    For every patient (row of ``X``), independently of all other patients:

    1. read the T1 (NIfTI, NRRD, or DICOM series folder), the other channels present among
       ``t1``, ``t2`` and the ``mask`` (label image or DICOM RTSTRUCT); the mask is put on the
       T1 grid by physical coordinates (nearest neighbour);
    2. N4 bias-field correction of each channel on its own native grid (``n4=True``);
    3. z-score normalisation with the mean and SD over ``normalize`` (see Notes);
    4. crop to the tumour bounding box plus ``margin_mm`` on every side, resampled (linear,
       by physical coordinates, each channel straight from its native grid) onto an isotropic
       grid of ``size`` voxels with identity direction (LPS axes: D = inferior→superior,
       H = anterior→posterior, W = right→left); ``spacing=None`` scales the box so its longest
       side fits the grid and pads the shorter ones with ``fill_value``;
    5. optionally blank everything outside the tumour (``masking="tumor"``) or farther than
       ``margin_mm`` from it (``masking="margin"``);
    6. stack the channels in ``t1``, ``t2`` order (only those present in ``X``).

    ``transform`` returns a :class:`VolumeArray` (n, C, D, H, W) float32 that loads each
    patient lazily from a ``.npy`` cache file, keyed by the contents of the input files and
    the processing parameters, written atomically. ``fit`` learns nothing from the patients:
    a new patient gets exactly the same processing.

    Parameters
    ----------
    size : int or tuple of 3 int, default=48
        Output grid (D, H, W); an int gives a cube. The paper used 128.
    spacing : float or None, default=None
        Isotropic output spacing in mm. ``None`` fits the crop box to the grid (tumour size
        is then lost from the image; use a float to keep physical scale: larger tumours are
        cut at the grid border).
    margin_mm : float, default=10.0
        Margin around the tumour bounding box ("immediate periphery").
    masking : {"none", "tumor", "margin"}, default="none"
        Voxels set to ``fill_value``: none, all outside the tumour, or those farther than
        ``margin_mm`` from it.
    box_shape : {"tight", "cube"}, default="tight"
        ``"tight"``: the crop is the tumour box plus ``margin_mm``; with ``spacing=None`` its
        longest side fills the grid and the grid beyond its shorter sides is set to
        ``fill_value`` (padding). ``"cube"``: the crop is a cube around that box (its longest
        side on every axis, at least the grid's extent with a fixed ``spacing``), so the grid
        shows the tissue around the tumour instead of padding. The padding of ``"tight"``
        encodes the tumour box's shape, which networks can learn as a shortcut and which
        Grad-CAM then lights up (see the Grad-CAM guide); ``"cube"`` removes it.
    n4 : bool, default=True
        N4 bias-field correction.
    n4_shrink : int, default=4
        Shrink factor of the N4 fit (speed; the field is smooth).
    n4_iterations : tuple of int, default=(50, 50, 50)
        Maximum N4 iterations per fitting level.
    normalize : {"foreground", "image", "crop", "tumor"} or None, default="foreground"
        Region of the z-score statistics, per channel (None: no normalisation).
    fill_value : float, default=0.0
        Value of padded, out-of-field-of-view and masked voxels.
    antialias : bool, default=True
        Gaussian pre-smoothing (sigma = (output - input spacing) / 2 per axis) before
        downsampling, against aliasing.
    mask_label : int or None, default=None
        Tumour label in a multi-label mask; ``None`` requires a binary mask.
    roi_name : str, default="GTV_Mass"
        ROI used when the mask is a DICOM RTSTRUCT.
    nonfinite : {"error", "fill"} or None, default=None
        NaN or infinite voxels in a T1 or T2 file (NRRD and MHA keep them): an error naming
        the patient and file, or replaced by 0 (no signal) when the file is read, with a
        warning giving their number. A mask with such voxels is always an error. ``None``:
        the policy of :func:`~sarcoma_survival.config_context` when the reader is fitted
        (``"error"`` outside one), kept afterwards as ``nonfinite_``.
    max_voxels : int, optional
        Largest number of voxels of one input image, checked from its header before anything
        is allocated (default ``sarcoma_survival.preprocessing.DEFAULT_MAX_VOXELS``,
        2**28, 1 GiB as float32); raise it for larger images. It changes no result, so it is
        not part of the cache key. ``config_context(max_voxels=...)`` wins over it.
    cache : bool, default=True
        Keep one ``.npy`` per patient on disk (else everything stays in memory). Each entry
        carries a checksum, verified once per process; a damaged entry is logged (logger
        ``sarcoma_survival``) and computed again. ``config_context(cache=...)`` wins over it.
    cache_n4 : bool, default=True
        With ``cache`` and ``n4``, also keep each channel's N4-corrected native image (its
        ``n4/`` subfolder, float32: 4 bytes per voxel and channel, about twice a 16-bit
        input file), so that N4 runs once per patient and channel for the radiomics
        (:meth:`load_native`) and the volumes of every size, margin and normalisation.
        The results are identical with and without it.
    cache_dir : str or Path, optional
        Cache root (default: :func:`~sarcoma_survival.utils.get_cache_dir`); volumes go in
        its ``volumes/`` subfolder. ``config_context(cache_dir=...)`` wins over it.
    n_jobs : int, default=None
        (``config_context(n_jobs=...)`` wins over it.)
        Patients processed in parallel through joblib, with scikit-learn's meaning: ``None``
        is 1 unless inside a :func:`joblib.parallel_backend` context (for example ``"dask"``),
        which then decides; ``-1`` is every core. Each worker runs ITK (N4) and BLAS with its
        share of the cores; one job keeps ITK's own threads.
    verbose : int, default=0
        Show a progress bar when > 0.

    Attributes
    ----------
    channels_ : list of str
        Channel columns found in ``X`` at fit time, in stacking order.
    n_channels_ : int
        ``len(channels_)``.
    feature_names_in_ : ndarray of str
        The columns read: ``channels_`` and ``"mask"`` (selected by name).
    n_features_in_ : int

    Notes
    -----
    The default z-score region, ``"foreground"``, is the patient's body on each channel's
    whole native image (voxels above ``p2 + 0.1 (p98 - p2)``): air in the field of view
    does not dominate the statistics, and the tumour's intensity stays relative to the
    patient's other tissues, which is the information the model should learn. ``"tumor"``
    would erase the tumour's mean intensity (re-validated as a default in December 2026: it
    helped the radiomics baselines a little and a small image network, but cost the demo's
    multimodal network 0.07 of OS C; see the preprocessing guide); ``"crop"`` (box plus
    margin, on the T1 grid) depends on how much healthy tissue the box holds; ``"image"``
    includes the air.

    Examples
    --------
    >>> import numpy as np, pandas as pd, SimpleITK as sitk, tempfile, os
    >>> from sarcoma_survival import VolumePreprocessor
    >>> folder = tempfile.mkdtemp()
    >>> arr = np.random.default_rng(0).uniform(50, 150, (20, 24, 24)).astype(np.float32)
    >>> lab = np.zeros(arr.shape, np.uint8); lab[8:12, 10:14, 10:14] = 1
    >>> sitk.WriteImage(sitk.GetImageFromArray(arr), os.path.join(folder, "t1.nii.gz"))
    >>> sitk.WriteImage(sitk.GetImageFromArray(lab), os.path.join(folder, "mask.nii.gz"))
    >>> X = pd.DataFrame({"t1": [os.path.join(folder, "t1.nii.gz")],
    ...                   "mask": [os.path.join(folder, "mask.nii.gz")]}, index=["P1"])
    >>> vol = VolumePreprocessor(size=16, n4=False, cache_dir=folder).fit_transform(X)
    >>> vol.shape
    (1, 1, 16, 16, 16)
    """

    _parameter_constraints = {
        "size": [Interval(Integral, 4, None, closed="left"), tuple, list],
        "spacing": [Interval(Real, 0, None, closed="neither"), None],
        "margin_mm": [Interval(Real, 0, None, closed="left")],
        "masking": [StrOptions({"none", "tumor", "margin"})],
        "box_shape": [StrOptions({"tight", "cube"})],
        "n4": ["boolean"],
        "n4_shrink": [Interval(Integral, 1, None, closed="left")],
        "n4_iterations": [tuple, list],
        "normalize": [StrOptions(set(_NORMALIZE_REGIONS)), None],
        "fill_value": [Real],
        "antialias": ["boolean"],
        "mask_label": [Integral, None],
        "roi_name": [str],
        "nonfinite": [StrOptions(set(NONFINITE_POLICIES)), None],
        "max_voxels": [Interval(Integral, 1, None, closed="left"), None],
        "cache": ["boolean"],
        "cache_n4": ["boolean"],
        "cache_dir": [str, os.PathLike, None],
        "n_jobs": [Integral, None],
        "verbose": ["verbose"],
    }

    def __init__(self, size=48, *, spacing=None, margin_mm=10.0, masking="none", box_shape="tight", n4=True,
                 n4_shrink=4,
                 n4_iterations=(50, 50, 50), normalize="foreground", fill_value=0.0, antialias=True,
                 mask_label=None, roi_name="GTV_Mass", nonfinite=None, max_voxels=None, cache=True, cache_n4=True,
                 cache_dir=None, n_jobs=None, verbose=0):
        self.size = size
        self.spacing = spacing
        self.margin_mm = margin_mm
        self.masking = masking
        self.box_shape = box_shape
        self.n4 = n4
        self.n4_shrink = n4_shrink
        self.n4_iterations = n4_iterations
        self.normalize = normalize
        self.fill_value = fill_value
        self.antialias = antialias
        self.mask_label = mask_label
        self.roi_name = roi_name
        self.nonfinite = nonfinite
        self.max_voxels = max_voxels
        self.cache = cache
        self.cache_n4 = cache_n4
        self.cache_dir = cache_dir
        self.n_jobs = n_jobs
        self.verbose = verbose

    # objects saved before max_voxels / box_shape existed (model files, pickles) read with
    # their defaults
    _params_added_later = {"max_voxels": None, "box_shape": "tight"}

    # ------------------------------------------------------------------ fit / transform

    def fit(self, X, y=None):
        """Validate the parameters and record the channels present in ``X``.

        Parameters
        ----------
        X : pandas.DataFrame
            Cohort table with a ``t1`` and a ``mask`` column (``t2`` optional).
        y : ignored

        Returns
        -------
        self
        """
        self._validate_params()
        self._grid_size()
        if not (len(self.n4_iterations) > 0 and all(isinstance(i, Integral) and i > 0 for i in self.n4_iterations)):
            raise ValueError(f"n4_iterations must be a non-empty sequence of positive ints, got {self.n4_iterations!r}")
        self._check_frame(X)
        self._record_nonfinite()
        self.channels_ = [c for c in CHANNEL_COLUMNS if c in X.columns]
        if "t1" not in self.channels_:
            raise ValueError("X has no 't1' column: the T1 is the reference grid of every patient")
        self.n_channels_ = len(self.channels_)
        # the columns read, by name (their order and other columns do not matter)
        self.feature_names_in_ = np.asarray([*self.channels_, "mask"], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def transform(self, X):
        """Preprocess every patient of ``X`` (from the cache when possible).

        Parameters
        ----------
        X : pandas.DataFrame
            Cohort table with the columns of ``channels_`` and ``mask``.

        Returns
        -------
        VolumeArray
            Array-like (n_patients, ``n_channels_``, D, H, W), float32, in the row order of ``X``.
        """
        check_is_fitted(self, "channels_")
        self._check_frame(X)
        missing = [c for c in self.channels_ + ["mask"] if c not in X.columns]
        if missing:
            raise ValueError(f"X lacks the column(s) {missing} that were present at fit time")
        settings = self._settings()
        jobs = []
        for patient, row in X.iterrows():
            jobs.append((patient, self._paths(row, patient)))
        shape = (self.n_channels_,) + self._grid_size()
        results = {}
        todo = []
        cache_root = get_cache_dir(self._setting("cache_dir")) / "volumes" if self._setting("cache") else None
        if cache_root is not None:
            clean_stale_temp_files_once(cache_root)
        for position, (patient, paths) in enumerate(jobs):
            if cache_root is None:
                todo.append((position, patient, paths, None))
                continue
            key = hash_params({"version": _CACHE_VERSION, "settings": _result_settings(settings),
                               "channels": self.channels_,
                               "files": {c: file_digest(p) for c, p in paths.items()}})
            target = cache_root / key[:2] / f"{key}.npy"
            geometry = _read_entry(target)
            if geometry is not None:
                results[position] = (str(target), geometry)
            else:
                todo.append((position, patient, paths, target))
        for position, item, geometry in self._run(todo, settings):
            results[position] = (item, geometry)
        items = [results[p][0] for p in range(len(jobs))]
        geometries = [results[p][1] for p in range(len(jobs))]
        return VolumeArray(items, geometries, list(X.index), shape)

    def load_native(self, row):
        """N4-corrected, normalised channels and the mask on the patient's T1 grid (no crop).

        Used by radiomics: the same reading, correction and normalisation as :meth:`transform`,
        without cropping or resizing. Voxels of a channel outside its field of view get
        ``fill_value``.

        Parameters
        ----------
        row : pandas.Series
            One row of the cohort table (``X.loc[patient]``; its name is the patient id).

        Returns
        -------
        channels : dict of str to SimpleITK.Image
            Float32 images on the T1 grid, keyed ``"t1"``, ``"t2"`` (those of ``channels_``).
        mask : SimpleITK.Image
            uint8 {0, 1} tumour mask on the T1 grid.
        """
        check_is_fitted(self, "channels_")
        patient = getattr(row, "name", None)
        prepared = _prepare(self._paths(row, patient), self.channels_, self._settings(), patient,
                            self._n4_cache())
        t1, mask = prepared["t1"], prepared["mask"]
        channels = {}
        for channel in self.channels_:
            image = prepared["native"][channel]
            if channel != "t1":
                image = resample(image, t1, default=np.nan, pixel_type=sitk.sitkFloat32)
            array = sitk.GetArrayFromImage(image).astype(np.float32)
            array = _normalize(array, prepared["stats"].get(channel))
            array[~np.isfinite(array)] = self.fill_value
            out = sitk.GetImageFromArray(array)
            out.CopyInformation(t1)
            channels[channel] = out
        return channels, mask

    def output_geometry(self, row):
        """Physical grid of a patient's output volume, without running the pipeline.

        Parameters
        ----------
        row : pandas.Series
            One row of the cohort table (``X.loc[patient]``).

        Returns
        -------
        dict
            ``origin``, ``spacing``, ``direction`` and ``size`` (x, y, z order), equal to
            ``transform(X).geometry(i)`` for that patient.
        """
        check_is_fitted(self, "channels_")
        patient = getattr(row, "name", None)
        paths = self._paths(row, patient)
        t1 = read_image(paths["t1"], patient=patient, column="t1", nonfinite=self._setting("nonfinite"),
                        max_voxels=self._setting("max_voxels"))
        mask = read_mask(paths["mask"], t1, label=self.mask_label, roi_name=self.roi_name, patient=patient,
                         max_voxels=self._setting("max_voxels"))
        box = crop_box(tumor_box(mask, self.margin_mm), self.box_shape, self._grid_size()[::-1], self.spacing)
        return grid_to_dict(output_grid(box, self._grid_size()[::-1], self.spacing))

    # ------------------------------------------------------------------ helpers
    def _grid_size(self):
        size = self.size
        if isinstance(size, Integral):
            return (int(size),) * 3
        if len(size) != 3 or not all(isinstance(s, Integral) and s >= 4 for s in size):
            raise ValueError(f"size must be an int >= 4 or 3 ints >= 4 (D, H, W), got {size!r}")
        return tuple(int(s) for s in size)

    def _settings(self):
        return {
            "size": list(self._grid_size()),
            "spacing": None if self.spacing is None else float(self.spacing),
            "margin_mm": float(self.margin_mm),
            "masking": self.masking,
            **({} if self.box_shape == "tight" else {"box_shape": self.box_shape}),  # old cache keys kept
            "n4": bool(self.n4),
            "n4_shrink": int(self.n4_shrink),
            "n4_iterations": [int(i) for i in self.n4_iterations],
            "normalize": self.normalize,
            "fill_value": float(self.fill_value),
            "antialias": bool(self.antialias),
            "mask_label": None if self.mask_label is None else int(self.mask_label),
            "roi_name": self.roi_name,
            "nonfinite": self._setting("nonfinite"),
            "max_voxels": self._setting("max_voxels"),
        }

    def _n4_cache(self):
        """Folder of the corrected native images, or None when that cache is off."""
        if not (self._setting("cache") and self.cache_n4 and self.n4):
            return None
        folder = get_cache_dir(self._setting("cache_dir")) / "n4"
        clean_stale_temp_files_once(folder)
        return folder

    @staticmethod
    def _check_frame(X):
        check_cohort_frame(X, "VolumePreprocessor", allow_empty=True)
        if "mask" not in X.columns:
            raise ValueError("X has no 'mask' column: the tumour mask is needed to crop the volumes")

    def _paths(self, row, patient):
        paths = {}
        for column in list(getattr(self, "channels_", [])) + ["mask"]:
            value = row.get(column) if hasattr(row, "get") else row[column]
            if value is None or (isinstance(value, float) and np.isnan(value)) or str(value) == "":
                raise ImageReadError(f"patient {patient}, column {column!r}: no file given (missing value)")
            path = Path(str(value))
            try:
                input_files(path)  # what kind of path, before anything hashes or reads it
            except InputPathError as exc:
                raise ImageReadError(
                    f"patient {patient}, column {column!r}, file {str(path)!r}: {exc.reason}"
                ) from None
            paths[column] = str(path)
        return paths

    def _run(self, todo, settings):
        from tqdm.auto import tqdm

        from .._parallel import parallel_map

        n4_cache = self._n4_cache() if todo else None
        args = [(position, patient, paths, self.channels_, settings, target, n4_cache)
                for position, patient, paths, target in todo]
        bar = tqdm(total=len(todo), disable=not self.verbose or not todo, desc="VolumePreprocessor",
                   unit="patient")
        try:
            for result in parallel_map(_process_patient, args, self._setting("n_jobs"), ordered=False):
                yield result
                bar.update()
        finally:
            bar.close()


def _result_settings(settings):
    """The settings that change a volume (the cache key): all but the reading bound ``max_voxels``."""
    return {k: v for k, v in settings.items() if k != "max_voxels"}
