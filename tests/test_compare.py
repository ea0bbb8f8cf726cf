"""compare_models (Table 3 runner): numbers equal direct computations with sksurv/sklearn."""
import numpy as np
import pandas as pd
import pytest
import torch
from joblib import parallel_backend
from sklearn.base import BaseEstimator, clone
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import KFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.utils import resample
from sksurv.ensemble import RandomSurvivalForest
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.metrics import concordance_index_censored
from sksurv.metrics import integrated_brier_score as sksurv_ibs
from sksurv.util import Surv

from sarcoma_survival.compare import (
    compare_models,
    count_parameters,
    flops_per_sample,
    format_comparison,
)
from sarcoma_survival.metrics import bootstrap_concordance
from sarcoma_survival.model_selection import SurvivalStratifiedKFold, train_val_test_split
from sarcoma_survival.nn import cox_ph_loss

NUMERIC = ["age", "tumor_size_cm"]


def _cohort(n=90, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.normal(60, 12, n),
            "tumor_size_cm": rng.gamma(3.0, 3.0, n),
            "grade": rng.choice(["low", "high"], n),
            "histology": rng.choice(["myxofibrosarcoma", "liposarcoma", "UPS"], n),
            "tumor_volume_cm3": rng.lognormal(5, 1, n),
            "location": rng.choice(["axial", "lower_extremity"], n),
            "rt_timing": rng.choice(["preop", "postop"], n),
        },
        index=pd.Index([f"P{i:03d}" for i in range(n)], name="patient_id"),
    )
    lin = 0.04 * (X["age"] - 60) + 0.12 * (X["tumor_size_cm"] - 9)
    t_os = rng.exponential(1500 * np.exp(-lin))
    t_dm = rng.exponential(2000 * np.exp(-0.8 * lin))
    cens = rng.uniform(300, 3000, n)
    y_os = Surv.from_arrays(t_os <= cens, np.minimum(t_os, cens))
    y_dm = Surv.from_arrays(t_dm <= cens, np.minimum(t_dm, cens))
    return X, y_os, y_dm


def _cox():
    return make_pipeline(
        ColumnTransformer([("num", "passthrough", NUMERIC)]), CoxPHSurvivalAnalysis()
    )


def _rsf():
    return make_pipeline(
        ColumnTransformer([("num", "passthrough", NUMERIC)]),
        RandomSurvivalForest(n_estimators=15, min_samples_leaf=5, random_state=0),
    )


class TinyTorchSurvival(BaseEstimator):
    """A 2 -> 3 -> 1 network on the numeric columns; first weight matrix frozen."""

    def __init__(self, random_state=0):
        self.random_state = random_state

    def fit(self, X, y):
        torch.manual_seed(self.random_state)
        self.module_ = torch.nn.Sequential(
            torch.nn.Linear(2, 3), torch.nn.ReLU(), torch.nn.Linear(3, 1)
        )
        self.module_[0].weight.requires_grad_(False)
        self.mean_, self.std_ = X[NUMERIC].mean(), X[NUMERIC].std()
        x = self._features(X)
        opt = torch.optim.Adam([p for p in self.module_.parameters() if p.requires_grad], lr=0.05)
        for _ in range(20):
            opt.zero_grad()
            loss = cox_ph_loss(self.module_(x).squeeze(1), time=y["time"], event=y["event"])
            loss.backward()
            opt.step()
        return self

    def _features(self, X):
        z = ((X[NUMERIC] - self.mean_) / self.std_).to_numpy(dtype=np.float32)
        return torch.from_numpy(z)

    def predict(self, X):
        with torch.no_grad():
            return self.module_(self._features(X)).squeeze(1).numpy().astype(float)


def _split(n, seed=1):
    perm = np.random.default_rng(seed).permutation(n)
    return np.sort(perm[: int(0.7 * n)]), np.sort(perm[int(0.7 * n):])


