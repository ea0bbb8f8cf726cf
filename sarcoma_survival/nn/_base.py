"""skorch-based base class of the neural survival estimators."""
from __future__ import annotations

import contextlib
import copy
import numbers
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, Options, StrOptions, validate_parameter_constraints
from sklearn.utils.validation import check_array, check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog
from skorch.dataset import Dataset, unpack_data
from skorch.utils import to_tensor
from torch.utils.data import Subset

from ..competing_risks import CAUSE_CONSTRAINT, check_times
from ..preprocessing import summarize_inputs
from ..utils.validation import BreslowSurvivalMixin
from ._callbacks import KeepBestWeights, SurvivalValidSplit
from ._data import IndexBatches, PreloadedDataset, input_nbytes, preload, preloaded_rows, resolve_placement
from ._loss import CoxPHLoss
from ._micro_batch import micro_batch_step
from ._outcome import _target as outcome_target
from ._outcome import fitted_outcome, pick_outcome


@contextlib.contextmanager
def float32_default():
    """Torch's default dtype set to float32 inside the block (and put back after it).

    ``torch.set_default_dtype`` is process-wide; it is changed only when it is not
    float32 already, so the common case changes nothing.
    """
    previous = torch.get_default_dtype()
    if previous == torch.float32:
        yield
        return
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def resolve_device(device):
    """``"auto"`` -> ``"cuda"`` when a GPU is visible, else ``"cpu"``; other values unchanged."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class _IndexedDataset(torch.utils.data.Dataset):
    """Dataset over any array-like with ``len`` and integer indexing (lazy volumes)."""

    def __init__(self, X, y=None):
        self.X = X
        self.y = y

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        x = np.asarray(self.X[i], dtype=np.float32)
        y = self.y[i] if self.y is not None else np.float32(0)
        return x, y


def dataset_targets(dataset):
    """The ``[time, event]`` rows of a dataset with ``.y`` (or a nested Subset of one)."""
    if isinstance(dataset, Subset):
        return dataset_targets(dataset.dataset)[np.asarray(dataset.indices)]
    y = getattr(dataset, "y", None)
    if y is None:
        raise ValueError(f"{type(dataset).__name__} holds no survival target (.y)")
    return np.asarray(y)


def as_float_table(X):
    """A finite, C-contiguous float32 (n_samples, n_features) table for a network."""
    X = check_array(X, dtype=np.float32, ensure_all_finite=True)
    return np.ascontiguousarray(X, dtype=np.float32)


def check_width(Xt, n_expected, what):
    """Raise a clear error unless the table has the width the model was fitted with."""
    if Xt.shape[1] != n_expected:
        raise ValueError(f"X gives {Xt.shape[1]} {what}; the model was fitted with {n_expected}")


def default_callbacks(*extra, lr_scheduler=None, print_log=None):
    """The callbacks every survival net starts with; ``extra`` (name, callback) pairs go
    before the learning-rate schedule (they may change the loss the schedule sees)."""
    schedule = [("lr_scheduler", lr_scheduler)] if lr_scheduler is not None else []
    return [
        ("epoch_timer", EpochTimer()),
        ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ("valid_loss", PassthroughScoring(name="valid_loss")),
        *extra,
        *schedule,
        ("best_weights", KeepBestWeights()),
        ("print_log", print_log if print_log is not None else PrintLog()),
    ]


class SurvivalNeuralNet(BreslowSurvivalMixin, NeuralNet):
    """Base of the neural survival estimators: skorch training, scikit-survival contract.

    A thin :class:`skorch.NeuralNet` subclass. It takes a feature table (or a cohort
    DataFrame, through the ``_fit_inputs`` / ``_transform_inputs`` hooks of subclasses)
    and a scikit-survival structured ``y``, which it validates and converts privately to
    float ``[time, event]`` rows. Training minimizes the Cox partial likelihood
    (:class:`CoxPHLoss`); the validation loss of each epoch is the Cox loss of the WHOLE
    validation set (not an average of batch losses); the weights of the best epoch are
    kept in memory (:class:`KeepBestWeights`) and restored after training; a Breslow
    baseline hazard is then fitted on the training data so that survival and cumulative
    hazard functions can be predicted.

    Subclass hooks: ``_fit_inputs(X)`` and ``_transform_inputs(X)`` (features for the
    module), ``augment_batch(Xi)`` (training batches only), ``get_loss`` (multi-head
    losses; ``training=False`` must return the model-selection loss). Subclasses list
    in their ``__init__`` only the parameters they add or whose defaults they change
    (as skorch's ``NeuralNetClassifier`` does) and extend ``_parameter_constraints``,
    which ``fit`` checks once, before anything else (scikit-learn's
    ``validate_parameter_constraints``; skorch's own ``_validate_params`` checks the
    names of the ``prefix__`` parameters).

    Parameters
    ----------
    module : torch.nn.Module class or instance
        Network mapping a batch to log-risks of shape (B,) or (B, 1) (or a tuple whose
        first element is that, for multi-head subclasses).
    criterion : torch.nn.Module class, default=CoxPHLoss
        Use ``criterion__ties="efron"`` for Efron's tie handling.
    optimizer : torch optimizer class, default=torch.optim.Adam
    lr : float, default=1e-3
    max_epochs : int, default=100
    batch_size : int, default=64
    train_split : callable or None, default=SurvivalValidSplit(0.2)
        Inner validation split used for model selection; ``None`` trains on all data and
        keeps the last epoch. User-given data: ``fit(X, y, validation_data=(X_val, y_val))``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialization, shuffling, the validation split and augmentation;
        a fixed value gives identical predictions on CPU.
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        ``"auto"`` uses CUDA when available.
    precision : {"auto", "fp32", "bf16"}, default="auto"
        Autocast precision of forward passes; ``"auto"`` is bf16 on a GPU that supports
        it and fp32 on CPU (autocast is never used on CPU).
    cause : int, default=1
        Used only with a competing-risks ``y`` (integer event, 0 = censored, 1..K =
        cause; :func:`~sarcoma_survival.competing_risks.competing_y`): the network then
        has one log-risk output per cause (K from ``y``; ``module__n_outputs``), is
        trained on the sum of the cause-specific Cox losses, and ``predict``, ``score``
        (cause-specific concordance) and ``predict_cumulative_incidence`` are about
        ``cause``. With a survival ``y`` it must be 1.
    micro_batch_size : int or None, default=None
        Split each training batch into micro-batches of this size while keeping the
        exact Cox loss of the whole batch (its risk sets span the batch): the log-risks
        of every micro-batch are computed without a graph, then each micro-batch is run
        again and backpropagates its slice of the loss gradient. Memory is that of one
        micro-batch, at the cost of one extra no-grad forward pass. BatchNorm normalises
        each micro-batch with its own statistics (its running statistics move once per
        micro-batch); dropout masks are the same in both passes. ``None``: off.
    verbose : int, default=0
        0 silences the per-epoch table.
    **kwargs
        skorch's other arguments (``iterator_train``, ``callbacks``, ``warm_start``...)
        and routed parameters (``module__*``, ``optimizer__*``, ``iterator_train__*``).
        ``iterator_train__shuffle`` defaults to True. skorch's ``compile=True`` (with
        ``compile__mode=...`` etc.) compiles the network with ``torch.compile``; the Cox
        criterion stays uncompiled.

    Attributes
    ----------
    module_ : torch.nn.Module
    baseline_model_ : sksurv.linear_model.coxph.BreslowEstimator
    best_epoch_ : int
        Epoch whose weights were kept.
    training_risks_ : ndarray of float64
        Sorted predicted risks of the training patients (no identifiers), the reference
        of a new patient's risk percentile.
    training_summary_ : dict
        What the network saw at fit
        (:func:`~sarcoma_survival.preprocessing.summarize_inputs`): cohort size, events and
        follow-up, ranges of the clinical columns, geometry and intensities of the images.
        Read by the model card of a saved model and by the out-of-range warnings.
    history_ : skorch.history.History

    Examples
    --------
    >>> import numpy as np
    >>> from sksurv.util import Surv
    >>> from sarcoma_survival.nn import ClinicalMLP, SurvivalNeuralNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 3)).astype("float32")
    >>> y = Surv.from_arrays(rng.random(40) < 0.7, rng.uniform(1, 100, 40))
    >>> net = SurvivalNeuralNet(ClinicalMLP, module__in_features=3, max_epochs=3, random_state=0)
    >>> net.fit(X, y).predict(X).shape
    (40,)
    """

    # skorch's own arguments and routed ``prefix__`` parameters (``**kwargs``) are
    # checked by skorch; these are the parameters this package declares.
    _parameter_constraints = {
        "module": [type, torch.nn.Module],
        "criterion": [type, torch.nn.Module],
        "optimizer": [callable],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left"), Options(numbers.Integral, {-1})],
        "train_split": [callable, None],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
        "precision": [StrOptions({"auto", "fp32", "bf16"})],
        "micro_batch_size": [Interval(numbers.Integral, 1, None, closed="left"), None],
        "cause": CAUSE_CONSTRAINT,
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        module,
        *,
        criterion=CoxPHLoss,
        optimizer=torch.optim.Adam,
        lr=1e-3,
        max_epochs=100,
        batch_size=64,
        train_split=SurvivalValidSplit(0.2),
        random_state=None,
        device="auto",
        precision="auto",
        micro_batch_size=None,
        cause=1,
        verbose=0,
        **kwargs,
    ):
        # Shuffled training batches: in-batch risk sets must mix follow-up times (data
        # files are often sorted by time, which makes per-batch Cox losses meaningless).
        kwargs.setdefault("iterator_train__shuffle", True)
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            train_split=train_split,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.random_state = random_state
        self.precision = precision
        self.micro_batch_size = micro_batch_size
        self.cause = cause

    # ------------------------------------------------------------------ skorch wiring
    @property
    def _default_callbacks(self):
        return default_callbacks()

    def _check_params(self):
        """scikit-learn's parameter check (skorch's ``_validate_params`` is another one)."""
        validate_parameter_constraints(
            self._parameter_constraints, self.get_params(deep=False), caller_name=type(self).__name__
        )

    @contextlib.contextmanager
    def _concrete_device(self):
        """Let skorch's own code see the resolved device instead of ``"auto"``."""
        raw = self.__dict__.get("device")
        self.device_ = resolve_device(raw)
        self.__dict__["device"] = self.device_
        try:
            yield
        finally:
            self.__dict__["device"] = raw

    def initialize(self):
        with self._concrete_device(), self._seeded():
            return super().initialize()

    def initialized_instance(self, instance_or_cls, kwargs):
        # The networks train in float32 (inputs, pretrained weights, mixed precision):
        # a process whose torch default dtype is another one still builds them in float32.
        with float32_default():
            return super().initialized_instance(instance_or_cls, kwargs)

    def set_params(self, **kwargs):
        with self._concrete_device():
            return super().set_params(**kwargs)

    def __setstate__(self, state):
        raw = state.get("device")
        if raw == "auto":
            state["device"] = resolve_device("auto")
        super().__setstate__(state)
        if raw == "auto":
            self.device_ = self.__dict__["device"]
            self.__dict__["device"] = raw

    def _autocast(self):
        device = torch.device(self.device_)
        if device.type != "cuda" or self.precision == "fp32":
            return contextlib.nullcontext()
        if self.precision == "auto" and not torch.cuda.is_bf16_supported():
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=torch.bfloat16)

    def infer(self, x, **fit_params):
        x = to_tensor(x, device=self.device_)
        with self._autocast():
            if isinstance(x, Mapping):
                return self.module_(**self._merge_x_and_fit_params(x, fit_params))
            return self.module_(x, **fit_params)

    def get_dataset(self, X, y=None):
        if isinstance(X, torch.utils.data.Dataset):
            return X
        preloaded = self._preloaded_inputs(X)
        if preloaded is not None:
            return PreloadedDataset(preloaded, y)
        if isinstance(X, (np.ndarray, torch.Tensor, Mapping)):
            return Dataset(X, y)
        return _IndexedDataset(X, y)

    def get_split_datasets(self, X, y=None, **fit_params):
        valid = getattr(self, "validation_dataset_", None)
        if valid is not None:
            return self.get_dataset(X, y), valid
        return super().get_split_datasets(X, y, **fit_params)

    def augment_batch(self, Xi):
        """Training-time augmentation of one batch (already on the device); identity here.

        Parameters
        ----------
        Xi : torch.Tensor or dict of torch.Tensor
            One training batch of inputs.

        Returns
        -------
        The augmented batch, same structure.
        """
        return Xi

    def torch_compile(self, module, name):
        """skorch's ``compile=True`` applied to the network only: the Cox criterion has
        data-dependent shapes (groups of tied times), which the compiler cannot fuse."""
        if name == "criterion":
            return module
        return super().torch_compile(module, name)

    def train_step_single(self, batch, **fit_params):
        Xi, yi = unpack_data(batch)
        Xi = self.augment_batch(to_tensor(Xi, device=self.device_))
        size = self.micro_batch_size
        if size is None or size >= len(yi):
            return super().train_step_single((Xi, yi), **fit_params)
        self._set_training(True)
        return micro_batch_step(self, Xi, yi, int(size), **fit_params)

    def get_iterator(self, dataset, training=False):
        """skorch's iterator, with three changes.

        * A training epoch never ends on a batch of one: BatchNorm cannot train on a
          single sample (and a one-patient batch has no Cox partial likelihood), so when
          the training-set size leaves a remainder of one, that (randomly shuffled)
          patient sits the epoch out.
        * On CUDA, no-grad passes (validation, blending, prediction) use batches of
          ``4 * batch_size`` unless ``iterator_valid__batch_size`` is set.
        * A preloaded dataset (see ``volume_device`` of the image estimators) is batched
          by index (:class:`~sarcoma_survival.nn._data.IndexBatches`) in the order the
          default DataLoader would use.
        """
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        # No-grad passes keep no activations: larger batches keep a GPU busy (not a CPU).
        on_gpu = torch.device(resolve_device(self.device)).type == "cuda"
        batch_size = kwargs.get("batch_size", self.batch_size * (4 if not training and on_gpu else 1))
        batch_size = len(dataset) if batch_size == -1 else batch_size
        kwargs["batch_size"] = batch_size
        if training and not kwargs.get("drop_last", False) and len(dataset) > 1 and len(dataset) % batch_size == 1:
            kwargs["drop_last"] = True
        iterator = self.iterator_train if training else self.iterator_valid
        if iterator is torch.utils.data.DataLoader and preloaded_rows(dataset) is not None:
            return IndexBatches(dataset, batch_size, shuffle=kwargs.get("shuffle", False),
                                drop_last=kwargs.get("drop_last", False), device=self.device_)
        return iterator(dataset, **kwargs)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        y_true = to_tensor(y_true, device=self.device_)
        if isinstance(y_pred, tuple):
            y_pred = y_pred[0]
        return self._checked_loss(y_pred, y_true, training)

    def initialize_criterion(self):
        """skorch's criterion, told the number of causes of the outcome being fitted.

        A criterion given as an instance is copied first: the outcome (``n_causes``) and
        callbacks (``head_weights``) configure ``criterion_``, never the parameter.
        """
        super().initialize_criterion()
        if self.criterion_ is self.criterion:
            self.criterion_ = copy.deepcopy(self.criterion)
        self._outcome().configure_criterion(self.criterion_)
        return self

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        if prefix == "module":
            params = self._outcome().module_params(params)
        return params

    def _outcome(self):
        """The outcome being (or last) fitted (:mod:`~sarcoma_survival.nn._outcome`)."""
        return fitted_outcome(self)

    def _checked_loss(self, y_pred, y_true, training):
        """The criterion's loss (of one head, or of a tuple of weighted heads), with a
        clear error when it is NaN or infinite."""
        loss = self.criterion_(y_pred.float() if torch.is_tensor(y_pred) else y_pred, y_true)
        if not torch.isfinite(loss):
            where = "training batch" if training else "validation set"
            raise FloatingPointError(
                f"{type(self).__name__}: the Cox loss became {loss.item()} on a {where} at "
                f"epoch {len(self.history)}; lower the learning rate (lr={self.lr}) or check "
                "the inputs for NaN/inf values"
            )
        return loss

    def whole_set_outputs(self, dataset):
        """Outputs and ``[time, event]`` targets of a whole dataset (eval mode, no augmentation).

        A Cox partial likelihood is not a sum over batches: losses of a validation or
        blend set are computed once, on these whole-set outputs.

        Parameters
        ----------
        dataset : torch Dataset
            Patients as built by the estimator (``get_dataset``), or a Subset of them.

        Returns
        -------
        outputs : torch.Tensor or tuple of torch.Tensor
            What the module returns, concatenated over the batches (skorch's ``forward``).
        targets : torch.Tensor of shape (n_samples, 2)
        """
        outputs = self.forward(dataset, training=False, device=self.device_)
        targets = torch.as_tensor(dataset_targets(dataset), device=self.device_)
        return outputs, targets

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if training or iterator is None:
            return super().run_single_epoch(iterator, training, prefix, step_fn, **fit_params)
        # Validation: one loss of the whole set (no per-batch callback notifications).
        outputs, targets = self.whole_set_outputs(iterator.dataset)
        with torch.no_grad():
            loss = self.get_loss(outputs, targets, training=False)
        self.history.record_batch(prefix + "_loss", loss.item())
        self.history.record_batch(prefix + "_batch_size", len(targets))
        self.history.record(prefix + "_batch_count", len(iterator))

    def _module_kwargs_with_width(self, name):
        """``module__`` parameters with the input-width argument ``name`` of the module set,
        unless given, to the width of the encoded training table (known after fit)."""
        kwargs = self.get_params_for("module")
        if name not in kwargs:
            if not hasattr(self, "n_encoded_features_"):
                raise ValueError(f"the input width is known after fit; call fit, or set module__{name}")
            kwargs[name] = self.n_encoded_features_
        return kwargs

    # ------------------------------------------------------------------ data hooks
    def _volume_placement(self):
        """``volume_device`` of the estimator ("lazy" when it has none: inputs are read per sample)."""
        return "lazy"

    def _preloaded_inputs(self, X):
        """``X`` as preloaded tensors when a fit is preloading it, else None.

        During ``fit`` each input object is loaded once (memoised by identity, so the
        training, validation and baseline passes share one tensor); outside ``fit``
        (prediction) nothing is preloaded.
        """
        memo = self.__dict__.get("_preloaded_")
        if memo is None:
            return None
        if id(X) in memo:
            return memo[id(X)][1]
        device = resolve_device(self.device)
        placement = resolve_placement(self._volume_placement(), device, input_nbytes(X))
        tensors = None if placement is None else preload(X, placement, device)
        memo[id(X)] = (X, tensors)  # X is kept so that its id is not reused during the fit
        return tensors

    @contextlib.contextmanager
    def _fit_data(self):
        """Preloading memo and ``cudnn.benchmark`` (fixed input shapes) for one fit."""
        self._preloaded_ = {}
        benchmark = torch.backends.cudnn.benchmark
        if torch.device(resolve_device(self.device)).type == "cuda":
            torch.backends.cudnn.benchmark = True
        try:
            yield
        finally:
            torch.backends.cudnn.benchmark = benchmark
            self.__dict__.pop("_preloaded_", None)  # never keep (or pickle) the patients' tensors

    def _fit_inputs(self, X):
        """Fit input preprocessing on training data; return what the module's dataset takes."""
        return self._transform_inputs(X)

    def _transform_inputs(self, X):
        X = np.asarray(X, dtype=np.float32)
        if X.ndim != 2:
            raise ValueError(f"expected a 2-D feature table, got shape {X.shape}")
        return X

    _target = staticmethod(outcome_target)

    @contextlib.contextmanager
    def _seeded(self):
        if self.random_state is None:
            yield
            return
        if isinstance(self.random_state, (int, np.integer)):
            seed = int(self.random_state)
        else:
            seed = int(check_random_state(self.random_state).randint(0, 2**31 - 1))
        devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield

    # ------------------------------------------------------------------ public API
    def fit(self, X, y, validation_data=None, **fit_params):
        """Train the network, keep the best epoch, fit the baseline hazard.

        The outcome is picked once from ``y``: a survival outcome (one log-risk, a
        Breslow baseline) or a competing-risks one (one log-risk per cause, per-cause
        Breslow jumps); see :mod:`sarcoma_survival.nn._outcome`.

        Parameters
        ----------
        X : DataFrame or array-like
            Training features (see the subclass for accepted inputs).
        y : structured ndarray
            Survival outcome (``sksurv.util.Surv.from_arrays(event, time)``), or
            competing-risks outcome
            (:func:`~sarcoma_survival.competing_risks.competing_y`).
        validation_data : tuple (X_val, y_val), optional
            Model-selection data (an outcome of the same kind) used instead of the inner
            ``train_split``.
        **fit_params
            Passed to skorch's ``fit`` (forward and ``train_split`` arguments).

        Returns
        -------
        self
        """
        outcome = pick_outcome(y, self.cause)
        event, time = outcome.check_fit_y(y, X, self)
        self._check_params()
        outcome.start(self, event)
        with self._fit_data():
            Xt = self._train(X, event, time, validation_data, fit_params)
            log_risk = self._log_risks(Xt)
        outcome.fit_baseline(self, log_risk, event, time)
        self.training_summary_ = summarize_inputs(X, y, columns=getattr(self, "feature_names_in_", None))
        return self

    def _train(self, X, event, time, validation_data, fit_params, before_training=None):
        """One seeded skorch training run on checked data; the module inputs of ``X``.

        skorch's ``fit`` (``initialize()`` unless warm-starting, then ``partial_fit``),
        with ``before_training()``, when given, called in between: a subclass hands an
        initialized callback what it needs (the refit of
        :class:`~sarcoma_survival.nn.MMNNSurvival`).
        """
        self.__dict__.get("_preloaded_", {}).clear()  # a second run (refit) reloads; free the first's
        outcome = self._outcome()
        with self._seeded():
            self.validation_dataset_ = None
            Xt = self._fit_inputs(X)
            if validation_data is not None:
                X_val, y_val = validation_data
                ev_val, t_val = outcome.check_validation_y(y_val, X_val)
                self.validation_dataset_ = self.get_dataset(
                    self._transform_inputs(X_val), outcome.target(ev_val, t_val)
                )
            if not self.warm_start or not self.initialized_:
                self.initialize()
            if before_training is not None:
                before_training()
            self.partial_fit(Xt, outcome.target(event, time), _routing_method="fit", **fit_params)
            self.validation_dataset_ = None
        return Xt

    def _log_risks(self, Xt):
        """(n_samples, n_outputs) float64 log-risks of the module (its first head)."""
        out = self.forward(Xt, training=False)
        if isinstance(out, tuple):
            out = out[0]
        return out.float().reshape(len(out), -1).numpy().astype(np.float64)

    def _predict_transformed(self, Xt):
        return self._outcome().risk(self._log_risks(Xt))

    def predict(self, X):
        """Predicted log hazard ratio (risk score, higher = earlier event); of ``cause``
        for a model fitted on a competing-risks outcome.

        Parameters
        ----------
        X : DataFrame or array-like

        Returns
        -------
        risk : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "training_risks_")
        return self._predict_transformed(self._transform_inputs(X))

    def transform_inputs(self, X):
        """Preprocessed network inputs of patients (what the module receives).

        Parameters
        ----------
        X : DataFrame or array-like
            Patients, as :meth:`predict` takes them.

        Returns
        -------
        ndarray, array-like of volumes, or dict
            A float32 table (clinical networks), an array-like of (C, D, H, W) float32
            volumes (image networks; a lazy
            :class:`~sarcoma_survival.preprocessing.VolumeArray` with the default
            preprocessor), or a dict of both (:class:`~sarcoma_survival.nn.MMNNSurvival`).
        """
        check_is_fitted(self, "training_risks_")
        return self._transform_inputs(X)

    def survival_function_from_risk(self, risk, return_array=False):
        """Survival functions at given risk scores, without a pass through the network.

        ``predict_survival_function(X)`` is ``survival_function_from_risk(predict(X))``: a
        caller that already holds the risks (a web request that shows both) saves the
        second forward pass.

        Parameters
        ----------
        risk : array-like of shape (n_samples,)
            Risk scores as :meth:`predict` returns them.
        return_array : bool, default=False
            As in :meth:`predict_survival_function`, which gives the returns and errors.

        Returns
        -------
        ndarray
        """
        check_is_fitted(self, "training_risks_")
        self._require_survival_function("survival function")
        risk = np.asarray(risk, dtype=np.float64).reshape(-1)
        return self._predict_survival_function(self.baseline_model_, risk, return_array)

    def _require_survival_function(self, what):
        self._outcome().require_survival_function(self, what)

    def predict_cumulative_incidence(self, X, times):
        """Cumulative incidence of ``cause`` at ``times`` (fitted on a competing ``y`` only).

        The per-cause Breslow baselines of the training data and the network's
        log-risks are combined by Aalen-Johansen, as in
        :class:`~sarcoma_survival.competing_risks.CauseSpecificCoxPH`.

        Parameters
        ----------
        X : DataFrame or array-like
        times : array-like of shape (n_times,)

        Returns
        -------
        ndarray of shape (n_samples, n_times)

        Raises
        ------
        AttributeError
            For a model fitted on a survival outcome.
        """
        check_is_fitted(self, "training_risks_")
        outcome = self._outcome()
        outcome.require_incidence(self)
        times = check_times(times)
        return outcome.incidence(self, self._log_risks(self._transform_inputs(X)), times)

    def score(self, X, y):
        """Concordance of :meth:`predict`: Harrell's C for a survival outcome, the
        cause-specific concordance of ``cause`` (Wolbers et al. 2014) for a competing one.

        Parameters
        ----------
        X : DataFrame or array-like
        y : structured ndarray
            An outcome of the kind the model was fitted on.

        Returns
        -------
        float
        """
        return self._outcome().score(self, X, y)
