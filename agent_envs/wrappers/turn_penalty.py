"""``TurnPenalty``: a fixed cost per turn, optionally more for invalid replies."""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym

from agent_envs.wrappers.driver_truncation import DriverTruncation
from agent_envs.wrappers.reward_keys import keep_reward_before

__all__ = ["TurnPenalty"]


class TurnPenalty(DriverTruncation, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Subtract ``penalty`` from every turn's reward (a step cost that favours short episodes).

    ``invalid_penalty`` is subtracted in addition when ``info["action_valid"]`` is False.
    The reward before the penalty is in ``info["reward_before_turn_penalty"]`` (and, for
    one more version, ``info["unpenalized_reward"]``), the environment's own in
    ``info["native_reward"]`` (see :mod:`~agent_envs.wrappers.reward_keys`).

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env = TurnPenalty(GuessNumberEnv(), penalty=0.05, invalid_penalty=0.5)
        >>> _ = env.reset(seed=0)
        >>> _, reward, *_, info = env.step("no guess")
        >>> round(reward, 3), info["reward_before_turn_penalty"]
        (-0.65, -0.1)
    """

    #: The ``info`` key of the reward this wrapper received.
    reward_before_key = "reward_before_turn_penalty"

    def __init__(self, env: gym.Env, penalty: float = 0.01, *, invalid_penalty: float = 0.0):
        for name, value in (("penalty", penalty), ("invalid_penalty", invalid_penalty)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number, got {type(value).__name__}")
            if not math.isfinite(value):
                raise ValueError(f"{name} must be finite, got {value!r}")
        gym.utils.RecordConstructorArgs.__init__(
            self, penalty=penalty, invalid_penalty=invalid_penalty
        )
        gym.Wrapper.__init__(self, env)
        self.penalty = float(penalty)
        self.invalid_penalty = float(invalid_penalty)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step and subtract the penalties."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        truncated = self._driver_truncated(truncated)
        info = keep_reward_before(
            info, self.reward_before_key, float(reward), alias="unpenalized_reward"
        )
        cost = self.penalty
        if info.get("action_valid", True) is False:
            cost += self.invalid_penalty
        return observation, float(reward) - cost, terminated, truncated, info
