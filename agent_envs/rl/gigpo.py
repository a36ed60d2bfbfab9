"""GiGPO: episode-level group advantages plus step-level groups of identical states."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Sequence

import numpy as np

from agent_envs.rl.advantages import _as_vector, _normalize, discounted_returns

__all__ = ["gigpo_advantages"]


def gigpo_advantages(
    rewards: Sequence[Sequence[float]],
    states: Sequence[Sequence[Hashable]],
    *,
    gamma: float = 0.95,
    omega: float = 1.0,
    scale: bool = True,
    eps: float = 1e-6,
) -> list[np.ndarray]:
    """Per-turn advantages of one group of trajectories (same task): ``A^E + omega * A^S``.

    * Episode level: ``A^E_i = (R_i - mean_j R_j) / std_j R_j`` over the group, with
      ``R_i`` the sum of trajectory ``i``'s rewards (GRPO), given to every turn of ``i``.
    * Step level: turns whose *state* is identical (``states[i][t]``, e.g. the observation
      the agent answered at turn ``t``) form a step group across the trajectories of the
      group (the "anchor states"); inside it, the discounted return-to-go
      ``G_t = sum_{k >= t} gamma^(k-t) r_k`` of each turn is normalized the same way:
      ``A^S = (G - mean) / std``. A state met once gives ``A^S = 0``.

    ``scale=False`` only centres (the paper's "mean" normalization). Degenerate groups
    give 0, never NaN; non-finite rewards count as 0 in returns and leave their member
    out of the episode statistics.

    Paper: Feng et al., *Group-in-Group Policy Optimization for LLM Agent Training*,
    2025, arXiv:2505.10978, eqs. 4-7 (episode and step relative advantages, combined
    with weight omega).

    Example:
        >>> # two trajectories both start in state "s0"; the first wins
        >>> adv = gigpo_advantages([[0.0, 1.0], [0.0, 0.0]], [["s0", "s1"], ["s0", "s2"]],
        ...                        gamma=1.0)
        >>> [a.round(3).tolist() for a in adv]
        [[2.0, 1.0], [-2.0, -1.0]]
    """
    if len(rewards) != len(states):
        raise ValueError(f"rewards and states differ in length: {len(rewards)} vs {len(states)}")
    if not 0.0 <= gamma <= 1.0:
        raise ValueError(f"gamma must be in [0, 1], got {gamma!r}")
    if not np.isfinite(omega) or omega < 0:
        raise ValueError(f"omega must be a finite number >= 0, got {omega!r}")
    trajs = [_as_vector(r, "rewards") for r in rewards]
    for i, (r, s) in enumerate(zip(trajs, states, strict=True)):
        if len(r) != len(s):
            raise ValueError(f"trajectory {i}: {len(r)} rewards but {len(s)} states")
    totals = np.array([r.sum() if np.isfinite(r).all() else np.nan for r in trajs])
    episode = _normalize(totals, eps=eps, scale=scale)
    returns = [discounted_returns(r, gamma) for r in trajs]
    members: dict[Hashable, list[tuple[int, int]]] = defaultdict(list)
    for i, keys in enumerate(states):
        for t, key in enumerate(keys):
            members[key].append((i, t))
    step = [np.zeros(len(r)) for r in trajs]
    for group in members.values():
        values = np.array([returns[i][t] for i, t in group])
        for (i, t), a in zip(group, _normalize(values, eps=eps, scale=scale), strict=True):
            step[i][t] = a
    return [episode[i] + omega * step[i] for i in range(len(trajs))]
