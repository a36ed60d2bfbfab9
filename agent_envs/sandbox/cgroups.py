"""Session-wide memory and process limits with cgroups, where the host lets us create them.

cgroup v2 is used when this process may create child groups with the ``memory`` and
``pids`` controllers (a delegated subtree: ``AGENT_ENVS_CGROUP=/sys/fs/cgroup/...``
names one, otherwise the process's own group is tried); cgroup v1 when the ``memory``
and ``pids`` hierarchies are writable (root on a v1 or hybrid host). Elsewhere
:func:`create_session_cgroup` returns None and the sandbox falls back to rlimits and a
memory watchdog (see ``docs/sandbox.md``).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import threading
import time

__all__ = ["SessionCgroup", "create_session_cgroup", "cgroup_support"]

_PREFIX = "agent-envs-sandbox-"
_lock = threading.Lock()
_probed: dict[str, object] = {}


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # it may have been held by another thread at fork()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _mounts() -> list[tuple[str, str, list[str]]]:
    """(mount point, fs type, super options) of each cgroup mount."""
    found = []
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                left, _, right = line.partition(" - ")
                fields, tail = left.split(), right.split()
                if len(fields) > 4 and tail and tail[0] in ("cgroup", "cgroup2"):
                    found.append((fields[4], tail[0], tail[-1].split(",")))
    except OSError:
        pass
    return found


def _own_groups() -> dict[str, str]:
    """Controller (or "" for v2) -> this process's group path."""
    groups = {}
    try:
        with open("/proc/self/cgroup") as f:
            for line in f:
                _, controllers, path = line.rstrip("\n").split(":", 2)
                for name in controllers.split(",") if controllers else [""]:
                    groups[name] = path
    except (OSError, ValueError):
        pass
    return groups


