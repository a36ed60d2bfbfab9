"""``RecordTrajectories``: append every episode to a JSONL file, one line per event."""

from __future__ import annotations

import contextlib
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym

from agent_envs.core.jsonable import to_jsonable

__all__ = ["RecordTrajectories", "read_recorded_episodes", "to_jsonable", "FORMAT_VERSION"]

#: Version of the line format written by :class:`RecordTrajectories`.
FORMAT_VERSION = 1


class RecordTrajectories(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Write every episode to a JSONL file, append-only, one flushed line per event.

    Lines (each a JSON object with ``"format": 1``, ``"event"`` and ``"episode"``, a unique id):

    * ``start``: ``env_id``, ``env_version``, ``package_version``, ``seed``, ``options``,
      ``system_prompt``, ``task`` (the reset observation), ``info`` (reset info), ``time``;
    * ``turn``: ``turn``, ``action``, ``observation``, ``reward``, ``terminated``,
      ``truncated``, ``info``;
    * ``end``: ``turns``, ``return``, ``terminated``, ``truncated``, ``interrupted`` (the
      episode was left by a ``reset`` or ``close`` before it ended).

    Each line goes to the file in a single ``os.write`` on a descriptor opened with
    ``O_APPEND`` (no Python buffering): a process killed mid-episode leaves every finished
    line intact, and several processes may append to the same file. Use
    :func:`read_recorded_episodes` to rebuild episodes (incomplete ones included, marked).
    Values JSON cannot hold go through :func:`to_jsonable` (NaN becomes null). Put this
    wrapper *inside* :class:`~agent_envs.wrappers.ChatMessages`, so it sees text
    observations. ``fsync=True`` also forces every line to disk (survives power loss;
    slower).

    Example:
        >>> import tempfile, os
        >>> from agent_envs.toy import GuessNumberEnv
        >>> path = os.path.join(tempfile.mkdtemp(), "episodes.jsonl")
        >>> env = RecordTrajectories(GuessNumberEnv(max_turns=2), path)
        >>> _ = env.reset(seed=0)
        >>> _ = env.step("50"); _ = env.step("60")
        >>> env.close()
        >>> (episode,) = read_recorded_episodes(path)
        >>> episode["seed"], len(episode["turns"]), episode["complete"]
        (0, 2, True)
        >>> [m["role"] for m in episode["messages"]]
        ['system', 'user', 'assistant', 'user', 'assistant', 'user']
    """

    def __init__(
        self,
        env: gym.Env,
        path: str | os.PathLike,
        *,
        env_id: str | None = None,
        record_info: bool = True,
        fsync: bool = False,
    ) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        gym.utils.RecordConstructorArgs.__init__(
            self, path=str(path), env_id=env_id, record_info=record_info, fsync=fsync
        )
        gym.Wrapper.__init__(self, env)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.record_info = record_info
        self.fsync = fsync
        spec = getattr(env, "spec", None)
        self.env_id = env_id or (spec.id if spec is not None else type(env.unwrapped).__name__)
        self.env_version = getattr(spec, "version", None) if spec is not None else None
        self._fd: int | None = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self._episode: str | None = None
        self._turns = 0
        self._return = 0.0

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        """Reset and write the ``start`` line (an unfinished episode gets an ``end`` first)."""
        self._finish(terminated=False, truncated=False, interrupted=True)
        observation, info = self.env.reset(seed=seed, options=options)
        self._episode, self._turns, self._return = uuid.uuid4().hex, 0, 0.0
        package = getattr(sys.modules.get("agent_envs"), "__version__", None)
        self._write(
            event="start",
            env_id=self.env_id,
            env_version=self.env_version,
            package_version=package,
            seed=seed,
            options=options,
            system_prompt=info.get("system_prompt") if isinstance(info, dict) else None,
            task=observation,
            info=info if self.record_info else {},
            time=time.time(),
        )
        return observation, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step and write the ``turn`` line (and the ``end`` line when the episode ends)."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        if self._episode is not None:
            self._turns += 1
            self._return += float(reward)
            self._write(
                event="turn",
                turn=self._turns,
                action=action if isinstance(action, str) else repr(action),
                observation=observation,
                reward=float(reward),
                terminated=bool(terminated),
                truncated=bool(truncated),
                info=info if self.record_info else {},
            )
            if terminated or truncated:
                self._finish(bool(terminated), bool(truncated), interrupted=False)
        return observation, reward, terminated, truncated, info

    def after_fork(self, original: RecordTrajectories) -> None:
        """A copy made by :func:`agent_envs.rl.fork_env` records nothing.

        Its steps are candidates of a turn-level group, not turns of the recorded episode,
        and it must not write to (or close) the original's file descriptor.
        """
        self._fd = None

    def __del__(self) -> None:
        # never leak the descriptor if the user forgets close(); write nothing this late
        fd, self._fd = getattr(self, "_fd", None), None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)

    def close(self) -> None:
        """Mark an unfinished episode as interrupted and close the file (twice is fine)."""
        if self._fd is not None:
            self._finish(terminated=False, truncated=False, interrupted=True)
            os.close(self._fd)
            self._fd = None
        super().close()

    def _finish(self, terminated: bool, truncated: bool, interrupted: bool) -> None:
        if self._episode is None:
            return
        self._write(
            event="end",
            turns=self._turns,
            terminated=terminated,
            truncated=truncated,
            interrupted=interrupted,
            **{"return": self._return},
        )
        self._episode = None

    def _write(self, **record: Any) -> None:
        if self._fd is None:
            return
        line = {"format": FORMAT_VERSION, "episode": self._episode, **record}
        data = (json.dumps(to_jsonable(line), ensure_ascii=False) + "\n").encode("utf-8", "replace")
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        if self.fsync:
            os.fsync(self._fd)


def _iter_lines(path: str | os.PathLike) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash
            if isinstance(record, dict) and "event" in record:
                yield record


def read_recorded_episodes(path: str | os.PathLike) -> list[dict[str, Any]]:
    """Rebuild the episodes of a :class:`RecordTrajectories` file, in start order.

    Each episode is a dict in the layout of ``agent_envs.rl.Trajectory.to_dict`` (so
    ``Trajectory.from_dict`` loads it): ``env_id``, ``env_version``, ``seed``,
    ``system_prompt``, ``task``, ``turns`` (``action``, ``observation``, ``reward``,
    ``terminated``, ``truncated``, ``info``), plus ``episode`` (id), ``messages``
    (OpenAI-style), ``return``, and ``complete`` (an ``end`` line was written and the
    episode terminated or truncated). Unreadable lines (cut by a crash) are skipped.

    Example:
        >>> import tempfile, os
        >>> read_recorded_episodes(os.path.join(tempfile.mkdtemp(), "none.jsonl"))
        []
    """
    if not os.path.exists(path):
        return []
    episodes: dict[str, dict[str, Any]] = {}
    for record in _iter_lines(path):
        key, event = record.get("episode"), record["event"]
        if event == "start":
            episodes[key] = {
                "episode": key,
                "env_id": record.get("env_id"),
                "env_version": record.get("env_version"),
                "package_version": record.get("package_version"),
                "seed": record.get("seed"),
                "system_prompt": record.get("system_prompt"),
                "task": record.get("task"),
                "turns": [],
                "complete": False,
            }
        elif key in episodes and event == "turn":
            fields = ("action", "observation", "reward", "terminated", "truncated", "info")
            episodes[key]["turns"].append({f: record.get(f) for f in fields})
        elif key in episodes and event == "end":
            done = bool(record.get("terminated") or record.get("truncated"))
            episodes[key]["complete"] = done and not record.get("interrupted")
    for episode in episodes.values():
        episode["return"] = math.fsum(t["reward"] or 0.0 for t in episode["turns"])
        messages = []
        if episode["system_prompt"]:
            messages.append({"role": "system", "content": str(episode["system_prompt"])})
        messages.append({"role": "user", "content": str(episode["task"])})
        for turn in episode["turns"]:
            messages.append({"role": "assistant", "content": str(turn["action"])})
            messages.append({"role": "user", "content": str(turn["observation"])})
        episode["messages"] = messages
    return list(episodes.values())
