"""The stratified train/validation/test split and the survival CV splitters."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import cross_validate, train_test_split
from sksurv.linear_model import CoxPHSurvivalAnalysis
from sksurv.util import Surv

from sarcoma_survival.metrics import concordance_scorer
from sarcoma_survival.model_selection import (
    RepeatedSurvivalStratifiedKFold,
    SurvivalStratifiedKFold,
    survival_strata,
    train_val_test_split,
)

FACTORS = ("tumor_volume_cm3", "location", "rt_timing", "event")


def cohort_table(n=287, seed=0, missing=True):
    """A clinical table in the cohort schema (no images needed for splitting)."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.normal(60, 15, n),
            "tumor_volume_cm3": rng.lognormal(5, 1.2, n),
            "location": rng.choice(["axial", "upper_extremity", "lower_extremity"], n,
                                   p=[0.2, 0.2, 0.6]),
            "rt_timing": rng.choice(["preop", "postop"], n, p=[0.7, 0.3]),
        },
        index=pd.Index([f"P{i:03d}" for i in range(n)], name="patient_id"),
    )
    if missing:
        X.loc[X.index[:3], "location"] = np.nan
        X.loc[X.index[3:5], "tumor_volume_cm3"] = np.nan
    log_hazard = 0.5 * np.log(X["tumor_volume_cm3"].fillna(150)) - 2.5
    time = rng.exponential(2000 * np.exp(-log_hazard.to_numpy())) + 1
    censor = rng.uniform(300, 4000, n)
    return X, Surv.from_arrays(time <= censor, np.minimum(time, censor))


def test_sizes_are_exact_disjoint_and_cover_the_cohort():
    X, y = cohort_table()
    X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(X, y, random_state=0)
    assert (len(X_tr), len(X_val), len(X_te)) == (199, 44, 44)  # ceil(0.15 * 287) = 44
    assert [len(v) for v in (y_tr, y_val, y_te)] == [199, 44, 44]
    ids = [set(part.index) for part in (X_tr, X_val, X_te)]
    assert not (ids[0] & ids[1] or ids[0] & ids[2] or ids[1] & ids[2])
    assert ids[0] | ids[1] | ids[2] == set(X.index)
    for part, y_part in ((X_tr, y_tr), (X_val, y_val), (X_te, y_te)):
        assert part.index.is_monotonic_increasing  # original order kept
        np.testing.assert_array_equal(y_part, y[X.index.get_indexer(part.index)])
    sizes = train_val_test_split(X, y, val_size=30, test_size=0.2, random_state=0)
    assert [len(p) for p in sizes[:3]] == [199, 30, 58]


def test_same_seed_same_split_other_seed_other_split():
    X, y = cohort_table()
    a = train_val_test_split(X, y, random_state=3)
    b = train_val_test_split(X, y, random_state=3)
    c = train_val_test_split(X, y, random_state=4)
    for left, right in zip(a[:3], b[:3]):
        pd.testing.assert_frame_equal(left, right)
    assert not a[2].index.equals(c[2].index)


def test_each_stratum_gets_its_proportional_share():
    X, y = cohort_table()
    strata = survival_strata(X, y, min_stratum_size=7)
    _, _, X_te, _, _, _ = train_val_test_split(X, y, random_state=1)
    share = 44 / 287
    counts = strata.value_counts()
    in_test = strata.loc[X_te.index].value_counts().reindex(counts.index, fill_value=0)
    ideal = counts * share
    assert np.all(in_test >= np.floor(ideal)) and np.all(in_test <= np.ceil(ideal))


def _imbalance(parts, X, y):
    """Largest gap between a subset's and the cohort's event rate / location shares."""
    gaps = []
    for X_part, y_part in parts:
        gaps.append(abs(y_part["event"].mean() - y["event"].mean()))
        share = X_part["location"].value_counts(normalize=True, dropna=False)
        overall = X["location"].value_counts(normalize=True, dropna=False)
        gaps.append((share.reindex(overall.index, fill_value=0) - overall).abs().max())
    return max(gaps)


def test_stratification_balances_better_than_a_random_split():
    X, y = cohort_table()
    stratified, unstratified = [], []
    for seed in range(20):
        X_tr, X_val, X_te, y_tr, y_val, y_te = train_val_test_split(X, y, random_state=seed)
        stratified.append(_imbalance([(X_val, y_val), (X_te, y_te)], X, y))
        X_rest, X_te, y_rest, y_te = train_test_split(X, y, test_size=44, random_state=seed)
        X_tr, X_val, y_tr, y_val = train_test_split(X_rest, y_rest, test_size=44, random_state=seed)
        unstratified.append(_imbalance([(X_val, y_val), (X_te, y_te)], X, y))
    assert np.mean(stratified) < 0.5 * np.mean(unstratified)
    assert max(stratified) < 0.05  # event rate and location within 5 points in every subset


def test_best_of_draws_balances_better_than_a_single_draw():
    X, y = cohort_table()
    gaps = {1: [], 100: []}
    for n_draws in gaps:
        for seed in range(10):
            parts = train_val_test_split(X, y, n_draws=n_draws, random_state=seed)
            gaps[n_draws].append(_imbalance([(parts[1], parts[4]), (parts[2], parts[5])], X, y))
    assert np.mean(gaps[100]) < np.mean(gaps[1])
    with pytest.raises(ValueError, match="n_draws"):
        train_val_test_split(X, y, n_draws=0)


