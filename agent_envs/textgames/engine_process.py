"""A text-game engine in a supervised child process: every engine call has a time limit.

The TextWorld and ALFWorld engines run C code (a Z-machine interpreter, the Fast
Downward library) that Python cannot interrupt from inside the process, so each
environment plays through one child process. A call that does not answer in time, or a
child that dies, kills the child (and anything it started) and raises
:class:`EngineFailure`; the environment then starts a fresh child and replays the episode.
The child also isolates the engines' process-wide side effects (``fast_downward``
rewrites ``sys.argv`` and swaps ``sys.stdout`` while translating, and leaks one copy of
its 33 MB library per game opened, which is freed when the child is recycled).

:meth:`EngineProcess.fork` copies a running child with ``os.fork()`` (inside the child):
the copy holds the engine exactly as it was, so forking an environment costs a few
milliseconds instead of a fresh interpreter and a replay.

Messages are length-prefixed pickles over a Unix socket pair; only plain values travel
(the parts of the game state the environments read), which keeps a step's overhead to a
round trip. The child side is :mod:`agent_envs.textgames.engine_server`.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = [
    "EngineProcess",
    "EngineFailure",
    "STATE_KEYS",
    "echo_engine",
    "read_message",
    "write_message",
]

#: The game-state entries sent back to the environment after ``reset`` and ``step``.
STATE_KEYS = (
    "feedback",
    "score",
    "max_score",
    "won",
    "lost",
    "admissible_commands",
    "objective",
    "description",
    "inventory",
    "policy_commands",  # TextWorld's winning policy from the current state (dense reward)
)
_HEADER = struct.Struct(">Q")
#: Seconds ``close()`` waits for a killed copy (not our child, so not ``wait()``-able) to go.
_KILL_WAIT_S = 10.0


class EngineFailure(RuntimeError):
    """An engine call failed: ``kind`` is ``"timeout"``, ``"crash"`` or ``"error"``.

    Example:
        >>> EngineFailure("no answer within 2 s", "timeout").kind
        'timeout'
    """

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def write_message(fd: int, message: Any) -> None:
    """Send one framed message (a length-prefixed pickle) on ``fd``."""
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def read_message(fd: int, deadline: float | None = None) -> Any:
    """Read one framed message from ``fd``; ``TimeoutError`` past ``deadline`` (monotonic).

    Example:
        >>> a, b = socket.socketpair()
        >>> write_message(a.fileno(), ("step", "look"))
        >>> read_message(b.fileno(), time.monotonic() + 5)
        ('step', 'look')
        >>> a.close(); b.close()
    """
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, size, deadline))


def _process_state(pid: int) -> str | None:
    """The state letter of ``pid`` (``"Z"``: exited, not yet reaped); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1][:1]
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


def _gone(pid: int) -> bool:
    return _process_state(pid) in (None, "Z", "X")


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


