"""``BestTurnReward``: telescoping rewards whose episode return is the best turn's score."""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from agent_envs.wrappers.driver_truncation import DriverTruncation
from agent_envs.wrappers.reward_keys import keep_reward_before

__all__ = ["BestTurnReward"]


class BestTurnReward(DriverTruncation, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Reward the *improvement* of the best score so far, so the return is the best turn.

    For iterative-optimization tasks (circuit sizing, ...) a trajectory is worth its best
    attempt, not the sum of its attempts. With ``s_t = info[score_key]`` and
    ``b_t = max(s_1..s_t)`` over valid turns, the reward of turn ``t`` is

    * ``s_t`` for the first valid turn (``b_0`` is undefined, so the first score counts fully),
    * ``b_t - b_{t-1} >= 0`` afterwards (0 unless the turn beats the best so far),
    * ``invalid_reward`` when the score is ``None`` or not finite (an invalid reply).

    The rewards telescope: the episode return is ``max_t s_t`` plus the invalid rewards
    (with the default ``invalid_reward=0.0``, exactly the best turn's score; 0 for an
    episode without a valid turn). The raw turn score stays in ``info[score_key]``; the
    reward this wrapper received is in ``info["reward_before_best_turn"]`` and the
    environment's own reward in ``info["native_reward"]`` (see
    :mod:`~agent_envs.wrappers.reward_keys`).

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env = BestTurnReward(GuessNumberEnv(low=1, high=11))
        >>> _ = env.reset(seed=0)
        >>> rewards, scores = [], []
        >>> for guess in ["1", "11", "junk", "6"]:
        ...     _, reward, *_, info = env.step(guess)
        ...     rewards.append(reward)
        ...     scores.append(info["score"])
        >>> round(sum(rewards), 6) == round(max(s for s in scores if s is not None), 6)
        True
        >>> min(rewards[1:]) >= 0.0
        True
    """

    #: The ``info`` key of the reward this wrapper received.
    reward_before_key = "reward_before_best_turn"

    def __init__(self, env: gym.Env, *, score_key: str = "score", invalid_reward: float = 0.0):
        if not isinstance(score_key, str):
            raise TypeError(f"score_key must be a str, got {type(score_key).__name__}")
        if not isinstance(invalid_reward, (int, float)) or not math.isfinite(invalid_reward):
            raise ValueError(f"invalid_reward must be a finite number, got {invalid_reward!r}")
        gym.utils.RecordConstructorArgs.__init__(
            self, score_key=score_key, invalid_reward=invalid_reward
        )
        gym.Wrapper.__init__(self, env)
        self.score_key = score_key
        self.invalid_reward = float(invalid_reward)
        self._best: float | None = None

    @property
    def best_score(self) -> float | None:
        """Best valid score of the current episode (None before the first one)."""
        return self._best

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the environment and forget the best score."""
        self._best = None
        self._end_next = False
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step and replace the reward by the improvement of the best score."""
        observation, native, terminated, truncated, info = self.env.step(action)
        truncated = self._driver_truncated(truncated)
        score = info.get(self.score_key) if isinstance(info, dict) else None
        # numpy scalars (np.float32 is no float subclass) count; bools do not
        valid = isinstance(score, (int, float, np.number)) and not isinstance(
            score, (bool, np.bool_)
        )
        if not valid or not math.isfinite(float(score)):
            reward = self.invalid_reward
        elif self._best is None:
            reward, self._best = float(score), float(score)
        else:
            reward = max(0.0, float(score) - self._best)
            self._best = max(self._best, float(score))
        info = keep_reward_before(info, self.reward_before_key, float(native))
        return observation, reward, terminated, truncated, info
