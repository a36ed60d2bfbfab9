"""The episode record, re-exported: it lives in :mod:`agent_envs.core.trajectory`.

``Turn``, ``Trajectory``, ``chat_message``, ``write_jsonl``, ``read_jsonl`` and
``trajectories_from_events`` are importable from here and from :mod:`agent_envs.rl`.

Example:
    >>> from agent_envs.rl.trajectory import Trajectory
    >>> from agent_envs.core.trajectory import Trajectory as Record
    >>> Trajectory is Record
    True
"""

from agent_envs.core.trajectory import (
    Trajectory,
    Turn,
    chat_message,
    read_jsonl,
    trajectories_from_events,
    write_jsonl,
)

__all__ = [
    "Turn",
    "Trajectory",
    "chat_message",
    "write_jsonl",
    "read_jsonl",
    "trajectories_from_events",
]
