"""``Sandbox``: a persistent, isolated Python session that runs cells of untrusted code."""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import threading
import time
import warnings
from dataclasses import dataclass

from agent_envs.sandbox.isolation import (
    DEFAULT_MIN_ISOLATION,
    INSTALL_HINT,
    ISOLATION_LEVELS,
    SAFE_LEVELS,
    isolation_rank,
)
from agent_envs.sandbox.limits import SandboxLimits
from agent_envs.sandbox.process import LevelUnavailable, WorkerProcess, describe_exit

__all__ = [
    "Sandbox",
    "CellResult",
    "SandboxError",
    "IsolationError",
    "InsecureSandboxWarning",
    "available_isolation",
]

_log = logging.getLogger("agent_envs.sandbox")
_WARNED: set[str] = set()
# how often the memory watchdog looks at a running cell (hosts without cgroups)
_WATCH_EVERY = 0.05

# Levels this process found unusable (with why) or usable; probed once per process.
_UNAVAILABLE: dict[str, str] = {}
_WORKING: set[str] = set()
_LEVEL_LOCK = threading.Lock()


class _FrameBufferForAcks:
    """Reads the zygote's notices; returns the exit status of an ended session, if any."""

    def __init__(self) -> None:
        from agent_envs.sandbox.process import FrameBuffer

        self._frames = FrameBuffer()

    def ended_status(self, chunk: bytes) -> int | None:
        try:
            for frame in self._frames.feed(chunk):
                if frame.get("kind") == "ended" and isinstance(frame.get("status"), int):
                    return int(frame["status"])
        except ValueError:
            return -1
        return None


class SandboxError(RuntimeError):
    """The sandbox could not do what was asked (e.g. start a worker)."""


class IsolationError(SandboxError):
    """No isolation level at least as strong as ``min_isolation`` works on this host."""


class InsecureSandboxWarning(UserWarning):
    """A sandbox runs at a level that does not separate users, pids, network and files."""


def _warn_weak(level: str) -> None:
    """Warn loudly, once per process and level, that ``level`` is unsafe."""
    if level in SAFE_LEVELS or level in _WARNED:
        return
    _WARNED.add(level)
    message = (
        f"agent_envs.sandbox runs untrusted code at isolation level {level!r}, which does "
        "NOT isolate it from this host's files, network and processes. You asked for "
        "this explicitly; use it only for code you trust. Install bubblewrap for a safe level."
    )
    _log.warning(message)
    warnings.warn(message, InsecureSandboxWarning, stacklevel=3)


@dataclass
class CellResult:
    """What running one cell produced.

    ``output`` is stdout and stderr interleaved (invalid UTF-8 replaced), at most
    ``output_bytes`` of it; ``error`` the program's exception, or why the session was
    killed; ``restarted`` means the session was killed and its variables are gone
    (``lost_session`` says why when that happened between cells).
    """

    output: str
    error: str | None
    ok: bool
    timed_out: bool = False
    restarted: bool = False
    output_truncated: bool = False
    output_bytes: int = 0
    seconds: float = 0.0
    lost_session: str = ""


