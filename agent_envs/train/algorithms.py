"""Per-turn advantages for each ``--algo``, from the estimators of :mod:`agent_envs.rl`."""

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
from agent_envs.rl.shaping import densify_failed_rewards, replies_code

__all__ = ["turn_advantages", "token_advantages", "similarity_shaped_rewards"]


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
    members: dict[Any, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    for idx in members.values():
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
    turn_rewards: Sequence[Sequence[float]],
    replies: Sequence[Sequence[str]],
    successes: Sequence[bool],
    groups: Sequence[Any],
    *,
    weight: float,
) -> list[list[float]]:
    """GTPO shaping: a failed episode earns ``weight * similarity`` to its group's successes.

    Only episodes that failed (``success`` False) are shaped, whatever their reward. The
    code of an episode is the fenced code blocks of its replies
    (:func:`agent_envs.rl.shaping.replies_code`, the rule ``shape_group_rewards`` uses:
    replies without a block contribute nothing); the bonus, from
    :func:`agent_envs.rl.shaping.densify_failed_rewards`, is added to the failed
    episode's last turn, so discounted returns carry it back to earlier turns.

    Example:
        >>> code = ["```python\\nx = f(1)\\n```"]
        >>> similarity_shaped_rewards([[1.0], [0.0], [0.0]], [code, code, ["9"]],
        ...                           [True, False, False], [0, 0, 0], weight=0.5)
        [[1.0], [0.5], [0.0]]
    """
    out = [list(map(float, r)) for r in turn_rewards]
    members: dict[Any, list[int]] = defaultdict(list)
    for i, g in enumerate(groups):
        members[g].append(i)
    for idx in members.values():
        codes = [replies_code(replies[i]) for i in idx]
        bonus = densify_failed_rewards(
            [0.0] * len(idx), codes, [bool(successes[i]) for i in idx], weight=weight
        )
        for i, extra in zip(idx, bonus, strict=True):
            if out[i] and extra:
                out[i][-1] += float(extra)
    return out
