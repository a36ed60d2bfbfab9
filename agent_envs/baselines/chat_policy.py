"""``ChatPolicy``: what every LLM policy shares (sampling settings, seeds, failures, usage)."""

from __future__ import annotations

import abc
import dataclasses
import logging
from typing import Any

import gymnasium as gym

from agent_envs.baselines.base import Message, Policy, turn_seed
from agent_envs.baselines.chat_model import Completion, GenerationParams

__all__ = ["ChatPolicy", "ON_ERROR_CHOICES"]

logger = logging.getLogger("agent_envs.baselines")

#: What an LLM policy does when it cannot produce a reply: answer ``""`` or raise.
ON_ERROR_CHOICES = ("empty", "raise")


class ChatPolicy(Policy):
    """Base of the LLM policies: one chat completion per turn.

    Sampling: ``temperature`` (0 is greedy), ``top_p``, ``max_tokens`` and ``stop``
    have OpenAI's meaning. Seeds: with a ``seed`` here or a seed given to
    :meth:`reset`, turn ``t`` of an episode samples with a seed derived from both
    (:func:`~agent_envs.baselines.turn_seed`), so the same seeds replay the same
    episode on a deterministic backend; with neither, sampling is unseeded.

    Failures: with ``on_error="empty"`` (the default) a failed completion (endpoint
    down, timeout, malformed answer, prompt too long...) returns the empty reply
    ``""``, which the environment scores as an invalid turn, so a run goes on and the
    lost turn counts against the policy; the reason is in :attr:`last_error`, the count
    (since construction) in :attr:`errors`, and a warning goes to the ``agent_envs.baselines`` logger.
    ``on_error="raise"`` re-raises instead.

    :attr:`usage` accumulates (since construction) ``prompt_tokens``, ``completion_tokens`` and ``requests``.

    Example:
        >>> from agent_envs.baselines.chat_model import Completion
        >>> class Shout(ChatPolicy):
        ...     def _complete(self, messages, params):
        ...         return Completion(messages[-1]["content"].upper(), "stop", 3, 1)
        >>> policy = Shout(name="shout", max_tokens=4)
        >>> policy([{"role": "user", "content": "hello"}]), policy.usage["completion_tokens"]
        ('HELLO', 1)
    """

    def __init__(
        self,
        *,
        name: str,
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_tokens: int = 512,
        seed: int | None = None,
        stop: tuple[str, ...] | list[str] = (),
        on_error: str = "empty",
    ) -> None:
        if on_error not in ON_ERROR_CHOICES:
            raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
        if seed is not None and type(seed) is not int:
            raise TypeError(f"seed must be an int or None, got {seed!r}")
        if isinstance(stop, str):
            stop = (stop,)
        self.params = GenerationParams(
            temperature=temperature, top_p=top_p, max_tokens=max_tokens, stop=tuple(stop)
        )
        self.name = name
        self.seed = seed
        self.on_error = on_error
        self.errors = 0
        self.last_error: str | None = None
        self.usage: dict[str, int] = {"prompt_tokens": 0, "completion_tokens": 0, "requests": 0}
        self._episode_seed = seed
        self._turn = 0

    @abc.abstractmethod
    def _complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        """Produce one completion; may raise on failure (handled by :meth:`act`)."""

    def reset(self, env: gym.Env, *, seed: int | None = None) -> None:
        """Start a new episode: restart the turn count and derive the episode's seed."""
        if seed is None:
            self._episode_seed = self.seed
        else:
            self._episode_seed = turn_seed(seed, -1 if self.seed is None else self.seed)
        self._turn = 0

    def act(self, messages: list[Message], info: dict[str, Any]) -> str:
        """Return the model's reply to ``messages`` (``""`` on failure with ``on_error="empty"``)."""
        params = dataclasses.replace(self.params, seed=turn_seed(self._episode_seed, self._turn))
        self._turn += 1
        self.last_error = None
        self.usage["requests"] += 1
        try:
            completion = self._complete(messages, params)
        except Exception as exc:  # a failed completion must not end the run
            if self.on_error == "raise":
                raise
            self.errors += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            logger.warning("%s: no reply (%s); answering ''", self.name, self.last_error)
            return ""
        self.usage["prompt_tokens"] += completion.prompt_tokens
        self.usage["completion_tokens"] += completion.completion_tokens
        return completion.text
