"""``ChatMessages``: the observation becomes the OpenAI-style message list so far."""

from __future__ import annotations

import copy
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np
from gymnasium.spaces import Space

from agent_envs.core.spaces import UnicodeText

__all__ = ["ChatMessages", "MessageList", "ROLES"]

#: Roles a message of :class:`MessageList` may have.
ROLES: tuple[str, ...] = ("system", "user", "assistant")


class MessageList(Space[list]):
    """The space of OpenAI-style chat histories: a list of ``{"role", "content"}`` dicts.

    ``contains`` accepts a ``list`` (or ``tuple``) of dicts with exactly the keys ``role``
    (one of :data:`ROLES`) and ``content`` (a ``str``). Content length is not bounded by
    default, because the system prompt and truncation notes have no declared limit;
    pass ``max_content_length`` to bound it. ``sample()`` returns a short valid history.
    The space is not flattenable to numpy and has no shared-memory layout, so use
    ``gym.make_vec(..., vectorization_mode="async", vector_kwargs={"shared_memory": False})``
    or the sync mode when vectorizing a wrapped environment.

    Example:
        >>> space = MessageList()
        >>> space.contains([{"role": "user", "content": "hi"}])
        True
        >>> space.contains([{"role": "robot", "content": "hi"}]), space.contains("hi")
        (False, False)
        >>> space.contains(space.sample())
        True
    """

    def __init__(self, max_content_length: int | None = None, seed: Any = None) -> None:
        if max_content_length is not None and (
            not isinstance(max_content_length, int) or max_content_length < 1
        ):
            raise ValueError(
                f"max_content_length must be a positive int or None, got {max_content_length!r}"
            )
        self.max_content_length = max_content_length
        super().__init__(shape=None, dtype=None, seed=seed)

    @property
    def is_np_flattenable(self) -> bool:
        """Chat histories have no fixed-size numeric form."""
        return False

    def contains(self, x: Any) -> bool:
        """Whether ``x`` is a list of ``{"role": ROLE, "content": str}`` dicts."""
        if not isinstance(x, (list, tuple)):
            return False
        limit = self.max_content_length
        return all(
            isinstance(m, dict)
            and m.keys() == {"role", "content"}
            and m["role"] in ROLES
            and isinstance(m["content"], str)
            and (limit is None or len(m["content"]) <= limit)
            for m in x
        )

    def sample(self, mask: Any = None, probability: Any = None) -> list[dict[str, str]]:
        """A random history: a system message, then alternating user/assistant turns."""
        text = UnicodeText(min(self.max_content_length or 32, 32))
        text.seed(int(self.np_random.integers(2**31)))
        turns = int(self.np_random.integers(0, 3))
        roles = ["system", "user"] + ["assistant", "user"] * turns
        return [{"role": role, "content": text.sample()} for role in roles]

    def __repr__(self) -> str:
        return f"MessageList(max_content_length={self.max_content_length})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, MessageList) and other.max_content_length == self.max_content_length
        )

    __hash__ = None  # type: ignore[assignment]


class ChatMessages(gym.ObservationWrapper, gym.utils.RecordConstructorArgs):
    """Make the observation the chat so far, ready to pass to an LLM chat API.

    After ``reset`` the observation is ``[system, user(task)]``: the system prompt from
    ``info["system_prompt"]`` (omitted when ``include_system=False`` or empty) and the task
    statement. Each ``step(reply)`` appends ``assistant(reply)`` and ``user(env answer)``.
    The observation is a fresh list each time (mutating it never changes the wrapper).

    History truncation keeps the system prompt and the task, drops the *oldest* whole turns
    (an assistant reply with its answer), and appends a note ``[N earlier turns omitted]``
    to the task message so the model knows. ``max_turns`` keeps at most that many recent
    turns; ``max_chars`` drops old turns until the total content length is within the
    limit (the latest turn is always kept, even if it alone is longer). The untruncated
    history is :attr:`messages`.

    The observation space is a :class:`MessageList` (honest about being a list of dicts of
    unbounded strings); ``gymnasium.utils.env_checker.check_env`` accepts it.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env = ChatMessages(GuessNumberEnv(low=1, high=10), max_turns=1)
        >>> messages, info = env.reset(seed=0)
        >>> [m["role"] for m in messages]
        ['system', 'user']
        >>> _ = env.step("5")
        >>> messages, *_ = env.step("7")
        >>> [m["role"] for m in messages], messages[2]["content"]
        (['system', 'user', 'assistant', 'user'], '7')
        >>> messages[1]["content"].endswith("[1 earlier turn omitted]")
        True
    """

    def __init__(
        self,
        env: gym.Env,
        *,
        max_turns: int | None = None,
        max_chars: int | None = None,
        include_system: bool = True,
    ) -> None:
        for name, value in (("max_turns", max_turns), ("max_chars", max_chars)):
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 0
            ):
                raise ValueError(f"{name} must be a non-negative int or None, got {value!r}")
        gym.utils.RecordConstructorArgs.__init__(
            self, max_turns=max_turns, max_chars=max_chars, include_system=include_system
        )
        gym.ObservationWrapper.__init__(self, env)
        self.max_turns = max_turns
        self.max_chars = max_chars
        self.include_system = include_system
        self.observation_space = MessageList()
        self._head: list[dict[str, str]] = []
        self._turns: list[tuple[dict[str, str], dict[str, str]]] = []

    @property
    def messages(self) -> list[dict[str, str]]:
        """The full, untruncated chat of the current episode (a copy)."""
        return copy.deepcopy(self._head + [m for pair in self._turns for m in pair])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Start the chat: system prompt (if any) and the task statement."""
        observation, info = self.env.reset(seed=seed, options=options)
        system = info.get("system_prompt") if isinstance(info, dict) else None
        self._head = []
        if self.include_system and isinstance(system, str) and system:
            self._head.append({"role": "system", "content": system})
        self._head.append({"role": "user", "content": _as_text(observation)})
        self._turns = []
        return self._view(), info

    def step(
        self, action: Any
    ) -> tuple[list[dict[str, str]], SupportsFloat, bool, bool, dict[str, Any]]:
        """Pass the reply to the environment and append the exchange to the chat."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._turns.append(
            (
                {"role": "assistant", "content": _as_text(action)},
                {"role": "user", "content": _as_text(observation)},
            )
        )
        return self._view(), reward, terminated, truncated, info

    def observation(self, observation: Any) -> list[dict[str, str]]:
        """The current (truncated) chat; the raw observation is already in it."""
        return self._view()

    def _view(self) -> list[dict[str, str]]:
        turns = self._turns
        if self.max_turns is not None:
            turns = turns[len(turns) - self.max_turns :] if self.max_turns else []
        if self.max_chars is not None:
            budget = self.max_chars - sum(len(m["content"]) for m in self._head)
            kept = 0
            for assistant, user in reversed(turns):
                size = len(assistant["content"]) + len(user["content"])
                if kept and size > budget:
                    break
                budget -= size
                kept += 1
            turns = turns[len(turns) - kept :] if kept else []
        head = [dict(m) for m in self._head]
        dropped = len(self._turns) - len(turns)
        if dropped:
            plural = "s" if dropped > 1 else ""
            head[-1]["content"] += f"\n\n[{dropped} earlier turn{plural} omitted]"
        return head + [dict(m) for pair in turns for m in pair]


def _as_text(value: Any) -> str:
    """Message content for any observation/action (non-strings are shown with ``repr``)."""
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray):
        return np.array2string(value)
    return repr(value)
