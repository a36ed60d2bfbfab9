"""A supervised child process: framed RPC with a deadline on every answer.

The project runs every engine it cannot interrupt from Python (the text-game engines'
C code, ngspice's shared library) in a child process. :class:`ChildProcess` starts
``python -m agent_envs.core.child_server`` with a handler named ``"module:factory"``
(the handler decides what the child does), talks to it in frames
(:mod:`agent_envs.core.frames`) over a Unix socket pair, and gives every answer a time
limit: a child that does not answer in time, or dies, is killed with everything it
started (its own process group) and the call raises :class:`ChildFailure`. The child
runs in a working directory of its own (removed by :meth:`ChildProcess.close`), exits
by itself when this process dies, and can be copied with ``os.fork()`` while running
(:meth:`ChildProcess.fork`): the copy holds the handler's state as it was.

A request is a JSON array ``[op, *arguments]``; the child answers ``{"ok": value}`` or
``{"error": text}``, and may send ``{"note": value}`` frames before the answer (progress,
read by callers that poll with :meth:`ChildProcess.receive`).

Example:
    >>> child = ChildProcess("agent_envs.core.child_server:EchoHandler")
    >>> child.call(["echo", [1, "two"]], timeout_s=60)
    [1, 'two']
    >>> twin = child.fork(timeout_s=10)
    >>> twin.call(["echo", "from the copy"], 10), twin.pid != child.pid
    ('from the copy', True)
    >>> twin.close(); child.close(); child.alive
    False
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agent_envs.core.frames import read_frame, write_frame

__all__ = ["ChildFailure", "ChildProcess", "kill_process_group", "process_cpu_seconds"]

#: The package root, put on the child's ``PYTHONPATH`` so it imports this copy of the code.
PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
#: Seconds ``close()`` waits for a killed copy (not our child, so not ``wait()``-able) to go.
_KILL_WAIT_S = 10.0
_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class ChildFailure(RuntimeError):
    """A child call failed: ``kind`` is ``"timeout"``, ``"crash"`` or ``"error"``.

    ``"error"`` is the handler raising (the child goes on); after the other two the child
    is gone.

    Example:
        >>> ChildFailure("no answer within 2 s", "timeout").kind
        'timeout'
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def kill_process_group(pid: int, proc: subprocess.Popen | None = None, wait_s: float = 5.0) -> None:
    """SIGKILL the process group led by ``pid`` (the process alone if it leads none).

    With ``proc`` (our ``Popen`` of ``pid``), also reap it, waiting up to ``wait_s``.

    Example:
        >>> p = subprocess.Popen(["sleep", "30"], start_new_session=True)
        >>> kill_process_group(p.pid, p); p.returncode
        -9
    """
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    if proc is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait_s)


