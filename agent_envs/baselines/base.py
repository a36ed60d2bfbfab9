"""The policy protocol every baseline follows (placeholder until the ``llm`` branch lands).

A policy plays one episode at a time: ``reset(env, seed=...)`` after ``env.reset``, then
``act(messages, info)`` returns the whole reply for each turn.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Policy"]


class Policy:
    """A policy maps the chat so far (and the last ``info``) to the next reply.

    Example:
        >>> class Echo(Policy):
        ...     name = "echo"
        ...     def act(self, messages, info):
        ...         return messages[-1]["content"]
        >>> Echo()([{"role": "user", "content": "hi"}])
        'hi'
    """

    name: str = "policy"

    def reset(self, env: Any, *, seed: int | None = None) -> None:
        """Prepare for a new episode of ``env`` (called after ``env.reset``)."""

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        """Return the reply to the conversation ``messages``; ``info`` is the last one."""
        raise NotImplementedError

    def close(self) -> None:
        """Release what the policy holds (models, clients, processes)."""

    def __call__(self, messages: list[dict[str, str]]) -> str:
        return self.act(messages, {})