# ---------------------------------------------------------------------------- held out
def test_held_out_c_index_and_ibs_equal_direct_sksurv_computation():
    X, y, _ = _cohort()
    train, test = _split(len(X))
    times = np.linspace(400, 1500, 12)
    table = compare_models(
        X, y, {"cox": _cox(), "rsf": _rsf()}, split=(train, test), times=times,
        n_bootstraps=50, random_state=0,
    )
    assert list(table.index) == ["cox", "rsf"]
    for name, model in [("cox", _cox()), ("rsf", _rsf())]:
        fitted = clone(model).fit(X.iloc[train], y[train])
        risk = fitted.predict(X.iloc[test])
        expected_c = concordance_index_censored(y["event"][test], y["time"][test], risk)[0]
        assert table.loc[name, "test_c_index"] == pytest.approx(expected_c, abs=1e-12)
        surv = np.vstack([fn(times) for fn in fitted.predict_survival_function(X.iloc[test])])
        expected_ibs = sksurv_ibs(np.concatenate([y[train], y[test]]), y[test], surv, times)
        assert table.loc[name, "test_ibs"] == pytest.approx(expected_ibs, rel=1e-10)
        assert np.isnan(table.loc[name, "n_parameters"])
        assert np.isnan(table.loc[name, "flops_per_sample"])
    assert not any(c.startswith("cv_") for c in table.columns)


def test_bootstrap_sd_is_reproducible_and_matches_an_independent_bootstrap():
    X, y, _ = _cohort(120, seed=3)
    train, test = _split(len(X), seed=4)
    kwargs = dict(split=(train, test), n_bootstraps=300, random_state=7)
    first = compare_models(X, y, {"cox": _cox()}, **kwargs)
    again = compare_models(X, y, {"cox": _cox()}, **kwargs)
    other = compare_models(X, y, {"cox": _cox()}, **{**kwargs, "random_state": 8})
    sd = first.loc["cox", "test_c_index_sd"]
    assert sd == again.loc["cox", "test_c_index_sd"]
    assert sd != other.loc["cox", "test_c_index_sd"]
    risk = clone(_cox()).fit(X.iloc[train], y[train]).predict(X.iloc[test])
    assert sd == bootstrap_concordance(y[test], risk, n_bootstraps=300, random_state=7).sd
    # an independent bootstrap (sklearn resampling, sksurv C-index) agrees within noise
    event, time = y["event"][test], y["time"][test]
    values = []
    for b in range(300):
        e, t, r = resample(event, time, risk, random_state=1000 + b)
        values.append(concordance_index_censored(e, t, r)[0])
    assert sd == pytest.approx(np.std(values, ddof=1), rel=0.25)
    assert 0.01 < sd < 0.2


def test_test_size_uses_the_stratified_train_val_test_split():
    X, y, _ = _cohort(100, seed=5)
    table, details = compare_models(
        X, y, {"cox": _cox()}, test_size=0.2, n_bootstraps=20, random_state=3, return_details=True
    )
    X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(X, y, test_size=0.2, random_state=3)
    fitted = clone(_cox()).fit(pd.concat([X_tr, X_val]), np.concatenate([y_tr, y_val]))
    risk = fitted.predict(X_te)
    expected = concordance_index_censored(y_te["event"], y_te["time"], risk)[0]
    assert table.loc["cox", "test_c_index"] == pytest.approx(expected, abs=1e-12)
    assert details.loc[0, "n_test"] == 20 and details.loc[0, "n_train"] == 80
    # default IBS grid: inside the 10th-90th percentile of the test follow-up
    low, high = np.percentile(y_te["time"], [10, 90])
    assert low <= details.loc[0, "ibs_time_min"] < details.loc[0, "ibs_time_max"] <= high


# ------------------------------------------------------------------- cross-validation
def test_cv_fold_scores_equal_cross_val_score():
    X, y, _ = _cohort()
    cv = KFold(4, shuffle=True, random_state=0)
    table, details = compare_models(X, y, {"rsf": _rsf()}, cv=cv, return_details=True)
    expected = cross_val_score(_rsf(), X, y, cv=cv)  # sksurv score = Harrell's C
    np.testing.assert_allclose(details["c_index"], expected, atol=1e-12)
    assert table.loc["rsf", "cv_c_index_mean"] == pytest.approx(expected.mean())
    assert table.loc["rsf", "cv_c_index_sd"] == pytest.approx(expected.std(ddof=1))
    assert np.isfinite(table.loc["rsf", "cv_ibs_mean"]) and table.loc["rsf", "cv_ibs_sd"] > 0
    assert not any(c.startswith("test_") for c in table.columns)


