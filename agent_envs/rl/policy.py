"""``Policy``: the one policy protocol (messages in, reply out), and its batched and async forms.

A policy maps the chat so far (OpenAI-style messages, the system prompt first, the env's
latest message last) to the agent's whole next reply. Any callable ``messages -> str``
is one (``isinstance(fn, Policy)`` is ``callable(fn)``); subclass :class:`Policy` to get
the optional hooks drivers call (``reset(env, seed=)``, ``act(messages, info)``,
``close()``, ``last_error``) and the derived forms. :func:`batch_policy` gives the
batched form (``[messages, ...] -> [reply, ...]``, what a driver-side LLM batch wants)
and :func:`async_policy` the awaitable one (what an event-loop framework wants) of
*any* policy. ``agent_envs.baselines.Policy`` is this class.

The trainer (:mod:`agent_envs.train`) samples its model at the token level
(``train.sampler.Sampler``: token ids in, token ids out), because the policy gradient
needs the sampled ids; put a model behind this protocol with
:class:`agent_envs.baselines.HFLocalPolicy` or an OpenAI-compatible endpoint
(:class:`agent_envs.baselines.OpenAIChatPolicy`).
"""

from __future__ import annotations

import abc
import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

__all__ = ["Policy", "Message", "BatchPolicy", "AsyncPolicy", "batch_policy", "async_policy"]

#: One OpenAI-style chat message: ``{"role": "system" | "user" | "assistant", "content": str}``.
Message = dict[str, str]
#: The batched form of a policy: a list of prompts -> one reply per prompt, in order.
BatchPolicy = Callable[[Sequence[list[Message]]], list[str]]
#: The async form of a policy: the chat so far -> an awaitable reply (e.g. an HTTP call).
AsyncPolicy = Callable[[list[Message]], Awaitable[str]]


class Policy(abc.ABC):
    """Maps the chat so far to the agent's next reply: ``policy(messages) -> str``.

    Every callable ``messages -> str`` is a policy (``isinstance`` says so); this class
    is the base of policies that want the hooks a driver which knows about them calls
    (:func:`agent_envs.baselines.play_episode`, the benchmark):

    1. ``obs, info = env.reset(seed=s)``, then ``policy.reset(env, seed=s)``;
    2. each turn ``reply = policy.act(messages, info)`` with the chat so far (built by
       :class:`agent_envs.rl.EpisodeStepper`) and the ``info`` of the last
       ``reset``/``step``; ``policy(messages)`` is ``policy.act(messages, {})``;
    3. ``policy.close()`` when done with it (twice is fine).

    Contract: :meth:`act` returns the whole reply text and never raises because of what
    the environment said; a policy that cannot answer (an endpoint down) returns a
    documented fallback and records why in :attr:`last_error`. Black-box optimizers read
    ``env.unwrapped`` in :meth:`reset`; seeded policies derive their randomness from
    ``seed``. :meth:`batch` and :meth:`acall` are the batched and async forms (derived
    from the call; a subclass with a batched or async backend overrides them).

    Example:
        >>> class Always42(Policy):
        ...     name = "always-42"
        ...     def act(self, messages, info):
        ...         return "42"
        >>> policy = Always42()
        >>> policy([{"role": "user", "content": "Guess a number."}]), policy.last_error
        ('42', None)
        >>> isinstance(policy, Policy), isinstance(lambda messages: "7", Policy)
        (True, True)
    """

    #: Short name used in benchmark tables and logs.
    name: str = "policy"
    #: Why the last :meth:`act` could not produce a real reply (``None`` when it did).
    last_error: str | None = None

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        if cls is Policy:  # structural: any callable is a policy
            return any("__call__" in vars(base) for base in subclass.__mro__) or NotImplemented
        return NotImplemented

    def reset(self, env: Any, *, seed: int | None = None) -> None:  # noqa: B027
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


def batch_policy(policy: Callable[[list[Message]], str]) -> BatchPolicy:
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
    policy: Callable[[list[Message]], str] | AsyncPolicy,
) -> AsyncPolicy:
    """The async form of a policy: ``await reply(messages)``.

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
