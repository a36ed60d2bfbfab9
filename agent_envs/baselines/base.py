"""The policy protocol every baseline follows, and the chat-message helpers it relies on.

A *policy* turns the conversation so far into the agent's next reply. Every baseline
(random search, Bayesian optimization, CMA-ES, an LLM behind an endpoint, a local model)
is a :class:`Policy`, so the benchmark drives them all the same way:

1. ``obs, info = env.reset(seed=s)``, then ``policy.reset(env, seed=s)``;
2. ``messages = start_messages(obs, info)``;
3. each turn: ``reply = policy.act(messages, info)``, ``obs, ..., info = env.step(reply)``,
   ``extend_messages(messages, reply, obs)``;
4. ``policy.close()`` when done with the policy.

:func:`agent_envs.baselines.play_episode` does exactly this.
"""

from __future__ import annotations

import abc
from typing import Any

import gymnasium as gym

__all__ = ["Policy", "Message", "start_messages", "extend_messages", "turn_seed"]

#: One OpenAI-style chat message: ``{"role": "system" | "user" | "assistant", "content": str}``.
Message = dict[str, str]


class Policy(abc.ABC):
    """Base class of every baseline: maps the chat so far to the agent's next reply.

    Subclasses implement :meth:`act`; :meth:`reset` and :meth:`close` are optional.
    A policy is also a plain callable ``messages -> str`` (``policy(messages)`` is
    ``policy.act(messages, {})``), which is what the rollout helpers of ``agent_envs.rl``
    expect.

    Contract:

    * :meth:`reset` is called after ``env.reset(seed=...)`` with the (wrapped) env and the
      same seed. Black-box optimizers read ``env.unwrapped`` there (e.g. a circuit's
      ``design_space``); seeded policies derive their randomness from ``seed`` so the
      same seed gives the same episode.
    * :meth:`act` receives the OpenAI-style message list (system prompt first, then
      alternating user/assistant turns, ending with the environment's latest message)
      and the ``info`` of the last ``reset``/``step``. It returns the whole reply text
      and never raises because of what the environment said; a policy that cannot
      answer (an endpoint down) returns a documented fallback and records why in
      :attr:`last_error`.
    * :meth:`close` releases what the policy holds (models, connections); calling it
      twice is fine.

    Example:
        >>> class Always42(Policy):
        ...     name = "always-42"
        ...     def act(self, messages, info):
        ...         return "42"
        >>> policy = Always42()
        >>> policy([{"role": "user", "content": "Guess a number."}])
        '42'
        >>> policy.last_error is None
        True
    """

    #: Short name used in benchmark tables and logs.
    name: str = "policy"
    #: Why the last :meth:`act` could not produce a real reply (``None`` when it did).
    last_error: str | None = None

    def reset(self, env: gym.Env, *, seed: int | None = None) -> None:  # noqa: B027
        """Prepare for a new episode of ``env`` (called right after ``env.reset(seed=seed)``)."""

    @abc.abstractmethod
    def act(self, messages: list[Message], info: dict[str, Any]) -> str:
        """Return the agent's next reply given the chat so far and the last ``info``."""

    def close(self) -> None:  # noqa: B027
        """Release resources; idempotent."""

    def __call__(self, messages: list[Message]) -> str:
        """Act without an ``info`` (plain ``messages -> str`` callable)."""
        return self.act(messages, {})

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def start_messages(
    observation: str, info: dict[str, Any], *, system_prompt: str | None = None
) -> list[Message]:
    """Build the opening message list from the observation and info of ``env.reset``.

    The system message is ``system_prompt`` if given, else ``info["system_prompt"]``
    (omitted when neither is set); the observation is the first user message.

    Example:
        >>> start_messages("Guess the number.", {"system_prompt": "Reply with an integer."})
        [{'role': 'system', 'content': 'Reply with an integer.'}, {'role': 'user', 'content': 'Guess the number.'}]
        >>> start_messages("Hi", {})
        [{'role': 'user', 'content': 'Hi'}]
    """
    system = system_prompt if system_prompt is not None else info.get("system_prompt")
    messages: list[Message] = []
    if system:
        messages.append({"role": "system", "content": str(system)})
    messages.append({"role": "user", "content": str(observation)})
    return messages


def extend_messages(messages: list[Message], reply: str, observation: str) -> list[Message]:
    """Append the agent's ``reply`` and the environment's answer ``observation`` in place.

    Returns ``messages`` for chaining. A non-string reply is recorded as its ``str``.

    Example:
        >>> messages = [{"role": "user", "content": "Guess."}]
        >>> extend_messages(messages, "50", "Guess 50: lower.")[-2:]
        [{'role': 'assistant', 'content': '50'}, {'role': 'user', 'content': 'Guess 50: lower.'}]
    """
    messages.append(
        {"role": "assistant", "content": reply if isinstance(reply, str) else str(reply)}
    )
    messages.append({"role": "user", "content": str(observation)})
    return messages


def turn_seed(seed: int | None, turn: int) -> int | None:
    """Derive a per-turn sampling seed from an episode seed (``None`` stays ``None``).

    Distinct turns and distinct episode seeds give distinct, reproducible seeds in
    ``[0, 2**31)``, the range most inference servers accept.

    Example:
        >>> turn_seed(7, 0) == turn_seed(7, 0), turn_seed(7, 0) != turn_seed(7, 1)
        (True, True)
        >>> turn_seed(None, 3) is None
        True
    """
    if seed is None:
        return None
    # SplitMix64-style mixing: cheap, deterministic across processes (unlike hash()).
    x = (int(seed) * 0x9E3779B97F4A7C15 + int(turn) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & (2**64 - 1)
    x ^= x >> 29
    return int(x % (2**31))