def test_int_cv_means_shuffled_survival_stratified_kfold():
    X, y, _ = _cohort()
    _, by_int = compare_models(X, y, {"cox": _cox()}, cv=3, random_state=2, return_details=True)
    splitter = SurvivalStratifiedKFold(3, shuffle=True, random_state=2)
    _, by_obj = compare_models(X, y, {"cox": _cox()}, cv=splitter, return_details=True)
    pd.testing.assert_series_equal(by_int["c_index"], by_obj["c_index"])


# ------------------------------------------------------------------------ two outcomes
def test_dict_y_gives_one_column_block_per_outcome():
    X, y_os, y_dm = _cohort()
    split = _split(len(X))
    kwargs = dict(split=split, cv=3, n_bootstraps=30, random_state=0)
    table = compare_models(X, {"OS": y_os, "DM": y_dm}, {"cox": _cox()}, **kwargs)
    assert isinstance(table.columns, pd.MultiIndex)
    assert list(table.columns.unique(level=0)) == ["OS", "DM"]
    for name, y in [("OS", y_os), ("DM", y_dm)]:
        single = compare_models(X, y, {"cox": _cox()}, **kwargs)
        pd.testing.assert_frame_equal(
            table[name].drop(columns="fit_time_s"), single.drop(columns="fit_time_s"),
            check_names=False,
        )
    assert table["OS"].loc["cox", "test_c_index"] != table["DM"].loc["cox", "test_c_index"]
    text = format_comparison(table)
    c, sd = table["OS"].loc["cox", ["test_c_index", "test_c_index_sd"]]
    assert text[("OS", "C-index (SD)")].iloc[0] == f"{c:.3f} ({sd:.3f})"


# ----------------------------------------------------------------- torch accounting
def test_parameters_and_flops_of_a_torch_model():
    X, y, _ = _cohort()
    table = compare_models(
        X, y, {"tiny": TinyTorchSurvival()}, split=_split(len(X)), n_bootstraps=20
    )
    # trainable: bias of layer 1 (3) + layer 2 (3 weights + 1 bias); frozen 2x3 weights excluded
    assert table.loc["tiny", "n_parameters"] == 7
    # one sample: 2 * (2*3) + 2 * (3*1) multiply-adds counted as 2 FLOPs each
    assert table.loc["tiny", "flops_per_sample"] == 18
    assert np.isnan(table.loc["tiny", "test_ibs"])  # no predict_survival_function
    assert 0 <= table.loc["tiny", "test_c_index"] <= 1


def test_count_parameters_and_flops_of_the_clinical_mlp():
    from sarcoma_survival.nn import ClinicalMLPSurvival
    from sarcoma_survival.preprocessing import ClinicalEncoder

    X, y, _ = _cohort()
    est = ClinicalMLPSurvival(preprocessor=ClinicalEncoder(NUMERIC), max_epochs=2, random_state=0)
    est.fit(X, y)
    linears = [m for m in est.module_.modules() if isinstance(m, torch.nn.Linear)]
    expected_params = sum(p.numel() for p in est.module_.parameters())
    assert count_parameters(est) == expected_params
    expected_flops = sum(2 * m.in_features * m.out_features for m in linears)
    assert flops_per_sample(est, X.iloc[:1]) == expected_flops
    with pytest.raises(ValueError, match="exactly one patient"):
        flops_per_sample(est, X.iloc[:2])


