"""``Sandbox``: a persistent, isolated Python session that runs cells of untrusted code."""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
import time
from dataclasses import dataclass

from agent_envs.sandbox.isolation import ISOLATION_LEVELS, isolation_rank
from agent_envs.sandbox.limits import SandboxLimits
from agent_envs.sandbox.process import LevelUnavailable, WorkerProcess

__all__ = ["Sandbox", "CellResult", "SandboxError", "IsolationError", "available_isolation"]

# Levels this process found unusable (with why) or usable; probed once per process.
_UNAVAILABLE: dict[str, str] = {}
_WORKING: set[str] = set()
_LEVEL_LOCK = threading.Lock()


class SandboxError(RuntimeError):
    """The sandbox could not do what was asked (e.g. start a worker)."""


class IsolationError(SandboxError):
    """No isolation level at least as strong as ``min_isolation`` works on this host."""


@dataclass
class CellResult:
    """What running one cell produced.

    ``output`` is stdout and stderr interleaved (invalid UTF-8 replaced), at most
    ``output_bytes`` of it; ``error`` the program's exception, or why the session was
    killed; ``restarted`` means the session was killed and its variables are gone.
    """

    output: str
    error: str | None
    ok: bool
    timed_out: bool = False
    restarted: bool = False
    output_truncated: bool = False
    output_bytes: int = 0
    seconds: float = 0.0


