"""ClinicalMLPSurvival: the paper's clinical subnetwork alone (a DeepSurv-style model)."""
from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ..utils.validation import check_feature_names, clinical_encoding
from ._base import SurvivalNeuralNet, as_float_table, check_width
from ._modules import ClinicalMLP
from ._outcome import CAUSE_PARAM_DOC


class ClinicalMLPSurvival(SurvivalNeuralNet):
    __doc__ = f"""Neural Cox model on clinical variables: an MLP with a Cox partial-likelihood loss.

    The network is the clinical subnetwork of Bozzo et al. (2024), 11 -> 32 -> 16 -> 8 ->
    8 -> 8 -> 12 -> risk (widths: ``module__hidden_sizes``). Given the cohort table, the
    clinical columns are encoded by
    :class:`~sarcoma_survival.preprocessing.ClinicalEncoder` (imputation, one-hot encoding,
    scaling, all fitted on the training data only); any numeric table is accepted too
    (standardized).

    Parameters
    ----------
    preprocessor : "auto", transformer or None, default="auto"
        ``"auto"``: ``ClinicalEncoder(columns="clinical")`` for a DataFrame holding ALL
        11 clinical columns of the schema, :class:`~sklearn.preprocessing.StandardScaler`
        for any other numeric table (a DataFrame that lacks some clinical columns and has
        text columns is refused with the names of both). A transformer is cloned and
        fitted on the training data. ``None`` uses the table as is.
    module : torch module class, default=ClinicalMLP
        Parameters through ``module__hidden_sizes``, ``module__dropout``,
        ``module__activation``, ``module__batch_norm``.
    **kwargs
        The parameters of :class:`~sarcoma_survival.nn.SurvivalNeuralNet`, with its
        defaults (``criterion=CoxPHLoss``, ``optimizer=torch.optim.Adam``, ``lr=1e-3``,
        ``max_epochs=100``, ``batch_size=64``, ``train_split=SurvivalValidSplit(0.2)``,
        ``random_state``, ``device``, ``precision``, ``micro_batch_size``, ``verbose``), and
        skorch's arguments,
        e.g. ``optimizer__weight_decay``, ``criterion__ties="efron"``; and

        * {CAUSE_PARAM_DOC}

    Attributes
    ----------
    preprocessor_ : transformer or None
        The fitted input transformer.
    feature_names_in_ : ndarray of str
        With ``ClinicalEncoder``: the cohort columns it reads (selected by name, so their
        order does not matter). Otherwise the columns of a training DataFrame, which
        prediction requires in the same order (absent for an array).
    n_features_in_ : int
        Number of input columns.
    n_encoded_features_ : int
        Width of the network input.
    module_, baseline_model_, best_epoch_, history_
        See :class:`~sarcoma_survival.nn.SurvivalNeuralNet`.

    Examples
    --------
    A numeric table is standardized; the risk follows its first column:

    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.nn import ClinicalMLPSurvival
    >>> X = np.random.default_rng(0).normal(size=(60, 3))
    >>> y = Surv.from_arrays(X[:, 1] < 0.5, np.exp(-X[:, 0]) * 100)
    >>> model = ClinicalMLPSurvival(max_epochs=5, random_state=0).fit(X, y)
    >>> model.predict(X[:2]).shape
    (2,)
    """

    _parameter_constraints = {
        **SurvivalNeuralNet._parameter_constraints,
        "preprocessor": [StrOptions({"auto"}), HasMethods(["fit", "transform"]), None],
    }

    def __init__(self, preprocessor="auto", *, module=ClinicalMLP, **kwargs):
        super().__init__(module, **kwargs)
        self.preprocessor = preprocessor

    def _make_preprocessor(self, X):
        if self.preprocessor is None:
            return None
        if isinstance(self.preprocessor, str):  # "auto" (the constraints allow no other string)
            if clinical_encoding(X, self, ignore=()) == "encoder":
                from ..preprocessing import ClinicalEncoder

                return ClinicalEncoder(columns="clinical")
            return StandardScaler()
        return clone(self.preprocessor)

    def _by_name(self):
        """True when the preprocessor selects cohort columns by name (``ClinicalEncoder``)."""
        from ..preprocessing import ClinicalEncoder

        return isinstance(self.preprocessor_, ClinicalEncoder)

    def _preprocess(self, X, *, fit):
        """Check the input names and run ``preprocessor_`` on ``X`` (fitting it when ``fit``).

        Parameters
        ----------
        X : DataFrame or array-like
            The patients.
        fit : bool
            Fit ``preprocessor_`` (and record the input names) instead of only applying it.

        Returns
        -------
        ndarray of float32
            The encoded table, C-contiguous and finite.
        """
        if not self._by_name():
            check_feature_names(self, X, reset=fit)
        if self.preprocessor_ is not None:
            if isinstance(self.preprocessor_, StandardScaler):
                X = check_array(X, dtype=np.float64)
            X = self.preprocessor_.fit_transform(X) if fit else self.preprocessor_.transform(X)
        return as_float_table(X)

    def _fit_inputs(self, X):
        self.preprocessor_ = self._make_preprocessor(X)
        Xt = self._preprocess(X, fit=True)
        if self._by_name():
            self.feature_names_in_ = np.asarray(self.preprocessor_.feature_names_in_, dtype=object)
            self.n_features_in_ = len(self.feature_names_in_)
        self.n_encoded_features_ = Xt.shape[1]
        return Xt

    def _transform_inputs(self, X):
        check_is_fitted(self, "n_encoded_features_")
        Xt = self._preprocess(X, fit=False)
        check_width(Xt, self.n_encoded_features_, "features after preprocessing")
        return Xt

    def initialize_module(self):
        self.module_ = self.initialized_instance(self.module, self._module_kwargs_with_width("in_features"))
        return self
