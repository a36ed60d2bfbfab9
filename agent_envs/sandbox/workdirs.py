"""Host working directories of the weak isolation levels: naming, sweeping, removal.

At the bubblewrap levels the session's workdir is a tmpfs inside the sandbox and none
of this is used. Elsewhere a workdir is a host directory whose name carries its
creator's pid and start time, so a later process can tell an orphan from a live one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile

__all__ = ["make_workdir", "remove_tree", "sweep_stale_workdirs", "start_ticks"]

_WORKDIR_PREFIX = "agent-envs-sandbox-"
_WORKDIR_RE = re.compile(r"^agent-envs-sandbox-(\d+)-(\d+)-")


def start_ticks(pid: int) -> int:
    """When ``pid`` started, in clock ticks since boot (0 if unknown).

    Example:
        >>> start_ticks(os.getpid()) > 0
        True
    """
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
        return int(text[text.rindex(")") + 2 :].split()[19])
    except (OSError, ValueError, IndexError):
        return 0


def sweep_stale_workdirs(tmpdir: str | None = None) -> list[str]:
    """Remove workdirs whose owning process is gone (e.g. it was SIGKILLed); return them.

    A workdir's name holds its creator's pid and start time, so a reused pid is no alibi.

    Example:
        >>> isinstance(sweep_stale_workdirs(), list)
        True
    """
    removed = []
    base = tmpdir or tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for name in os.listdir(base):
            match = _WORKDIR_RE.match(name)
            if not match:
                continue
            pid, ticks = int(match.group(1)), int(match.group(2))
            if os.path.exists(f"/proc/{pid}") and start_ticks(pid) == ticks:
                continue  # its owner lives
            path = os.path.join(base, name)
            with contextlib.suppress(OSError):
                if stat.S_ISDIR(os.lstat(path).st_mode):
                    remove_tree(path)
                    removed.append(path)
    return removed


def _chmod_dir_nofollow(path: str) -> None:
    """Make a real directory writable; never touch what a symlink points to."""
    fd = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_DIRECTORY)
    try:
        os.chmod(f"/proc/self/fd/{fd}", 0o700)  # the fd is the directory itself
    finally:
        os.close(fd)


def remove_tree(path: str) -> None:
    """Delete ``path`` and everything below it without following any symlink.

    Read-only directories left by the program are unlocked on the way (through an
    ``O_PATH|O_NOFOLLOW`` descriptor, so a planted link cannot redirect the chmod).

    Example:
        >>> d = tempfile.mkdtemp(); os.symlink("/etc/passwd", os.path.join(d, "link"))
        >>> remove_tree(d); os.path.exists(d), os.path.exists("/etc/passwd")
        (False, True)
    """

    def unlock(func, target, _exc):
        with contextlib.suppress(OSError):
            _chmod_dir_nofollow(os.path.dirname(target))
            if stat.S_ISDIR(os.lstat(target).st_mode):
                _chmod_dir_nofollow(target)
                shutil.rmtree(target, onerror=unlock)
            else:
                func(target)

    if os.path.lexists(path):
        shutil.rmtree(path, onerror=unlock)


_swept = False


def make_workdir() -> str:
    """A new private workdir named after this process (sweeping orphans the first time).

    Example:
        >>> path = make_workdir(); os.path.isdir(path)
        True
        >>> remove_tree(path)
    """
    global _swept
    if not _swept:
        _swept = True
        sweep_stale_workdirs()
    prefix = f"{_WORKDIR_PREFIX}{os.getpid()}-{start_ticks(os.getpid())}-"
    return tempfile.mkdtemp(prefix=prefix)
