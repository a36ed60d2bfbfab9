"""The child side of :class:`~agent_envs.textgames.engine_process.EngineProcess`.

:class:`EngineHandler` is the handler a :mod:`agent_envs.core.child_server` runs for the
text games: it hosts one engine at a time and answers ``["open", "module:function",
kwargs]`` (the function returns the engine: an object with ``reset()``, ``step(command)``
and ``close()``, such as a ``textworld`` environment), ``["reset"]``, ``["step", command]``
(both answer the :data:`STATE_KEYS` the environments read, as plain values) and ``["run",
"module:function", kwargs]`` (any other engine work; its JSON result comes back). Forking
and warm templates are the child server's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from agent_envs.core.child_server import load_object

__all__ = ["EngineHandler", "STATE_KEYS"]

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


def _plain(state: Any) -> dict[str, Any]:
    return {key: state.get(key) for key in STATE_KEYS if state.get(key) is not None}


class EngineHandler:
    """Host one game engine in a child process and answer the environments' requests.

    Example:
        >>> handler = EngineHandler()
        >>> opener = "agent_envs.textgames.engine_process:echo_engine"
        >>> handler.handle(["open", opener, {}], print)
        >>> handler.handle(["step", "hi"], print)["feedback"]
        'you said hi'
    """

    def __init__(self) -> None:
        self.engine: Any = None

    def handle(self, request: list, notify: Callable[[Any], None]) -> Any:
        """Answer one request (see the module notes); raises on an unknown one."""
        op = request[0]
        if op == "open":
            if self.engine is not None:
                self.engine.close()
                self.engine = None
            self.engine = load_object(request[1])(**request[2])
            return None
        if op == "reset":
            return _plain(self.engine.reset())
        if op == "step":
            return _plain(self.engine.step(request[1])[0])
        if op == "run":  # any other engine work, e.g. checking a generated game
            return load_object(request[1])(**request[2])
        raise ValueError(f"unknown request {op!r}")
