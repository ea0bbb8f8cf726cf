"""The smoothed calibration overlay and the decision-curve plot draw the metrics' numbers."""
import matplotlib

matplotlib.use("Agg")

import json  # noqa: E402
from pathlib import Path  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sksurv.util import Surv  # noqa: E402

from sarcoma_survival.metrics import calibration_curve, net_benefit  # noqa: E402
from sarcoma_survival.plotting import plot_calibration, plot_decision_curve  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "calibration"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def gbsg():
    data = np.genfromtxt(FIXTURES / "gbsg_data.csv", delimiter=",", names=True)
    base = np.genfromtxt(FIXTURES / "rotterdam_baseline.csv", delimiter=",", names=True)
    idx = np.searchsorted(base["time"], 1826.0, side="right") - 1
    survival = np.exp(-base["cumhaz"][idx] * np.exp(data["lp"]))
    return Surv.from_arrays(data["status"].astype(bool), data["time"]), survival


def test_smoothed_curve_and_histogram_are_drawn(gbsg):
    y, survival = gbsg
    ax = plot_calibration(y, survival, 1826, label="Cox", smooth=True, histogram=True)
    observed, predicted = calibration_curve(y, survival, 1826)
    (line,) = [line for line in ax.get_lines() if "smoothed" in line.get_label()]
    np.testing.assert_allclose(line.get_xdata(), 1 - predicted)
    np.testing.assert_allclose(line.get_ydata(), 1 - observed)
    ici = json.loads((FIXTURES / "reference_r.json").read_text())["t1826"]["ici"]
    assert line.get_label() == f"Cox: smoothed (ICI {ici:.3f})"
    bars = [c for c in ax.containers if c.get_label() == "predicted (histogram)"][0]
    heights = np.array([patch.get_height() for patch in bars])
    assert heights.max() == pytest.approx(0.1) and len(heights) == 50
    counts, _ = np.histogram(survival, bins=50, range=(0, 1))
    np.testing.assert_allclose(heights, 0.1 * counts / counts.max())


def test_decision_curve_draws_the_net_benefits_and_overlays_models(gbsg):
    y, survival = gbsg
    thresholds = np.arange(0, 0.5, 0.05)
    ax = plot_decision_curve(y, 1 - survival, 1826, thresholds, label="Cox")
    ax = plot_decision_curve(y, np.clip(1 - survival**2, 0, 1), 1826, thresholds, label="other", ax=ax)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines) == ["treat none", "treat all", "Cox", "other"]
    np.testing.assert_allclose(lines["Cox"].get_ydata(), net_benefit(y, 1 - survival, 1826, thresholds))
    np.testing.assert_allclose(lines["treat all"].get_ydata(), net_benefit(y, "all", 1826, thresholds))
    assert ax.get_xlabel() == "threshold probability"


def test_decision_curve_refuses_a_risk_score():
    y = Surv.from_arrays([True, False, True, False], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match="not a risk score from predict"):
        plot_decision_curve(y, [2.0, -1.0, 0.5, 0.1], 2.5)


def test_bootstrap_band_surrounds_the_curve_and_is_reproducible(gbsg):
    y, survival = gbsg
    observed, predicted, lower, upper = calibration_curve(y, survival, 1826, n_bootstrap=50,
                                                          random_state=0)
    np.testing.assert_array_equal(calibration_curve(y, survival, 1826)[0], observed)
    inside = (lower <= observed + 1e-12) & (observed <= upper + 1e-12)
    assert inside.mean() > 0.95 and (upper - lower).min() > 0
    again = calibration_curve(y, survival, 1826, n_bootstrap=50, random_state=0)
    np.testing.assert_array_equal(again[2], lower)
    ax = plot_calibration(y, survival, 1826, smooth=True, n_bootstrap=20, random_state=0)
    (band,) = [c for c in ax.collections if c.get_label() == "95% bootstrap band"]
    with pytest.raises(ValueError, match="n_bootstrap must be an integer >= 0"):
        calibration_curve(y, survival, 1826, n_bootstrap=-1)
    with pytest.raises(ValueError, match="conf_level must be a number strictly between 0 and 1"):
        calibration_curve(y, survival, 1826, n_bootstrap=5, conf_level=95)
