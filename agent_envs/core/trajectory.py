"""``Turn`` and ``Trajectory``: the one episode record, its JSONL form and its chat messages.

It lives in ``core`` because both sides use it: :class:`agent_envs.wrappers.RecordTrajectories`
writes it as the episode is played and :mod:`agent_envs.rl` (the episode loop, the
estimators) builds and reads it; ``agent_envs.rl`` re-exports every name.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from agent_envs.core.jsonable import to_jsonable

__all__ = [
    "Turn",
    "Trajectory",
    "chat_message",
    "observation_text",
    "write_jsonl",
    "read_jsonl",
    "trajectories_from_events",
]


def _is_chat(observation: Any) -> bool:
    return isinstance(observation, list) and all(
        isinstance(m, dict) and "role" in m for m in observation
    )


def observation_text(observation: Any) -> str:
    """The env's message as text (the last message when the env returns a chat).

    Example:
        >>> observation_text([{"role": "user", "content": "hi"}]), observation_text("plain")
        ('hi', 'plain')
    """
    if _is_chat(observation):
        return str(observation[-1]["content"]) if observation else ""
    return observation if isinstance(observation, str) else repr(observation)


def chat_message(role: str, content: str, **fields: Any) -> dict[str, Any]:
    """One OpenAI-style chat message: the one place agent-envs builds one.

    ``fields`` adds framework keys (e.g. ``tool_call_id`` of a ``tool`` message).
    :meth:`Trajectory.to_messages`, :meth:`Turn.to_messages`, the
    :class:`~agent_envs.rl.EpisodeStepper` prompts and the framework adapters
    (``agent_envs.integrations``) all go through it.

    Example:
        >>> chat_message("assistant", "42")
        {'role': 'assistant', 'content': '42'}
        >>> chat_message("tool", "ok", tool_call_id="c1")
        {'role': 'tool', 'content': 'ok', 'tool_call_id': 'c1'}
    """
    return {"role": role, "content": content, **fields}


@dataclass
class Turn:
    """One turn: what ``env.step(action)`` returned, with the action.

    ``observation`` is the environment's answer *to* ``action`` (as returned by ``step``;
    the task statement lives on the :class:`Trajectory`), ``reward`` and ``info`` are that
    step's. ``prompt`` optionally holds the messages the policy was given for this turn
    (what to condition on in training, also when the history was truncated).

    Example:
        >>> Turn(action="42", observation="lower.", reward=0.5).to_dict()["reward"]
        0.5
    """

    observation: str
    action: str
    reward: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)
    terminated: bool = False
    truncated: bool = False
    prompt: list[dict[str, str]] | None = None

    def to_dict(self, *, prompt: bool = True) -> dict[str, Any]:
        """A JSON-safe dict (non-finite numbers become None); ``prompt=False`` leaves it out."""
        out = {
            "action": self.action,
            "observation": self.observation,
            "reward": self.reward,
            "terminated": self.terminated,
            "truncated": self.truncated,
            "info": self.info,
        }
        if prompt and self.prompt is not None:
            out["prompt"] = self.prompt
        return to_jsonable(out)

    def to_messages(self, *, include_observation: bool = True) -> list[dict[str, str]]:
        """This turn as chat messages: the agent's reply, then the env's answer.

        Example:
            >>> [m["role"] for m in Turn("lower.", "50").to_messages()]
            ['assistant', 'user']
        """
        messages = [chat_message("assistant", self.action)]
        if include_observation:
            messages.append(chat_message("user", self.observation))
        return messages

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        """Inverse of :meth:`to_dict` (a null reward reads back as NaN)."""
        reward = data.get("reward")
        return cls(
            action=str(data.get("action", "")),
            observation=str(data.get("observation", "")),
            reward=float("nan") if reward is None else float(reward),
            terminated=bool(data.get("terminated", False)),
            truncated=bool(data.get("truncated", False)),
            info=dict(data.get("info") or {}),
            prompt=data.get("prompt"),
        )


@dataclass
class Trajectory:
    """A played episode: where it came from, the task, and its turns.

    Example:
        >>> traj = Trajectory("Toy-GuessNumber-v0", seed=0, system_prompt="Guess.",
        ...                   task="1..10?", turns=[Turn("higher.", "5", 0.5),
        ...                                         Turn("correct!", "8", 1.0, terminated=True)])
        >>> traj.rewards, traj.total_reward, traj.success
        ([0.5, 1.0], 1.5, False)
        >>> [m["role"] for m in traj.to_messages()]
        ['system', 'user', 'assistant', 'user', 'assistant', 'user']
        >>> Trajectory.from_dict(traj.to_dict()) == traj
        True
    """

    env_id: str | None
    seed: int | None
    system_prompt: str | None
    task: str
    turns: list[Turn] = field(default_factory=list)
    env_version: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def rewards(self) -> list[float]:
        """The per-turn rewards, in order."""
        return [t.reward for t in self.turns]

    @property
    def total_reward(self) -> float:
        """Undiscounted return (non-finite rewards count as 0)."""
        return math.fsum(r for r in self.rewards if math.isfinite(r))

    @property
    def actions(self) -> list[str]:
        """The agent's replies, in order."""
        return [t.action for t in self.turns]

    @property
    def success(self) -> bool:
        """Whether the last turn's ``info["success"]`` is true."""
        return bool(self.turns and self.turns[-1].info.get("success"))

    @property
    def best_score(self) -> float | None:
        """The last numeric ``info["best_score"]`` the turns reported (None if none did).

        Example:
            >>> Trajectory(None, 0, None, "t", [Turn("o", "a", info={"best_score": 0.5}),
            ...                                 Turn("o", "b")]).best_score
            0.5
        """
        for turn in reversed(self.turns):
            best = turn.info.get("best_score")
            if isinstance(best, (int, float)) and not isinstance(best, bool):
                return float(best)
        return None

    @property
    def done(self) -> bool:
        """Whether the episode ended (terminated or truncated)."""
        return bool(self.turns and (self.turns[-1].terminated or self.turns[-1].truncated))

    def to_messages(self, *, include_last_observation: bool = True) -> list[dict[str, str]]:
        """OpenAI-style messages: system, task, then assistant/user per turn."""
        messages = [chat_message("system", self.system_prompt)] if self.system_prompt else []
        messages.append(chat_message("user", self.task))
        last = len(self.turns) - 1
        for i, turn in enumerate(self.turns):
            messages += turn.to_messages(include_observation=include_last_observation or i < last)
        return messages

    def to_dict(self, *, prompts: bool = True) -> dict[str, Any]:
        """A JSON-safe dict: the one episode schema of the project (see ``docs/contract.md``).

        :func:`write_jsonl`, :class:`~agent_envs.wrappers.RecordTrajectories` (split into
        event lines) and the benchmark's rows (``prompts=False``: without each turn's
        ``prompt``, which repeats the history) all write this layout;
        :meth:`from_dict` and :func:`read_jsonl` read it back.
        """
        return to_jsonable(
            {
                "env_id": self.env_id,
                "env_version": self.env_version,
                "seed": self.seed,
                "system_prompt": self.system_prompt,
                "task": self.task,
                "turns": [t.to_dict(prompt=prompts) for t in self.turns],
                "metadata": self.metadata,
            }
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Trajectory:
        """Inverse of :meth:`to_dict`; keys it does not know go to ``metadata``."""
        known = {"env_id", "env_version", "seed", "system_prompt", "task", "turns", "metadata"}
        metadata = dict(data.get("metadata") or {})
        metadata.update({k: v for k, v in data.items() if k not in known and k != "messages"})
        return cls(
            env_id=data.get("env_id"),
            seed=data.get("seed"),
            system_prompt=data.get("system_prompt"),
            task=str(data.get("task", "")),
            turns=[Turn.from_dict(t) for t in data.get("turns", [])],
            env_version=data.get("env_version"),
            metadata=metadata,
        )


def write_jsonl(path: str | os.PathLike, trajectories: Iterable[Trajectory]) -> int:
    """Append trajectories to ``path``, one JSON line each; return how many were written.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "t.jsonl")
        >>> write_jsonl(path, [Trajectory(None, 1, None, "task")])
        1
        >>> read_jsonl(path)[0].seed
        1
    """
    count = 0
    with open(path, "a", encoding="utf-8") as handle:
        for trajectory in trajectories:
            handle.write(json.dumps(trajectory.to_dict(), ensure_ascii=False) + "\n")
            handle.flush()
            count += 1
    return count


def read_jsonl(path: str | os.PathLike) -> list[Trajectory]:
    """Read the trajectories of a JSONL file; lines that do not parse are skipped.

    Reads what :func:`write_jsonl` writes (one trajectory a line) and what
    :class:`~agent_envs.wrappers.RecordTrajectories` writes (event lines, assembled by
    :func:`trajectories_from_events`), also mixed in one file.
    """
    out: list[Trajectory] = []
    events: list[dict[str, Any]] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, dict) and "event" in data:
                events.append(data)
            elif isinstance(data, dict):
                out.append(Trajectory.from_dict(data))
    return out + trajectories_from_events(events)


