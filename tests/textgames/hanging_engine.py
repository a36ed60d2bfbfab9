"""A test-only engine wrapper that hangs on demand (imported by name in the engine child).

``open_hanging(opener, kwargs, triggers)`` opens the real engine ``opener(**kwargs)`` and
wraps it: before each ``reset``/``step``, a file named after the call in the folder
``triggers`` makes that call sleep for the number of seconds the file holds (the file is
removed first, so it hangs once). Production engines have no such hook.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from agent_envs.core.child_server import load_object


class HangingEngine:
    """Delegates to ``engine``; hangs once per trigger file (see the module notes)."""

    def __init__(self, engine: Any, triggers: str) -> None:
        self.engine, self.triggers = engine, triggers

    def _maybe_hang(self, call: str) -> None:
        path = os.path.join(self.triggers, call)
        try:
            seconds = float(Path(path).read_text())
            os.remove(path)
        except FileNotFoundError:
            return
        time.sleep(seconds)

    def reset(self) -> Any:
        self._maybe_hang("reset")
        return self.engine.reset()

    def step(self, command: str) -> Any:
        self._maybe_hang("step")
        return self.engine.step(command)

    def close(self) -> None:
        self.engine.close()


def open_hanging(opener: str, kwargs: dict, triggers: str) -> HangingEngine:
    """Open ``opener(**kwargs)`` wrapped in a :class:`HangingEngine`."""
    return HangingEngine(load_object(opener)(**kwargs), triggers)