def test_missing_values_form_their_own_level_or_join_the_mode():
    X, y = cohort_table()
    strata = survival_strata(X, y, min_stratum_size=1)
    assert strata.iloc[0].startswith("tumor_volume_cm3=q") and "location=missing" in strata.iloc[0]
    assert strata.iloc[3].startswith("tumor_volume_cm3=missing")
    # 3 missing locations and 2 missing volumes are too few (< 4) for a level of their own:
    # they join the most frequent location and the median volume bin
    strata = survival_strata(X, y, stratify_by=["location"], min_stratum_size=4)
    assert set(strata.iloc[:3]) == {"location=lower_extremity"}
    strata = survival_strata(X, y, stratify_by=["tumor_volume_cm3"], min_stratum_size=4)
    assert set(strata.iloc[3:5]) == {"tumor_volume_cm3=q2/3"}
    # and the split does not crash on them
    train_val_test_split(X, y, random_state=0)


def test_small_strata_error_names_them_and_the_fallbacks():
    X, y = cohort_table(n=120)
    pattern = (
        r"strata have fewer than 7 patients.*: "
        r"tumor_volume_cm3=q\d/3\|location=\w+\|rt_timing=\w+\|event=\d \(1\);"
        r".*on_small_strata='merge'"
    )
    with pytest.raises(ValueError, match=pattern):
        train_val_test_split(X, y, on_small_strata="error", random_state=0)
    # a coarser stratification passes the same check
    train_val_test_split(X, y, stratify_by=["event"], on_small_strata="error", random_state=0)


def test_merge_pools_small_strata_with_their_siblings():
    X, y = cohort_table(n=120, missing=False)
    full = survival_strata(X, y, min_stratum_size=1)
    merged = survival_strata(X, y, min_stratum_size=7, on_small_strata="merge")
    counts = merged.value_counts()
    assert counts.drop("pooled", errors="ignore").min() >= 7
    # strata that were large enough are untouched
    big = full.map(full.value_counts()) >= 7
    assert (merged[big] == full[big]).all()
    # a merged stratum is a prefix of the original label (it lost its last factors)
    small = ~big & (merged != "pooled")
    assert all(f.startswith(m) for f, m in zip(full[small], merged[small]))


def test_drop_factor_drops_the_last_factors_for_everyone():
    X, y = cohort_table(n=120, missing=False)
    strata = survival_strata(X, y, min_stratum_size=7, on_small_strata="drop_factor")
    n_parts = {label.count("|") + 1 for label in strata}
    assert len(n_parts) == 1 and n_parts.pop() < len(FACTORS)
    assert strata.value_counts().min() >= 7
    # a rare level of the first factor itself cannot be fixed by dropping factors: pooled
    strata = survival_strata(X, y, stratify_by=["location", "event"], min_stratum_size=30,
                             on_small_strata="drop_factor")
    assert "pooled" in set(strata)
    assert set(strata) - {"pooled"} <= {f"location={v}" for v in X["location"]}


def test_bad_arguments_raise_clear_errors():
    X, y = cohort_table(n=60)
    with pytest.raises(ValueError, match=r"does not have: \['necrosis'\]"):
        train_val_test_split(X, y, stratify_by=["necrosis"])
    with pytest.raises(ValueError, match="no training patient"):
        train_val_test_split(X, y, val_size=0.5, test_size=0.5)
    with pytest.raises(ValueError, match="test_size"):
        train_val_test_split(X, y, test_size=1.5)
    with pytest.raises(ValueError, match="on_small_strata"):
        train_val_test_split(X, y, on_small_strata="ignore")
    with pytest.raises(ValueError, match="X has 60 rows but y has 59"):
        train_val_test_split(X, y[:-1])
    with pytest.raises(TypeError, match="DataFrame"):
        train_val_test_split(X.to_numpy(), y)
    # an array X is fine when only the event stratifies
    parts = train_val_test_split(X[["age"]].to_numpy(), y, stratify_by=["event"], random_state=0)
    assert parts[0].shape == (42, 1)


def test_survival_stratified_kfold_balances_events_and_works_in_cross_validate():
    X, y = cohort_table(n=100, missing=False)
    cv = SurvivalStratifiedKFold(5, shuffle=True, random_state=0)
    per_fold = [int(y["event"][test].sum()) for _, test in cv.split(X, y)]
    assert max(per_fold) - min(per_fold) <= 1
    features = np.log(X[["tumor_volume_cm3"]].to_numpy())
    scores = cross_validate(CoxPHSurvivalAnalysis(), features, y, cv=cv, scoring=concordance_scorer)
    assert np.all(np.isfinite(scores["test_score"]))


def test_repeated_kfold_is_reproducible_and_reshuffles():
    X, y = cohort_table(n=50, missing=False)
    cv = RepeatedSurvivalStratifiedKFold(n_splits=5, n_repeats=3, random_state=0)
    first = [test for _, test in cv.split(X, y)]
    again = [test for _, test in cv.split(X, y)]
    assert len(first) == cv.get_n_splits() == 15
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[5])
    for r in range(3):  # each repeat is a partition of the cohort
        assert sorted(np.concatenate(first[5 * r:5 * r + 5]).tolist()) == list(range(50))
