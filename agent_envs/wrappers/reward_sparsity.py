"""``RewardSparsity``: deliver the same turn rewards densely, sparsely, late or partly."""

from __future__ import annotations

import math
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from agent_envs.wrappers.driver_truncation import DriverTruncation
from agent_envs.wrappers.reward_keys import keep_reward_before

__all__ = ["RewardSparsity", "SPARSITY_MODES"]

#: The supported ``mode`` values.
SPARSITY_MODES: tuple[str, ...] = ("dense", "sparse", "success", "every_k", "delayed", "dropout")


class RewardSparsity(DriverTruncation, gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Change *when* (and whether) the turn rewards reach the agent; the dynamics stay the same.

    Modes (``r_t`` is the incoming reward of turn ``t``, ``T`` the last turn):

    * ``dense``: ``r_t`` as is.
    * ``sparse``: 0 until the episode ends, then ``sum_t r_t`` (sum preserved).
    * ``success``: 0 until the episode ends, then 1.0 if ``info["success"]`` else 0.0.
    * ``every_k``: rewards accumulate and are paid every ``k`` turns and at the end
      (sum preserved).
    * ``delayed``: ``r_t`` is paid at turn ``t + delay``; what is still pending at the end is
      paid on the last turn (sum preserved).
    * ``dropout``: each ``r_t`` is replaced by 0 with probability ``p`` (the expected sum is
      ``(1 - p) * sum_t r_t``). The coins come from a generator seeded by the seed given
      to ``reset``, ``coin_seed`` and the number of episodes this wrapper has started, so
      a seeded run is reproducible while the members of a GRPO group (same task seed,
      several episodes or several envs with distinct ``coin_seed``) and the forks of a
      turn-level group (each fork gets a stream of its own) flip different coins.

    "The end" is the first step with ``terminated or truncated``. A driver that caps the
    turns itself calls :func:`agent_envs.rl.end_after_next_step` before the last turn
    (``run_episode``, ``EpisodeStepper`` and the trainer do), so that step reports
    ``truncated=True`` and pending rewards are paid. The incoming reward is kept in
    ``info["reward_before_sparsity"]`` (and, for one more version, ``info["dense_reward"]``),
    the environment's own in ``info["native_reward"]`` (see
    :mod:`~agent_envs.wrappers.reward_keys`).

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env = RewardSparsity(GuessNumberEnv(max_turns=3), mode="sparse")
        >>> _ = env.reset(seed=0)
        >>> paid, dense = [], []
        >>> for guess in ["10", "20", "30"]:
        ...     _, reward, *_, info = env.step(guess)
        ...     paid.append(reward)
        ...     dense.append(info["reward_before_sparsity"])
        >>> paid[:2], round(paid[2], 6) == round(sum(dense), 6)
        ([0.0, 0.0], True)
    """

    #: The ``info`` key of the reward this wrapper received.
    reward_before_key = "reward_before_sparsity"

    def __init__(
        self,
        env: gym.Env,
        mode: str = "dense",
        *,
        k: int = 2,
        delay: int = 1,
        p: float = 0.5,
        coin_seed: int = 0,
    ) -> None:
        if mode not in SPARSITY_MODES:
            raise ValueError(f"mode must be one of {SPARSITY_MODES}, got {mode!r}")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
            raise ValueError(f"delay must be a non-negative int, got {delay!r}")
        if not isinstance(p, (int, float)) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        if isinstance(coin_seed, bool) or not isinstance(coin_seed, int) or coin_seed < 0:
            raise ValueError(f"coin_seed must be a non-negative int, got {coin_seed!r}")
        gym.utils.RecordConstructorArgs.__init__(
            self, mode=mode, k=k, delay=delay, p=p, coin_seed=coin_seed
        )
        gym.Wrapper.__init__(self, env)
        self.mode, self.k, self.delay, self.p = mode, k, delay, float(p)
        self.coin_seed = coin_seed
        self._seeds = np.random.SeedSequence([coin_seed, 0x5A5A])
        self._rng = np.random.default_rng(self._seeds)
        self._episodes = 0
        self._pending: list[float] = []
        self._turn = 0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset the environment and the reward buffer; a seed reseeds the dropout coin."""
        if seed is not None:
            # a stream of its own, so dropout never shifts the environment's randomness
            self._seeds = np.random.SeedSequence(
                [int(seed), self.coin_seed, self._episodes, 0x5A5A]
            )
            self._rng = np.random.default_rng(self._seeds)
        self._episodes += 1
        self._end_next = False
        self._pending = []
        self._turn = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step and re-time the reward according to ``mode``."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        truncated = self._driver_truncated(truncated)
        dense = float(reward)
        info = keep_reward_before(info, self.reward_before_key, dense, alias="dense_reward")
        self._turn += 1
        done = bool(terminated or truncated)
        return observation, self._deliver(dense, done, info), terminated, truncated, info

    def after_fork(self, original: RewardSparsity) -> None:
        """Give this copy of ``original`` (by :func:`agent_envs.rl.fork_env`) its own coins."""
        self._seeds = original._seeds.spawn(1)[0]
        self._rng = np.random.default_rng(self._seeds)

    def _deliver(self, reward: float, done: bool, info: dict[str, Any]) -> float:
        mode = self.mode
        if mode == "dense":
            return reward
        if mode == "dropout":
            return 0.0 if self._rng.random() < self.p else reward
        if mode == "success":
            return (1.0 if info.get("success") else 0.0) if done else 0.0
        self._pending.append(reward)
        if mode == "delayed":
            if done:
                paid = math.fsum(self._pending)
                self._pending = []
                return paid
            return self._pending.pop(0) if len(self._pending) > self.delay else 0.0
        # sparse and every_k: pay the accumulated rewards at the end / every k turns
        if done or (mode == "every_k" and self._turn % self.k == 0):
            paid = math.fsum(self._pending)
            self._pending = []
            return paid
        return 0.0
