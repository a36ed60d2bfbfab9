"""Advantage estimators for multi-turn LLM RL, as plain functions over numpy arrays.

Every estimator is torch-free and total: a degenerate group (a single member, all
rewards equal, non-finite rewards) gives zero advantages, never NaN. Non-finite
rewards (NaN, ±inf) are treated as "no information": such a member gets advantage 0
and is left out of the group statistics.

See ``docs/advantages.md`` for the formulas side by side and when to use which.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = [
    "discounted_returns",
    "grpo_advantages",
    "tl_grpo_advantages",
    "gtpo_advantages",
    "rloo_advantages",
    "gae_advantages",
]


def _as_vector(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float64 array (a copy); raise on other shapes."""
    try:
        array = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a sequence of numbers: {err}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    return array


def _normalize(values: np.ndarray, *, eps: float, scale: bool, ddof: int = 0) -> np.ndarray:
    """Group-normalize ``values``; non-finite members and degenerate groups give 0."""
    out = np.zeros_like(values, dtype=np.float64)
    finite = np.isfinite(values)
    if finite.sum() < 2:
        return out
    group = values[finite]
    centered = group - group.mean()
    std = group.std(ddof=ddof)
    if not np.isfinite(std) or std <= eps:
        return out  # all equal (up to eps): no preference inside the group
    out[finite] = centered / (std + eps) if scale else centered
    return out


def discounted_returns(rewards: Sequence[float] | np.ndarray, gamma: float = 1.0) -> np.ndarray:
    """Reward-to-go of every turn: ``G_t = r_t + gamma * G_{t+1}``, ``G_T = 0``.

    Formula: ``G_t = sum_{k >= t} gamma^(k - t) r_k`` (Sutton & Barto, *Reinforcement
    Learning: An Introduction*, 2nd ed., 2018, eq. 3.8). Non-finite rewards count as 0.

    Example:
        >>> discounted_returns([1.0, 0.0, 2.0], gamma=0.5)
        array([1.5, 1. , 2. ])
        >>> discounted_returns([])
        array([], dtype=float64)
    """
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    r = _as_vector(rewards, "rewards")
    r[~np.isfinite(r)] = 0.0
    out = np.zeros_like(r)
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        running = r[t] + gamma * running
        out[t] = running
    return out


def grpo_advantages(
    rewards: Sequence[float] | np.ndarray, *, eps: float = 1e-6, scale: bool = True, ddof: int = 0
) -> np.ndarray:
    """GRPO: trajectory returns of one group (same prompt/seed), normalized in the group.

    Formula: ``A_i = (R_i - mean(R)) / (std(R) + eps)`` for the G returns ``R`` of a group;
    every token/turn of trajectory ``i`` uses ``A_i``. With ``scale=False`` the division is
    dropped, ``A_i = R_i - mean(R)`` (the Dr. GRPO variant). ``std`` is the population
    standard deviation (``ddof=0``); pass ``ddof=1`` for the unbiased one (as TRL does).

    Papers: Shao et al., *DeepSeekMath*, arXiv:2402.03300 (2024), Sec. 4.1.2 (outcome
    supervision); Liu et al., *Understanding R1-Zero-Like Training: A Critical Perspective*,
    arXiv:2503.20783 (2025) for ``scale=False``.

    Degenerate groups (one member, all equal, fewer than two finite rewards) give zeros.

    Example:
        >>> grpo_advantages([1.0, 0.0, 0.0, 1.0])
        array([ 0.999998, -0.999998, -0.999998,  0.999998])
        >>> grpo_advantages([1.0, 0.0], scale=False)
        array([ 0.5, -0.5])
        >>> grpo_advantages([0.3, 0.3, 0.3]), grpo_advantages([float("nan"), 1.0])
        (array([0., 0., 0.]), array([0., 0.]))
    """
    return _normalize(_as_vector(rewards, "rewards"), eps=eps, scale=scale, ddof=ddof)


def tl_grpo_advantages(
    rewards: Sequence[float] | np.ndarray, *, eps: float = 1e-6, scale: bool = True, ddof: int = 0
) -> np.ndarray:
    """TL-GRPO: G candidate actions sampled from the *same turn state*, normalized in the group.

    Formula: for a turn state ``s_t`` (an environment forked G times, see
    :func:`agent_envs.rl.rollout.sample_turn_group`) and the rewards ``r_t^i`` of the G
    candidate replies, ``A_t^i = (r_t^i - mean_j r_t^j) / (std_j r_t^j + eps)``; only the
    tokens of that one turn receive ``A_t^i``. The arithmetic is GRPO's; what differs is the
    group: candidates share the entire history, so the baseline is exact for that state
    and the reward is the turn's own score (for best-turn tasks such as circuit sizing).

    Paper: Li et al., *TL-GRPO: Turn-Level RL for Reasoning-Guided Iterative Optimization*,
    arXiv:2601.16480 (2026).

    Example:
        >>> tl_grpo_advantages([0.0, 0.5, 1.0]).round(4)
        array([-1.2247,  0.    ,  1.2247])
        >>> tl_grpo_advantages([0.5])
        array([0.])
    """
    return _normalize(_as_vector(rewards, "rewards"), eps=eps, scale=scale, ddof=ddof)


