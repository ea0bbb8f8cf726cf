"""Shared machinery of the clinical and radiomics estimators: cohort table -> features -> sksurv model."""
from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted
from sksurv.ensemble import RandomSurvivalForest

from ..preprocessing import summarize_inputs
from ..utils.constraints import MIN_FREQUENCY_CONSTRAINT
from ..utils.validation import (  # noqa: F401 (re-exported by models)
    FeatureTransformerMixin,
    SurvivalScoreMixin,
    check_cohort_frame,
    check_fit_y,
)

#: Hyper-parameters forwarded to :class:`sksurv.ensemble.RandomSurvivalForest`.
RSF_PARAMS = (
    "n_estimators", "max_depth", "min_samples_split", "min_samples_leaf", "max_features",
    "max_leaf_nodes", "bootstrap", "max_samples", "n_jobs", "random_state",
)

#: Docstring entries of the forwarded forest parameters.
RSF_DOC = """
    n_estimators : int, default=100
        Number of trees.
    max_depth : int, default=None
        Maximum depth of a tree.
    min_samples_split : int or float, default=6
        Minimum number of patients to split a node.
    min_samples_leaf : int or float, default=3
        Minimum number of patients in a leaf.
    max_features : {"sqrt", "log2"}, int, float or None, default="sqrt"
        Features considered at each split.
    max_leaf_nodes : int, default=None
        Maximum number of leaves per tree.
    bootstrap : bool, default=True
        Draw a bootstrap sample of patients for each tree.
    max_samples : int or float, default=None
        Size of the bootstrap sample (None: all patients).
    n_jobs : int, default=None
        Parallel jobs for fitting and prediction of the forest.
    random_state : int, RandomState instance or None, default=None
        Seeds the forest."""

#: Constraints of the forwarded forest parameters (the forest's own) and of ``min_frequency``.
RSF_CONSTRAINTS = {
    **{name: RandomSurvivalForest._parameter_constraints[name] for name in RSF_PARAMS},
    "min_frequency": MIN_FREQUENCY_CONSTRAINT,
}


class EncodedFeatureNamesMixin(FeatureTransformerMixin):
    """``get_feature_names_out`` of an estimator that encodes the cohort with ``feature_transformer_``
    (``features_``, its former name, is a deprecated alias)."""

    def get_feature_names_out(self, input_features=None):
        """Names of the encoded features fed to the model.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "model_")
        return np.asarray(self.feature_transformer_.get_feature_names_out(), dtype=object)


class CohortSurvivalEstimator(EncodedFeatureNamesMixin, SurvivalScoreMixin, BaseEstimator):
    """Base class: a feature transformer fitted on training patients, then a sksurv model.

    Subclasses declare ``_parameter_constraints`` and implement ``_make_features()``
    (an unfitted transformer over the cohort table with ``fit``, ``transform`` and
    ``get_feature_names_out``) and ``_make_model()`` (an unfitted scikit-survival
    estimator), or override ``_fit_model`` (models with an inner cross-validation).
    ``fit`` validates ``y`` first, then the parameters and the table, fits the features
    on the training table only, then the model on the encoded matrix; prediction
    encodes with the fitted features and delegates.
    ``training_risks_`` keeps the sorted predicted risks of the training patients (no
    identifiers), the reference of a new patient's risk percentile, and
    ``training_summary_`` what the model saw (see
    :func:`~sarcoma_survival.preprocessing.summarize_inputs`): the cohort's size, events and
    follow-up, the ranges of the columns it reads and the geometry and intensities of its
    images; the model card of a saved model and the out-of-range warnings of ``predict``
    read it.
    """

    def _make_features(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _make_model(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def _fit_model(self, X, y):
        """Fit ``feature_transformer_`` on the training table; return the fitted sksurv model
        and the encoded training matrix it was fitted on.

        The hook of models with an inner cross-validation, which refit the features
        inside each fold.
        """
        Z = self.feature_transformer_.fit_transform(X, y)
        return self._make_model().fit(Z, y), Z

    def _model_kwargs(self):
        """Extra keyword arguments for the model's prediction methods."""
        return {}

    def fit(self, X, y):
        """Fit the encoding on the training patients, then the survival model.

        Parameters
        ----------
        X : DataFrame
            The cohort table (one row per patient; extra columns are ignored).
        y : structured ndarray
            Survival outcome, as made by :func:`sksurv.util.Surv.from_arrays`.

        Returns
        -------
        self
        """
        _, _, y = check_fit_y(y, X, self)
        self._validate_params()
        check_cohort_frame(X, self)
        self.feature_transformer_ = self._make_features()
        self.model_, Z = self._fit_model(X, y)
        self.training_risks_ = np.sort(np.asarray(self.model_.predict(Z, **self._model_kwargs()), dtype=float))
        self.feature_names_in_ = np.asarray(self.feature_transformer_.feature_names_in_, dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        self.unique_times_ = np.asarray(self.model_.unique_times_)
        self.training_summary_ = summarize_inputs(X, y, columns=self.feature_names_in_)
        return self

    def _encode(self, X):
        check_is_fitted(self, "model_")
        check_cohort_frame(X, self)
        return self.feature_transformer_.transform(X)

    def transform(self, X):
        """Encode patients into the matrix the survival model sees (fitted statistics).

        Parameters
        ----------
        X : DataFrame
            Patients to encode (the cohort table).

        Returns
        -------
        ndarray of float64, shape (n_patients, n_features_out)
        """
        return np.asarray(self._encode(X), dtype=np.float64)

    def predict(self, X):
        """Risk score of each patient (higher = earlier event).

        Parameters
        ----------
        X : DataFrame
            Patients to score (the cohort table).

        Returns
        -------
        risk : ndarray of float64, shape (n_patients,)
        """
        Z = self._encode(X)
        return np.asarray(self.model_.predict(Z, **self._model_kwargs()), dtype=float)

    def predict_survival_function(self, X, return_array=False):
        """Survival function of each patient.

        Parameters
        ----------
        X : DataFrame
            The cohort table.
        return_array : bool, default=False
            If True, return an array of shape (n_patients, n_unique_times) of survival
            probabilities at ``unique_times_``; otherwise an array of step functions.

        Returns
        -------
        ndarray
        """
        Z = self._encode(X)
        return self.model_.predict_survival_function(
            Z, return_array=return_array, **self._model_kwargs()
        )

    def predict_cumulative_hazard_function(self, X, return_array=False):
        """Cumulative hazard function of each patient.

        Parameters
        ----------
        X : DataFrame
            Patients (the cohort table).
        return_array : bool, default=False
            If True, return an array of shape (n_patients, n_unique_times) evaluated at
            ``unique_times_``; otherwise an array of step functions.

        Returns
        -------
        ndarray
        """
        Z = self._encode(X)
        return self.model_.predict_cumulative_hazard_function(
            Z, return_array=return_array, **self._model_kwargs()
        )



class RSFParamsMixin:
    """Builds a :class:`~sksurv.ensemble.RandomSurvivalForest` from the estimator's params."""

    def _make_model(self):
        return RandomSurvivalForest(**{name: getattr(self, name) for name in RSF_PARAMS})


#: Constraints on the ``columns`` parameter of estimators that take clinical columns.
COLUMNS_CONSTRAINT = [StrOptions({"clinical", "sarculator"}), list, tuple]