def process_cpu_seconds(pid: int) -> float | None:
    """CPU seconds (user + system) process ``pid`` has used, from /proc; None elsewhere.

    Example:
        >>> process_cpu_seconds(os.getpid()) >= 0
        True
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            fields = handle.read().rsplit(b")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS
    except (OSError, ValueError, IndexError):
        return None


def _process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (``"Z"``: exited, not yet reaped); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(") ", 1)[1][:1]
    except FileNotFoundError:
        return None
    except OSError:  # no /proc (not Linux): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return "S"
        return "S"


def _wait_gone(pid: int, timeout_s: float) -> None:
    """Wait until a killed process (not our child) has been reaped by its parent.

    An exited-but-unreaped one is accepted after a second (its parent may be busy).
    """
    start = time.monotonic()
    while True:
        state = _process_state(pid)
        waited = time.monotonic() - start
        if state is None or (state in ("Z", "X") and waited > 1.0) or waited > timeout_s:
            return
        time.sleep(0.002)


class ChildProcess:
    """One supervised child serving the handler ``"module:factory"``; started on first use.

    ``cwd``: the child's working directory; None gives it a temp directory this object
    owns (removed by :meth:`close`, or by the child if this process dies first).
    ``remove_cwd_if_orphaned``: let the child remove a ``cwd`` given here if this process
    dies without closing (for a directory made for this child alone).
    """

    def __init__(
        self, handler: str, cwd: str | Path | None = None, remove_cwd_if_orphaned: bool = False
    ) -> None:
        self.handler = handler
        self.cwd = None if cwd is None else str(cwd)
        self.remove_cwd_if_orphaned = remove_cwd_if_orphaned or cwd is None
        self._proc: subprocess.Popen | None = None  # the child, when we started it
        self._pid: int | None = None
        self._channel: socket.socket | None = None
        self._workdir: str | None = None  # a working directory we made and remove
        self._owner = os.getpid()
        #: Requests sent to the current child (a change means its state may have moved).
        self.requests = 0

    # ------------------------------------------------------------------ state
    @property
    def running(self) -> bool:
        """Whether this handle has a child (it may have died since the last call)."""
        return self._channel is not None

    @property
    def alive(self) -> bool:
        """Whether a child is running."""
        if self._channel is None or self._pid is None:
            return False
        if self._proc is not None:
            return self._proc.poll() is None
        return _process_state(self._pid) not in (None, "Z", "X")

    @property
    def pid(self) -> int | None:
        """The child's process id (None when there is none)."""
        return self._pid

    @property
    def owned(self) -> bool:
        """False in a forked copy of the process that started the child (not ours to use)."""
        return self._owner == os.getpid()

    def exit_status(self, wait_s: float = 0.0) -> int | None:
        """The child's exit status (``-N``: killed by signal N), waiting up to ``wait_s``.

        None while it runs, or when it is a fork copy (not our child to wait for).
        """
        if self._proc is None:
            return None
        with contextlib.suppress(subprocess.TimeoutExpired):
            return self._proc.wait(timeout=wait_s)
        return None

    def cpu_seconds(self) -> float | None:
        """CPU seconds the child has used (Linux ``/proc``); None when unknown."""
        return None if self._pid is None else process_cpu_seconds(self._pid)

    # -------------------------------------------------------------- messages
    def start(self) -> None:
        """Start the child now (``send`` and ``call`` do it when there is none)."""
        if not self.owned:
            raise ChildFailure("the child process belongs to the parent of a fork", "crash")
        self.close()
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [PACKAGE_ROOT, env.get("PYTHONPATH")]))
        # the child's working directory is ours, not the user's: whatever it writes by a
        # relative path lands there and is removed by close()
        cwd = self.cwd
        if cwd is None:
            cwd = self._workdir = tempfile.mkdtemp(prefix="agent-envs-child-")
        ours, theirs = socket.socketpair()
        argv = [sys.executable, "-m", "agent_envs.core.child_server", str(theirs.fileno())]
        argv += [str(os.getpid()), self.handler]
        argv += ["--remove-cwd-if-orphaned"] if self.remove_cwd_if_orphaned else []
        try:
            self._proc = subprocess.Popen(
                argv,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # a failure kills the whole group
            )
        except BaseException:
            ours.close()
            self.close()
            raise
        finally:
            theirs.close()
        self._channel, self._pid, self.requests = ours, self._proc.pid, 0

    def send(self, request: list) -> None:
        """Send one request without waiting (starting the child if there is none).

        Raises :class:`ChildFailure` (``"crash"``) when the child cannot take it.
        """
        if self._channel is None:
            self.start()
        assert self._channel is not None
        self.requests += 1
        try:
            write_frame(self._channel.fileno(), request)
        except OSError:
            raise ChildFailure("the child process stopped", "crash") from None

    def receive(self, timeout_s: float) -> dict | None:
        """The child's next frame (``ok``, ``error`` or ``note``); None if none in time.

        Raises :class:`ChildFailure` (``"crash"``) when the child closed the channel or
        sent garbage; the child is left for :meth:`exit_status` to tell why.
        """
        if self._channel is None:
            raise ChildFailure("there is no child process", "crash")
        try:
            frame = read_frame(self._channel.fileno(), time.monotonic() + max(timeout_s, 0.0))
        except TimeoutError:
            return None
        except (OSError, EOFError, ValueError):
            raise ChildFailure("the child process stopped", "crash") from None
        if not isinstance(frame, dict):
            raise ChildFailure("the child process sent a frame that is not an object", "crash")
        return frame

    def call(self, request: list, timeout_s: float) -> Any:
        """Send ``request`` and return the answer, waiting at most ``timeout_s`` seconds.

        Notes sent before the answer are skipped. A timeout or a dead child closes the
        child (the next call starts a fresh one); an error in the handler keeps it.
        """
        deadline = time.monotonic() + timeout_s
        try:
            self.send(request)
            while True:
                frame = self.receive(deadline - time.monotonic())
                if frame is None:
                    self.close()
                    raise ChildFailure(f"no answer within {timeout_s:g} s", "timeout")
                if "note" not in frame:
                    break
        except ChildFailure as failure:
            if failure.kind == "crash":
                code = self.exit_status(1.0)  # it closed the channel: exiting
                self.close()
                message = f"the child process stopped (exit code {code})"
                raise ChildFailure(message, "crash") from None
            raise
        if "error" in frame:
            raise ChildFailure(str(frame["error"]), "error")
        return frame.get("ok")

    def fork(self, timeout_s: float) -> ChildProcess:
        """A new ``ChildProcess`` whose child is an ``os.fork()`` copy of this one's.

        The copy holds the handler's state as it was, lives in a process group of its own
        and exits when this process does. Raises :class:`ChildFailure` when there is no
        child or it does not answer (the child is then closed).
        """
        if not self.owned or self._channel is None:
            raise ChildFailure("there is no child process of ours to fork", "crash")
        ours, theirs = socket.socketpair()
        deadline = time.monotonic() + timeout_s
        try:
            write_frame(self._channel.fileno(), ["fork"])
            socket.send_fds(self._channel, [b"F"], [theirs.fileno()])
            theirs.close()
            frame = read_frame(self._channel.fileno(), deadline)
        except TimeoutError:
            ours.close()
            self.close()
            raise ChildFailure(f"no answer to a fork within {timeout_s:g} s", "timeout") from None
        except (OSError, EOFError, ValueError):
            ours.close()
            self.close()
            raise ChildFailure("the child process stopped while forking", "crash") from None
        finally:
            theirs.close()
        if not isinstance(frame, dict) or "ok" not in frame:
            ours.close()
            raise ChildFailure(
                str(frame.get("error") if isinstance(frame, dict) else frame), "error"
            )
        twin = ChildProcess(self.handler, self.cwd)
        twin._channel, twin._pid = ours, int(frame["ok"])
        return twin

    def close(self) -> None:
        """Kill the child and its process group, reap it, remove its directory; idempotent."""
        proc, pid, channel = self._proc, self._pid, self._channel
        self._proc = self._pid = self._channel = None
        workdir, self._workdir = self._workdir, None
        if channel is not None:
            if self.owned and pid is not None:  # a forked copy leaves the parent's child alone
                kill_process_group(pid, proc, wait_s=_KILL_WAIT_S)
                if proc is None:  # a copy is not our child: its parent (or a template) reaps it
                    _wait_gone(pid, _KILL_WAIT_S)
            channel.close()
        if workdir is not None and self.owned:  # after the kill: nothing writes into it now
            shutil.rmtree(workdir, ignore_errors=True)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finalizer
            self.close()
