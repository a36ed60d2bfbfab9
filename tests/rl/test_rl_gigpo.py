"""GiGPO advantages against hand calculations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent_envs.rl import gigpo_advantages, grpo_advantages


def test_gigpo_by_hand():
    # Three trajectories of one task. States: A is shared by all at turn 0, B by the first
    # two at turn 1, C only by the third. gamma = 0.5, omega = 1.
    rewards = [[0.0, 1.0], [0.0, 0.0], [1.0, 0.0]]
    states = [["A", "B"], ["A", "B"], ["A", "C"]]
    adv = gigpo_advantages(rewards, states, gamma=0.5, omega=1.0)
    # episode returns 1, 0, 1: mean 2/3, population std sqrt(2)/3
    std_e = math.sqrt(((1 / 3) ** 2 * 2 + (2 / 3) ** 2) / 3)
    e = [(1 - 2 / 3) / std_e, (0 - 2 / 3) / std_e, (1 - 2 / 3) / std_e]
    # state A: discounted returns 0.5*1 = 0.5, 0, 1 -> mean 0.5, std sqrt(1/6)
    std_a = math.sqrt((0 + 0.25 + 0.25) / 3)
    a = [0.0, -0.5 / std_a, 0.5 / std_a]
    # state B: returns 1 and 0 -> +1, -1; state C alone -> 0
    expected = [[e[0] + a[0], e[0] + 1], [e[1] + a[1], e[1] - 1], [e[2] + a[2], e[2] + 0]]
    for got, want in zip(adv, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)


def test_gigpo_reduces_to_grpo_without_shared_states_and_omega_zero():
    rewards = [[1.0, 0.0], [0.0], [0.5, 0.5, 0.0]]
    states = [["a", "b"], ["c"], ["d", "e", "f"]]
    adv = gigpo_advantages(rewards, states)
    episode = grpo_advantages([1.0, 0.0, 1.0])
    for got, want, r in zip(adv, episode, rewards, strict=True):
        np.testing.assert_allclose(got, np.full(len(r), want))
    shared = gigpo_advantages([[1.0], [0.0]], [["s"], ["s"]], omega=0.0)
    np.testing.assert_allclose(np.concatenate(shared), grpo_advantages([1.0, 0.0]))


def test_gigpo_degenerate_and_bad_input():
    adv = gigpo_advantages([[0.0, float("nan")], [0.0, 0.0]], [["s", "t"], ["s", "t"]])
    assert all(np.isfinite(a).all() for a in adv)
    assert gigpo_advantages([], []) == []
    with pytest.raises(ValueError):
        gigpo_advantages([[1.0]], [["s", "t"]])
    with pytest.raises(ValueError):
        gigpo_advantages([[1.0]], [["s"]], gamma=2.0)