#: Keys of a recorder's event lines that are not part of the trajectory schema.
_EVENT_KEYS = ("format", "event", "episode")


def trajectories_from_events(records: Iterable[dict[str, Any]]) -> list[Trajectory]:
    """Assemble :class:`~agent_envs.wrappers.RecordTrajectories` event lines, in start order.

    A ``start`` line holds the trajectory without its turns (``Trajectory.to_dict``
    layout), each ``turn`` line one ``Turn.to_dict``, the ``end`` line how it ended.
    ``metadata`` gains ``episode`` (the recorder's id), ``complete`` (an ``end`` line
    came and the episode terminated or truncated) and ``interrupted`` (left by a
    ``reset`` or ``close`` first). Lines of episodes whose start is missing are skipped.

    Example:
        >>> lines = [{"event": "start", "episode": "e", "seed": 1, "task": "t"},
        ...          {"event": "turn", "episode": "e", "turn": 1, "action": "a", "reward": 1.0,
        ...           "observation": "o", "terminated": True},
        ...          {"event": "end", "episode": "e", "terminated": True}]
        >>> (traj,) = trajectories_from_events(lines)
        >>> traj.seed, traj.rewards, traj.metadata["complete"]
        (1, [1.0], True)
    """
    episodes: dict[Any, Trajectory] = {}
    for record in records:
        key, event = record.get("episode"), record.get("event")
        if event == "start":
            header = {k: v for k, v in record.items() if k not in _EVENT_KEYS and k != "turns"}
            traj = Trajectory.from_dict(header)
            traj.metadata.update(episode=key, complete=False, interrupted=False)
            episodes[key] = traj
        elif key in episodes and event == "turn":
            episodes[key].turns.append(Turn.from_dict(record))
        elif key in episodes and event == "end":
            done = bool(record.get("terminated") or record.get("truncated"))
            interrupted = bool(record.get("interrupted"))
            episodes[key].metadata.update(
                complete=done and not interrupted, interrupted=interrupted
            )
    return list(episodes.values())