class Sandbox:
    """A Python session in an isolated worker process; state persists across cells.

    ``isolation="auto"`` picks the strongest level that works here (see
    :data:`~agent_envs.sandbox.isolation.ISOLATION_LEVELS`), checked by the worker's
    observed facts. It fails closed: unless ``min_isolation`` (or ``isolation``) names
    a weaker level, nothing below ``bwrap`` is used and :class:`IsolationError` says how
    to install bubblewrap; an explicitly chosen weak level warns once
    (:class:`InsecureSandboxWarning`). A cell that times out, crashes the interpreter or
    floods the output gets its whole process tree killed; the next cell starts a fresh
    session. By default (``end_leftovers=True``) processes a cell started are ended when
    the cell ends. ``reset()`` swaps the session for a fresh one in a millisecond;
    ``close()`` kills everything.

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
        end_leftovers: bool = True,
    ) -> None:
        if limits is not None and not isinstance(limits, SandboxLimits):
            raise TypeError(f"limits must be a SandboxLimits, got {type(limits).__name__}")
        if isolation != "auto":
            isolation_rank(isolation)
        if min_isolation is None:  # fail closed unless a weaker level is named explicitly
            min_isolation = DEFAULT_MIN_ISOLATION
            if isolation != "auto" and isolation_rank(isolation) < isolation_rank(min_isolation):
                min_isolation = isolation
        floor = isolation_rank(min_isolation)
        self.end_leftovers = bool(end_leftovers)
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
                worker = WorkerProcess(level, self.limits, end_leftovers=self.end_leftovers)
            except LevelUnavailable as exc:
                with _LEVEL_LOCK:
                    if level in _WORKING:  # it worked before: a transient failure
                        raise SandboxError(f"{level} worker failed to start: {exc}") from exc
                    _UNAVAILABLE[level] = str(exc)
                reasons.append(f"{level}: {exc}")
                continue
            with _LEVEL_LOCK:
                _WORKING.add(level)
            _warn_weak(level)
            return worker
        raise IsolationError(
            f"no usable isolation level at least as strong as {self.min_isolation!r}: "
            + " | ".join(reasons)
            + ". "
            + INSTALL_HINT
        )

    def reset(self) -> Sandbox:
        """Replace the session by a fresh one: every process ended, every file removed.

        Reuses the sandbox's namespaces (a new interpreter is forked from the pristine
        zygote: a few milliseconds); starts a new sandbox when that is not possible.

        Example:
            >>> with Sandbox(SandboxLimits(wall_time=5)) as box:
            ...     _ = box.run("x = 1; open('f', 'w').write('a')")
            ...     _ = box.reset()
            ...     print(box.run("import os; print('x' in dir(), os.listdir('.'))").output)
            False []
            <BLANKLINE>
        """
        if self._closed:
            raise SandboxError("the sandbox is closed")
        worker = self._worker
        if worker is not None and worker.recycle():
            self._seq = 0
            return self
        self._worker = None
        if worker is not None:
            worker.kill()
        return self.start()

    @property
    def enforced_limits(self) -> dict[str, str]:
        """Which limits hold for the whole session here, and by what mechanism.

        Example:
            >>> with Sandbox(SandboxLimits(wall_time=5)) as box:
            ...     sorted(box.enforced_limits)
            ['cpu', 'disk', 'memory', 'processes', 'wall_time']
        """
        worker, limits = self._worker, self.limits
        if worker is None:
            return {}
        if worker.uid is not None or (worker.bwrap and os.getuid() != 0):
            processes = f"{limits.nproc} for the session (RLIMIT_NPROC of its own uid)"
        elif os.getuid() == 0:
            processes = "none: the session runs as root, which RLIMIT_NPROC does not bind"
        else:
            processes = f"{limits.nproc} for the caller's whole uid (RLIMIT_NPROC): not per session"
        out = {
            "memory": f"{limits.memory_mb} MiB per process (RLIMIT_AS); the session is ended "
            f"when its processes together hold more (watchdog, every {_WATCH_EVERY * 1000:g} ms)",
            "processes": processes,
            "cpu": f"{limits.cpu_time} s of CPU per process (RLIMIT_CPU)",
            "wall_time": f"{limits.wall_time:g} s per cell; leftover processes "
            + ("ended when the cell ends" if self.end_leftovers else "kept"),
            "disk": f"tmpfs: /sandbox {limits.disk_mb} MiB, /tmp {limits.tmpfs_mb} MiB, "
            f"/dev/shm {limits.tmpfs_mb} MiB (the whole session)"
            if worker.bwrap
            else f"{limits.file_size_mb} MiB per file (RLIMIT_FSIZE) on the host disk: no quota",
        }
        if worker.cgroup is not None:
            out.update(worker.cgroup.describe())
        return out

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
        lost = self._lost_between_cells(worker)
        if lost:
            worker = self.start()._worker
            assert worker is not None
        self._discard_stale_output(worker)
        self._seq += 1
        limits = self.limits
        output, total = bytearray(), 0
        result: dict | None = None
        failure, status = "", None
        try:
            worker.send({"op": "exec", "seq": self._seq, "code": str(code), "wall": wall})
        except (OSError, TimeoutError):
            failure = "died"
        deadline = started + wall + limits.kill_grace
        next_watch = started + _WATCH_EVERY
        acks = _FrameBufferForAcks()
        with selectors.DefaultSelector() as sel:
            for fd in (worker.out_r, worker.frame_r, worker.ack_r):
                sel.register(fd, selectors.EVENT_READ)
            while result is None and not failure:
                left = deadline - time.monotonic()
                if left <= 0:
                    failure = "timeout"
                    break
                events = sel.select(min(left, _WATCH_EVERY))
                if not events and not worker.alive():
                    failure = "died"
                if time.monotonic() >= next_watch:
                    next_watch = time.monotonic() + _WATCH_EVERY
                    if self._over_memory(worker):
                        failure = "memory"
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
                    elif key.fd == worker.ack_r:  # the zygote: the session process ended
                        status = acks.ended_status(chunk)
                        if status is not None:
                            failure = "died"
                    else:
                        result, failure = self._accept(worker, chunk)
        if result is not None:
            total += self._drain_into(worker, output)
        else:  # what it printed before it died is still worth showing
            total += self._drain_into(worker, output)
        cell = self._finish(worker, started, output, total, result, (failure, status), wall)
        if lost and not cell.restarted:
            cell.restarted = True
            cell.lost_session = lost
        return cell

    def _lost_between_cells(self, worker: WorkerProcess) -> str:
        """If the session ended since the last cell (a thread, a killed parent...), restart it."""
        ended, notice = None, None
        if worker.alive():
            with contextlib.suppress(BlockingIOError, OSError):
                notice = os.read(worker.ack_r, 65536)
            if notice:
                ended = _FrameBufferForAcks().ended_status(notice)
            if notice is None or (notice and ended is None):
                return ""
            if ended is not None:
                self._restart(worker)
                return f"the session ended between cells ({describe_exit(ended, False)})"
            # end of file: the zygote itself is gone, so is the sandbox
        status = worker.exit_status(0.0)
        self._worker = None
        worker.kill()
        self.restarts += 1
        return f"the sandbox ended between cells ({describe_exit(status, worker.bwrap)})"

    def _over_memory(self, worker: WorkerProcess) -> bool:
        """The watchdog of hosts without cgroups: all processes' RSS against the limit."""
        if worker.cgroup is not None:
            return False
        return worker.session_rss() > self.limits.memory_mb * 1024 * 1024

    def _accept(self, worker: WorkerProcess, chunk: bytes) -> tuple[dict | None, str]:
        # any framing error restarts the session; none escapes as an exception
        try:
            for frame in worker.frames.feed(chunk):
                if frame.get("token") != worker.token:
                    return None, "protocol"
                if frame.get("kind") == "result" and frame.get("seq") == self._seq:
                    if frame.get("children"):  # e.g. a fork bomb: interrupting one is not enough
                        return None, "orphans"
                    return frame, ""
        except Exception:  # noqa: BLE001 - ValueError, or anything a hostile frame causes
            return None, "protocol"
        return None, ""

    def _restart(self, worker: WorkerProcess) -> None:
        """A fresh session: recycled in the same sandbox if possible, else a new sandbox."""
        self.restarts += 1
        if worker.recycle():
            return
        self._worker = None
        worker.kill()

    def _finish(self, worker, started, output, total, result, failed, wall) -> CellResult:
        failure, status = failed
        limits = self.limits
        text = output.decode("utf-8", errors="replace")
        truncated = total > len(output)
        if truncated:
            text += f"\n[output truncated: {total} bytes produced, {len(output)} shown]"
        if failure:
            how = ""
            if failure == "died":
                if status is None:  # the sandbox itself ended, not only its session
                    status = worker.exit_status(1.0)
                    how = describe_exit(status, worker.bwrap)
                else:
                    how = describe_exit(status, False)
            oom = worker.cgroup is not None and worker.cgroup.oom_kills() > 0
            messages = {
                "timeout": f"TimeoutError: the cell did not stop within {wall:g} s",
                "died": f"the Python process ended ({how})"
                + (
                    f"; the session went over its memory limit of {limits.memory_mb} MiB"
                    if oom
                    else ""
                ),
                "memory": f"MemoryError: the session's processes together used more than {limits.memory_mb} MiB",
                "flood": f"the cell wrote more than {limits.output_kill_bytes} bytes of output",
                "protocol": "the worker broke the result protocol",
                "orphans": "TimeoutError: the cell ran past its time limit and left processes running",
            }
            self._restart(worker)
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
    with Sandbox(SandboxLimits(wall_time=5), min_isolation="watchdog") as box:
        return box.isolation or ""
