"""``wrap_reward``: one name per reward scheme, so every driver applies them the same way."""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from agent_envs.wrappers.best_turn import BestTurnReward
from agent_envs.wrappers.normalized_dense import NormalizedDenseReward
from agent_envs.wrappers.reward_sparsity import RewardSparsity

__all__ = ["REWARD_SCHEMES", "wrap_reward"]

#: ``--reward`` names and what the agent is paid.
REWARD_SCHEMES: dict[str, str] = {
    "native": "the environment's own turn reward (no wrapper)",
    "best-turn": "improvement of the best score so far: the return is the best turn's score",
    "sparse": "0 until the end, then the sum of the native rewards",
    "success": "0 until the end, then 1 on success else 0",
    "dense": "the native rewards through RewardSparsity(mode='dense') (same values as native)",
    "every-k": "native rewards accumulated and paid every k turns (k=2) and at the end",
    "delayed": "each native reward paid `delay` turns later (delay=1), the rest at the end",
    "dropout": "each native reward replaced by 0 with probability p (p=0.5)",
    "normalized-dense": "native rewards / #non-zero rewards on a win, / max total on a loss",
}

_SPARSITY_MODE = {
    "sparse": "sparse",
    "success": "success",
    "dense": "dense",
    "every-k": "every_k",
    "delayed": "delayed",
    "dropout": "dropout",
}


def wrap_reward(env: gym.Env, scheme: str = "native", **kwargs: Any) -> gym.Env:
    """Wrap ``env`` so it pays reward ``scheme`` (a key of :data:`REWARD_SCHEMES`).

    ``kwargs`` go to the wrapper: ``k``, ``delay``, ``p``, ``coin_seed`` for the
    :class:`RewardSparsity` schemes, ``score_key``/``invalid_reward`` for ``best-turn``,
    ``max_total_reward`` for ``normalized-dense``. ``native`` returns ``env`` itself.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> type(wrap_reward(GuessNumberEnv(), "best-turn")).__name__
        'BestTurnReward'
        >>> wrap_reward(GuessNumberEnv(), "every-k", k=3).k
        3
        >>> wrap_reward(GuessNumberEnv(), "sum")
        Traceback (most recent call last):
        ...
        ValueError: reward scheme must be one of native, best-turn, sparse, success, dense, every-k, delayed, dropout, normalized-dense; got 'sum'
    """
    if scheme not in REWARD_SCHEMES:
        raise ValueError(
            f"reward scheme must be one of {', '.join(REWARD_SCHEMES)}; got {scheme!r}"
        )
    if scheme == "native":
        if kwargs:
            raise ValueError(f"the native scheme takes no keywords, got {sorted(kwargs)}")
        return env
    if scheme == "best-turn":
        return BestTurnReward(env, **kwargs)
    if scheme == "normalized-dense":
        return NormalizedDenseReward(env, **kwargs)
    return RewardSparsity(env, mode=_SPARSITY_MODE[scheme], **kwargs)
