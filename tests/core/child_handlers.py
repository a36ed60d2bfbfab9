"""Test-only handlers a child server imports by name (``tests.core.child_handlers:...``).

They live here, not in the package: production children have no hooks for tests.
"""

from __future__ import annotations

import os
import time
from typing import Any


class SleepHandler:
    """``["echo", v]`` answers ``v``; ``["sleep", s]`` blocks ``s`` seconds (a hung call);
    ``["notes", n]`` sends ``n`` notes then answers; ``["exit", code]`` ends the process;
    ``["cwd"]`` answers the working directory."""

    def handle(self, request: list, notify) -> Any:
        op = request[0]
        if op == "echo":
            return request[1]
        if op == "sleep":
            time.sleep(float(request[1]))
            return "slept"
        if op == "notes":
            for i in range(int(request[1])):
                notify({"i": i})
            return "done"
        if op == "exit":
            os._exit(int(request[1]))
        if op == "cwd":
            return os.getcwd()
        if op == "unjsonable":
            return object()
        raise ValueError(f"unknown request {op!r}")