class EngineProcess:
    """One child process hosting one game engine at a time, with a time limit per call.

    :meth:`call` sends ``("open", "module:function", kwargs)`` (the function returns a
    ``textworld`` environment), ``("reset",)``, ``("step", command)`` or ``("run",
    "module:function", kwargs)`` (any other engine work; its picklable result comes back)
    and returns the child's answer (a dict of :data:`STATE_KEYS` for reset and step). The
    child starts on the first call; after a failure it is gone and the next call starts a
    new one. :meth:`fork` returns a second ``EngineProcess`` whose child is a copy of
    this one's, engine state included.

    Example:
        >>> engine = EngineProcess()
        >>> engine.call(("open", "agent_envs.textgames.engine_process:echo_engine", {}), 60)
        >>> engine.call(("reset",), 10)["feedback"], engine.call(("step", "hi"), 10)["feedback"]
        ('ready', 'you said hi')
        >>> twin = engine.fork(10)
        >>> twin.call(("step", "ho"), 10)["feedback"], twin.pid != engine.pid
        ('you said ho', True)
        >>> twin.close(); engine.close(); engine.alive, twin.alive
        (False, False)
    """

    def __init__(self, preload: tuple[str, ...] = ()) -> None:
        #: Modules the child should have imported: it is then forked from a warm template
        #: that imported them (:mod:`~agent_envs.textgames.engine_templates`), not started
        #: from scratch.
        self.preload = tuple(preload)
        self._proc: subprocess.Popen | None = None  # the child, when we started it
        self._pid: int | None = None
        self._channel: socket.socket | None = None
        self._workdir: str | None = None  # the child's working directory, when we started it
        self._owner = os.getpid()
        #: Games opened or run by the current child (used to recycle it, see the module notes).
        self.opens = 0
        #: Requests sent by this handle (a change means the engine's state may have moved).
        self.requests = 0

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
        return not _gone(self._pid)

    @property
    def pid(self) -> int | None:
        """The child's process id (None when there is none)."""
        return self._pid

    @property
    def owned(self) -> bool:
        """False in a forked copy of the process that started the child (not ours to use)."""
        return self._owner == os.getpid()

    def call(self, request: tuple, timeout_s: float) -> Any:
        """Send ``request`` and wait at most ``timeout_s`` seconds for the answer."""
        if not self.owned:
            raise EngineFailure("the engine process belongs to the parent of a fork", "crash")
        if self._channel is None:
            self._start()
        assert self._channel is not None
        self.requests += 1
        try:
            write_message(self._channel.fileno(), request)
            status, payload = read_message(self._channel.fileno(), time.monotonic() + timeout_s)
        except TimeoutError:
            self.close()
            raise EngineFailure(f"no answer within {timeout_s:g} s", "timeout") from None
        except (OSError, EOFError, pickle.UnpicklingError, struct.error, ValueError):
            code = self._proc.poll() if self._proc is not None else None
            self.close()
            raise EngineFailure(f"the engine process stopped (exit code {code})", "crash") from None
        if request[0] in ("open", "run"):  # each may load an engine library
            self.opens += 1
        if status == "error":
            raise EngineFailure(payload, "error")
        return payload

    def fork(self, timeout_s: float) -> EngineProcess:
        """A new ``EngineProcess`` whose child is an ``os.fork()`` copy of this one's.

        The copy holds the same engine in the same state (nothing is replayed) and lives
        in a process group of its own; it exits when its owner (this process) does.
        Raises :class:`EngineFailure` when there is no child or it does not answer.
        """
        if not self.owned or self._channel is None:
            raise EngineFailure("there is no engine process of ours to fork", "crash")
        ours, theirs = socket.socketpair()
        deadline = time.monotonic() + timeout_s
        try:
            write_message(self._channel.fileno(), ("fork",))
            socket.send_fds(self._channel, [b"F"], [theirs.fileno()])
            theirs.close()
            status, payload = read_message(self._channel.fileno(), deadline)
        except TimeoutError:
            ours.close()
            self.close()
            raise EngineFailure(f"no answer to a fork within {timeout_s:g} s", "timeout") from None
        except (OSError, EOFError, pickle.UnpicklingError, struct.error, ValueError):
            ours.close()
            self.close()
            raise EngineFailure("the engine process stopped while forking", "crash") from None
        finally:
            theirs.close()
        if status == "error":
            ours.close()
            raise EngineFailure(payload, "error")
        twin = EngineProcess()
        twin._channel, twin._pid, twin.opens = ours, int(payload), self.opens
        return twin

    def close(self) -> None:
        """Stop the child (and everything it started) at once; safe to call twice."""
        proc, pid, channel = self._proc, self._pid, self._channel
        self._proc = self._pid = self._channel = None
        self.opens = 0
        workdir, self._workdir = self._workdir, None
        if channel is None:
            return
        if self.owned and pid is not None:  # a forked copy leaves the parent's child alone
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            if proc is not None:
                proc.wait()
            else:  # a copy is not our child: its parent (or the template) reaps it
                _wait_gone(pid, _KILL_WAIT_S)
        channel.close()
        if workdir is not None:  # after the kill: no engine writes into it any more
            shutil.rmtree(workdir, ignore_errors=True)

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finalizer
            self.close()

    def _start(self) -> None:
        if self.preload:
            from agent_envs.textgames.engine_templates import fork_template

            try:
                copy = fork_template(self.preload)
            except EngineFailure:
                pass  # no template: start a fresh interpreter below
            else:  # adopt the copy's child
                self._channel, self._pid, self.opens = copy._channel, copy._pid, 0
                copy._channel = copy._pid = None
                return
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        ours, theirs = socket.socketpair()
        # the engines' working directory is ours, not the user's: whatever an engine
        # writes by a relative path lands there and is removed by close()
        self._workdir = tempfile.mkdtemp(prefix="agent-envs-engine-")
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "agent_envs.textgames.engine_server", str(theirs.fileno())],
                cwd=self._workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,  # a timeout kills the whole group
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._channel, self._pid, self.opens = ours, self._proc.pid, 0


# ---------------------------------------------------------------------- a test engine
class _EchoEngine:
    """A trivial engine for the doctest: it repeats the command."""

    def reset(self) -> dict:
        return {"feedback": "ready", "admissible_commands": ["hi"]}

    def step(self, command: str) -> tuple[dict, int, bool]:
        return {"feedback": f"you said {command}", "admissible_commands": ["hi"]}, 0, False

    def close(self) -> None:
        pass


def echo_engine() -> _EchoEngine:
    """Open the echo engine (used by examples and tests of the process plumbing).

    Example:
        >>> echo_engine().step("x")[0]["feedback"]
        'you said x'
    """
    return _EchoEngine()