class Sandbox:
    """A Python session in an isolated worker process; state persists across cells.

    ``isolation="auto"`` picks the strongest level that works here (see
    :data:`~agent_envs.sandbox.isolation.ISOLATION_LEVELS`), checked by the worker's
    observed facts; ``min_isolation`` fails closed with :class:`IsolationError`. A cell
    that times out, crashes the interpreter or floods the output gets its whole process
    tree killed; the next cell starts a fresh session. ``close()`` kills everything and
    removes the working directory.

    Example:
        >>> with Sandbox(SandboxLimits(wall_time=5)) as box:
        ...     _ = box.run("x = 6 * 7")
        ...     result = box.run("print(x)")
        >>> result.output, result.ok
        ('42\\n', True)
    """

    def __init__(
        self,
        limits: SandboxLimits | None = None,
        *,
        isolation: str = "auto",
        min_isolation: str | None = None,
    ) -> None:
        if limits is not None and not isinstance(limits, SandboxLimits):
            raise TypeError(f"limits must be a SandboxLimits, got {type(limits).__name__}")
        if isolation != "auto":
            isolation_rank(isolation)
        floor = isolation_rank(min_isolation) if min_isolation is not None else 0
        self.limits = limits or SandboxLimits()
        self.isolation_request = isolation
        self.min_isolation = min_isolation
        levels = ISOLATION_LEVELS if isolation == "auto" else (isolation,)
        self._levels = [lvl for lvl in levels if isolation_rank(lvl) >= floor]
        if not self._levels:
            raise ValueError(f"isolation={isolation!r} is weaker than {min_isolation=!r}")
        self._worker: WorkerProcess | None = None
        self._seq = 0
        self._closed = False
        self.isolation: str | None = None  # the level in use, once started
        self.restarts = 0

    # ----------------------------------------------------------------- lifecycle
    def start(self) -> Sandbox:
        """Start the worker now (otherwise the first :meth:`run` does)."""
        if self._closed:
            raise SandboxError("the sandbox is closed")
        if self._worker is None:
            self._worker = self._launch()
            self.isolation = self._worker.level
        return self

    def _launch(self) -> WorkerProcess:
        reasons = []
        for level in self._levels:
            with _LEVEL_LOCK:
                known_bad = _UNAVAILABLE.get(level)
            if known_bad:
                reasons.append(f"{level}: {known_bad}")
                continue
            try:
                worker = WorkerProcess(level, self.limits)
            except LevelUnavailable as exc:
                with _LEVEL_LOCK:
                    if level in _WORKING:  # it worked before: a transient failure
                        raise SandboxError(f"{level} worker failed to start: {exc}") from exc
                    _UNAVAILABLE[level] = str(exc)
                reasons.append(f"{level}: {exc}")
                continue
            with _LEVEL_LOCK:
                _WORKING.add(level)
            return worker
        raise IsolationError(
            "no usable isolation level"
            + (f" at least as strong as {self.min_isolation!r}" if self.min_isolation else "")
            + ": "
            + " | ".join(reasons)
        )

    def close(self) -> None:
        """Kill the session's process tree and remove its workdir (idempotent)."""
        self._closed = True
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.kill()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()

    def alive(self) -> bool:
        """Whether a worker is started and still running (a dead one restarts on ``run``)."""
        return self._worker is not None and self._worker.alive()

    @property
    def worker_uid(self) -> int | None:
        """The uid the current worker runs as on the host (None when not started as root)."""
        return self._worker.uid if self._worker is not None else None

    @property
    def facts(self) -> dict:
        """What the current worker observed about its isolation at start."""
        return dict(self._worker.facts) if self._worker is not None else {}

    # ----------------------------------------------------------------------- run
    def run(self, code: str, wall_time: float | None = None) -> CellResult:
        """Run one cell; never raises for anything the code does.

        ``wall_time`` overrides ``limits.wall_time`` for this cell.
        """
        started = time.monotonic()
        wall = float(wall_time) if wall_time is not None else self.limits.wall_time
        if not wall > 0:
            raise ValueError(f"wall_time must be positive, got {wall_time!r}")
        worker = self.start()._worker
        assert worker is not None
        self._discard_stale_output(worker)
        self._seq += 1
        limits = self.limits
        output, total = bytearray(), 0
        result: dict | None = None
        failure = ""
        try:
            worker.send({"op": "exec", "seq": self._seq, "code": str(code), "wall": wall})
        except (OSError, TimeoutError):
            failure = "died"
        deadline = started + wall + limits.kill_grace
        with selectors.DefaultSelector() as sel:
            sel.register(worker.out_r, selectors.EVENT_READ)
            sel.register(worker.frame_r, selectors.EVENT_READ)
            while result is None and not failure:
                left = deadline - time.monotonic()
                if left <= 0:
                    failure = "timeout"
                    break
                events = sel.select(min(left, 0.25))
                if not events and not worker.alive():
                    failure = "died"
                for key, _ in events:
                    try:
                        chunk = os.read(key.fd, 65536)
                    except BlockingIOError:
                        continue
                    if key.fd == worker.out_r:
                        if not chunk:
                            sel.unregister(worker.out_r)
                            continue
                        total += len(chunk)
                        output += chunk[: max(0, limits.output_bytes - len(output))]
                        if total > limits.output_kill_bytes:
                            failure = "flood"
                    elif not chunk:
                        failure = "died"
                    else:
                        result, failure = self._accept(worker, chunk)
        if result is not None:
            total += self._drain_into(worker, output)
        return self._finish(worker, started, output, total, result, failure, wall)

    def _accept(self, worker: WorkerProcess, chunk: bytes) -> tuple[dict | None, str]:
        try:
            frames = worker.frames.feed(chunk)
        except ValueError:
            return None, "protocol"
        for frame in frames:
            if frame.get("token") != worker.token:
                return None, "protocol"
            if frame.get("kind") == "result" and frame.get("seq") == self._seq:
                if frame.get("children"):  # e.g. a fork bomb: interrupting one is not enough
                    return None, "orphans"
                return frame, ""
        return None, ""

    def _finish(self, worker, started, output, total, result, failure, wall) -> CellResult:
        limits = self.limits
        text = output.decode("utf-8", errors="replace")
        truncated = total > len(output)
        if truncated:
            text += f"\n[output truncated: {total} bytes produced, {len(output)} shown]"
        if failure:
            status = worker.proc.poll() if worker.proc is not None else None
            messages = {
                "timeout": f"TimeoutError: the cell did not stop within {wall:g} s",
                "died": f"the Python process ended (exit status {status})",
                "flood": f"the cell wrote more than {limits.output_kill_bytes} bytes of output",
                "protocol": "the worker broke the result protocol",
                "orphans": "TimeoutError: the cell ran past its time limit and left processes running",
            }
            self._worker = None
            worker.kill()
            self.restarts += 1
            error = messages[failure] + "; the session was restarted and its variables are lost"
            return CellResult(
                text, error, False, failure in ("timeout", "orphans"), True, truncated, total,
                time.monotonic() - started,
            )  # fmt: skip
        assert result is not None
        error = result.get("error")
        error = error if isinstance(error, str) else None
        timed_out = bool(error and error.startswith("TimeoutError: the cell ran past"))
        return CellResult(
            text, error, error is None, timed_out, False, truncated, total,
            time.monotonic() - started,
        )  # fmt: skip

    def _drain_into(self, worker: WorkerProcess, output: bytearray) -> int:
        """Read what the cell wrote before its result frame; return the byte count."""
        total = 0
        while total < self.limits.output_kill_bytes:
            try:
                chunk = os.read(worker.out_r, 65536)
            except BlockingIOError:
                break
            if not chunk:
                break
            total += len(chunk)
            output += chunk[: max(0, self.limits.output_bytes - len(output))]
        return total

    def _discard_stale_output(self, worker: WorkerProcess) -> None:
        # output of threads or processes left running by earlier cells is not this cell's
        self._drain_into(worker, bytearray())


def available_isolation() -> str:
    """Start (and close) a probe sandbox; return the strongest level that works here.

    Example:
        >>> available_isolation() in ISOLATION_LEVELS
        True
    """
    with Sandbox(SandboxLimits(wall_time=5)) as box:
        return box.isolation or ""
