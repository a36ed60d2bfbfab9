"""Simulator backends: a supervised resident ngspice worker, and ``ngspice -b`` per run.

Both take a rendered deck and return a :class:`SimResult` with the same metrics (the
same measurement code reads the same vectors). Each run has a hard time limit; a hang,
a crash or a convergence failure becomes ``SimResult.error`` and the next run works
(the resident worker is restarted). Files go only into the working directory given by
the caller (a temp dir the environment owns); ``close()`` leaves no process behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.measure import measure_all, run_failure
from agent_envs.circuits.rawfile import Vectors, read_raw
from agent_envs.core.child_process import (
    ChildFailure,
    ChildProcess,
    kill_process_group,
    process_cpu_seconds,
)

__all__ = [
    "SimResult",
    "SubprocessBackend",
    "ResidentBackend",
    "make_backend",
    "BACKENDS",
    "PDK_LOAD_ALLOWANCE",
    "WALL_FACTOR",
]

BACKENDS = ("resident", "subprocess")
#: Seconds allowed to parse a foundry model library (about 1-2 s of CPU): added to every
#: subprocess run of a pdk circuit; the resident worker's parse gets it as its own limit.
PDK_LOAD_ALLOWANCE = 30.0
_WORKER_START_TIMEOUT = 60.0
#: The handler the resident worker serves (a :mod:`agent_envs.core.child_server` child).
RESIDENT_HANDLER = "agent_envs.circuits.resident:SimulationHandler"
_KILLED = "ngspice was killed"


@dataclass
class SimResult:
    """The outcome of one simulation: metrics by name, or an error saying what failed."""

    metrics: dict[str, float | None] | None
    error: str | None
    seconds: float
    #: the failure is the environment's (a worker killed, starved or unable to start,
    #: twice), not the design's: the environment charges nothing for it
    infrastructure: bool = False


class SubprocessBackend:
    """Run ``ngspice -b -r out.raw deck.cir`` once per evaluation (fallback, cross-check).

    Example:
        >>> import tempfile
        >>> from agent_envs.circuits.netlist import render_decks
        >>> c = Circuit.load("opamp")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     result = SubprocessBackend(c, d, timeout=30).simulate(render_decks(c, c.defaults()))
        >>> result.error is None and result.metrics["gain"] > 40
        True
    """

    #: The ngspice command line program.
    executable = "ngspice"

    def __init__(self, circuit: Circuit, workdir: str | Path, timeout: float = 10.0) -> None:
        self.circuit, self.workdir, self.timeout = circuit, Path(workdir), float(timeout)
        self._allowance = PDK_LOAD_ALLOWANCE if circuit.pdk is not None else 0.0

    def simulate(self, decks: Sequence[str]) -> SimResult:
        """Simulate the rendered testbench decks of one design.

        An ``ngspice`` killed from outside (SIGKILL, SIGTERM, SIGINT, SIGHUP) is retried
        once; killed again, the result has ``infrastructure=True``.
        """
        start = time.perf_counter()
        result = self._simulate_once(decks)
        if result.infrastructure:
            again = self._simulate_once(decks)
            error = f"{result.error}; retried: {again.error}"
            result = again if not again.infrastructure else SimResult(None, error, 0.0, True)
        result.seconds = time.perf_counter() - start
        return result

    def _simulate_once(self, decks: Sequence[str]) -> SimResult:
        vectors: Vectors = {}
        logs = []
        for deck in decks:
            failure = self._run_one(deck, vectors, logs)
            if failure:
                external = failure.startswith(_KILLED)
                return SimResult(None, failure, 0.0, infrastructure=external)
        error = run_failure(vectors, self.circuit.analyses, "\n".join(logs))
        metrics = None if error else measure_all(vectors, self.circuit.measurements)
        return SimResult(metrics, error, 0.0)

    def _run_one(self, deck: str, vectors: Vectors, logs: list[str]) -> str | None:
        deck_path, raw_path = self.workdir / "deck.cir", self.workdir / "out.raw"
        raw_path.unlink(missing_ok=True)
        try:
            deck_path.write_text(deck)
            proc = subprocess.Popen(
                [self.executable, "-b", "-r", raw_path.name, deck_path.name],
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:  # no ngspice on PATH, temp dir gone, ...
            return f"could not run {self.executable} ({type(exc).__name__}: {exc.strerror})"
        try:
            log, _ = proc.communicate(timeout=self.timeout + self._allowance)
        except subprocess.TimeoutExpired:
            kill_process_group(proc.pid, proc)
            return f"timeout after {self.timeout + self._allowance:g} s"
        logs.append(log.decode("latin-1"))
        if proc.returncode < 0 and -proc.returncode in _EXTERNAL_SIGNALS:
            return f"{_KILLED} ({signal.Signals(-proc.returncode).name})"
        if proc.returncode != 0 and not raw_path.exists():
            return f"ngspice exited with status {proc.returncode}"
        try:
            vectors.update(read_raw(raw_path.read_bytes()))
        except (OSError, ValueError, KeyError, IndexError) as exc:
            return f"unreadable results ({type(exc).__name__})"
        return None

    def close(self) -> None:
        """Nothing stays running between evaluations."""


#: Signals that end a worker from outside (the user, a supervisor, the OOM killer): the
#: design had no part in it. Other deaths (SIGSEGV, SIGABRT, an exit status) are crashes
#: inside the simulator, which a design can cause: retried once, charged if repeated.
_EXTERNAL_SIGNALS = {signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
#: A run that got less than its CPU limit is waited for up to this many times the limit
#: (plus ``_WALL_SLACK`` seconds) of wall time before it counts as starved by the machine.
WALL_FACTOR = 4.0
_WALL_SLACK = 2.0
_TICK = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01


class _Fault(Exception):
    """A run that ended without a reply; ``external`` when the design had no part in it."""

    def __init__(self, message: str, external: bool) -> None:
        super().__init__(message)
        self.external = external


class ResidentBackend:
    """Keep ngspice loaded in a supervised worker process; restart it when it fails.

    The worker starts lazily on the first simulation. Time limits count the worker's
    own CPU seconds (read from /proc on Linux), so a busy machine does not turn a
    normal run into a timeout: a run that has used ``timeout`` CPU seconds is the
    design's timeout (charged); one still short of that after ``WALL_FACTOR * timeout
    + 2`` wall seconds was starved (or stopped) and is the environment's fault. A
    foundry library parse is announced by the worker and gets its own allowance
    (:data:`PDK_LOAD_ALLOWANCE`), never the simulation's limit.

    Faults outside the design (the worker killed by a signal, starved, unable to start)
    are retried once on a fresh worker; if the retry fails the same way the result has
    ``infrastructure=True``. A crash inside the simulator is retried once too, and
    charged to the design only when it happens again.

    Example:
        >>> import tempfile
        >>> from agent_envs.circuits.netlist import render_decks
        >>> c = Circuit.load("opamp")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     backend = ResidentBackend(c, d, timeout=30)
        ...     result = backend.simulate(render_decks(c, c.defaults()))
        ...     backend.close()
        >>> result.error is None and result.metrics["gain"] > 40
        True
    """

    def __init__(
        self,
        circuit: Circuit,
        workdir: str | Path,
        timeout: float = 10.0,
        remove_workdir_if_orphaned: bool = False,
    ) -> None:
        self.circuit, self.workdir, self.timeout = circuit, Path(workdir), float(timeout)
        # the owner of a temp dir asks its worker to delete it should the owner be killed
        self.remove_workdir_if_orphaned = remove_workdir_if_orphaned
        self._child: ChildProcess | None = None
        self.restarts = 0
        self.faults = 0  # runs that failed for reasons outside the design (then retried)
        self.parses = 0  # foundry library parses the worker announced
        #: the worker's timing of the last run: ``seconds`` (all of it, in the worker) and
        #: ``ngspice_seconds`` (load, run, read vectors; the rest is checks and measurements)
        self.last_timing: dict[str, float] = {}
        self._cpu = 0.0  # the worker's CPU seconds at its last message

    @property
    def pid(self) -> int | None:
        """Process id of the running worker (None when none is running)."""
        child = self._child
        return child.pid if child is not None and child.alive else None

    def _start(self) -> None:
        self._stop()
        self._child = ChildProcess(
            RESIDENT_HANDLER, self.workdir, remove_cwd_if_orphaned=self.remove_workdir_if_orphaned
        )
        try:
            self._cpu = float(self._child.call(["hello"], _WORKER_START_TIMEOUT)["cpu"])
        except (ChildFailure, OSError, TypeError, KeyError, ValueError):
            self._stop()
            raise _Fault(
                "the ngspice worker did not start (are PySpice and libngspice installed?)",
                external=True,
            ) from None

    def _stop(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None

    def simulate(self, decks: Sequence[str]) -> SimResult:
        """Simulate the rendered testbench decks of one design in the worker."""
        start = time.perf_counter()
        request = {"circuit": str(self.circuit.folder), "decks": list(decks)}
        first: _Fault | None = None
        for _attempt in range(2):
            try:
                reply = self._run(request)
            except _Fault as fault:
                self._stop()
                if first is None:  # retry once, on a fresh worker
                    self.faults += 1
                    first = fault
                    continue
                seconds = time.perf_counter() - start
                if first.external or fault.external:
                    error = f"{first}; retried on a fresh worker: {fault}"
                    return SimResult(None, error, seconds, infrastructure=True)
                return SimResult(None, f"{fault} (twice, on two workers)", seconds)
            seconds = time.perf_counter() - start
            if reply.get("error"):
                return SimResult(None, str(reply["error"]), seconds)
            return SimResult(reply["metrics"], None, seconds)
        raise AssertionError("unreachable")  # pragma: no cover

    def _run(self, request: dict) -> dict:
        """Send one request and wait for its reply; a design timeout is a reply too."""
        if self.pid is None:
            if self._child is not None:
                self.restarts += 1
            self._start()
        assert self._child is not None
        try:
            self._child.send(["simulate", request])
        except ChildFailure:  # died while idle: restart once, resend
            self.restarts += 1
            self._start()
            try:
                self._child.send(["simulate", request])
            except ChildFailure:
                raise self._death() from None
        limit = self.timeout
        while True:
            message = self._await(limit)
            if message is None:  # the design used up its CPU time
                self._stop()
                return {"error": f"timeout: the simulation used {limit:g} s of CPU"}
            self._cpu = float(message.get("cpu", self._cpu))
            if message.get("parsing"):  # a library parse: its own allowance
                self.parses += 1
                limit = PDK_LOAD_ALLOWANCE
            elif message.get("parsed"):
                limit = self.timeout
            else:
                self.last_timing = {
                    k: float(message[k]) for k in ("seconds", "ngspice_seconds") if k in message
                }
                return message

    def _await(self, limit: float) -> dict | None:
        """The worker's next message; None when it used ``limit`` CPU seconds first."""
        assert self._child is not None
        waited, cap = 0.0, WALL_FACTOR * limit + _WALL_SLACK
        slice_ = limit  # CPU time never runs ahead of wall time
        while True:
            t0 = time.perf_counter()
            try:
                frame = self._child.receive(slice_)
            except ChildFailure:
                raise self._death() from None
            if frame is not None:  # a note (library parse), the reply, or the handler's error
                if "note" in frame:
                    return dict(frame["note"])
                if "ok" in frame:
                    return dict(frame["ok"])
                return {"error": str(frame.get("error"))}
            waited += time.perf_counter() - t0
            now = process_cpu_seconds(self._child.pid) if self._child.pid else None
            if now is None:  # no /proc: wall time is all there is
                return None
            used = now - self._cpu
            if used >= limit - _TICK:  # /proc counts CPU time in clock ticks
                return None
            if waited >= cap:
                raise _Fault(
                    f"the worker got {used:.2g} s of CPU in {waited:.3g} s (machine overloaded"
                    " or worker stopped)",
                    external=True,
                )
            slice_ = min(max(limit - used, 0.01), cap - waited)

    def _death(self) -> _Fault:
        """Why the worker stopped answering: killed from outside, or crashed."""
        code = self._child.exit_status(2.0) if self._child is not None else None
        if code is not None and code < 0:
            sig = signal.Signals(-code)
            external = sig in _EXTERNAL_SIGNALS
            what = "was killed" if external else "crashed"
            return _Fault(f"the simulator worker {what} ({sig.name})", external)
        return _Fault(f"the simulator worker exited (status {code})", external=False)

    def close(self) -> None:
        """Stop the worker; calling it twice is fine."""
        self._stop()


def make_backend(
    name: str, circuit: Circuit, workdir: str | Path, timeout: float, owns_workdir: bool = False
) -> SubprocessBackend | ResidentBackend:
    """Build the backend called ``name`` (one of :data:`BACKENDS`).

    ``owns_workdir``: the caller created ``workdir`` for this backend alone, so a resident
    worker may delete it if the caller dies without closing.

    Example:
        >>> make_backend("subprocess", Circuit.load("opamp"), "/tmp", 5).timeout
        5.0
    """
    if name == "resident":
        return ResidentBackend(circuit, workdir, timeout, remove_workdir_if_orphaned=owns_workdir)
    if name == "subprocess":
        return SubprocessBackend(circuit, workdir, timeout)
    raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")
