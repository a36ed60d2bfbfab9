"""Advantage estimators against hand-computed values, and their degenerate cases."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_envs.rl.advantages import (
    discounted_returns,
    gae_advantages,
    grpo_advantages,
    gtpo_advantages,
    rloo_advantages,
    tl_grpo_advantages,
)

NAN = float("nan")
finite_floats = st.floats(-100, 100, allow_nan=False, allow_infinity=False)
any_floats = st.floats(allow_nan=True, allow_infinity=True, width=32)


def test_discounted_returns_by_hand():
    # G_2 = 3; G_1 = 2 + 0.9*3 = 4.7; G_0 = 1 + 0.9*4.7 = 5.23
    np.testing.assert_allclose(discounted_returns([1, 2, 3], gamma=0.9), [5.23, 4.7, 3.0])
    np.testing.assert_allclose(discounted_returns([1, 2, 3]), [6.0, 5.0, 3.0])
    np.testing.assert_allclose(discounted_returns([1, NAN, 3], gamma=1.0), [4.0, 3.0, 3.0])
    with pytest.raises(ValueError):
        discounted_returns([1.0], gamma=1.5)
    with pytest.raises(ValueError):
        discounted_returns([[1.0, 2.0]])


def test_grpo_by_hand():
    # rewards 1, 2, 3, 6: mean 3, population std sqrt((4 + 1 + 0 + 9) / 4) = sqrt(3.5)
    std = math.sqrt(3.5)
    expected = [(-2) / (std + 1e-6), -1 / (std + 1e-6), 0.0, 3 / (std + 1e-6)]
    np.testing.assert_allclose(grpo_advantages([1, 2, 3, 6]), expected)
    np.testing.assert_allclose(grpo_advantages([1, 2, 3, 6], scale=False), [-2, -1, 0, 3])
    # unbiased std: sqrt(14 / 3)
    unbiased = math.sqrt(14 / 3)
    np.testing.assert_allclose(grpo_advantages([1, 2, 3, 6], ddof=1)[3], 3 / (unbiased + 1e-6))
    # the input is not modified
    rewards = np.array([0.0, 1.0])
    grpo_advantages(rewards)
    assert rewards.tolist() == [0.0, 1.0]


def test_tl_grpo_by_hand():
    # 0.2, 0.4, 0.9: mean 0.5, std sqrt((0.09 + 0.01 + 0.16) / 3)
    std = math.sqrt(0.26 / 3)
    np.testing.assert_allclose(
        tl_grpo_advantages([0.2, 0.4, 0.9]),
        [-0.3 / (std + 1e-6), -0.1 / (std + 1e-6), 0.4 / (std + 1e-6)],
    )


@pytest.mark.parametrize("estimator", [grpo_advantages, tl_grpo_advantages, rloo_advantages])
@pytest.mark.parametrize(
    "rewards", [[], [1.0], [0.5, 0.5, 0.5], [NAN, NAN], [NAN, 1.0], [math.inf, -math.inf, 2.0]]
)
def test_group_estimators_degenerate_give_zeros(estimator, rewards):
    out = estimator(rewards)
    assert out.shape == (len(rewards),)
    assert np.all(out == 0.0)


def test_nan_member_gets_zero_others_normalized():
    out = grpo_advantages([NAN, 0.0, 1.0])
    assert out[0] == 0.0 and not np.isnan(out).any()
    np.testing.assert_allclose(out[1:], grpo_advantages([0.0, 1.0]))
    np.testing.assert_allclose(rloo_advantages([NAN, 0.0, 1.0]), [0.0, -1.0, 1.0])


@settings(max_examples=60, deadline=None)
@given(st.lists(any_floats, max_size=10))
def test_group_estimators_never_nan(rewards):
    for estimator in (grpo_advantages, tl_grpo_advantages, rloo_advantages):
        assert np.isfinite(estimator(rewards)).all()
    assert all(np.isfinite(a).all() for a in gtpo_advantages([rewards, rewards[:2]]))


@settings(max_examples=60, deadline=None)
@given(st.lists(finite_floats, min_size=2, max_size=10))
def test_grpo_properties(rewards):
    out = grpo_advantages(rewards)
    assert abs(out.sum()) < 1e-6 * max(1.0, len(rewards))
    if np.ptp(rewards) > 1e-3:  # a non-degenerate group has unit (population) std
        assert abs(out.std() - 1.0) < 1e-3
    # rank-preserving
    order = np.argsort(rewards, kind="stable")
    assert np.all(np.diff(out[order]) >= -1e-12)


def test_rloo_by_hand():
    # R = 4, 2, 0: A_0 = 4 - (2 + 0) / 2 = 3; A_1 = 2 - 2 = 0; A_2 = 0 - 3 = -3
    np.testing.assert_allclose(rloo_advantages([4.0, 2.0, 0.0]), [3.0, 0.0, -3.0])
    # equals G / (G - 1) * (R - mean)
    r = np.array([0.1, 0.7, 0.3, 0.9])
    np.testing.assert_allclose(rloo_advantages(r), 4 / 3 * (r - r.mean()))


def test_gae_by_hand():
    # gamma 0.5, lam 0.5, V = [1, 2], last 4, r = [0, 1]
    # delta_1 = 1 + 0.5*4 - 2 = 1; delta_0 = 0 + 0.5*2 - 1 = 0
    # A_1 = 1; A_0 = 0 + 0.25*1 = 0.25; returns = A + V = [1.25, 3]
    adv, ret = gae_advantages([0.0, 1.0], [1.0, 2.0], gamma=0.5, lam=0.5, last_value=4.0)
    np.testing.assert_allclose(adv, [0.25, 1.0])
    np.testing.assert_allclose(ret, [1.25, 3.0])


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(finite_floats, finite_floats), max_size=8), st.floats(0, 1))
def test_gae_lambda_one_is_monte_carlo(pairs, gamma):
    rewards = [p[0] for p in pairs]
    values = [p[1] for p in pairs]
    adv, ret = gae_advantages(rewards, values, gamma=gamma, lam=1.0)
    np.testing.assert_allclose(ret, discounted_returns(rewards, gamma), atol=1e-6)
    np.testing.assert_allclose(adv, ret - np.array(values, dtype=float), atol=1e-6)


def test_gae_rejects_bad_input():
    with pytest.raises(ValueError):
        gae_advantages([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        gae_advantages([1.0], [1.0], lam=2.0)
    adv, _ = gae_advantages([NAN], [NAN])
    assert adv.tolist() == [0.0]


def test_gtpo_per_turn_position_by_hand():
    # gamma 0.5. Returns: traj0 r=[0, 1, 1] -> G=[0.75, 1.5, 1]; traj1 r=[1, 0] -> G=[1, 0];
    # traj2 r=[0] -> G=[0]
    # t=0: [0.75, 1, 0]; t=1: [1.5, 0], mean 0.75, std 0.75 -> +-1; t=2: only traj0 -> 0
    out = gtpo_advantages([[0, 1, 1], [1, 0], [0]], gamma=0.5)
    col0 = np.array([0.75, 1.0, 0.0])
    z0 = (col0 - col0.mean()) / (col0.std() + 1e-6)
    np.testing.assert_allclose(out[0], [z0[0], 0.75 / (0.75 + 1e-6), 0.0])
    np.testing.assert_allclose(out[1], [z0[1], -0.75 / (0.75 + 1e-6)])
    np.testing.assert_allclose(out[2], [z0[2]])
    assert [len(a) for a in out] == [3, 2, 1]


def test_gtpo_all_turns_by_hand():
    out = gtpo_advantages([[0, 1], [1]], gamma=1.0, normalize="all")
    assert all(np.all(a == 0) for a in out)  # G = [1, 1] and [1]: all equal -> zeros
    out = gtpo_advantages([[0, 2], [1]], gamma=1.0, normalize="all")
    g = np.array([2.0, 2.0, 1.0])
    z = (g - g.mean()) / (g.std() + 1e-6)
    np.testing.assert_allclose(np.concatenate(out), z)
    with pytest.raises(ValueError):
        gtpo_advantages([[1.0]], normalize="bogus")
    assert gtpo_advantages([]) == []
