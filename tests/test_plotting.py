"""sarcoma_survival.plotting: expected artists; numbers agree with sksurv, lifelines, sklearn."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from sklearn.metrics import roc_curve  # noqa: E402
from sksurv.linear_model import CoxPHSurvivalAnalysis  # noqa: E402
from sksurv.metrics import cumulative_dynamic_auc  # noqa: E402
from sksurv.util import Surv  # noqa: E402

from sarcoma_survival.plotting import (  # noqa: E402
    blending_weights_frame,
    calibration_table,
    plot_blending_weights,
    plot_calibration,
    plot_kaplan_meier_by_risk,
    plot_survival_curve,
    plot_time_dependent_roc,
    risk_groups,
    time_dependent_roc_curve,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _cohort(n, seed, censor_scale=15.0, round_risk=False):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = rng.exponential(10.0 * np.exp(-0.8 * x))
    c = rng.exponential(censor_scale, n) if censor_scale else np.full(n, np.inf)
    event = t <= c
    time = np.minimum(t, c)
    risk = x + rng.normal(scale=0.7, size=n)
    if round_risk:
        risk = np.round(risk, 1)  # ties
    return Surv.from_arrays(event, time), risk, x


def _train_test(n_train, n_test, seed, round_risk=False):
    """Split one cohort so that the longest follow-up is in the training part."""
    y, risk, x = _cohort(n_train + n_test, seed, round_risk=round_risk)
    order = np.argsort(-y["time"])
    train = np.r_[order[0], np.random.default_rng(seed).permutation(order[1:])[: n_train - 1]]
    test = np.setdiff1d(np.arange(len(y)), train)
    return y[train], y[test], risk[test]


def _labelled_lines(ax):
    return [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]


# -------------------------------------------------------------------- time-dependent ROC
@pytest.mark.parametrize("round_risk", [False, True])
def test_roc_area_equals_sksurv_cumulative_dynamic_auc(round_risk):
    y_train, y_test, risk = _train_test(120, 80, 0, round_risk=round_risk)
    for q in (0.25, 0.5, 0.75):
        horizon = np.quantile(y_test["time"], q)
        fpr, tpr, thr = time_dependent_roc_curve(y_train, y_test, risk, horizon)
        expected = cumulative_dynamic_auc(y_train, y_test, risk, [horizon])[0][0]
        assert np.trapezoid(tpr, fpr) == pytest.approx(expected, abs=1e-12)
        assert fpr[0] == tpr[0] == 0.0 and fpr[-1] == tpr[-1] == 1.0
        assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
        assert np.isinf(thr[0]) and np.all(np.diff(thr[1:]) < 0)


def test_roc_without_censoring_is_the_binary_roc_of_event_by_horizon():
    # No censoring: every IPC weight is 1, so the curve is sklearn's ROC of "event by t".
    y, risk, _ = _cohort(60, 2, censor_scale=None)
    horizon = np.median(y["time"])
    fpr, tpr, _ = time_dependent_roc_curve(y, y, risk, horizon)
    ref_fpr, ref_tpr, _ = roc_curve(y["time"] <= horizon, risk, drop_intermediate=False)
    np.testing.assert_allclose(fpr, ref_fpr)
    np.testing.assert_allclose(tpr, ref_tpr)


def test_plot_time_dependent_roc_artists_and_legend_auc():
    y_train, y_test, risk = _train_test(100, 70, 3)
    times = np.quantile(y_test["time"], [0.3, 0.6])
    ax = plot_time_dependent_roc(y_train, y_test, risk, times)
    lines = _labelled_lines(ax)
    assert len(lines) == 2
    aucs = cumulative_dynamic_auc(y_train, y_test, risk, times)[0]
    for line, t, auc in zip(lines, times, aucs):
        assert line.get_label() == f"{t:g} days (AUC = {auc:.3f})"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == [ln.get_label() for ln in lines]
    fpr, tpr, _ = time_dependent_roc_curve(y_train, y_test, risk, times[0])
    np.testing.assert_allclose(lines[0].get_xdata(), fpr)
    np.testing.assert_allclose(lines[0].get_ydata(), tpr)


def test_roc_rejects_horizon_outside_follow_up():
    y, risk, _ = _cohort(40, 5)
    with pytest.raises(ValueError, match="outside the follow-up"):
        time_dependent_roc_curve(y, y, risk, y["time"].max() + 1)
    short = y[y["time"] <= np.median(y["time"])]
    with pytest.raises(ValueError, match="exceed the last training time"):
        time_dependent_roc_curve(short, y, risk, np.quantile(y["time"], 0.2))
    with pytest.raises(ValueError, match="one risk per test sample"):
        time_dependent_roc_curve(y, y, risk[:-1], np.median(y["time"]))


# -------------------------------------------------------------------------- calibration
def test_calibration_table_matches_lifelines_kaplan_meier():
    lifelines = pytest.importorskip("lifelines")
    y, _, x = _cohort(150, 6)
    horizon = float(np.median(y["time"]))
    pred = np.exp(-np.exp(0.8 * x) * horizon / 10.0)  # true survival at the horizon
    table = calibration_table(y, pred, horizon, n_groups=4)
    assert len(table) == 4 and table["n"].sum() == 150
    assert table["predicted"].is_monotonic_increasing
    groups, _ = risk_groups(pred, n_groups=4)
    for g, row in table.iterrows():
        member = groups == g
        kmf = lifelines.KaplanMeierFitter().fit(y["time"][member], y["event"][member])
        observed = float(kmf.survival_function_at_times(horizon).iloc[0])
        assert row["observed"] == pytest.approx(observed)
        ci = kmf.confidence_interval_survival_function_
        at = ci[ci.index <= horizon].iloc[-1]
        assert row["observed_lower"] == pytest.approx(at.iloc[0], rel=1e-6)
        assert row["observed_upper"] == pytest.approx(at.iloc[1], rel=1e-6)
        assert row["predicted"] == pytest.approx(pred[member].mean())
        assert row["n_events"] == y["event"][member].sum()


def test_calibration_accepts_survival_functions_and_plots_one_point_per_group():
    y, _, x = _cohort(90, 7)
    X = pd.DataFrame({"x": x})
    fns = CoxPHSurvivalAnalysis().fit(X, y).predict_survival_function(X)
    horizon = float(np.median(y["time"]))
    table = calibration_table(y, fns, horizon, n_groups=3)
    direct = calibration_table(y, np.array([fn(horizon) for fn in fns]), horizon, n_groups=3)
    pd.testing.assert_frame_equal(table, direct)
    ax = plot_calibration(y, fns, horizon, n_groups=3, label="Cox")
    (container,) = ax.containers  # one errorbar series
    assert container.get_label() == "Cox"
    data_line, _, (bars,) = container.lines
    np.testing.assert_allclose(data_line.get_xdata(), table["predicted"])
    np.testing.assert_allclose(data_line.get_ydata(), table["observed"])
    segments = bars.get_segments()
    assert len(segments) == 3
    np.testing.assert_allclose([s[0][1] for s in segments], table["observed_lower"])
    np.testing.assert_allclose([s[1][1] for s in segments], table["observed_upper"])
    assert ax.get_title() == f"Calibration at {horizon:g} days"


def test_calibration_rejects_bad_probabilities():
    y, _, _ = _cohort(20, 8)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_table(y, np.full(20, 1.5), 5.0)
    with pytest.raises(ValueError, match="20 outcomes"):
        calibration_table(y, np.full(19, 0.5), 5.0)


# ---------------------------------------------------------------- Kaplan-Meier by risk
@pytest.mark.parametrize("n_groups", [2, 3])
def test_kaplan_meier_by_risk_logrank_and_curves_match_lifelines(n_groups):
    lifelines = pytest.importorskip("lifelines")
    from lifelines.statistics import multivariate_logrank_test

    y, risk, _ = _cohort(120, 9)
    ax = plot_kaplan_meier_by_risk(y, risk, n_groups=n_groups)
    groups, _ = risk_groups(risk, n_groups=n_groups)
    expected_p = multivariate_logrank_test(y["time"], groups, y["event"]).p_value
    texts = [t.get_text() for t in ax.texts]
    assert texts == [f"log-rank p = {expected_p:.3g}"]
    lines = _labelled_lines(ax)
    assert len(lines) == n_groups
    assert lines[0].get_label().startswith("low risk")
    assert lines[-1].get_label().startswith("high risk")
    for g, line in enumerate(lines):
        member = groups == g
        kmf = lifelines.KaplanMeierFitter().fit(y["time"][member], y["event"][member])
        xs = line.get_xdata()[1:]
        expected = kmf.survival_function_at_times(xs).to_numpy()
        np.testing.assert_allclose(line.get_ydata()[1:], expected)


def test_kaplan_meier_by_risk_with_training_cutoffs_and_labels():
    y, risk, _ = _cohort(60, 10)
    ax = plot_kaplan_meier_by_risk(y, risk, cutoffs=[np.quantile(risk, 0.7)], labels=["A", "B"])
    labels = [ln.get_label() for ln in _labelled_lines(ax)]
    cut = np.quantile(risk, 0.7)
    assert labels == [f"A (n={(risk <= cut).sum()})", f"B (n={(risk > cut).sum()})"]
    with pytest.raises(ValueError, match="labels"):
        plot_kaplan_meier_by_risk(y, risk, labels=["only one"])


def test_risk_groups_split_at_the_median_and_report_empty_groups():
    groups, cutoffs = risk_groups([1.0, 2.0, 3.0, 4.0])
    assert groups.tolist() == [0, 0, 1, 1] and cutoffs.tolist() == [2.5]
    with pytest.raises(ValueError, match="tied risks"):
        risk_groups([1.0, 1.0, 1.0, 2.0], n_groups=3)
    with pytest.raises(ValueError, match=r"group\(s\) \[2\] are empty"):
        risk_groups([1.0, 2.0, 3.0], cutoffs=[1.5, 5.0])


# ------------------------------------------------------------------ blending weights
def test_blending_weights_formats_agree_and_plot_one_line_per_head():
    w = {"multimodal": [1 / 3, 0.5, 0.7], "clinical": [1 / 3, 0.2, 0.1], "image": [1 / 3, 0.3, 0.2]}
    from_dict = blending_weights_frame(w)
    from_column = blending_weights_frame(pd.DataFrame({"epoch": [1, 2, 3], **w}))
    from_index = blending_weights_frame(pd.DataFrame(w, index=pd.Index([1, 2, 3], name="epoch")))
    from_records = blending_weights_frame(
        [{"epoch": e + 1, **{k: v[e] for k, v in w.items()}} for e in range(3)]
    )
    for frame in (from_column, from_index, from_records):
        pd.testing.assert_frame_equal(frame, from_dict, check_index_type=False)
    assert list(from_dict.columns) == ["clinical", "image", "multimodal"]
    ax = plot_blending_weights(w)
    lines = ax.get_lines()
    assert [ln.get_label() for ln in lines] == ["clinical", "image", "multimodal"]
    np.testing.assert_allclose(lines[2].get_ydata(), w["multimodal"])
    np.testing.assert_allclose(lines[0].get_xdata(), [1, 2, 3])
    assert ax.get_xlabel() == "epoch"


def test_blending_weights_from_a_skorch_style_history_with_other_keys():
    records = [
        {"epoch": e, "train_loss": 3.2 - e, "blending_weights": {"clinical": c, "image": 1 - c}}
        for e, c in [(1, 0.5), (2, 0.4)]
    ]
    frame = blending_weights_frame(records)
    assert list(frame.columns) == ["clinical", "image"]
    np.testing.assert_allclose(frame["image"], [0.5, 0.6])
    ax = plot_blending_weights(records, heads=["image"])
    assert [ln.get_label() for ln in ax.get_lines()] == ["image"]
    custom = blending_weights_frame({"mri": [0.2], "notes": [0.8]})
    assert list(custom.columns) == ["mri", "notes"]
    with pytest.raises(ValueError, match="no weights for head"):
        blending_weights_frame(records, heads=["multimodal"])


def test_blending_weights_reject_bad_values():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        blending_weights_frame({"clinical": [1.5]})
    with pytest.raises(ValueError, match="non-numeric"):
        blending_weights_frame(pd.DataFrame({"clinical": ["a"]}))
    with pytest.raises(ValueError, match="empty"):
        blending_weights_frame(pd.DataFrame({"clinical": []}, dtype=float))


# -------------------------------------------------------------- patient survival curve
def test_plot_survival_curve_from_sksurv_step_function():
    y, _, x = _cohort(50, 11)
    X = pd.DataFrame({"x": x})
    fn = CoxPHSurvivalAnalysis().fit(X, y).predict_survival_function(X.iloc[:1])[0]
    horizon = float(np.median(y["time"]))
    ax = plot_survival_curve(fn, horizons=[horizon], label="patient 0")
    line = _labelled_lines(ax)[0]
    assert line.get_label() == "patient 0"
    np.testing.assert_allclose(line.get_xdata()[1:], fn.x)
    np.testing.assert_allclose(line.get_ydata()[1:], fn(fn.x))
    assert line.get_ydata()[0] == 1.0 and line.get_xdata()[0] == 0.0
    assert [t.get_text() for t in ax.texts] == [f"S({horizon:g}) = {float(fn(horizon)):.2f}"]


def test_plot_survival_curve_from_arrays_and_errors():
    ax = plot_survival_curve([0.9, 0.6], times=[10.0, 20.0])
    line = ax.get_lines()[0]
    assert line.get_drawstyle() == "steps-post"
    np.testing.assert_allclose(line.get_ydata(), [1.0, 0.9, 0.6])
    with pytest.raises(TypeError, match="StepFunction"):
        plot_survival_curve([0.9, 0.6])
    with pytest.raises(ValueError, match="increasing"):
        plot_survival_curve([0.9, 0.6], times=[20.0, 10.0])


def test_functions_draw_on_a_given_axes():
    fig, axes = plt.subplots(1, 2)
    y, risk, _ = _cohort(40, 12)
    assert plot_kaplan_meier_by_risk(y, risk, ax=axes[1]) is axes[1]
    assert plot_blending_weights({"clinical": [0.5]}, ax=axes[0]) is axes[0]
    assert len(fig.axes) == 2
