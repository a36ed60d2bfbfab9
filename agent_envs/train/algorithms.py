"""Per-turn advantages for each ``--algo``: the estimators and shaping of :mod:`agent_envs.rl`.

Nothing here computes an advantage or a shaped reward itself: it groups the batch and
calls :mod:`agent_envs.rl.advantages`, :mod:`agent_envs.rl.gigpo` and
:func:`agent_envs.rl.shape_group_rewards`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from agent_envs.rl.advantages import (
    gae_advantages,
    grpo_advantages,
    gtpo_advantages,
    rloo_advantages,
    tl_grpo_advantages,
)
from agent_envs.rl.gigpo import gigpo_advantages
from agent_envs.rl.shaping import shape_group_rewards
from agent_envs.rl.trajectory import Trajectory

__all__ = ["turn_advantages", "token_advantages", "similarity_shaped_rewards", "group_members"]


def turn_advantages(
    algo: str,
    turn_rewards: Sequence[Sequence[float]],
    groups: Sequence[Any],
    *,
    gamma: float = 1.0,
    lam: float = 0.95,
    scale: bool = True,
    values: Sequence[Sequence[float]] | None = None,
    last_values: Sequence[float] | None = None,
    states: Sequence[Sequence[Any]] | None = None,
    omega: float = 1.0,
) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    """Advantage of every turn of every sample; PPO also returns the value targets.

    * ``grpo`` / ``rloo``: one number per episode (its return, normalized in its group or
      minus the leave-one-out mean) given to all of its turns.
    * ``tl-grpo``: samples are single-turn candidates grouped by turn state.
    * ``gtpo``: discounted return-to-go of each turn, normalized per turn in the group.
    * ``ppo``: GAE over turns from ``values`` (one per turn), then whitened over the batch.
      ``last_values[i]`` is ``V(s_T)`` after sample ``i``: 0 for a terminated episode, the
      critic's estimate for one that was truncated (by the env or cut by the trainer).
    * ``gigpo``: GRPO episode advantages plus ``omega`` times the step-level advantages of
      turns whose observation (``states``) is identical within the group.

    Example:
        >>> adv, _ = turn_advantages("grpo", [[0.0, 1.0], [0.0, 0.0]], [0, 0])
        >>> [a.round(2).tolist() for a in adv]
        [[1.0, 1.0], [-1.0, -1.0]]
        >>> adv, ret = turn_advantages("ppo", [[1.0], [0.0]], [0, 1], values=[[0.5], [0.5]])
        >>> [a.round(2).tolist() for a in adv], [r.tolist() for r in ret]
        ([[1.0], [-1.0]], [[1.0], [0.0]])
    """
    n = len(turn_rewards)
    out: list[np.ndarray] = [np.zeros(len(r)) for r in turn_rewards]
    if algo == "ppo":
        if values is None:
            raise ValueError("ppo needs one value per turn")
        boot = [0.0] * n if last_values is None else list(last_values)
        results = [
            gae_advantages(r, v, gamma=gamma, lam=lam, last_value=b)
            for r, v, b in zip(turn_rewards, values, boot, strict=True)
        ]
        flat = np.concatenate([a for a, _ in results]) if n else np.zeros(0)
        mean, std = (flat.mean(), flat.std()) if flat.size else (0.0, 1.0)
        adv = [(a - mean) / (std + 1e-6) if scale else a - mean for a, _ in results]
        return adv, [r for _, r in results]
    for idx in group_members(groups):
        if algo == "gigpo":
            if states is None:
                raise ValueError("gigpo needs the observation of every turn (states)")
            group_adv = gigpo_advantages(
                [turn_rewards[i] for i in idx],
                [list(states[i])[: len(turn_rewards[i])] for i in idx],
                gamma=gamma, omega=omega, scale=scale,
            )  # fmt: skip
            for i, a in zip(idx, group_adv, strict=True):
                out[i] = np.asarray(a, dtype=float)
            continue
        if algo == "gtpo":
            for i, a in zip(
                idx, gtpo_advantages([turn_rewards[i] for i in idx], gamma=gamma), strict=True
            ):
                out[i] = np.asarray(a, dtype=float)
            continue
        returns = [float(np.sum(turn_rewards[i])) for i in idx]
        if algo == "grpo":
            group_adv = grpo_advantages(returns, scale=scale)
        elif algo == "tl-grpo":
            group_adv = tl_grpo_advantages(returns, scale=scale)
        elif algo == "rloo":
            group_adv = rloo_advantages(returns)
        else:
            raise ValueError(f"unknown algo {algo!r}")
        for i, a in zip(idx, group_adv, strict=True):
            out[i] = np.full(len(turn_rewards[i]), float(a))
    return out, None


def token_advantages(turn_of: Sequence[int], turn_adv: np.ndarray) -> list[float]:
    """Spread per-turn advantages onto tokens (0 on context tokens, ``turn_of == -1``).

    Example:
        >>> token_advantages([-1, 0, 0, -1, 1], np.array([0.5, -1.0]))
        [0.0, 0.5, 0.5, 0.0, -1.0]
    """
    return [float(turn_adv[t]) if t >= 0 else 0.0 for t in turn_of]


def similarity_shaped_rewards(
    trajectories: Sequence[Trajectory], groups: Sequence[Any], *, weight: float
) -> list[list[float]]:
    """GTPO shaping, group by group: :func:`agent_envs.rl.shape_group_rewards`.

    A failed episode (``Trajectory.success`` False) earns ``weight`` times the code
    similarity to its group's successes on its last turn, so discounted returns carry
    it back to earlier turns; the code is the fenced blocks of its replies.

    Example:
        >>> from agent_envs.rl import Trajectory, Turn
        >>> code = "```python\\nx = f(1)\\n```"
        >>> def played(reply, reward, ok):
        ...     return Trajectory(None, 0, None, "t", [Turn("", reply, reward, {"success": ok})])
        >>> similarity_shaped_rewards([played(code, 1.0, True), played(code, 0.0, False),
        ...                            played("9", 0.0, False)], [0, 0, 0], weight=0.5)
        [[1.0], [0.5], [0.0]]
    """
    out: list[list[float]] = [[] for _ in trajectories]
    for idx in group_members(groups):
        shaped = shape_group_rewards([trajectories[i] for i in idx], weight=weight)
        for i, rewards in zip(idx, shaped, strict=True):
            out[i] = [float(r) for r in rewards]
    return out


def group_members(groups: Sequence[Any]) -> list[list[int]]:
    """The indices of each group, groups in order of first appearance.

    Example:
        >>> group_members([0, 1, 0, (2, 1)])
        [[0, 2], [1], [3]]
    """
    members: dict[Any, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    return list(members.values())
