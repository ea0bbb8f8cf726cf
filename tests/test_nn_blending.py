"""The gradient-blending rule on hand-computed loss trajectories."""
import numpy as np
import pytest

from sarcoma_survival.nn._blending import gradient_blending_weights


def test_hand_computed_proportional_not_softmax():
    # head 0: ΔG = 0.2, ΔO = (0.9-0.7)-(1.1-1.0) = 0.1 -> 0.2/0.01 = 20
    # head 1: ΔG = 0.1, ΔO = (1.0-0.6)-(1.1-0.9) = 0.2 -> 0.1/0.04 = 2.5
    # head 2: ΔG = 0.3, ΔO = (0.8-0.4)-(1.1-0.8) = 0.1 -> 0.3/0.01 = 30
    w = gradient_blending_weights(
        [1.0, 0.9, 0.8], [1.1, 1.1, 1.1], [0.7, 0.6, 0.4], [0.9, 1.0, 0.8]
    )
    np.testing.assert_allclose(w, np.array([20.0, 2.5, 30.0]) / 52.5)
    softmax = np.exp([20.0, 2.5, 30.0]) / np.exp([20.0, 2.5, 30.0]).sum()
    assert not np.allclose(w, softmax)  # the public code's winner-take-all defect


def test_negative_delta_g_gets_zero_weight():
    # head 1 overfits: train loss falls, held-out loss rises
    w = gradient_blending_weights([1.0, 1.0], [1.0, 1.0], [0.8, 0.3], [0.9, 1.3])
    assert w[1] == 0.0
    assert w[0] == pytest.approx(1.0)


def test_delta_o_near_zero_is_clamped_not_infinite():
    # head 0 improves train and held-out loss equally: ΔO = 0 -> ΔG / eps
    w = gradient_blending_weights([1.0, 1.0], [1.2, 1.2], [0.9, 0.9], [1.1, 1.15], eps=1e-4)
    assert np.isfinite(w).all()
    expected = np.array([0.1 / 1e-4, 0.05 / max(0.05**2, 1e-4)])
    np.testing.assert_allclose(w, expected / expected.sum())


def test_weights_sum_to_one_and_are_non_negative_on_random_trajectories():
    rng = np.random.default_rng(0)
    for _ in range(200):
        losses = rng.uniform(0.1, 2.0, size=(4, 3))
        w = gradient_blending_weights(*losses)
        assert w.min() >= 0
        assert w.sum() == pytest.approx(1.0)


def test_no_head_improves_keeps_previous_or_uniform():
    args = ([1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.9, 0.9, 0.9], [1.1, 1.2, 1.3])
    np.testing.assert_allclose(gradient_blending_weights(*args), [1 / 3] * 3)
    prev = [0.5, 0.3, 0.2]
    np.testing.assert_allclose(gradient_blending_weights(*args, previous=prev), prev)


def test_bad_input():
    with pytest.raises(ValueError, match="one length"):
        gradient_blending_weights([1.0], [1.0, 2.0], [1.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        gradient_blending_weights([np.nan], [1.0], [1.0], [1.0])
