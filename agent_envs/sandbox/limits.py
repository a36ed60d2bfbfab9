"""Resource limits of a sandboxed Python session."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["SandboxLimits"]


@dataclass(frozen=True)
class SandboxLimits:
    """What one sandboxed session may use; every field is enforced, none is advisory.

    * ``wall_time``: seconds per cell. The worker interrupts the cell (state kept); if it
      does not come back within ``kill_grace`` more seconds, the whole process tree is
      killed and the session restarts (state lost).
    * ``cpu_time``: CPU seconds for the whole session (``RLIMIT_CPU``); past it the
      session is killed and restarted.
    * ``memory_mb``: address space of each process (``RLIMIT_AS``) and, where the host
      allows cgroups, the memory of the whole session (plus its tmpfs files); elsewhere
      a watchdog ends the session when its processes together hold more.
    * ``output_bytes``: bytes of stdout+stderr kept per cell (the rest is counted and
      dropped); past ``output_kill_bytes`` the session is killed.
    * ``file_size_mb``: largest file a program may write (``RLIMIT_FSIZE``).
    * ``nproc``: processes and threads of the session (cgroup ``pids.max`` where
      available, and ``RLIMIT_NPROC`` of the sandbox's own uid).
    * ``open_files``: file descriptors per process (``RLIMIT_NOFILE``).
    * ``tmpfs_mb``: size of the private ``/tmp`` and of ``/dev/shm`` (bubblewrap levels).
    * ``disk_mb``: size of the session's working directory ``/sandbox``, a tmpfs
      (bubblewrap levels; the quota of the session's files, with ``tmpfs_mb``).

    Example:
        >>> SandboxLimits(wall_time=2.0).memory_mb
        1024
        >>> SandboxLimits(wall_time=0)
        Traceback (most recent call last):
        ...
        ValueError: wall_time must be a positive number, got 0
    """

    wall_time: float = 10.0
    cpu_time: int = 60
    memory_mb: int = 1024
    output_bytes: int = 65_536
    output_kill_bytes: int = 64 * 1024 * 1024
    file_size_mb: int = 16
    nproc: int = 64
    open_files: int = 256
    tmpfs_mb: int = 64
    disk_mb: int = 64
    kill_grace: float = 1.0

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in (
            "cpu_time",
            "memory_mb",
            "output_bytes",
            "file_size_mb",
            "nproc",
            "tmpfs_mb",
            "disk_mb",
        ):
            if not isinstance(getattr(self, name), int):
                raise TypeError(f"{name} must be an int, got {getattr(self, name)!r}")
        if self.open_files < 16:
            raise ValueError("open_files must be at least 16 (the interpreter needs some)")

    def to_dict(self) -> dict[str, Any]:
        """The limits as a plain dict (sent to the worker)."""
        return asdict(self)
