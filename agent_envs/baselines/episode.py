"""Run one episode of a :class:`~agent_envs.baselines.Policy` in an environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agent_envs.baselines.base import Message, Policy, extend_messages, start_messages

__all__ = ["Episode", "play_episode"]


@dataclass
class Episode:
    """What happened in one episode: the chat, the rewards and the per-step infos.

    ``infos[0]`` is the ``reset`` info; ``infos[t]`` the info after turn ``t``.
    ``policy_errors`` lists, per turn, the policy's :attr:`~Policy.last_error`
    (``None`` when the policy produced a real reply).
    """

    seed: int | None
    messages: list[Message] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    infos: list[dict[str, Any]] = field(default_factory=list)
    policy_errors: list[str | None] = field(default_factory=list)
    terminated: bool = False
    truncated: bool = False

    @property
    def turns(self) -> int:
        """Number of turns played."""
        return len(self.rewards)

    @property
    def best_score(self) -> float | None:
        """The environment's ``best_score`` at the end of the episode."""
        return self.infos[-1].get("best_score") if self.infos else None

    @property
    def success(self) -> bool:
        """Whether the environment reported success."""
        return bool(self.infos[-1].get("success", False)) if self.infos else False


def play_episode(
    env: gym.Env, policy: Policy, *, seed: int | None = None, max_turns: int | None = None
) -> Episode:
    """Play one episode: ``env.reset(seed)``, ``policy.reset``, then act until it ends.

    Stops when the environment terminates or truncates, or after ``max_turns`` turns
    (a safety cap for environments without a budget; ``None`` means no cap). The
    policy is not closed.

    Example:
        >>> import gymnasium as gym
        >>> import agent_envs
        >>> from agent_envs.baselines import Policy
        >>> class Bisect(Policy):
        ...     name = "bisect"
        ...     def reset(self, env, *, seed=None):
        ...         self.low, self.high = env.unwrapped.low, env.unwrapped.high
        ...     def act(self, messages, info):
        ...         if info.get("action_valid"):
        ...             guess = info["metrics"]["guess"]
        ...             if "higher" in messages[-1]["content"]:
        ...                 self.low = guess + 1
        ...             else:
        ...                 self.high = guess - 1
        ...         return str((self.low + self.high) // 2)
        >>> episode = play_episode(gym.make("Toy-GuessNumber-v0"), Bisect(), seed=0)
        >>> episode.success, episode.turns <= 7, episode.messages[0]["role"]
        (True, True, 'system')
    """
    if max_turns is not None and (not isinstance(max_turns, int) or max_turns < 1):
        raise ValueError(f"max_turns must be a positive int or None, got {max_turns!r}")
    observation, info = env.reset(seed=seed)
    policy.reset(env, seed=seed)
    episode = Episode(seed=seed, messages=start_messages(observation, info), infos=[info])
    while max_turns is None or episode.turns < max_turns:
        policy.last_error = None
        reply = policy.act(episode.messages, info)
        episode.policy_errors.append(policy.last_error)
        observation, reward, terminated, truncated, info = env.step(reply)
        extend_messages(episode.messages, reply, observation)
        episode.rewards.append(float(reward))
        episode.infos.append(info)
        if terminated or truncated:
            episode.terminated, episode.truncated = bool(terminated), bool(truncated)
            break
    return episode
