"""One worker process: launching it at an isolation level, the frame channel, killing it.

The frames are the project's one wire format (:mod:`agent_envs.core.frames`: a 4-byte
big-endian length, then UTF-8 JSON); the worker, which runs inside bubblewrap with the
standard library only, writes and reads them with its own few lines. ``FrameBuffer`` is
re-exported here from :mod:`agent_envs.core.frames`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agent_envs.core.child_process import kill_process_group
from agent_envs.core.frames import FrameBuffer, encode_frame
from agent_envs.sandbox.cgroups import SessionCgroup, create_session_cgroup
from agent_envs.sandbox.isolation import (
    SANDBOX_HOME,
    check_facts,
    python_world_readable,
    scrubbed_env,
    worker_argv,
    worker_sys_path,
)
from agent_envs.sandbox.launcher import in_launcher
from agent_envs.sandbox.limits import SandboxLimits
from agent_envs.sandbox.seccomp import build_seccomp_filter
from agent_envs.sandbox.workdirs import make_workdir, remove_tree

__all__ = [
    "FrameBuffer",
    "WorkerProcess",
    "LevelUnavailable",
    "sandbox_uid_processes",
    "descendants",
    "describe_exit",
]

_WORKER_SOURCE = (Path(__file__).parent / "worker.py").read_text()
# Per-sandbox uids when started as root: processes of one sandbox can neither signal
# nor share an RLIMIT_NPROC budget with another's, and a /proc sweep finds them all.
_UID_BASE, _UID_SPAN = 1_100_000, 800_000


class LevelUnavailable(RuntimeError):
    """The host cannot provide an isolation level (raised while starting a worker)."""


def describe_exit(status: int | None, bwrap: bool) -> str:
    """Say how a worker ended, from its exit status.

    Bubblewrap passes its child's status on, and ``128 + n`` when a signal ``n`` killed it.

    Example:
        >>> describe_exit(-9, False), describe_exit(139, True), describe_exit(3, False)
        ('killed by signal SIGKILL', 'killed by signal SIGSEGV', 'exit status 3')
        >>> describe_exit(None, True)
        'still running when it stopped answering'
    """
    if status is None:
        return "still running when it stopped answering"
    number = -status if status < 0 else status - 128 if bwrap and status > 128 else 0
    if number:
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        hint = " (its CPU-time limit)" if name == "SIGXCPU" else ""
        return f"killed by signal {name}{hint}"
    return f"exit status {status}"


def sandbox_uid_processes(uid: int) -> list[int]:
    """Pids of live processes whose real uid is ``uid`` (empty on hosts without /proc).

    Example:
        >>> sandbox_uid_processes(1_999_999)
        []
    """
    pids = []
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        if int(line.split()[1]) == uid:
                            pids.append(int(entry))
                        break
                    if line.startswith("State:") and line.split()[1] in ("Z", "X"):
                        break  # a zombie holds no resources; its parent reaps it
        except (OSError, ValueError, IndexError):
            continue
    return pids


def descendants(pid: int) -> list[int]:
    """Live (non-zombie) descendants of ``pid``, parents before children.

    Example:
        >>> import subprocess, sys
        >>> child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        >>> child.pid in descendants(os.getpid())
        True
        >>> child.kill(); child.wait()
        -9
    """
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat_line = f.read()
            fields = stat_line[stat_line.rindex(")") + 2 :].split()
        except (OSError, ValueError):
            continue
        if fields[0] not in ("Z", "X"):
            parents[int(entry)] = int(fields[1])
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop(0)
        kids = [p for p, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return found


def _rss_bytes(pids: list[int]) -> int:
    page, total = os.sysconf("SC_PAGE_SIZE"), 0
    for pid in pids:
        with contextlib.suppress(OSError, ValueError, IndexError), open(f"/proc/{pid}/statm") as f:
            total += int(f.read().split()[1]) * page
    return total


def _sweep(find: Callable[[], list[int]]) -> None:
    """SIGKILL whatever ``find`` returns until it returns nothing (bounded)."""
    for _ in range(100):
        pids = find()
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.001)


class WorkerProcess:
    """A started, checked worker: a zygote process and the session it forked.

    ``recycle()`` replaces the session by a fresh one in the same sandbox (every process
    ended, every file removed) in a millisecond; ``kill()`` ends everything.
    """

    def __init__(
        self,
        level: str,
        limits: SandboxLimits,
        start_timeout: float = 15.0,
        end_leftovers: bool = True,
    ) -> None:
        self.level, self.limits = level, limits
        self.bwrap = level.startswith("bwrap")
        self.token = ""
        self.uid: int | None = None
        if os.getuid() == 0:
            if level == "rlimits" and not python_world_readable():
                raise LevelUnavailable("the interpreter is unreadable by an unprivileged uid")
            if level != "watchdog" or python_world_readable():
                self.uid = _UID_BASE + secrets.randbelow(_UID_SPAN)
        # the bubblewrap levels use a private tmpfs instead of a host directory
        self.workdir = "" if self.bwrap else make_workdir()
        files_mb = limits.disk_mb + 2 * limits.tmpfs_mb if self.bwrap else 0
        self.cgroup: SessionCgroup | None = create_session_cgroup(
            limits.memory_mb + files_mb, limits.nproc
        )
        self.proc: subprocess.Popen | None = None
        self.frames = FrameBuffer()
        self.facts: dict = {}
        self.sessions = 0
        self.cmd_w = self.frame_r = self.out_r = self.ctl_w = self.ack_r = -1
        self.end_leftovers = end_leftovers
        try:
            self._launch(start_timeout)
        except BaseException:
            self.kill()
            raise

    def _launch(self, start_timeout: float) -> None:
        if self.workdir:
            if self.uid is not None:
                os.chown(self.workdir, self.uid, self.uid)
            os.chmod(self.workdir, 0o700)
        cmd_r, self.cmd_w = os.pipe()
        self.frame_r, frame_w = os.pipe()
        self.out_r, out_w = os.pipe()
        ctl_r, self.ctl_w = os.pipe()
        self.ack_r, ack_w = os.pipe()
        child_fds = [cmd_r, frame_w, ctl_r, ack_w]
        cgroup_fds = []
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                cgroup_fds = [os.open(p, os.O_WRONLY) for p in self.cgroup.join_paths()]
            child_fds += cgroup_fds
        seccomp_fd = None
        try:
            if self.level == "bwrap+seccomp":
                program = build_seccomp_filter()
                if program is None:
                    raise LevelUnavailable("no seccomp filter for this CPU architecture")
                seccomp_fd, writer = os.pipe()
                os.write(writer, program)
                os.close(writer)
                child_fds.append(seccomp_fd)
            if self.bwrap and shutil.which("bwrap") is None:
                raise LevelUnavailable("bubblewrap (bwrap) is not installed")
            python = [sys.executable, "-I", "-S", "-u", "-c", _WORKER_SOURCE]
            python += [str(cmd_r), str(frame_w)]
            limits = self.limits
            argv = worker_argv(self.level, python, seccomp_fd, limits.tmpfs_mb, limits.disk_mb)
            env = scrubbed_env(self.workdir or tempfile.gettempdir())
            cwd = self.workdir or "/"
            self.proc = in_launcher(
                lambda: subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=out_w,
                    stderr=out_w,
                    pass_fds=child_fds,
                    env=env,
                    cwd=cwd,
                    start_new_session=True,
                )  # fmt: skip
            )
        except OSError as exc:
            raise LevelUnavailable(f"cannot start the worker: {exc}") from exc
        finally:
            for fd in [*child_fds, out_w]:
                os.close(fd)
        for fd in (self.cmd_w, self.frame_r, self.out_r, self.ack_r):
            os.set_blocking(fd, False)
        setup = {
            "limits": self.limits.to_dict(),
            "uid": self.uid,
            "workdir": SANDBOX_HOME if self.bwrap else self.workdir,
            "path": worker_sys_path(),
            "pdeathsig": not self.bwrap,
            "ctl_fd": ctl_r,
            "ack_fd": ack_w,
            "cgroup_fds": cgroup_fds,
            "wipe": [SANDBOX_HOME, "/tmp", "/dev/shm"] if self.bwrap else [self.workdir],
            "end_leftovers": self.end_leftovers,
        }
        self.send(setup)
        self._spawn(start_timeout)
        problems = check_facts(self.level, self.facts, self.uid)
        if problems:
            raise LevelUnavailable(problems)
        if self.cgroup is not None and not self.cgroup.joined():  # do not claim what is not so
            self.cgroup.remove()
            self.cgroup = None

    def _spawn(self, timeout: float) -> None:
        self.token = secrets.token_hex(16)
        self.frames = FrameBuffer()
        self._write(self.ctl_w, {"op": "spawn", "token": self.token})
        frame, early_output = self._wait_frame(self.frame_r, "hello", timeout)
        if frame is None:
            status = self.exit_status(0.5)
            text = early_output.decode(errors="replace").strip()[-500:]
            raise LevelUnavailable(
                f"worker did not start ({describe_exit(status, self.bwrap)}): {text}"
            )
        self.facts = frame.get("facts", {}) if isinstance(frame.get("facts"), dict) else {}
        self.sessions += 1

    def recycle(self, timeout: float = 5.0) -> bool:
        """End the session (its processes and files) and spawn a fresh one; False if that failed."""
        if not self.alive():
            return False
        try:
            self._write(self.ctl_w, {"op": "recycle"})
            ack, _ = self._wait_frame(self.ack_r, "clean", timeout, FrameBuffer())
            if ack is None or ack.get("left"):
                return False
            self._drain(self.out_r)
            self._drain(self.frame_r)
            self._spawn(timeout)
        except (OSError, TimeoutError, ValueError, LevelUnavailable):
            return False
        return not check_facts(self.level, self.facts, self.uid)

    @staticmethod
    def _drain(fd: int) -> None:
        with contextlib.suppress(BlockingIOError, OSError):
            while os.read(fd, 65536):
                pass

    def _wait_frame(
        self, fd: int, kind: str, timeout: float, frames: FrameBuffer | None = None
    ) -> tuple[dict | None, bytes]:
        frames = frames or self.frames
        deadline, output = time.monotonic() + timeout, bytearray()
        while time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                chunk = os.read(self.out_r, 65536)
                output += chunk[: 4096 - len(output)]
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                if not self.alive():
                    return None, bytes(output)
                time.sleep(0.0002)
                continue
            if not chunk:
                return None, bytes(output)
            try:
                found = frames.feed(chunk)
            except ValueError:
                return None, bytes(output)
            for frame in found:
                mine = kind == "clean" or frame.get("token") == self.token
                if mine and frame.get("kind") == kind:
                    return frame, bytes(output)
        return None, bytes(output)

    def _write(self, fd: int, obj: dict) -> None:
        data = encode_frame(obj)
        deadline = time.monotonic() + 5.0
        while data:
            try:
                data = data[os.write(fd, data) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("the worker does not read its commands") from None
                time.sleep(0.001)

    def send(self, obj: dict) -> None:
        """Write one command frame (blocking until written; the worker is idle)."""
        self._write(self.cmd_w, obj)

    def alive(self) -> bool:
        """Whether the launched process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def exit_status(self, wait: float) -> int | None:
        """The launched process's exit status, waiting up to ``wait`` s for it to end."""
        if self.proc is None:
            return None
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self.proc.wait(timeout=wait)
        return None

    def session_rss(self) -> int:
        """Resident bytes of every process of the sandbox (the memory watchdog's view)."""
        if self.proc is None:
            return 0
        if self.uid is not None and not self.bwrap:
            return _rss_bytes(sandbox_uid_processes(self.uid))
        return _rss_bytes(descendants(self.proc.pid))

    def kill(self) -> None:
        """Kill the whole process tree, reap it, close the pipes, remove the workdir."""
        proc = self.proc
        if proc is not None:
            if not self.bwrap and self.uid is None and proc.poll() is None:
                # no uid of its own: freeze the worker (a subreaper: orphans stay below
                # it), then kill its descendants, setsid'd and double-forked ones too
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGSTOP)
                _sweep(lambda: descendants(proc.pid))
            kill_process_group(proc.pid)  # (reaped below, after the sweeps)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            if not self.bwrap and self.uid is not None:
                _sweep(lambda: sandbox_uid_processes(self.uid))  # every process of its uid
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            self.proc = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None
        for name in ("cmd_w", "frame_r", "out_r", "ctl_w", "ack_r"):
            fd = getattr(self, name)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)
        if self.workdir:
            remove_tree(self.workdir)
            self.workdir = ""
