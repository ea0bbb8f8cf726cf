"""ClinicalEncoder: training-only statistics, one-hot coding, unknown categories, errors."""
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from sarcoma_survival.preprocessing import ClinicalEncoder


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "age": [50.0, 60.0, np.nan, 40.0, 30.0, 70.0],
            "sex": ["F", "M", "M", "F", "M", "F"],
            "tumor_size_cm": [5.0, 9.0, 12.0, 3.0, 4.0, 5.0],
            "tumor_depth": ["deep"] * 5 + ["superficial"],
            "grade": ["high", "low", "high", "high", np.nan, "high"],
            "histology": ["UPS", "UPS", "UPS", "Rare subtype", "UPS", None],
            "location": ["lower_extremity"] * 4 + ["axial", "upper_extremity"],
            "tumor_volume_cm3": [100.0, 300.0, 800.0, 20.0, 40.0, 60.0],
            "neoadjuvant_chemo": [1.0, 0.0, np.nan, 1.0, 1.0, 0.0],
            "mets_at_presentation": [0.0] * 6,
            "rt_timing": ["preop", "postop", "preop", "preop", "postop", np.nan],
            "t1": ["a.nii.gz"] * 6,
        },
        index=[f"P{i}" for i in range(6)],
    )


def test_statistics_come_from_training_rows_only(table):
    train, test = table.iloc[:4], table.iloc[4:]
    enc = ClinicalEncoder("sarculator", min_frequency=1).fit(train)
    out = enc.transform(test)
    names = list(enc.get_feature_names_out())
    ages = train["age"].fillna(train["age"].median())  # imputed, then scaled
    expected_age = (test["age"].to_numpy() - ages.mean()) / ages.std(ddof=0)
    np.testing.assert_allclose(out[:, names.index("age")], expected_age)
    # the missing grade of P4 takes the training mode ("high")
    assert out[0, names.index("grade_high")] == 1.0


def test_median_imputation_and_no_nan(table):
    enc = ClinicalEncoder("clinical", scale=False).fit(table)
    out = enc.transform(table)
    assert np.isfinite(out).all()
    names = list(enc.get_feature_names_out())
    assert out[2, names.index("age")] == pytest.approx(np.nanmedian(table["age"]))


def test_one_hot_not_integer_codes_and_rare_grouping(table):
    enc = ClinicalEncoder(["histology"], min_frequency=2).fit(table)
    names = list(enc.get_feature_names_out())
    # canonical spelling: "UPS" is stored under its full WHO name (the clinical vocabulary)
    assert names == ["histology_undifferentiated pleomorphic sarcoma", "histology_infrequent_sklearn"]
    out = enc.transform(table)
    assert set(np.unique(out)) <= {0.0, 1.0}
    np.testing.assert_array_equal(out.sum(axis=1), 1.0)


def test_unknown_category_and_other_column_order_are_not_fatal(table):
    enc = ClinicalEncoder("clinical", min_frequency=1).fit(table)
    reference = enc.transform(table)
    shuffled = table[table.columns[::-1]].assign(extra=1)
    np.testing.assert_array_equal(enc.transform(shuffled), reference)
    changed = table.copy()
    changed.loc["P0", "histology"] = "Never seen"
    out = enc.transform(changed)
    names = list(enc.get_feature_names_out())
    hist = [i for i, n in enumerate(names) if n.startswith("histology_")]
    assert out[0, hist].sum() == 0.0  # unseen and no infrequent group: all zeros


def test_booleans_accept_text_and_all_missing_column_is_dropped(table):
    changed = table.copy()
    changed["neoadjuvant_chemo"] = ["yes", "No", None, "TRUE", "0", "false"]
    changed["rt_timing"] = np.nan
    enc = ClinicalEncoder("clinical").fit(changed)
    assert enc.dropped_columns_ == ["rt_timing"]
    names = list(enc.get_feature_names_out())
    np.testing.assert_array_equal(
        # the missing one takes the mode (False)
        enc.transform(changed)[:, names.index("neoadjuvant_chemo")], [1, 0, 0, 1, 0, 0]
    )


def test_errors_name_the_problem(table):
    with pytest.raises(ValueError, match="'grade', 'histology'"):
        ClinicalEncoder("sarculator").fit(table.drop(columns=["grade", "histology"]))
    with pytest.raises(TypeError, match="DataFrame"):
        ClinicalEncoder().fit(table.to_numpy())
    bad = table.assign(neoadjuvant_chemo=["maybe"] * 6)
    with pytest.raises(ValueError, match="neoadjuvant_chemo.*maybe"):
        ClinicalEncoder().fit(bad)
    with pytest.raises(ValueError, match="columns"):
        ClinicalEncoder("everything").fit(table)


def test_clone_and_pandas_output(table):
    enc = clone(ClinicalEncoder("sarculator", min_frequency=1)).set_output(transform="pandas")
    out = enc.fit(table).transform(table)
    assert list(out.columns) == list(enc.get_feature_names_out())
    assert list(out.index) == list(table.index)


def test_one_hot_blocks_and_reference_contrasts_do_not_go_by_name_prefixes():
    # "site" is a prefix of "site_detail": the blocks come from the one-hot encoder itself
    X = pd.DataFrame({"age": [40.0, 60, 70, 50, 45, 55], "site": list("aabbab"),
                      "site_detail": ["x", "y", "x", "y", "z", "x"]})
    encoder = ClinicalEncoder(["age", "site", "site_detail"], min_frequency=2).fit(X)
    assert list(encoder.get_feature_names_out()) == [
        "age", "site_a", "site_b", "site_detail_x", "site_detail_y", "site_detail_infrequent_sklearn"]
    assert encoder.one_hot_blocks() == {"site": [1, 2], "site_detail": [3, 4, 5]}
    names, matrix, columns = encoder.reference_contrasts()
    assert names == ["age", "site_b vs site_a", "site_detail_y vs site_detail_x",
                     "site_detail_infrequent_sklearn vs site_detail_x"]
    assert columns.tolist() == [0, 2, 4, 5]
    # the treatment-coded design times the contrasts is the full design times the
    # coefficients, up to one constant for every patient
    Z = encoder.transform(X)
    coef = np.random.default_rng(0).normal(size=Z.shape[1])
    shift = Z @ coef - Z[:, columns] @ (matrix @ coef)
    np.testing.assert_allclose(shift, shift[0])
    assert ClinicalEncoder(["age"]).fit(X).one_hot_blocks() == {}
