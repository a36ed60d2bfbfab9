"""The policy protocol every baseline follows, its batched and async forms, and chat helpers.

There is one policy protocol in agent-envs: :data:`agent_envs.rl.Policy`, a callable
``messages -> reply`` (the chat so far, OpenAI-style, in; the agent's whole reply out).
:class:`Policy` here is the base class of the baselines and *is* such a callable; it adds
optional hooks that a driver which knows about them calls:

1. ``obs, info = env.reset(seed=s)``, then ``policy.reset(env, seed=s)``;
2. each turn: ``reply = policy.act(messages, info)`` with the chat so far (built by
   :class:`agent_envs.rl.EpisodeStepper`) and the ``info`` of the last ``reset``/``step``;
3. ``policy.close()`` when done with the policy.

:func:`agent_envs.baselines.play_episode` and the benchmark do exactly this, through
:class:`~agent_envs.rl.EpisodeStepper`. The batched form (:func:`batch_policy`) and the
async form (:func:`async_policy`) are derived from the callable.
"""

from __future__ import annotations

import abc
import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import gymnasium as gym

from agent_envs.rl.trajectory import Trajectory, Turn

__all__ = [
    "Policy",
    "Message",
    "batch_policy",
    "async_policy",
    "start_messages",
    "extend_messages",
    "turn_seed",
]

#: One OpenAI-style chat message: ``{"role": "system" | "user" | "assistant", "content": str}``.
Message = dict[str, str]


class Policy(abc.ABC):
    """Base class of every baseline: maps the chat so far to the agent's next reply.

    Subclasses implement :meth:`act`; :meth:`reset` and :meth:`close` are optional.
    A policy is a plain callable ``messages -> str`` (``policy(messages)`` is
    ``policy.act(messages, {})``), so it satisfies :data:`agent_envs.rl.Policy` and goes
    wherever such a callable is expected (:func:`agent_envs.rl.run_episode`, the TRL and
    verl adapters...). :meth:`batch` and :meth:`acall` are its batched and async forms
    (derived from the callable; a subclass with a batched or async backend overrides them).
    Policies that read the environment in :meth:`reset` (the black-box optimizers) need a
    driver that calls it: :func:`~agent_envs.baselines.play_episode` or the benchmark.

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

    def batch(self, prompts: Sequence[list[Message]]) -> list[str]:
        """Reply to several independent prompts, in order (default: one call each)."""
        return [self(messages) for messages in prompts]

    async def acall(self, messages: list[Message]) -> str:
        """The reply, awaitable (default: the call runs in a worker thread)."""
        return await asyncio.to_thread(self, messages)

    def __enter__(self) -> Policy:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def batch_policy(
    policy: Callable[[list[Message]], str],
) -> Callable[[Sequence[list[Message]]], list[str]]:
    """The batched form of a policy: ``[messages, ...] -> [reply, ...]``.

    A :class:`Policy` gives its :meth:`Policy.batch`; any other callable is called once
    per prompt, in order.

    Example:
        >>> replies = batch_policy(lambda messages: messages[-1]["content"][::-1])
        >>> replies([[{"role": "user", "content": "ab"}], [{"role": "user", "content": "cd"}]])
        ['ba', 'dc']
    """
    method = getattr(policy, "batch", None)
    if callable(method):
        return method

    def batch(prompts: Sequence[list[Message]]) -> list[str]:
        return [policy(messages) for messages in prompts]

    return batch


def async_policy(
    policy: Callable[[list[Message]], str] | Callable[[list[Message]], Awaitable[str]],
) -> Callable[[list[Message]], Awaitable[str]]:
    """The async form of a policy (an :data:`agent_envs.integrations.AsyncPolicy`).

    A :class:`Policy` gives its :meth:`Policy.acall`; a coroutine function is returned as
    it is; any other callable runs in a worker thread, so the event loop stays free. A
    stateful policy object serves one episode at a time: give concurrent episodes their
    own objects.

    Example:
        >>> import asyncio
        >>> reply = async_policy(lambda messages: "50")
        >>> asyncio.run(reply([{"role": "user", "content": "Guess."}]))
        '50'
    """
    method = getattr(policy, "acall", None)
    if callable(method):
        return method
    if inspect.iscoroutinefunction(policy) or inspect.iscoroutinefunction(type(policy).__call__):
        return policy  # type: ignore[return-value]

    async def call(messages: list[Message]) -> str:
        return await asyncio.to_thread(policy, messages)  # type: ignore[arg-type]

    return call


def start_messages(
    observation: str, info: dict[str, Any], *, system_prompt: str | None = None
) -> list[Message]:
    """Build the opening message list from the observation and info of ``env.reset``.

    The system message is ``system_prompt`` if given, else ``info["system_prompt"]``
    (omitted when neither is set); the observation is the first user message. The list
    is :meth:`agent_envs.rl.Trajectory.to_messages` of the episode before its first turn
    (the one place the chat is built); drivers use :class:`~agent_envs.rl.EpisodeStepper`.

    Example:
        >>> start_messages("Guess the number.", {"system_prompt": "Reply with an integer."})
        [{'role': 'system', 'content': 'Reply with an integer.'}, {'role': 'user', 'content': 'Guess the number.'}]
        >>> start_messages("Hi", {})
        [{'role': 'user', 'content': 'Hi'}]
    """
    system = system_prompt if system_prompt is not None else info.get("system_prompt")
    return Trajectory(None, None, str(system) if system else None, str(observation)).to_messages()


def extend_messages(messages: list[Message], reply: str, observation: str) -> list[Message]:
    """Append the agent's ``reply`` and the environment's answer ``observation`` in place.

    Returns ``messages`` for chaining. A non-string reply is recorded as its ``str``.
    The two messages are those :meth:`agent_envs.rl.Trajectory.to_messages` writes for
    one turn.

    Example:
        >>> messages = [{"role": "user", "content": "Guess."}]
        >>> extend_messages(messages, "50", "Guess 50: lower.")[-2:]
        [{'role': 'assistant', 'content': '50'}, {'role': 'user', 'content': 'Guess 50: lower.'}]
    """
    turn = Turn(
        observation=str(observation), action=reply if isinstance(reply, str) else str(reply)
    )
    messages.extend(Trajectory(None, None, None, "", [turn]).to_messages()[1:])
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
