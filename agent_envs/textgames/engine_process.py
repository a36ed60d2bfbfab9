"""A text-game engine in a supervised child process: every engine call has a time limit.

The TextWorld and ALFWorld engines run C code (a Z-machine interpreter, the Fast
Downward library) that Python cannot interrupt from inside the process, so each
environment plays through one child process
(:class:`~agent_envs.core.child_process.ChildProcess`, serving
:class:`~agent_envs.textgames.engine_server.EngineHandler`). A call that does not answer
in time, or a child that dies, kills the child (and anything it started) and raises
:class:`EngineFailure`; the environment then starts a fresh child and replays the episode.
The child also isolates the engines' process-wide side effects (``fast_downward``
rewrites ``sys.argv`` and swaps ``sys.stdout`` while translating, and leaks one copy of
its 33 MB library per game opened, which is freed when the child is recycled).

:meth:`EngineProcess.fork` copies a running child with ``os.fork()`` (inside the child):
the copy holds the engine exactly as it was, so forking an environment costs a few
milliseconds instead of a fresh interpreter and a replay. Requests and answers are
JSON frames (:mod:`agent_envs.core.frames`): tuples arrive as lists.
"""

from __future__ import annotations

from typing import Any

from agent_envs.core.child_process import ChildFailure, ChildProcess
from agent_envs.textgames.engine_server import STATE_KEYS

__all__ = ["EngineProcess", "EngineFailure", "ENGINE_HANDLER", "STATE_KEYS", "echo_engine"]

#: The handler an engine child serves.
ENGINE_HANDLER = "agent_envs.textgames.engine_server:EngineHandler"
#: An engine call failed: ``kind`` is ``"timeout"``, ``"crash"`` or ``"error"``.
EngineFailure = ChildFailure


class EngineProcess(ChildProcess):
    """One child process hosting one game engine at a time, with a time limit per call.

    :meth:`call` sends ``("open", "module:function", kwargs)`` (the function returns a
    ``textworld`` environment), ``("reset",)``, ``("step", command)`` or ``("run",
    "module:function", kwargs)`` (any other engine work; its JSON result comes back)
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
        super().__init__(ENGINE_HANDLER)
        #: Modules the child should have imported: it is then forked from a warm template
        #: that imported them (:mod:`~agent_envs.textgames.engine_templates`), not started
        #: from scratch.
        self.preload = tuple(preload)
        #: Games opened or run by the current child (used to recycle it, see the module notes).
        self.opens = 0

    def start(self) -> None:
        """Start the child: a copy of the warm template when ``preload`` names modules."""
        self.opens = 0
        if self.preload:
            from agent_envs.textgames.engine_templates import fork_template

            try:
                copy = fork_template(self.preload)
            except ChildFailure:
                pass  # no template: start a fresh interpreter below
            else:  # adopt the copy's child
                self.close()
                self._channel, self._pid, self.requests = copy._channel, copy._pid, 0
                copy._channel = copy._pid = None
                return
        super().start()

    def call(self, request: tuple | list, timeout_s: float) -> Any:
        """Send ``request`` and wait at most ``timeout_s`` seconds for the answer."""
        counts = request[0] in ("open", "run")  # each may load an engine library
        try:
            answer = super().call(list(request), timeout_s)
        except ChildFailure as failure:
            if failure.kind == "error" and counts:
                self.opens += 1
            raise
        if counts:
            self.opens += 1
        return answer

    def fork(self, timeout_s: float) -> EngineProcess:
        """A new ``EngineProcess`` whose child is an ``os.fork()`` copy of this one's."""
        copy = super().fork(timeout_s)
        twin = EngineProcess(self.preload)
        twin._channel, twin._pid, twin.opens = copy._channel, copy._pid, self.opens
        copy._channel = copy._pid = None
        return twin


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