def test_paper_clinical_models_on_the_cohort_table_with_missing_values():
    from sarcoma_survival.models import SarculatorCoxPH, SarculatorRSF

    X, y_os, y_dm = _cohort(80, seed=9)
    X.loc[X.index[:5], "age"] = np.nan
    X.loc[X.index[5:8], "histology"] = np.nan
    models = {
        "Sarculator CoxPH": SarculatorCoxPH(),
        "Sarculator RSF": SarculatorRSF(n_estimators=20, random_state=0),
    }
    train, test = _split(len(X))
    table = compare_models(
        X, {"OS": y_os, "DM": y_dm}, models, split=(train, test), cv=3, n_bootstraps=30,
        random_state=0,
    )
    assert list(table.index) == list(models)
    for name, model in models.items():
        score = clone(model).fit(X.iloc[train], y_dm[train]).score(X.iloc[test], y_dm[test])
        assert table["DM"].loc[name, "test_c_index"] == pytest.approx(score, abs=1e-12)
    metrics = ["test_c_index", "test_c_index_sd", "test_ibs", "cv_c_index_mean", "cv_ibs_mean"]
    assert np.isfinite(table.xs("test_c_index", axis=1, level=1).to_numpy()).all()
    assert np.isfinite(table.loc[:, (slice(None), metrics)].to_numpy()).all()


def test_flops_of_a_small_densenet_equal_one_forward_pass_of_its_module():
    from torch.utils.flop_counter import FlopCounterMode

    from sarcoma_survival.nn import DenseNetSurvival

    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 1, 16, 16, 16)).astype(np.float32)
    y = Surv.from_arrays(rng.random(12) < 0.7, rng.exponential(100, 12) + 1)
    est = DenseNetSurvival(
        max_epochs=1, batch_size=4, augment=None, train_split=None, random_state=0,
        module__block_config=(1, 1), module__init_features=8, module__growth_rate=4,
    ).fit(X, y)
    est.module_.eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        est.module_(torch.from_numpy(X[:1]))
    assert flops_per_sample(est, X[:1]) == counter.get_total_flops() > 0
    assert count_parameters(est) == sum(p.numel() for p in est.module_.parameters())


# ----------------------------------------------------------------------------- misc
def test_parallel_jobs_give_the_same_table():
    X, y, _ = _cohort(60)
    kwargs = dict(split=_split(len(X)), cv=2, n_bootstraps=20, random_state=0)
    models = {"cox": _cox(), "rsf": _rsf()}
    serial = compare_models(X, y, models, **kwargs)
    with parallel_backend("threading"):  # same code path as processes, without their start-up
        parallel = compare_models(X, y, models, n_jobs=2, **kwargs)
    pd.testing.assert_frame_equal(
        serial.drop(columns="fit_time_s"), parallel.drop(columns="fit_time_s")
    )


def test_errors_are_clear():
    X, y, _ = _cohort(40)
    with pytest.raises(ValueError, match="split= or test_size=\\) and/or cv="):
        compare_models(X, y, {"cox": _cox()})
    with pytest.raises(ValueError, match="not both"):
        compare_models(X, y, {"cox": _cox()}, split=_split(40), test_size=0.2)
    with pytest.raises(ValueError, match="both train and test"):
        compare_models(X, y, {"cox": _cox()}, split=(np.arange(30), np.arange(25, 40)))
    with pytest.raises(ValueError, match="non-empty dict"):
        compare_models(X, y, {}, cv=2)
    with pytest.raises(TypeError, match="'bad' is not an estimator"):
        compare_models(X, y, {"bad": object()}, cv=2)
    with pytest.raises(ValueError, match="X has 40 rows but y has 39"):
        compare_models(X, y[:-1], {"cox": _cox()}, cv=2)
    broken = make_pipeline(ColumnTransformer([("num", "passthrough", ["no_such_column"])]),
                           CoxPHSurvivalAnalysis())
    with pytest.raises(ValueError) as info:
        compare_models(X, {"OS": y}, {"broken": broken}, cv=2)
    assert "while evaluating model 'broken', outcome 'OS' (cv, fold 0)" in info.value.__notes__


