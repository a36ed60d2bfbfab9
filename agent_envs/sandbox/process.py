"""One worker process: launching it at an isolation level, the frame channel, killing it."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from agent_envs.sandbox.isolation import (
    SANDBOX_HOME,
    check_facts,
    python_world_readable,
    scrubbed_env,
    worker_argv,
)
from agent_envs.sandbox.limits import SandboxLimits
from agent_envs.sandbox.seccomp import build_seccomp_filter

__all__ = [
    "FrameBuffer",
    "WorkerProcess",
    "LevelUnavailable",
    "sandbox_uid_processes",
    "descendants",
]

_WORKER_SOURCE = (Path(__file__).parent / "worker.py").read_text()
_HEADER = struct.Struct(">I")
_MAX_FRAME = 16 * 1024 * 1024
# Per-sandbox uids when started as root: processes of one sandbox can neither signal
# nor share an RLIMIT_NPROC budget with another's, and a /proc sweep finds them all.
_UID_BASE, _UID_SPAN = 1_100_000, 800_000


class LevelUnavailable(RuntimeError):
    """The host cannot provide an isolation level (raised while starting a worker)."""


class FrameBuffer:
    """Reassembles length-prefixed JSON frames from a byte stream.

    Example:
        >>> buf = FrameBuffer()
        >>> data = _HEADER.pack(9) + b'{"a": 1}' + b" "
        >>> buf.feed(data[:5]), buf.feed(data[5:])
        ([], [{'a': 1}])
    """

    def __init__(self) -> None:
        self._data = bytearray()

    def feed(self, chunk: bytes) -> list[dict]:
        """Add bytes; return the complete frames (raises ValueError on a malformed one)."""
        self._data += chunk
        frames = []
        while len(self._data) >= 4:
            (size,) = _HEADER.unpack(self._data[:4])
            if size > _MAX_FRAME:
                raise ValueError("oversized frame")
            if len(self._data) < 4 + size:
                break
            body = bytes(self._data[4 : 4 + size])
            del self._data[: 4 + size]
            frame = json.loads(body)
            if not isinstance(frame, dict):
                raise ValueError("frame is not an object")
            frames.append(frame)
        return frames


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
                stat = f.read()
            fields = stat[stat.rindex(")") + 2 :].split()
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
    """A started, checked worker: its process, pipes, token, uid and workdir."""

    def __init__(self, level: str, limits: SandboxLimits, start_timeout: float = 15.0) -> None:
        self.level, self.limits = level, limits
        self.token = secrets.token_hex(16)
        self.uid: int | None = None
        if os.getuid() == 0:
            if level == "rlimits" and not python_world_readable():
                raise LevelUnavailable("the interpreter is unreadable by an unprivileged uid")
            if level != "watchdog" or python_world_readable():
                self.uid = _UID_BASE + secrets.randbelow(_UID_SPAN)
        self.workdir = tempfile.mkdtemp(prefix="agent-envs-sandbox-")
        self.proc: subprocess.Popen | None = None
        self.frames = FrameBuffer()
        self.facts: dict = {}
        self.cmd_w = self.frame_r = self.out_r = -1
        try:
            self._launch(start_timeout)
        except BaseException:
            self.kill()
            raise

    def _launch(self, start_timeout: float) -> None:
        if self.uid is not None:
            os.chown(self.workdir, self.uid, self.uid)
        os.chmod(self.workdir, 0o700)
        cmd_r, self.cmd_w = os.pipe()
        self.frame_r, frame_w = os.pipe()
        self.out_r, out_w = os.pipe()
        child_fds = [cmd_r, frame_w]
        seccomp_fd = None
        if self.level == "bwrap+seccomp":
            program = build_seccomp_filter()
            if program is None:
                raise LevelUnavailable("no seccomp filter for this CPU architecture")
            seccomp_fd, writer = os.pipe()
            os.write(writer, program)
            os.close(writer)
            child_fds.append(seccomp_fd)
        bwrap = self.level.startswith("bwrap")
        if bwrap and shutil.which("bwrap") is None:
            raise LevelUnavailable("bubblewrap (bwrap) is not installed")
        python = [sys.executable, "-I", "-u", "-c", _WORKER_SOURCE, str(cmd_r), str(frame_w)]
        argv = worker_argv(self.level, python, self.workdir, seccomp_fd, self.limits.tmpfs_mb)
        try:
            self.proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out_w,
                stderr=out_w,
                pass_fds=child_fds,
                env=scrubbed_env(self.workdir),
                cwd=self.workdir,
                start_new_session=True,
            )
        except OSError as exc:
            raise LevelUnavailable(f"cannot start the worker: {exc}") from exc
        finally:
            for fd in [*child_fds, out_w]:
                os.close(fd)
        for fd in (self.cmd_w, self.frame_r, self.out_r):
            os.set_blocking(fd, False)
        hello = {
            "token": self.token,
            "limits": self.limits.to_dict(),
            "uid": self.uid,
            "workdir": SANDBOX_HOME if bwrap else self.workdir,
            "subreaper": not bwrap,
        }
        self.send(hello)
        frame, early_output = self._wait_hello(start_timeout)
        if frame is None:
            status = self.proc.poll()
            text = early_output.decode(errors="replace").strip()[-500:]
            raise LevelUnavailable(f"worker did not start (exit status {status}): {text}")
        self.facts = frame.get("facts", {})
        problems = check_facts(self.level, self.facts, self.uid)
        if problems:
            raise LevelUnavailable(problems)

    def _wait_hello(self, timeout: float) -> tuple[dict | None, bytes]:
        deadline, output = time.monotonic() + timeout, bytearray()
        while time.monotonic() < deadline:
            with contextlib.suppress(BlockingIOError):
                chunk = os.read(self.out_r, 65536)
                output += chunk[: 4096 - len(output)]
            try:
                chunk = os.read(self.frame_r, 65536)
            except BlockingIOError:
                if self.proc is not None and self.proc.poll() is not None:
                    return None, bytes(output)
                time.sleep(0.0005)
                continue
            if not chunk:
                return None, bytes(output)
            for frame in self.frames.feed(chunk):
                if frame.get("token") == self.token and frame.get("kind") == "hello":
                    return frame, bytes(output)
        return None, bytes(output)

    def send(self, obj: dict) -> None:
        """Write one command frame (blocking until written; the worker is idle)."""
        data = json.dumps(obj).encode()
        data = _HEADER.pack(len(data)) + data
        deadline = time.monotonic() + 5.0
        while data:
            try:
                data = data[os.write(self.cmd_w, data) :]
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError("the worker does not read its commands") from None
                time.sleep(0.001)

    def alive(self) -> bool:
        """Whether the launched process is still running."""
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """Kill the whole process tree, reap it, close the pipes, remove the workdir."""
        proc = self.proc
        if proc is not None:
            namespaced = self.level.startswith("bwrap")  # the pid namespace dies with it
            if not namespaced and self.uid is None and proc.poll() is None:
                # no uid of its own: freeze the worker (a subreaper: orphans stay below
                # it), then kill its descendants, setsid'd and double-forked ones too
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGSTOP)
                _sweep(lambda: descendants(proc.pid))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            if not namespaced and self.uid is not None:
                _sweep(lambda: sandbox_uid_processes(self.uid))  # every process of its uid
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            self.proc = None
        for name in ("cmd_w", "frame_r", "out_r"):
            fd = getattr(self, name)
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
                setattr(self, name, -1)
        if self.workdir:
            _remove_tree(self.workdir)
            self.workdir = ""


def _remove_tree(path: str) -> None:
    def unlock(func, target, _exc):  # the program may have chmod-ed things read-only
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(target), 0o700)
            os.chmod(target, 0o700)
            func(target)

    shutil.rmtree(path, onerror=unlock)
