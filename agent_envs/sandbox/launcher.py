"""The one long-lived thread that forks every sandbox worker.

Linux delivers the parent-death signal (bubblewrap's ``--die-with-parent``, the
worker's ``PR_SET_PDEATHSIG``) when the *thread* that forked the child exits, not the
process. Forking every worker from one daemon thread that lives as long as the process
means a sandbox started in a short-lived thread survives that thread, and still dies
with the process.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Callable

__all__ = ["in_launcher"]

_launch_lock = threading.Lock()
_launch_queue: queue.SimpleQueue | None = None
_launch_pid = -1


def _after_fork_in_child() -> None:
    # the thread does not exist in a forked child, and the lock may have been held
    global _launch_lock, _launch_queue
    _launch_lock, _launch_queue = threading.Lock(), None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _launcher_loop(jobs: queue.SimpleQueue) -> None:
    while True:
        func, box = jobs.get()
        try:
            box.put((True, func()))
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            box.put((False, exc))


def in_launcher(func: Callable[[], subprocess.Popen]) -> subprocess.Popen:
    """Run ``func`` (which starts a process) in the launcher thread; return its result.

    Example:
        >>> import sys
        >>> proc = in_launcher(lambda: subprocess.Popen([sys.executable, "-c", "pass"]))
        >>> proc.wait()
        0
    """
    global _launch_queue, _launch_pid
    with _launch_lock:
        if _launch_queue is None or _launch_pid != os.getpid():  # new, or after fork()
            _launch_queue, _launch_pid = queue.SimpleQueue(), os.getpid()
            threading.Thread(
                target=_launcher_loop, args=(_launch_queue,), name="sandbox-launcher", daemon=True
            ).start()
        jobs = _launch_queue
    box: queue.SimpleQueue = queue.SimpleQueue()
    jobs.put((func, box))
    ok, value = box.get()
    if not ok:
        raise value
    return value
