"""Simulator backends: a supervised resident ngspice worker, and ``ngspice -b`` per run.

Both take a rendered deck and return a :class:`SimResult` with the same metrics (the
same measurement code reads the same vectors). Each run has a hard time limit; a hang,
a crash or a convergence failure becomes ``SimResult.error`` and the next run works
(the resident worker is restarted). Files go only into the working directory given by
the caller (a temp dir the environment owns); ``close()`` leaves no process behind.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.measure import measure_all, run_failure
from agent_envs.circuits.rawfile import Vectors, read_raw
from agent_envs.circuits.resident import read_message, write_message

__all__ = [
    "SimResult",
    "SubprocessBackend",
    "ResidentBackend",
    "make_backend",
    "BACKENDS",
    "PDK_LOAD_ALLOWANCE",
]

BACKENDS = ("resident", "subprocess")
#: Extra seconds allowed to a run that parses a foundry model library (about 1 s
#: unloaded; much more on a busy machine): every subprocess run of a pdk circuit, and
#: the first resident run after the worker (re)started.
PDK_LOAD_ALLOWANCE = 30.0
_WORKER_START_TIMEOUT = 60.0


@dataclass
class SimResult:
    """The outcome of one simulation: metrics by name, or an error saying what failed."""

    metrics: dict[str, float | None] | None
    error: str | None
    seconds: float


def _kill_group(proc: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(Exception):
        proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=5)


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
        """Simulate the rendered testbench decks of one design."""
        start = time.perf_counter()
        vectors: Vectors = {}
        logs = []
        for deck in decks:
            failure = self._run_one(deck, vectors, logs)
            if failure:
                return SimResult(None, failure, time.perf_counter() - start)
        error = run_failure(vectors, self.circuit.analyses, "\n".join(logs))
        metrics = None if error else measure_all(vectors, self.circuit.measurements)
        return SimResult(metrics, error, time.perf_counter() - start)

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
            _kill_group(proc)
            return f"timeout after {self.timeout + self._allowance:g} s"
        logs.append(log.decode("latin-1"))
        if proc.returncode != 0 and not raw_path.exists():
            return f"ngspice exited with status {proc.returncode}"
        try:
            vectors.update(read_raw(raw_path.read_bytes()))
        except (OSError, ValueError, KeyError, IndexError) as exc:
            return f"unreadable results ({type(exc).__name__})"
        return None

    def close(self) -> None:
        """Nothing stays running between evaluations."""


class ResidentBackend:
    """Keep ngspice loaded in a supervised worker process; restart it when it fails.

    The worker starts lazily on the first simulation. A run longer than ``timeout``
    seconds kills the worker (the result says so); the next run starts a new one.

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
        self._proc: subprocess.Popen | None = None
        self.restarts = 0
        self._loaded = False  # whether the worker holds this circuit's library already

    @property
    def pid(self) -> int | None:
        """Process id of the running worker (None when none is running)."""
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    def _start(self) -> None:
        self._stop()
        self._loaded = False
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "agent_envs.circuits.resident"]
            + (["--remove-workdir-if-orphaned"] if self.remove_workdir_if_orphaned else []),
            cwd=self.workdir,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            if not self._wait_readable(_WORKER_START_TIMEOUT):
                raise EOFError
            read_message(self._proc.stdout)
        except (EOFError, OSError, ValueError):
            self._stop()
            raise RuntimeError(
                "the ngspice worker did not start (are PySpice and libngspice installed?)"
            ) from None

    def _wait_readable(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._proc.stdout], [], [], timeout)
        return bool(ready)

    def _stop(self) -> None:
        if self._proc is not None:
            for stream in (self._proc.stdin, self._proc.stdout):
                with contextlib.suppress(Exception):
                    stream.close()
            _kill_group(self._proc)
            self._proc = None

    def simulate(self, decks: Sequence[str]) -> SimResult:
        """Simulate the rendered testbench decks of one design in the worker."""
        start = time.perf_counter()
        request = {"circuit": str(self.circuit.folder), "decks": list(decks)}
        try:
            if self.pid is None:
                if self._proc is not None:
                    self.restarts += 1
                self._start()
            try:
                write_message(self._proc.stdin, request)
            except (BrokenPipeError, OSError):  # died while idle: restart once, resend
                self.restarts += 1
                self._start()
                write_message(self._proc.stdin, request)
            limit = self.timeout
            if self.circuit.pdk is not None and not self._loaded:
                limit += PDK_LOAD_ALLOWANCE
            if not self._wait_readable(limit):
                self._stop()
                return SimResult(None, f"timeout after {limit:g} s", time.perf_counter() - start)
            reply = read_message(self._proc.stdout)
            self._loaded = True
        except RuntimeError as exc:
            return SimResult(None, str(exc), time.perf_counter() - start)
        except (EOFError, OSError, ValueError) as exc:
            self._stop()
            error = f"the simulator crashed ({type(exc).__name__})"
            return SimResult(None, error, time.perf_counter() - start)
        seconds = time.perf_counter() - start
        if reply.get("error"):
            return SimResult(None, reply["error"], seconds)
        return SimResult(reply["metrics"], None, seconds)

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
