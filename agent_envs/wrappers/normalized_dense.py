"""``NormalizedDenseReward``: the multi-turn RL recipe's dense scheme, settled on the outcome."""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym

from agent_envs.wrappers.driver_truncation import DriverTruncation
from agent_envs.wrappers.reward_keys import keep_reward_before

__all__ = ["NormalizedDenseReward"]


class NormalizedDenseReward(DriverTruncation, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Dense turn rewards normalized by the episode's outcome, so a win is worth 1.

    With ``r_t`` the incoming (native) reward of turn ``t``, the settled reward is

    * on a win (``info["success"]`` on the last step): ``r_t / n`` where ``n`` is the number
      of turns with ``r_t != 0`` (so progress is shared among the turns that made it),
    * on a loss (any other end): ``r_t / R_max`` with ``R_max`` the maximum total reward of
      the task (``max_total_reward``, else ``info["max_score"]`` as TextWorld and ALFWorld
      report it, else 1).

    This is the normalized dense scheme of the multi-turn agentic RL recipe this suite
    reproduces for text games (compare it with ``sparse``/``success`` for the density
    ablation). The divisor is known only at the end, so the wrapper pays ``r_t / R_max``
    (the loss value) at each step and, on a win, adds the difference on the last step: the
    episode *return* is always the settled one. The settled per-turn list is in
    ``info["episode_rewards"]`` of the last step; ``EpisodeStepper`` and the trainer write
    it onto the turns (so per-turn estimators such as GTPO and PPO see it). The incoming
    reward is kept in ``info["reward_before_normalized_dense"]`` (and, for one more
    version, ``info["dense_reward"]``), the environment's own in ``info["native_reward"]``
    (see :mod:`~agent_envs.wrappers.reward_keys`).

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env = NormalizedDenseReward(GuessNumberEnv(low=1, high=3, max_turns=3))
        >>> _ = env.reset(seed=0)
        >>> paid = []
        >>> for guess in ["1", "2", "3"]:
        ...     _, reward, terminated, truncated, info = env.step(guess)
        ...     paid.append(reward)
        ...     if terminated or truncated:
        ...         break
        >>> settled = info["episode_rewards"]
        >>> len(settled) == len(paid), round(sum(paid), 9) == round(sum(settled), 9)
        (True, True)
    """

    #: The ``info`` key of the reward this wrapper received.
    reward_before_key = "reward_before_normalized_dense"

    def __init__(self, env: gym.Env, *, max_total_reward: float | None = None) -> None:
        if max_total_reward is not None and (
            isinstance(max_total_reward, bool)
            or not isinstance(max_total_reward, (int, float))
            or not math.isfinite(max_total_reward)
            or max_total_reward <= 0
        ):
            raise ValueError(
                f"max_total_reward must be a positive number or None, got {max_total_reward!r}"
            )
        gym.utils.RecordConstructorArgs.__init__(self, max_total_reward=max_total_reward)
        gym.Wrapper.__init__(self, env)
        self.max_total_reward = max_total_reward
        self._dense: list[float] = []
        self._r_max = 1.0

    def _max_from(self, info: Any) -> None:
        if self.max_total_reward is not None:
            self._r_max = float(self.max_total_reward)
            return
        value = info.get("max_score") if isinstance(info, dict) else None
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if numeric and math.isfinite(value) and value > 0:
            self._r_max = float(value)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the environment and the episode's reward list."""
        self._dense = []
        self._end_next = False
        self._r_max = float(self.max_total_reward or 1.0)
        observation, info = self.env.reset(seed=seed, options=options)
        self._max_from(info)
        return observation, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step; pay ``r_t / R_max`` now and settle the episode on its last step."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        truncated = self._driver_truncated(truncated)
        self._max_from(info)
        dense = float(reward) if math.isfinite(float(reward)) else 0.0
        info = keep_reward_before(info, self.reward_before_key, dense, alias="dense_reward")
        self._dense.append(dense)
        paid = dense / self._r_max
        if terminated or truncated:
            if info.get("success"):
                n = sum(1 for r in self._dense if r != 0.0)
                settled = [r / n if n else 0.0 for r in self._dense]
            else:
                settled = [r / self._r_max for r in self._dense]
            provisional = math.fsum(r / self._r_max for r in self._dense[:-1])
            paid = math.fsum(settled) - provisional
            info["episode_rewards"] = settled
        return observation, paid, terminated, truncated, info
