"""``RecordTrajectories``: append every episode to a JSONL file, as ``rl.Trajectory`` records.

The episode is written as it is played, one line per event, so a crash loses nothing
finished: the ``start`` line is the :class:`~agent_envs.rl.Trajectory` without its
turns, each ``turn`` line one :class:`~agent_envs.rl.Turn`, both in the layout of their
``to_dict()``. :func:`read_recorded_trajectories` (or :func:`agent_envs.rl.read_jsonl`)
reads them back as ``Trajectory`` objects.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, SupportsFloat

import gymnasium as gym

from agent_envs.core.jsonable import to_jsonable
from agent_envs.core.trajectory import (
    Trajectory,
    Turn,
    observation_text,
    trajectories_from_events,
)

__all__ = [
    "RecordTrajectories",
    "read_recorded_trajectories",
    "read_recorded_episodes",
    "to_jsonable",
    "FORMAT_VERSION",
]

#: Version of the line format written by :class:`RecordTrajectories` (2: the lines hold
#: ``Trajectory``/``Turn.to_dict()`` layouts; 1 had the reset info etc. at the top level).
FORMAT_VERSION = 2


class RecordTrajectories(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """Write every episode to a JSONL file, append-only, one flushed line per event.

    Lines (each a JSON object with ``"format": 2``, ``"event"`` and ``"episode"``, a unique id):

    * ``start``: :meth:`Trajectory.to_dict() <agent_envs.rl.Trajectory.to_dict>` without
      ``turns``: ``env_id``, ``env_version``, ``seed``, ``system_prompt``, ``task`` (the
      reset observation), ``metadata`` (``package_version``, ``options``, ``reset_info``,
      ``time``);
    * ``turn``: ``turn`` (1-based) and :meth:`Turn.to_dict() <agent_envs.rl.Turn.to_dict>`:
      ``action``, ``observation``, ``reward``, ``terminated``, ``truncated``, ``info``;
    * ``end``: ``turns``, ``return``, ``terminated``, ``truncated``, ``interrupted`` (the
      episode was left by a ``reset`` or ``close`` before it ended).

    Each line goes to the file in a single ``os.write`` on a descriptor opened with
    ``O_APPEND`` (no Python buffering): a process killed mid-episode leaves every finished
    line intact, and several processes may append to the same file. Use
    :func:`read_recorded_trajectories` to read the episodes back as
    :class:`~agent_envs.rl.Trajectory` (incomplete ones included, marked in ``metadata``).
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
        >>> (trajectory,) = read_recorded_trajectories(path)
        >>> trajectory.seed, len(trajectory.turns), trajectory.metadata["complete"]
        (0, 2, True)
        >>> [m["role"] for m in trajectory.to_messages()]
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
        header = Trajectory(
            self.env_id,
            seed,
            info.get("system_prompt") if isinstance(info, dict) else None,
            observation_text(observation),
            env_version=self.env_version,
            metadata={
                "package_version": package,
                "options": options,
                "reset_info": info if self.record_info else {},
                "time": time.time(),
            },
        ).to_dict()
        del header["turns"]
        self._write(event="start", **header)
        return observation, info

    def step(self, action: Any) -> tuple[Any, SupportsFloat, bool, bool, dict[str, Any]]:
        """Step and write the ``turn`` line (and the ``end`` line when the episode ends)."""
        observation, reward, terminated, truncated, info = self.env.step(action)
        if self._episode is not None:
            self._turns += 1
            self._return += float(reward)
            turn = Turn(
                observation_text(observation),
                action if isinstance(action, str) else repr(action),
                float(reward),
                info if self.record_info else {},
                bool(terminated),
                bool(truncated),
            )
            if self._fd is not None:  # a fork records nothing
                self._write(event="turn", turn=self._turns, **turn.to_dict())
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
            **{"return": to_jsonable(self._return)},
        )
        self._episode = None

    def _write(self, **record: Any) -> None:
        """Append one line; ``record`` holds JSON-safe values already (``to_dict`` layouts)."""
        if self._fd is None:
            return
        line = {"format": FORMAT_VERSION, "episode": self._episode, **record}
        data = (json.dumps(line, ensure_ascii=False) + "\n").encode("utf-8", "replace")
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


def read_recorded_trajectories(path: str | os.PathLike) -> list[Trajectory]:
    """The episodes of a :class:`RecordTrajectories` file as trajectories, in start order.

    Each one's ``metadata`` holds ``episode`` (the id), ``complete`` (an ``end`` line was
    written and the episode terminated or truncated), ``interrupted``,
    ``package_version``, ``options``, ``reset_info`` and ``time``. Lines cut by a crash
    are skipped; files of format 1 read too.

    Example:
        >>> import tempfile, os
        >>> read_recorded_trajectories(os.path.join(tempfile.mkdtemp(), "none.jsonl"))
        []
    """
    if not os.path.exists(path):
        return []
    return trajectories_from_events(_iter_lines(path))


def read_recorded_episodes(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The episodes of a :class:`RecordTrajectories` file as dicts.

    The dict form of :func:`read_recorded_trajectories`, kept for the readers of
    format 1.

    Each is ``Trajectory.to_dict()`` plus, at the top level, ``episode``,
    ``package_version``, ``messages`` (``Trajectory.to_messages()``), ``return`` and
    ``complete``; ``Trajectory.from_dict`` loads it.

    Example:
        >>> import tempfile, os
        >>> read_recorded_episodes(os.path.join(tempfile.mkdtemp(), "none.jsonl"))
        []
    """
    out = []
    for traj in read_recorded_trajectories(path):
        meta = traj.metadata
        out.append(
            {
                **traj.to_dict(),
                "episode": meta.get("episode"),
                "package_version": meta.get("package_version"),
                "messages": traj.to_messages(),
                "return": traj.total_reward,
                "complete": bool(meta.get("complete")),
            }
        )
    return out
