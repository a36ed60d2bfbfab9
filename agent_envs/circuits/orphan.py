"""Parent-death exit for supervised worker processes (the ngspice worker uses it).

A worker calls :func:`exit_with_parent` first thing: it then exits as soon as the process
that started it dies, even while its main thread is inside a long C call.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable

__all__ = ["exit_with_parent", "parent_argument"]

_PR_SET_PDEATHSIG = 1
_DEATH_SIGNAL = signal.SIGUSR1


def _ask_for_parent_death_signal() -> bool:
    """Have Linux send ``_DEATH_SIGNAL`` when the parent goes (prctl); False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(_DEATH_SIGNAL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def exit_with_parent(
    remove_workdir: bool, parent: int | None = None, interval: float = 1.0
) -> Callable[[], None]:
    """Die as soon as the supervising process does (even in the middle of a hung run).

    On Linux the kernel signals the worker when its parent dies (``PR_SET_PDEATHSIG``).
    Python's own C-level handler writes the signal to a wakeup pipe whichever thread
    receives it, so a watcher thread blocked on that pipe wakes at once, even while the
    main thread is inside ngspice; as a fallback everywhere, the watcher also checks the
    parent every ``interval`` seconds. The signal also comes when the parent *thread*
    that started the worker ends: the parent is then still there and the worker carries
    on. With ``remove_workdir``, an orphaned worker also deletes its working directory
    (the environment's temp dir, which a killed environment could not remove). Returns
    the check, to call when the request stream ends too.
    """
    import select
    import shutil
    import threading

    parent = os.getppid() if parent is None else parent
    workdir = os.getcwd()

    def orphaned() -> None:
        if os.getppid() != parent:
            if remove_workdir:
                shutil.rmtree(workdir, ignore_errors=True)
            os._exit(0)

    wake: int | None = None
    if threading.current_thread() is threading.main_thread():
        read_end, write_end = os.pipe()
        os.set_blocking(write_end, False)
        signal.signal(_DEATH_SIGNAL, lambda *_: None)  # the C handler fills the pipe
        signal.set_wakeup_fd(write_end)
        if _ask_for_parent_death_signal():
            wake = read_end

    def watch() -> None:
        while True:
            if wake is not None:
                if select.select([wake], [], [], interval)[0]:
                    os.read(wake, 512)
            else:
                time.sleep(interval)
            orphaned()

    orphaned()  # the parent may have gone before the signal was asked for
    threading.Thread(target=watch, daemon=True).start()
    return orphaned


def parent_argument(argv: list[str]) -> int | None:
    """The pid after ``--parent`` in a command line (None when absent or not a number).

    Example:
        >>> parent_argument(["x", "--parent", "42"]), parent_argument(["x"])
        (42, None)
    """
    if "--parent" in argv[:-1]:
        with contextlib.suppress(ValueError):
            return int(argv[argv.index("--parent") + 1])
    return None
