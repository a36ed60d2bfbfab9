"""A text-game engine in a supervised child process: every engine call has a time limit.

The TextWorld and ALFWorld engines run C code (a Z-machine interpreter, the Fast
Downward library) that Python cannot interrupt from inside the process, so each
environment plays through one child process. A call that does not answer in time, or a
child that dies, kills the child (and anything it started) and raises
:class:`EngineFailure`; the environment then starts a fresh child and replays the episode.
The child also isolates the engines' process-wide side effects (``fast_downward``
rewrites ``sys.argv`` and swaps ``sys.stdout`` while translating, and leaks one copy of
its 33 MB library per game opened, which is freed when the child is recycled).

Messages are length-prefixed pickles over the child's stdin/stdout; only plain values
travel (the parts of the game state the environments read), which keeps a step's
overhead to a pipe round trip.

Run as a program, this module is the child: ``python -m agent_envs.textgames.engine_process``.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["EngineProcess", "EngineFailure", "STATE_KEYS"]

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


def _write_message(fd: int, message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view) :]


def _read_message(fd: int, deadline: float | None = None) -> Any:
    (size,) = _HEADER.unpack(_read_exact(fd, _HEADER.size, deadline))
    return pickle.loads(_read_exact(fd, size, deadline))


class EngineProcess:
    """One child process hosting one game engine at a time, with a time limit per call.

    :meth:`call` sends ``("open", "module:function", kwargs)`` (the function returns a
    ``textworld`` environment), ``("reset",)``, ``("step", command)`` or ``("run",
    "module:function", kwargs)`` (any other engine work; its picklable result comes back)
    and returns the child's answer (a dict of :data:`STATE_KEYS` for reset and step). The child starts on
    the first call; after a failure it is gone and the next call starts a new one.

    Example:
        >>> engine = EngineProcess()
        >>> engine.call(("open", "agent_envs.textgames.engine_process:echo_engine", {}), 60)
        >>> engine.call(("reset",), 10)["feedback"], engine.call(("step", "hi"), 10)["feedback"]
        ('ready', 'you said hi')
        >>> engine.close(); engine.alive
        False
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._owner = os.getpid()
        #: Games opened or run by the current child (used to recycle it, see the module notes).
        self.opens = 0

    @property
    def alive(self) -> bool:
        """Whether a child is running."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The child's process id (None when there is none)."""
        return None if self._proc is None else self._proc.pid

    @property
    def owned(self) -> bool:
        """False in a forked copy of the process that started the child (not ours to use)."""
        return self._owner == os.getpid()

    def call(self, request: tuple, timeout_s: float) -> Any:
        """Send ``request`` and wait at most ``timeout_s`` seconds for the answer."""
        if not self.owned:
            raise EngineFailure("the engine process belongs to the parent of a fork", "crash")
        if self._proc is None:
            self._start()
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        try:
            _write_message(self._proc.stdin.fileno(), request)
            status, payload = _read_message(
                self._proc.stdout.fileno(), time.monotonic() + timeout_s
            )
        except TimeoutError:
            self.close()
            raise EngineFailure(f"no answer within {timeout_s:g} s", "timeout") from None
        except (OSError, EOFError, pickle.UnpicklingError, struct.error, ValueError):
            code = self._proc.poll()
            self.close()
            raise EngineFailure(f"the engine process stopped (exit code {code})", "crash") from None
        if request[0] in ("open", "run"):  # each may load an engine library
            self.opens += 1
        if status == "error":
            raise EngineFailure(payload, "error")
        return payload

    def close(self) -> None:
        """Stop the child (and everything it started) at once; safe to call twice."""
        proc, self._proc, self.opens = self._proc, None, 0
        if proc is None or not self.owned:  # a forked copy leaves the parent's child alone
            return
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                proc.kill()
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            if pipe is not None:
                pipe.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finalizer
            self.close()

    def _start(self) -> None:
        env = dict(os.environ)
        package_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_root, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "agent_envs.textgames.engine_process"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            bufsize=0,
            start_new_session=True,  # a timeout kills the whole group
        )
        self.opens = 0


# ---------------------------------------------------------------------- the child side
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


def _plain(state: Any) -> dict[str, Any]:
    return {key: state.get(key) for key in STATE_KEYS if state.get(key) is not None}


def _exit_when_orphaned(parent: int) -> None:
    # A hung engine never reads its stdin again: watch the parent from a thread instead.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _serve() -> None:
    replies = os.dup(1)
    os.dup2(2, 1)  # whatever the engines print must not mix with the replies
    threading.Thread(target=_exit_when_orphaned, args=(os.getppid(),), daemon=True).start()
    engine: Any = None
    hang_s = 0.0
    while True:
        try:
            request = _read_message(0)
        except (EOFError, OSError):
            return
        op = request[0]
        try:
            payload: Any = None
            if op == "open":
                if engine is not None:
                    engine.close()
                    engine = None
                module, _, name = request[1].partition(":")
                engine = getattr(importlib.import_module(module), name)(**request[2])
            elif op == "reset":
                payload = _plain(engine.reset())
            elif op == "step":
                if hang_s:  # test hook: this step hangs like a stuck engine
                    time.sleep(hang_s)
                    hang_s = 0.0
                payload = _plain(engine.step(request[1])[0])
            elif op == "run":  # any other engine work, e.g. checking a generated game
                module, _, name = request[1].partition(":")
                payload = getattr(importlib.import_module(module), name)(**request[2])
            elif op == "hang_next_step":
                hang_s = float(request[1])
            else:
                raise ValueError(f"unknown request {op!r}")
            reply = ("ok", payload)
        except Exception as exc:  # the engine raised: report it, keep serving
            reply = ("error", f"{type(exc).__name__}: {exc}")
        _write_message(replies, reply)


if __name__ == "__main__":
    _serve()