def _write(path: str, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _v2_parent() -> str | None:
    base = next((m for m, kind, _ in _mounts() if kind == "cgroup2"), None)
    if base is None:
        return None
    candidates = [os.environ.get("AGENT_ENVS_CGROUP", "")]
    candidates.append(base + _own_groups().get("", "/"))
    for parent in (c.rstrip("/") for c in candidates if c):
        if not os.path.realpath(parent).startswith(base.rstrip("/") + "/") and parent != base:
            continue  # not a cgroup at all
        try:
            with open(os.path.join(parent, "cgroup.subtree_control")) as f:
                enabled = f.read().split()
            if not {"memory", "pids"} <= set(enabled):
                _write(os.path.join(parent, "cgroup.subtree_control"), "+memory +pids")
            probe = os.path.join(parent, f"{_PREFIX}probe-{os.getpid()}")
            os.mkdir(probe)
            os.rmdir(probe)
            return parent
        except OSError:
            continue
    return None


def _v1_parents() -> dict[str, str] | None:
    own = _own_groups()
    parents = {}
    for mount, kind, options in _mounts():
        for controller in ("memory", "pids"):
            if kind == "cgroup" and controller in options:
                parents[controller] = mount + own.get(controller, "/").rstrip("/")
    if set(parents) != {"memory", "pids"}:
        return None
    try:
        for parent in parents.values():
            probe = os.path.join(parent, f"{_PREFIX}probe-{os.getpid()}")
            os.mkdir(probe)
            os.rmdir(probe)
    except OSError:
        return None
    return parents


def cgroup_support() -> str:
    """``"v2"``, ``"v1"`` or ``""``: which cgroups this process can create (probed once).

    Example:
        >>> cgroup_support() in ("v1", "v2", "")
        True
    """
    with _lock:
        if "kind" not in _probed:
            v2 = _v2_parent()
            v1 = None if v2 else _v1_parents()
            _probed.update(kind="v2" if v2 else "v1" if v1 else "", v2=v2, v1=v1)
            _sweep_stale([v2] if v2 else list((v1 or {}).values()))
        return str(_probed["kind"])


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _sweep_stale(parents: list[str]) -> None:
    """Remove groups left by processes that died without cleaning up (e.g. SIGKILL)."""
    for parent in parents:
        with contextlib.suppress(OSError):
            for name in os.listdir(parent):
                owner = name.split("-")[3] if name.startswith(_PREFIX) else ""
                if owner.isdigit() and not _pid_alive(int(owner)):
                    with contextlib.suppress(OSError):
                        os.rmdir(os.path.join(parent, name))


class SessionCgroup:
    """The cgroup(s) of one sandbox session: limits set, processes joined by the worker.

    The worker writes ``0`` ("myself") into each file of :meth:`join_paths` before it
    runs anything, so every process of the session is counted and limited together.
    """

    def __init__(self, version: str, dirs: list[str], memory_bytes: int, nproc: int) -> None:
        self.version, self.dirs = version, dirs
        self.memory_bytes, self.nproc = memory_bytes, nproc

    def join_paths(self) -> list[str]:
        """The ``cgroup.procs`` files the worker writes itself into."""
        return [os.path.join(d, "cgroup.procs") for d in self.dirs]

    def oom_kills(self) -> int:
        """How many times the kernel ended a process of the session for memory."""
        try:
            if self.version == "v2":
                with open(os.path.join(self.dirs[0], "memory.events")) as f:
                    for line in f:
                        if line.startswith("oom_kill "):
                            return int(line.split()[1])
                return 0
            with open(os.path.join(self.dirs[0], "memory.oom_control")) as f:
                for line in f:
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
            return 0
        except (OSError, ValueError):
            return 0

    def describe(self) -> dict[str, str]:
        """What this group enforces, for ``info``."""
        mib = self.memory_bytes // (1024 * 1024)
        return {
            "memory": f"{mib} MiB for all processes and files of the session (cgroup {self.version})",
            "processes": f"{self.nproc} processes and threads for the session (cgroup {self.version} pids)",
        }

    def pids(self) -> list[int]:
        """Processes in the session's group(s)."""
        found: set[int] = set()
        for d in self.dirs:
            with (
                contextlib.suppress(OSError, ValueError),
                open(os.path.join(d, "cgroup.procs")) as f,
            ):
                found.update(int(p) for p in f.read().split())
        return sorted(found)

    def joined(self) -> bool:
        """Whether processes are in the group, as the kernel reports it for each of them."""
        pids = self.pids()
        name = os.path.basename(self.dirs[0]) if self.dirs else ""
        for pid in pids:
            try:
                with open(f"/proc/{pid}/cgroup") as f:
                    if name not in f.read():
                        return False
            except OSError:
                return False
        return bool(pids) and bool(name)

    def remove(self) -> None:
        """Kill what is left inside and remove the group(s) (idempotent)."""
        for _ in range(50):
            pids = self.pids()
            for pid in pids:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if not pids:
                break
            time.sleep(0.002)
        for d in self.dirs:
            for _ in range(50):
                try:
                    os.rmdir(d)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.002)  # the last processes are still exiting
        self.dirs = []


def create_session_cgroup(memory_mb: int, nproc: int) -> SessionCgroup | None:
    """A new group limiting ``memory_mb`` MiB and ``nproc`` tasks, or None where unsupported.

    Example:
        >>> group = create_session_cgroup(256, 16)
        >>> group is None or group.version in ("v1", "v2")
        True
        >>> if group is not None: group.remove()
    """
    kind = cgroup_support()
    if not kind:
        return None
    name = f"{_PREFIX}{os.getpid()}-{secrets.token_hex(6)}"
    memory = memory_mb * 1024 * 1024
    made: list[str] = []
    try:
        if kind == "v2":
            d = os.path.join(str(_probed["v2"]), name)
            os.mkdir(d)
            made.append(d)
            _write(os.path.join(d, "memory.max"), str(memory))
            with contextlib.suppress(OSError):
                _write(os.path.join(d, "memory.swap.max"), "0")
            _write(os.path.join(d, "pids.max"), str(nproc))
        else:
            parents = dict(_probed["v1"])  # type: ignore[call-overload]
            for controller in ("memory", "pids"):
                d = os.path.join(parents[controller], name)
                os.mkdir(d)
                made.append(d)
            _write(os.path.join(made[0], "memory.limit_in_bytes"), str(memory))
            with contextlib.suppress(OSError):
                _write(os.path.join(made[0], "memory.memsw.limit_in_bytes"), str(memory))
            _write(os.path.join(made[1], "pids.max"), str(nproc))
    except OSError:
        for d in made:
            with contextlib.suppress(OSError):
                os.rmdir(d)
        return None
    return SessionCgroup(kind, made, memory, nproc)