def gtpo_advantages(
    turn_rewards: Sequence[Sequence[float]],
    *,
    gamma: float = 1.0,
    eps: float = 1e-6,
    normalize: str = "turn",
) -> list[np.ndarray]:
    """GTPO: per-turn discounted returns, normalized across a group of trajectories.

    For trajectory ``i`` of the group with turn rewards ``r_{i,1..T_i}`` the return-to-go is
    ``G_{i,t} = sum_{k >= t} gamma^(k-t) r_{i,k}`` and the advantage of every token of turn
    ``t`` is the normalized return. How we normalize (the trajectories are ragged):

    * ``normalize="turn"`` (default): per turn position ``t`` over the trajectories that
      reached turn ``t``: ``A_{i,t} = (G_{i,t} - mean_j G_{j,t}) / (std_j G_{j,t} + eps)``.
      Returns at the same depth share a horizon, so they are comparable. A position
      reached by a single trajectory (or where all returns are equal) gets 0.
    * ``normalize="all"``: one mean and std over every ``G_{i,t}`` of the group. Keeps a
      signal for long tails that only one trajectory reached, at the price of mixing
      returns of different horizons.

    Paper: Ding et al., *Empowering Multi-Turn Tool-Integrated Reasoning with Group Turn
    Policy Optimization*, arXiv:2511.14846 (2025) (turn-level rewards, return-based
    advantages with a discount ``gamma``); the normalization choice above is ours.

    Returns one array per trajectory, with its length; non-finite rewards count as 0.

    Example:
        >>> adv = gtpo_advantages([[0.0, 1.0], [0.0, 0.0]], gamma=0.5)
        >>> [a.round(3).tolist() for a in adv]
        [[1.0, 1.0], [-1.0, -1.0]]
        >>> [a.tolist() for a in gtpo_advantages([[1.0, 2.0, 3.0]])]
        [[0.0, 0.0, 0.0]]
    """
    if normalize not in ("turn", "all"):
        raise ValueError(f"normalize must be 'turn' or 'all', got {normalize!r}")
    returns = [discounted_returns(r, gamma) for r in turn_rewards]
    if normalize == "all":
        flat = np.concatenate(returns) if returns else np.zeros(0)
        normed = _normalize(flat, eps=eps, scale=True)
        bounds = np.cumsum([0] + [len(g) for g in returns])
        return [normed[bounds[i] : bounds[i + 1]] for i in range(len(returns))]
    out = [np.zeros_like(g) for g in returns]
    depth = max((len(g) for g in returns), default=0)
    for t in range(depth):
        members = [i for i, g in enumerate(returns) if len(g) > t]
        normed = _normalize(np.array([returns[i][t] for i in members]), eps=eps, scale=True)
        for i, value in zip(members, normed, strict=True):
            out[i][t] = value
    return out


def rloo_advantages(rewards: Sequence[float] | np.ndarray) -> np.ndarray:
    """RLOO: each member's return minus the mean return of the *other* members.

    Formula: ``A_i = R_i - (1 / (G - 1)) * sum_{j != i} R_j = G / (G - 1) * (R_i - mean(R))``.
    Unbiased (the baseline does not depend on ``R_i``) and needs no value network.
    Non-finite members get 0 and are left out; fewer than two finite members give zeros.

    Papers: Kool, van Hoof & Welling, *Buy 4 REINFORCE Samples, Get a Baseline for Free!*,
    ICLR Deep RL Meets Structured Prediction workshop (2019); Ahmadian et al., *Back to
    Basics: Revisiting REINFORCE Style Optimization for Learning from Human Feedback in
    LLMs*, arXiv:2402.14740 (2024).

    Example:
        >>> rloo_advantages([1.0, 0.0, 0.5])
        array([ 0.75, -0.75,  0.  ])
        >>> rloo_advantages([2.0])
        array([0.])
    """
    r = _as_vector(rewards, "rewards")
    out = np.zeros_like(r)
    finite = np.isfinite(r)
    g = int(finite.sum())
    if g < 2:
        return out
    group = r[finite]
    out[finite] = group - (group.sum() - group) / (g - 1)
    return out


def gae_advantages(
    rewards: Sequence[float] | np.ndarray,
    values: Sequence[float] | np.ndarray,
    *,
    gamma: float = 0.99,
    lam: float = 0.95,
    last_value: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """GAE for PPO: exponentially weighted TD residuals; returns ``(advantages, returns)``.

    Formula: ``delta_t = r_t + gamma * V_{t+1} - V_t`` with ``V_T = last_value`` (0 for a
    terminated episode, the critic's estimate for a truncated one), and
    ``A_t = delta_t + gamma * lam * A_{t+1}``; the value targets are ``A_t + V_t``.
    ``lam=1`` gives Monte-Carlo returns minus values, ``lam=0`` one-step TD.
    Non-finite rewards or values count as 0.

    Paper: Schulman et al., *High-Dimensional Continuous Control Using Generalized
    Advantage Estimation*, ICLR 2016, arXiv:1506.02438, eq. 16.

    Example:
        >>> adv, ret = gae_advantages([1.0, 1.0], [0.5, 0.5], gamma=1.0, lam=1.0)
        >>> adv, ret
        (array([1.5, 0.5]), array([2., 1.]))
    """
    if not 0.0 <= gamma <= 1.0 or not 0.0 <= lam <= 1.0:
        raise ValueError(f"gamma and lam must be in [0, 1], got {gamma!r}, {lam!r}")
    r = _as_vector(rewards, "rewards")
    v = _as_vector(values, "values")
    if r.shape != v.shape:
        raise ValueError(f"rewards and values differ in length: {len(r)} vs {len(v)}")
    r[~np.isfinite(r)] = 0.0
    v[~np.isfinite(v)] = 0.0
    next_value = float(last_value) if np.isfinite(last_value) else 0.0
    advantages = np.zeros_like(r)
    running = 0.0
    for t in range(len(r) - 1, -1, -1):
        delta = r[t] + gamma * next_value - v[t]
        running = delta + gamma * lam * running
        advantages[t] = running
        next_value = v[t]
    return advantages, advantages + v
