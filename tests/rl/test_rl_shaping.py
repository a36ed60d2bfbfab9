"""GTPO code-similarity shaping: the measure by hand, and its effect on a group."""

from __future__ import annotations

import numpy as np
import pytest

from agent_envs.rl import (
    Trajectory,
    Turn,
    code_similarity,
    code_tokens,
    densify_failed_rewards,
    gtpo_advantages,
    shape_group_rewards,
    trajectory_code,
)


def test_tokens_ignore_comments_and_layout():
    assert code_tokens("if a>=1:  # c\n    b = 'x # y'") == [
        "if",
        "a",
        ">=",
        "1",
        ":",
        "b",
        "=",
        "'x # y'",
    ]
    assert code_tokens(None) == []


def test_similarity_by_hand():
    # tokens a = b + 1 -> trigrams (a,=,b) (=,b,+) (b,+,1); a = b + 2 shares the first two
    # Jaccard = 2 / (3 + 3 - 2) = 0.5
    assert code_similarity("a = b + 1", "a = b + 2") == 0.5
    assert code_similarity("a=b+1", "a = b + 1\n# note") == 1.0
    assert code_similarity("", "x") == 0.0 and code_similarity("", "") == 0.0
    # shorter than n: unigrams/bigrams; symmetric
    assert code_similarity("x", "x") == 1.0
    assert code_similarity("f(x)", "g(x) + f(x)") == code_similarity("g(x) + f(x)", "f(x)")
    assert code_similarity("a = b + 1", "a = b + 2", n=1) == 4 / 6
    with pytest.raises(ValueError):
        code_similarity("a", "b", n=0)


def test_densify_by_hand():
    codes = ["a = b + 1", "a = b + 2", "zzz", "a = b + 1"]
    out = densify_failed_rewards(
        [1.0, 0.0, 0.0, 1.0], codes, [True, False, False, True], weight=0.4
    )
    np.testing.assert_allclose(out, [1.0, 0.2, 0.0, 1.0])
    mixed = ["a = b + 1", "q = r * s", "a = b + 2"]
    mean = densify_failed_rewards(
        [1, 1, 0], mixed, [True, True, False], weight=1.0, aggregate="mean"
    )
    np.testing.assert_allclose(mean, [1, 1, 0.25])
    # no success in the group: unchanged; NaN passes through untouched
    np.testing.assert_allclose(
        densify_failed_rewards([0.0, 0.0], ["a", "a"], [False, False]), [0, 0]
    )
    nan = densify_failed_rewards([1.0, float("nan")], ["a", "a"], [True, False])
    assert np.isnan(nan[1])
    for kwargs in ({"weight": -1}, {"aggregate": "min"}, {"weight": float("inf")}):
        with pytest.raises(ValueError):
            densify_failed_rewards([1.0], ["a"], [True], **kwargs)
    with pytest.raises(ValueError):
        densify_failed_rewards([1.0, 0.0], ["a"], [True, False])


def _traj(replies, success):
    turns = [Turn("ran", r, 0.0) for r in replies]
    turns[-1].reward = 1.0 if success else 0.0
    turns[-1].terminated = True
    turns[-1].info = {"success": success}
    return Trajectory("Math-v0", 0, None, "task", turns)


def test_shape_group_rewards_densifies_failures_on_last_turn():
    solved = _traj(["First:\n```python\nx = solve(eq, y)\nprint(x)\n```"], True)
    close = _traj(["Hmm", "```python\nx = solve(eq, y)\nprint(x + 1)\n```"], False)
    far = _traj(["```python\nimport os\n```"], False)
    plain = _traj(["x = solve(eq, y)"], False)  # no code block
    shaped = shape_group_rewards([solved, close, far, plain], weight=0.5)
    assert shaped[0] == [1.0]
    assert shaped[1][0] == 0.0 and 0.0 < shaped[1][1] < 0.5
    assert shaped[2] == [0.0] and shaped[3] == [0.0]
    text = shape_group_rewards([solved, plain], fallback_to_text=True)
    assert text[1][0] > 0.0
    # the shaped group gives GTPO a signal that separates the two failures
    adv = gtpo_advantages(shaped, gamma=1.0)
    assert adv[1][0] > adv[2][0]
    assert trajectory_code(far) == "import os\n"
    assert trajectory_code(far, languages=("js",)) == ""
