"""Radiomics (+ clinical) feature matrix for the radiomics survival models."""
from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from .._schema import IMAGE_COLUMNS
from ..preprocessing import ClinicalEncoder


def default_extractor():
    """A :class:`~sarcoma_survival.radiomics.RadiomicsExtractor` with its default settings."""
    from ..radiomics import RadiomicsExtractor  # imported late: pyradiomics is heavy

    return RadiomicsExtractor()


class RadiomicsFeatures(TransformerMixin, BaseEstimator):
    """Radiomics features of the cohort, optionally joined with the encoded clinical columns.

    Features come from ``extractor`` (cached on disk by the extractor itself, so a
    refit never extracts a patient twice); missing feature values take the training
    median; ``scale=True`` standardizes the radiomics columns with training statistics.
    ``fit`` and ``transform`` accept an already extracted frame (``radiomics=``), which
    the inner cross-validation of :class:`RadiomicsCoxNet` uses to extract once.

    Parameters
    ----------
    extractor : transformer or None
        Cohort table -> DataFrame of features indexed like the table. None: a default
        :class:`~sarcoma_survival.radiomics.RadiomicsExtractor`. Cloned, never modified.
    include_clinical : bool, default=False
        Append the 11 clinical variables (:class:`~sarcoma_survival.preprocessing.ClinicalEncoder`).
    scale : bool, default=False
        Standardize radiomics and clinical numeric columns.
    min_frequency : int, default=5
        Passed to the clinical encoder.
    """

    def __init__(self, extractor=None, *, include_clinical=False, scale=False, min_frequency=5):
        self.extractor = extractor
        self.include_clinical = include_clinical
        self.scale = scale
        self.min_frequency = min_frequency

    def extract(self, X):
        """Extract (or read from the extractor's cache) the radiomics features of ``X``."""
        if not hasattr(self, "extractor_"):
            extractor = default_extractor() if self.extractor is None else clone(self.extractor)
            self.extractor_ = extractor.fit(X)
        frame = self.extractor_.transform(X)
        return self._check_frame(frame, X)

    @staticmethod
    def _check_frame(frame, X):
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(
                f"the radiomics extractor must return a DataFrame, got {type(frame).__name__}"
            )
        if len(frame) != len(X) or not frame.index.equals(X.index):
            missing = [str(p) for p in X.index if p not in frame.index][:10]
            raise ValueError(
                "the radiomics features are not indexed like the cohort table"
                + (f"; no features for patients {missing}" if missing else "")
            )
        try:
            return frame.astype(np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"radiomics features must be numeric: {exc}") from None

    def fit(self, X, y=None, radiomics=None):
        """Fit imputation, scaling and the clinical encoder on training patients.

        Parameters
        ----------
        X : DataFrame
            The cohort table.
        y : ignored
        radiomics : DataFrame, optional
            Features of ``X`` already extracted (indexed like ``X``).

        Returns
        -------
        self
        """
        radiomics = self.extract(X) if radiomics is None else self._check_frame(radiomics, X)
        if radiomics.shape[1] == 0:
            raise ValueError("the radiomics extractor returned no feature")
        self.radiomics_names_ = np.asarray(radiomics.columns, dtype=object)
        steps = [SimpleImputer(strategy="median", keep_empty_features=True)]
        if self.scale:
            steps.append(StandardScaler())
        Z = radiomics.to_numpy()
        for step in steps:
            Z = step.fit_transform(Z)
        self.radiomics_steps_ = steps
        image_columns = [c for c in IMAGE_COLUMNS if c in X.columns]
        if self.include_clinical:
            self.clinical_ = ClinicalEncoder(
                "clinical", scale=self.scale, min_frequency=self.min_frequency
            ).fit(X)
            clinical_in = list(self.clinical_.feature_names_in_)
        else:
            self.clinical_ = None
            clinical_in = []
        self.feature_names_in_ = np.asarray(image_columns + clinical_in, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        return self

    def fit_transform(self, X, y=None, radiomics=None):
        """Fit on ``X`` and return its feature matrix, extracting the features once."""
        radiomics = self.extract(X) if radiomics is None else radiomics
        return self.fit(X, radiomics=radiomics).transform(X, radiomics=radiomics)

    def transform(self, X, radiomics=None):
        """Feature matrix of ``X`` with the statistics learnt in ``fit``.

        Parameters
        ----------
        X : DataFrame
            The cohort table.
        radiomics : DataFrame, optional
            Features of ``X`` already extracted.

        Returns
        -------
        ndarray of float64, shape (n_patients, n_features_out)
        """
        check_is_fitted(self, "radiomics_steps_")
        radiomics = self.extract(X) if radiomics is None else self._check_frame(radiomics, X)
        missing = [c for c in self.radiomics_names_ if c not in radiomics.columns]
        if missing:
            raise ValueError(f"radiomics features missing at prediction: {missing[:10]}")
        Z = radiomics.loc[:, list(self.radiomics_names_)].to_numpy()
        for step in self.radiomics_steps_:
            Z = step.transform(Z)
        if self.clinical_ is not None:
            Z = np.hstack([Z, self.clinical_.transform(X)])
        return np.asarray(Z, dtype=np.float64)

    def get_feature_names_out(self, input_features=None):
        """Radiomics feature names, then the encoded clinical feature names."""
        check_is_fitted(self, "radiomics_steps_")
        names = list(self.radiomics_names_)
        if self.clinical_ is not None:
            names += list(self.clinical_.get_feature_names_out())
        return np.asarray(names, dtype=object)