# ---------------------------------------------------------------------------- seeds
def test_random_states_refit_seeded_models_and_pair_them_with_the_reference():
    from scipy.stats import t as student

    X, y, _ = _cohort()
    train, test = _split(len(X))
    seeds = [3, 5, 8, 13]
    models = {"cox": _cox(), "net": TinyTorchSurvival()}
    table = compare_models(X, y, models, split=(train, test), random_states=seeds, reference="cox",
                           n_bootstraps=20, random_state=0)
    cox = clone(_cox()).fit(X.iloc[train], y[train]).predict(X.iloc[test])
    c_cox = concordance_index_censored(y["event"][test], y["time"][test], cox)[0]
    per_seed = []
    for seed in seeds:  # the same split, one fit per seed, by hand
        risk = TinyTorchSurvival(random_state=seed).fit(X.iloc[train], y[train]).predict(X.iloc[test])
        per_seed.append(concordance_index_censored(y["event"][test], y["time"][test], risk)[0])
    assert len(set(per_seed)) > 1  # the seeds do change the network
    diff = np.array(per_seed) - c_cox
    half = student.ppf(0.975, len(seeds) - 1) * diff.std(ddof=1) / np.sqrt(len(seeds))
    row = table.loc["net"]
    assert row["n_seeds"] == 4 and table.loc["cox", "n_seeds"] == 1  # no random_state: fitted once
    assert row["test_c_index"] == pytest.approx(np.mean(per_seed), abs=1e-12)
    assert row["test_c_index_seed_sd"] == pytest.approx(np.std(per_seed, ddof=1), abs=1e-12)
    assert row["test_c_index_diff"] == pytest.approx(diff.mean(), abs=1e-12)
    assert row["test_c_index_diff_low"] == pytest.approx(diff.mean() - half, abs=1e-12)
    assert row["test_c_index_diff_high"] == pytest.approx(diff.mean() + half, abs=1e-12)
    assert table.loc["cox", ["test_c_index_diff", "test_c_index_diff_low"]].isna().all()
    assert table.attrs["reference"] == "cox"
    cells = format_comparison(table)
    assert cells.loc["net", "C - cox [95% CI]"] == (
        f"{diff.mean():+.3f} [{diff.mean() - half:.3f}; {diff.mean() + half:.3f}]")
    assert cells.loc["cox", "C - cox [95% CI]"] == "-"


def test_two_seeded_models_pair_seed_by_seed_in_cv():
    X, y, _ = _cohort()
    folds = KFold(3, shuffle=True, random_state=0)
    table, details = compare_models(X, y, {"a": TinyTorchSurvival(), "b": TinyTorchSurvival()}, cv=folds,
                                    random_states=[0, 1, 2], reference="a", return_details=True)
    # two copies of one model: the same fits seed by seed, so every paired difference is 0
    assert table.loc["b", "cv_c_index_diff"] == 0.0
    assert table.loc["b", "cv_c_index_diff_low"] == table.loc["b", "cv_c_index_diff_high"] == 0.0
    assert sorted(details["seed"].unique()) == [0, 1, 2]
    by_seed = details[details["model"] == "a"].groupby("seed")["c_index"].mean()
    assert table.loc["a", "cv_c_index_seed_sd"] == pytest.approx(by_seed.std(ddof=1), abs=1e-12)


@pytest.mark.parametrize("kwargs, message", [
    (dict(random_states=[]), "non-empty list of integers"),
    (dict(random_states=[0, 0]), "repeat a seed"),
    (dict(random_states=[0, 1.5]), "non-empty list of integers"),
    (dict(reference="cox"), "reference= needs random_states="),
    (dict(random_states=[0, 1], reference="nope"), "reference 'nope' is not one of the models"),
])
def test_seed_arguments_are_checked(kwargs, message):
    X, y, _ = _cohort()
    with pytest.raises(ValueError, match=message):
        compare_models(X, y, {"cox": _cox()}, split=_split(len(X)), n_bootstraps=10, **kwargs)


@pytest.mark.parametrize("kwargs, name", [
    (dict(cv=1), "cv"),
    (dict(cv="folds"), "cv"),
    (dict(cv=True), "cv"),
    (dict(cv=2, n_bootstraps=1), "n_bootstraps"),
    (dict(cv=2, n_times=1.5), "n_times"),
    (dict(test_size=1.5), "test_size"),
    (dict(cv=2, reference=3), "reference"),
    (dict(cv=2, return_details="yes"), "return_details"),
])
def test_arguments_are_validated_like_cross_validate(kwargs, name):
    from sklearn.utils._param_validation import InvalidParameterError

    X, y, _ = _cohort(40)
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of compare_models must be"):
        compare_models(X, y, {"cox": _cox()}, **kwargs)
    with pytest.raises(InvalidParameterError, match="The 'models' parameter of compare_models must be"):
        compare_models(X, y, [_cox()], cv=2)
