"""``SandboxPool``: sandboxes started ahead of time, so an episode starts without waiting."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from agent_envs.sandbox.sandbox import Sandbox, SandboxError

__all__ = ["SandboxPool"]


class SandboxPool:
    """Keeps ``size`` fresh, started sandboxes ready; :meth:`acquire` hands one over.

    A background thread refills the pool (``refill=False``: fills it once, for a caller
    that then keeps its sandbox and calls :meth:`Sandbox.reset` between episodes, which
    recycles the session in milliseconds). A sandbox handed out is never handed out
    again. ``close()`` stops the thread and kills the sandboxes still waiting.

    Example:
        >>> from agent_envs.sandbox import SandboxLimits
        >>> with SandboxPool(1, limits=SandboxLimits(wall_time=5)) as pool:
        ...     box = pool.acquire()
        ...     print(box.run("1 + 1").output.strip())
        ...     box.close()
        2
    """

    def __init__(self, size: int = 1, *, refill: bool = True, **sandbox_kwargs: Any) -> None:
        if not isinstance(size, int) or size < 0:
            raise ValueError(f"size must be a non-negative int, got {size!r}")
        self.size, self.refill = size, bool(refill)
        self._started = 0
        self._kwargs = sandbox_kwargs
        Sandbox(**sandbox_kwargs)  # validate the keywords now, in the caller's thread
        self._ready: list[Sandbox] = []
        self._cond = threading.Condition()
        self._closed = False
        self._thread: threading.Thread | None = None
        if size:
            self._thread = threading.Thread(target=self._refill, name="sandbox-pool", daemon=True)
            self._thread.start()

    def _refill(self) -> None:
        failures = 0
        while True:
            with self._cond:
                while not self._closed and len(self._ready) >= self.size:
                    self._cond.wait()
                if self._closed or (not self.refill and self._started >= self.size):
                    return
                self._started += 1
            box = Sandbox(**self._kwargs)
            try:
                box.start()
            except SandboxError:
                box.close()
                failures += 1
                if failures >= 3:  # acquire() will start one itself and raise the error
                    return
                continue
            failures = 0
            with self._cond:
                if self._closed:
                    box.close()
                    return
                self._ready.append(box)
                self._cond.notify_all()

    def wait_ready(self, timeout: float = 30.0) -> bool:
        """Block until the pool is full (or ``timeout`` passes); return whether it is."""
        with self._cond:
            return (
                self._cond.wait_for(lambda: self._closed or len(self._ready) >= self.size, timeout)
                and not self._closed
            )

    def acquire(self) -> Sandbox:
        """Return a started sandbox (from the pool if one is ready); the caller closes it."""
        with self._cond:
            if self._closed:
                raise SandboxError("the pool is closed")
            box = self._ready.pop() if self._ready else None
            self._cond.notify_all()
        if box is None:
            box = Sandbox(**self._kwargs).start()
        return box

    def close(self) -> None:
        """Stop refilling and kill the waiting sandboxes (idempotent)."""
        with self._cond:
            self._closed = True
            ready, self._ready = self._ready, []
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=30)
        for box in ready:
            box.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
