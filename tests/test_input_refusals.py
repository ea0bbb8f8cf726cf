"""Inputs that used to be accepted silently wrong (issue #15 items 2, 3, 8).

Each test reproduces one misuse: category spellings given straight to an estimator, the
"auto" choice of preprocessing on public numeric tables (scikit-survival's whas500, aids,
flchain and lifelines' rossi, which ship with those packages), fits on too few patients,
implausible clinical values, a ``y`` with its fields in (time, event) order, and metric
times beyond the training follow-up.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sksurv.util import Surv

from sarcoma_survival.datasets import CohortError, load_cohort
from sarcoma_survival.metrics import (
    brier_score,
    concordance_index,
    cumulative_dynamic_auc,
)
from sarcoma_survival.models import SarculatorCoxPH, SarculatorRSF
from sarcoma_survival.nn import ClinicalMLPSurvival
from sarcoma_survival.preprocessing import ClinicalEncoder
from sarcoma_survival.utils.validation import (
    MIN_FIT_EVENTS,
    MIN_FIT_PATIENTS,
    PLAUSIBLE_RANGES,
    check_survival_y,
    parse_boolean,
)


def _sarculator_table(n=40, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "age": rng.uniform(30, 80, n),
            "tumor_size_cm": rng.uniform(2, 20, n),
            "grade": rng.choice(["low", "high"], n),
            "histology": rng.choice(["liposarcoma", "leiomyosarcoma"], n),
        },
        index=[f"P{i:02d}" for i in range(n)],
    )
    risk = 0.05 * X["age"] + 0.1 * X["tumor_size_cm"] + (X["grade"] == "high")
    time = rng.exponential(3000 * np.exp(-(risk - risk.mean())))
    y = Surv.from_arrays(rng.random(n) < 0.6, time + 1.0)
    return X, y


# ---------------------------------------------------------------- item 2: categories
def test_category_spellings_are_canonicalised_the_same_way_as_the_loader():
    X, y = _sarculator_table()
    canonical = SarculatorCoxPH(min_frequency=1).fit(X, y)
    spelled = X.copy()
    spelled["grade"] = spelled["grade"].map({"high": "High", "low": " LOW "})
    spelled["histology"] = spelled["histology"].str.title()
    # a training table in other spellings learns the same categories and model
    refit = SarculatorCoxPH(min_frequency=1).fit(spelled, y)
    assert list(refit.get_feature_names_out()) == list(canonical.get_feature_names_out())
    np.testing.assert_allclose(refit.predict(X), canonical.predict(X), rtol=1e-10)
    # ... and predicting on other spellings gives the canonical risks
    np.testing.assert_allclose(canonical.predict(spelled), canonical.predict(X), rtol=1e-10)


def test_a_table_mixing_spellings_learns_one_category():
    X, _ = _sarculator_table()
    mixed = X.copy()
    mixed.loc[mixed.index[::2], "grade"] = mixed.loc[mixed.index[::2], "grade"].str.upper()
    names = list(ClinicalEncoder("sarculator", min_frequency=1).fit(mixed).get_feature_names_out())
    assert [n for n in names if n.startswith("grade_")] == ["grade_high", "grade_low"]


def test_grade_numbers_follow_the_schema_high_is_grade_2_or_3():
    X, y = _sarculator_table()
    model = SarculatorRSF(n_estimators=5, random_state=0, min_frequency=1).fit(X, y)
    numbered = X.copy()
    numbered["grade"] = numbered["grade"].map({"high": "grade 3", "low": "Grade 1"})
    np.testing.assert_array_equal(model.predict(numbered), model.predict(X))
    numbered["grade"] = X["grade"].map({"high": 2, "low": 1})
    np.testing.assert_array_equal(model.predict(numbered), model.predict(X))


def test_an_invalid_category_names_patient_column_and_value_in_fit_and_predict():
    X, y = _sarculator_table()
    model = SarculatorRSF(n_estimators=5, random_state=0).fit(X, y)
    bad = X.copy()
    bad.loc["P03", "grade"] = "very high"
    with pytest.raises(ValueError, match=r"'grade'.*P03.*'very high'.*allowed"):
        model.predict(bad)
    with pytest.raises(ValueError, match=r"'grade'.*P03.*'very high'"):
        SarculatorRSF(n_estimators=5).fit(bad, y)
    table = X.assign(sex=np.where(np.arange(len(X)) % 2, "F", "M"))
    table.loc["P05", "sex"] = "X"
    with pytest.raises(ValueError, match=r"'sex'.*P05.*'X'"):
        ClinicalEncoder(["age", "sex"]).fit(table)


def test_a_category_unseen_in_training_follows_handle_unknown():
    X, _ = _sarculator_table()
    new = X.copy()
    new.loc["P07", "histology"] = "angiosarcoma"
    enc = ClinicalEncoder("sarculator", min_frequency=1, handle_unknown="error").fit(X)
    with pytest.raises(ValueError, match=r"'histology'.*P07.*'angiosarcoma'.*not seen in training"):
        enc.transform(new)
    grouped = ClinicalEncoder("sarculator", min_frequency=1).fit(X)  # documented default
    assert grouped.handle_unknown == "infrequent"
    row = grouped.transform(new)[list(new.index).index("P07")]
    names = list(grouped.get_feature_names_out())
    assert row[[names.index(n) for n in names if n.startswith("histology_")]].sum() == 0.0
    with pytest.raises(ValueError, match="handle_unknown"):
        ClinicalEncoder(handle_unknown="ignore").fit(X)


def test_one_boolean_parser():
    values = [True, "yes", "No", None, 0, 1.0, "T", "", np.nan, "FALSE"]
    np.testing.assert_array_equal(
        parse_boolean(values, column="c"), [1, 1, 0, np.nan, 0, 1, 1, np.nan, np.nan, 0]
    )
    with pytest.raises(ValueError, match=r"'c'.*P2 \('maybe'\)"):
        parse_boolean(["yes", "no", "maybe", 2], column="c", ids=["P0", "P1", "P2", "P3"])
    import sarcoma_survival.datasets._cohort as cohort
    import sarcoma_survival.preprocessing._clinical as clinical

    # no second table of spellings in the loader or the encoder
    for module in (cohort, clinical):
        assert not hasattr(module, "_TRUE") and not hasattr(module, "_as_float_boolean")


# ---------------------------------------------------------------- item 3: "auto"
def _numeric(X):
    return X.select_dtypes("number").astype(float)


def _real_numeric_tables():
    from lifelines.datasets import load_rossi
    from sksurv.datasets import load_aids, load_flchain, load_whas500

    tables = {}
    for name, loader in (("whas500", load_whas500), ("aids", load_aids), ("flchain", load_flchain)):
        X, y = loader()
        X = _numeric(X).iloc[:200]
        # complete rows with a positive time (aids has times of 0 days, which this toolkit
        # refuses: see "What the tool refuses, and why")
        keep = X.notna().all(axis=1).to_numpy() & (y[:200][y.dtype.names[1]] > 0)
        tables[name] = (X[keep], y[:200][keep])
    rossi = load_rossi().iloc[:200]
    tables["rossi"] = (
        _numeric(rossi.drop(columns=["week", "arrest"])),
        Surv.from_arrays(rossi["arrest"].astype(bool), rossi["week"].astype(float)),
    )
    return tables


@pytest.mark.parametrize("name", ["whas500", "aids", "flchain", "rossi"])
def test_auto_takes_the_numeric_path_on_public_numeric_tables(name):
    X, y = _real_numeric_tables()[name]
    assert "age" in X.columns  # the one schema name that used to pick the cohort encoder
    model = ClinicalMLPSurvival(max_epochs=2, batch_size=64, random_state=0).fit(X, y)
    assert type(model.preprocessor_).__name__ == "StandardScaler"
    assert model.n_encoded_features_ == X.shape[1]
    assert np.isfinite(model.predict(X)).all()


def test_auto_takes_the_encoder_only_with_all_eleven_clinical_columns(tiny_cohort):
    X, y = tiny_cohort.X, tiny_cohort.y_os
    full = ClinicalMLPSurvival(max_epochs=1, random_state=0).fit(X, y)
    assert type(full.preprocessor_).__name__ == "ClinicalEncoder"
    # ten of the eleven clinical columns and a text column: no silent numeric fallback
    partial = X.drop(columns=["rt_timing"])
    with pytest.raises(ValueError, match=r"rt_timing.*preprocessor"):
        ClinicalMLPSurvival(max_epochs=1, random_state=0).fit(partial, y)


def test_auto_clinical_preprocessor_of_the_mmnn_follows_the_same_rule(tiny_cohort):
    from sarcoma_survival.nn import MMNNSurvival

    X = tiny_cohort.X
    full = MMNNSurvival()._make_clinical_preprocessor(X)
    assert full.columns == "clinical"
    numeric = X[["t1", "t2", "mask", "age", "tumor_size_cm"]]
    fallback = MMNNSurvival()._make_clinical_preprocessor(numeric)
    assert fallback.columns == ["age", "tumor_size_cm"]  # the numeric columns, by name
    with pytest.raises(ValueError, match=r"non-numeric column.*'sex'.*lacks.*'grade'"):
        MMNNSurvival()._make_clinical_preprocessor(X[["t1", "mask", "age", "sex"]])


# ---------------------------------------------------------------- item 8: degenerate
@pytest.mark.parametrize("make", [
    lambda: SarculatorRSF(n_estimators=5),
    lambda: SarculatorCoxPH(),
    lambda: ClinicalMLPSurvival(max_epochs=1),
])
def test_fits_below_the_minimum_of_patients_or_events_are_refused(make):
    X, y = _sarculator_table()
    with pytest.raises(ValueError, match=rf"2 patients.*at least {MIN_FIT_PATIENTS}"):
        make().fit(X.iloc[:2], y[:2])
    one_event = y.copy()
    one_event["event"] = False
    one_event["event"][0] = True
    with pytest.raises(ValueError, match=rf"1 event.*at least {MIN_FIT_EVENTS}"):
        make().fit(X, one_event)


def test_the_minimum_keeps_five_fold_cv_on_the_tcia_cohort(validation_dir):
    from sarcoma_survival.datasets import load_tcia_sts
    from sarcoma_survival.model_selection import SurvivalStratifiedKFold

    data = load_tcia_sts(validation_dir / "sts_tcia")
    for y in (data.y_os, data.y_dm):
        for train, _ in SurvivalStratifiedKFold(5, shuffle=True, random_state=0).split(data.X, y):
            assert len(train) >= MIN_FIT_PATIENTS and y["event"][train].sum() >= MIN_FIT_EVENTS


@pytest.mark.parametrize("column, value", [("age", 250.0), ("tumor_size_cm", 0.0),
                                           ("tumor_volume_cm3", 1e7)])
def test_implausible_clinical_values_are_refused(column, value):
    X, _ = _sarculator_table()
    X = X.assign(tumor_volume_cm3=100.0)
    X.loc["P04", column] = value
    low, high = PLAUSIBLE_RANGES[column]
    expected = re.escape(f"'{column}': patient(s) P04 ({value:g}) outside the plausible range")
    opening = "[" if low == 0 and column == "age" else "("
    with pytest.raises(ValueError, match=expected + re.escape(f" {opening}{low:g}, {high:g}]")):
        ClinicalEncoder([column, "grade"]).fit(X)


def _manifest(tmp_path, **changes):
    row = {"patient_id": "P1", "age": "61", "sex": "F", "tumor_size_cm": "8.5",
           "tumor_depth": "deep", "grade": "high", "histology": "UPS", "location": "axial",
           "tumor_volume_cm3": "150", "neoadjuvant_chemo": "no", "mets_at_presentation": "no",
           "rt_timing": "preop", "os_event": "1", "os_time": "400"}
    row.update(changes)
    path = tmp_path / "cohort.csv"
    path.write_text(",".join(row) + "\n" + ",".join(row.values()) + "\n")
    return path


@pytest.mark.parametrize("changes, match", [
    ({"age": "250"}, r"'age'.*P1 \(250\).*plausible range"),
    ({"tumor_size_cm": "0"}, r"'tumor_size_cm'.*P1 \(0\).*plausible range"),
    ({"os_time": "1e12"}, r"'os_time'.*P1 \(1e\+12\).*plausible range"),
    ({"sex": "X"}, r"'sex'.*P1.*'X'"),
    # Python's float reads "6_5" as 65 and "٦٥" as 65: both are typing errors in a table
    ({"tumor_size_cm": "6_5"}, r"'tumor_size_cm' must be numeric.*P1 \('6_5'\)"),
    ({"age": "٦٥"}, r"'age' must be numeric.*P1 \('٦٥'\)"),
    ({"os_time": "4_00"}, r"'os_time' must be numeric \(days\).*P1 \('4_00'\)"),
])
def test_the_loader_refuses_implausible_values_and_names_them(tmp_path, changes, match):
    with pytest.raises(CohortError, match=match):
        load_cohort(_manifest(tmp_path, **changes))


def test_the_loader_and_encoder_share_the_grade_synonyms(tmp_path):
    cohort = load_cohort(_manifest(tmp_path, grade="Grade 3", histology=" Myxoid  Liposarcoma"))
    assert cohort.X.loc["P1", "grade"] == "high"
    assert cohort.X.loc["P1", "histology"] == "myxoid liposarcoma"


def test_y_fields_are_identified_by_dtype_not_position():
    X, y = _sarculator_table()
    swapped = np.empty(len(y), dtype=[("lenfol", float), ("fstat", bool)])
    swapped["lenfol"], swapped["fstat"] = y["time"], y["event"]
    event, time = check_survival_y(swapped)
    np.testing.assert_array_equal(event, y["event"])
    np.testing.assert_array_equal(time, y["time"])
    reference = SarculatorCoxPH(min_frequency=1).fit(X, y)
    np.testing.assert_allclose(SarculatorCoxPH(min_frequency=1).fit(X, swapped).predict(X),
                               reference.predict(X))
    assert concordance_index(swapped, reference.predict(X)) == concordance_index(y, reference.predict(X))
    assert reference.score(X, swapped) == reference.score(X, y)
    numeric = X.select_dtypes("number").astype("float32").to_numpy()
    net = ClinicalMLPSurvival(preprocessor=None, max_epochs=2, train_split=None, random_state=0)
    net.fit(numeric, y)
    assert net.score(numeric, swapped) == net.score(numeric, y)
    ambiguous = np.zeros(3, dtype=[("a", float), ("b", float)])
    with pytest.raises(ValueError, match="one boolean.*event.*'a' \\(float64\\), 'b' \\(float64\\)"):
        check_survival_y(ambiguous)


def test_td_auc_and_brier_beyond_training_follow_up_say_what_to_do():
    y_train = Surv.from_arrays([True, False, True, True, False], [1.0, 2.0, 3.0, 4.0, 5.0])
    y_test = Surv.from_arrays([True, False, True, True, False], [1.0, 3.0, 6.0, 7.0, 9.0])
    risk = [5.0, 1.0, 3.0, 2.0, 0.0]
    with pytest.raises(ValueError, match=r"event times of y_true: 2 time\(s\) \(from 6\) exceed "
                                         r"the largest time of y_train \(5\).*censor y_true"):
        cumulative_dynamic_auc(y_test, risk, [4.5], y_train=y_train)
    with pytest.raises(ValueError, match=r"brier_score: times: 1 time\(s\) \(from 6.5\) exceed "
                                         r"the largest time of y_train \(5\).*below 5"):
        brier_score(y_test, [[0.5]] * 5, [6.5], y_train=y_train)
    events_last = Surv.from_arrays([True, False, True, True, True], [1.0, 2.0, 3.0, 4.0, 5.0])
    with pytest.raises(ValueError, match=r"times of y_true: .*exceed the largest time of y_train"):
        brier_score(y_test, [[0.5]] * 5, [4.5], y_train=events_last)
    # inside the follow-up both agree with scikit-survival, whatever the order of y's fields
    from sksurv.metrics import brier_score as sksurv_brier

    inside = Surv.from_arrays([True, False, True, True, False], [1.0, 1.5, 2.5, 3.5, 4.5])
    swapped = np.empty(5, dtype=[("t", float), ("e", bool)])
    swapped["t"], swapped["e"] = inside["time"], inside["event"]
    np.testing.assert_allclose(brier_score(swapped, [[0.5]] * 5, [2.0], y_train=y_train),
                               sksurv_brier(y_train, inside, [[0.5]] * 5, [2.0])[1])


# ---------------------------------------------------------------- issue 23, family 5: values
def _competing_table(n=40, seed=0):
    from sarcoma_survival.competing_risks import competing_y

    X, y = _sarculator_table(n, seed)
    rng = np.random.default_rng(seed + 1)
    event = np.where(y["event"], rng.integers(1, 3, n), 0)
    return X, competing_y(event, y["time"])


@pytest.mark.parametrize("times", [
    np.array(["2020-01-31", "2021-06-01"], dtype="datetime64[D]"),  # was read as days since 1970
    pd.Series(pd.to_datetime(["2020-01-31", "2021-06-01"])),  # was read as nanoseconds
    [pd.Timestamp("2020-01-31"), pd.Timestamp("2021-06-01")],
    np.array([5, 9], dtype="timedelta64[h]"),  # a duration in hours was read as 5 and 9 days
], ids=["datetime64", "pandas-datetimes", "timestamps", "timedelta"])
def test_dates_are_refused_as_times_everywhere(times):
    from sarcoma_survival.competing_risks import competing_y
    from sarcoma_survival.utils import check_competing_y

    with pytest.raises(ValueError, match=r"time holds dates or durations .*not numbers of days"):
        competing_y([1, 2], times)
    raw = np.asarray(times)
    if raw.dtype.kind in "Mm":
        y = np.empty(2, dtype=[("event", np.int64), ("time", raw.dtype)])
        y["event"], y["time"] = [1, 2], raw
        with pytest.raises(ValueError, match="holds dates or durations"):
            check_competing_y(y)
        y = np.empty(2, dtype=[("event", bool), ("time", raw.dtype)])
        y["event"], y["time"] = [True, False], raw
        with pytest.raises(ValueError, match=r"the field 'time' of y holds dates or durations"):
            check_survival_y(y)
    X, y_num = _competing_table()
    from sarcoma_survival.competing_risks import FineGrayCoxPH

    model = FineGrayCoxPH().fit(X[["age", "tumor_size_cm"]], y_num)
    with pytest.raises(ValueError, match=r"times holds dates or durations"):
        model.predict_cumulative_incidence(X[["age", "tumor_size_cm"]].iloc[:2], times)


def test_an_integer_0_1_event_is_refused_by_the_neural_estimators():
    # Before: ClinicalMLPSurvival fitted a one-cause "competing-risks" model on it.
    X, y = _sarculator_table()
    integer = np.empty(len(y), dtype=[("event", np.int64), ("time", float)])
    integer["event"], integer["time"] = y["event"].astype(int), y["time"]
    with pytest.raises(ValueError, match=r"only 0 and 1.*Surv.from_arrays\(event == 1, time\)"):
        ClinicalMLPSurvival(max_epochs=1).fit(X, integer)


@pytest.mark.parametrize("name", ["FineGrayCoxPH", "CauseSpecificCoxPH", "SarculatorFineGray"])
def test_the_competing_risks_estimators_keep_the_minimum_fit_size(name):
    # Before: Fine-Gray fitted 3 patients with 1 event (coefficients -38, 44, 18).
    import sarcoma_survival.competing_risks as cr

    X, y = _competing_table()
    if name != "SarculatorFineGray":
        X = X[["age", "tumor_size_cm"]]
    with pytest.raises(ValueError, match=rf"{name}: cannot fit on 3 patients.*at least {MIN_FIT_PATIENTS}"):
        getattr(cr, name)().fit(X.iloc[:3], y[:3])
    one_event = y.copy()
    one_event["event"] = 0
    one_event["event"][0] = 2
    with pytest.raises(ValueError, match=rf"{name}: cannot fit with 1 event.*at least {MIN_FIT_EVENTS}"):
        getattr(cr, name)().fit(X, one_event)


def _float32_and_float64_fits(make, X, y):
    import torch

    reference = make().fit(X, y).predict(X)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        model = make().fit(X, y)
        assert next(model.module_.parameters()).dtype == torch.float32
        assert torch.get_default_dtype() == torch.float64  # the process's setting is left as it was
        return reference, model.predict(X)
    finally:
        torch.set_default_dtype(previous)


def test_neural_fits_follow_their_float32_modules_whatever_torchs_default_dtype(tiny_cohort):
    # Before: "mat1 and mat2 must have the same dtype" in every neural fit.
    from sarcoma_survival import DenseNetSurvival, VolumePreprocessor

    X, y = _sarculator_table()
    np.testing.assert_array_equal(*_float32_and_float64_fits(
        lambda: ClinicalMLPSurvival(max_epochs=2, random_state=0), X[["age", "tumor_size_cm"]], y))
    # augmentation included: its random draws do not depend on the default dtype either
    make = lambda: DenseNetSurvival(  # noqa: E731
        preprocessor=VolumePreprocessor(12, n4=False), max_epochs=1, batch_size=6, random_state=0,
        module__init_features=4, module__growth_rate=2, module__block_config=(1, 1))
    np.testing.assert_array_equal(*_float32_and_float64_fits(make, tiny_cohort.X, tiny_cohort.y_os))
