"""Sandbox helpers shared by the sandbox and math tests: small limits, starting or skipping, leftovers.

The fixtures built on them (``process_baseline``, ``safe_host``) live in the conftest files.
"""

from __future__ import annotations

import os
import time

import pytest

from agent_envs.sandbox import IsolationError, Sandbox, SandboxError, SandboxLimits
from agent_envs.sandbox.process import descendants, sandbox_uid_processes

__all__ = [
    "descendants",
    "leftover_processes",
    "level_or_skip_reason",
    "probe_safe_level",
    "record_process_baseline",
    "SMALL_LIMITS",
    "start_or_skip",
]

# Children of the test process that existed before the current test (multiprocessing's
# resource tracker, Ray, an async vector env's workers of an earlier test...): not leftovers.
_baseline: set[int] = set()


def record_process_baseline() -> None:
    """Remember this process's children now: ``leftover_processes`` ignores them.

    The ``process_baseline`` fixture (``tests/conftest.py``) calls it before each test.
    """
    _baseline.clear()
    _baseline.update(descendants(os.getpid()))


#: Small limits keep the attack matrix fast.
SMALL_LIMITS = SandboxLimits(
    wall_time=1.5,
    cpu_time=20,
    memory_mb=384,
    output_bytes=4096,
    output_kill_bytes=2 * 1024 * 1024,
    file_size_mb=8,
    nproc=48,
    open_files=64,
    kill_grace=1.0,
)


def leftover_processes(uids: list[int], grace: float = 3.0) -> list[str]:
    """Processes still running as any of the sandbox uids, or below this process.

    Waits up to ``grace`` seconds: the kernel tears a killed pid namespace down
    asynchronously. Returns a description of each survivor.
    """
    deadline = time.monotonic() + grace
    while True:
        pids = [p for uid in uids for p in sandbox_uid_processes(uid)]
        pids += [p for p in descendants(os.getpid()) if p not in _baseline]
        if not pids or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    return [_describe(p) for p in pids]


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ")[:120].decode(errors="replace")
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()[:80]
    except OSError:
        return f"{pid} (gone)"
    return f"{pid}: {cmd} [{stat}]"


def level_or_skip_reason(level: str) -> str:
    """ "" when ``level`` works on this host, else why not (used as a skip reason)."""
    try:
        with Sandbox(SMALL_LIMITS, isolation=level):
            return ""
    except SandboxError as exc:
        return f"host lacks isolation level {level!r}: {exc}"[:300]


def start_or_skip(limits: SandboxLimits = SMALL_LIMITS, **kwargs) -> Sandbox:
    """A started sandbox at the default (safe) levels; skip the test where the host has none.

    The refusal itself is tested on its own (``test_sandbox_hardening``).
    """
    try:
        return Sandbox(limits, **kwargs).start()
    except IsolationError as exc:
        pytest.skip(f"host offers no safe isolation level: {str(exc)[:200]}")


def probe_safe_level() -> str:
    """The safe isolation level a default sandbox gets here, or ``"none: <why>"``."""
    try:
        with Sandbox(SMALL_LIMITS) as box:
            return box.isolation or ""
    except IsolationError as exc:
        return "none: " + str(exc)[:200]
