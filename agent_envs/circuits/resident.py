"""Resident ngspice: the shared library (through PySpice) kept loaded between runs.

:class:`NgspiceSession` loads a deck, runs its analyses and reads vectors in-process;
it removes each circuit after use (``destroy all`` + ``remcirc``) so memory stays flat.
:class:`SimulationHandler` is what the environment's supervised worker serves (a
:mod:`agent_envs.core.child_server` child started by
:class:`~agent_envs.circuits.backends.ResidentBackend`). PySpice is imported only here,
and only in that worker (or a benchmark).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from agent_envs.circuits.netlist import PARAM_LINE_RE, format_number
from agent_envs.circuits.rawfile import Vectors, plot_kind

__all__ = ["NgspiceSession", "SimulationHandler"]


class NgspiceSession:
    """One resident ngspice shared library; run decks and read their vectors.

    The library is process-global, so every ``NgspiceSession()`` of a process is the
    same object.

    PySpice treats any stderr line not starting with "Warning:" as an error (gmin
    stepping notes, for one), so commands go straight to the library and the output is
    kept here, to be inspected, instead of raising.

    Example:
        >>> from agent_envs.circuits.circuit import Circuit
        >>> from agent_envs.circuits.netlist import render_decks
        >>> c = Circuit.load("opamp")
        >>> ng = NgspiceSession()
        >>> vectors, log = ng.simulate(render_decks(c, c.defaults()))
        >>> sorted(vectors)
        ['ac', 'noise', 'op', 'tran']
    """

    _instance: NgspiceSession | None = None

    def __new__(cls) -> NgspiceSession:
        # ngspice's shared library is process-global: one session per process.
        if cls._instance is None:
            cls._instance = super().__new__(cls)
            cls._instance._ready = False
        return cls._instance

    def __init__(self) -> None:
        if self._ready:
            return
        self._ready = True
        for name in ("PySpice", "PySpice.Spice.NgSpice.Shared"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
        from PySpice.Spice.NgSpice.Shared import NgSpiceShared, ffi

        session = self

        class _Quiet(NgSpiceShared):
            def send_char(self, message: str, ngspice_id: int) -> int:
                session.output.append(message)
                return 0

        self.output: list[str] = []
        self._kept: str | None = None  # the kept deck, less its .param lines
        self._ffi = ffi
        self._shared = _Quiet(ngspice_id=0, send_data=False)
        self._lib = self._shared._ngspice_shared
        self.command("set nomoremode")

    def command(self, text: str) -> int:
        """Send one command to ngspice; return its status code."""
        return int(self._lib.ngSpice_Command(text.encode("ascii")))

    def load(self, deck: str) -> None:
        """Load a deck as the current circuit."""
        lines = [self._ffi.new("char[]", line.encode()) for line in deck.splitlines() if line]
        lines.append(self._ffi.new("char[]", b""))
        array = self._ffi.new("char *[]", [*lines, self._ffi.NULL])
        rc = self._lib.ngSpice_Circ(array)
        if rc:
            raise RuntimeError(f"ngSpice_Circ returned {rc}")

    def run(self) -> int:
        """Run every analysis of the loaded deck (blocking)."""
        return self.command("run")

    def vectors(self, wanted: set[str] | None = None) -> Vectors:
        """Read the plots of the last run; ``wanted`` limits to ``"plot:name"`` keys."""
        out: Vectors = {}
        plots = self._lib.ngSpice_AllPlots()
        i = 0
        while plots[i] != self._ffi.NULL:
            plot = self._ffi.string(plots[i]).decode()
            i += 1
            if plot == "const":
                continue
            kind = plot_kind(plot)
            target = out.setdefault(kind, {})
            names = self._lib.ngSpice_AllVecs(plot.encode())
            j = 0
            while names[j] != self._ffi.NULL:
                name = self._ffi.string(names[j]).decode()
                j += 1
                if wanted is not None and f"{kind}:{name}" not in wanted:
                    continue
                info = self._lib.ngGet_Vec_Info(f"{plot}.{name}".encode())
                if info == self._ffi.NULL or info.v_length <= 0:
                    continue
                n = info.v_length
                if info.v_compdata == self._ffi.NULL:
                    arr = np.frombuffer(self._ffi.buffer(info.v_realdata, n * 8), np.float64)
                else:
                    arr = np.frombuffer(self._ffi.buffer(info.v_compdata, n * 16), np.complex128)
                    if name in ("frequency", "time"):
                        arr = arr.real
                target[name] = arr.copy()
        return out

    def clear(self) -> None:
        """Drop the results and the circuit so memory stays flat across runs."""
        self.command("destroy all")
        self.command("remcirc")
        self.output.clear()

    def simulate(
        self,
        decks: list[str],
        wanted: set[str] | None = None,
        on_parse: Callable[[bool], None] | None = None,
    ) -> tuple[Vectors, str]:
        """Run each deck (load, run, read, clear); return merged vectors and the log.

        Decks with project ``.param`` lines (pdk circuits) are kept loaded instead: the
        next call with the same deck but other numbers only sends ``alterparam`` and
        ``reset`` to the kept circuit, so the model library is parsed once.
        ``on_parse(False)`` / ``on_parse(True)`` are called before and after such a parse.
        """
        if any(PARAM_LINE_RE.fullmatch(line) for line in decks[0].splitlines()[:64]):
            return self._simulate_kept(decks, wanted, on_parse)
        self.drop_kept()
        vectors: Vectors = {}
        log: list[str] = []
        for deck in decks:
            self.output.clear()
            self.load(deck)
            self.run()
            try:
                vectors.update(self.vectors(wanted))
            finally:
                log.extend(self.output)
                self.clear()
        return vectors, "\n".join(log)

    def _simulate_kept(
        self, decks: list[str], wanted: set[str] | None, on_parse: Callable[[bool], None] | None
    ) -> tuple[Vectors, str]:
        # One kept circuit: ngspice 39's ``reset`` mixes circuits up when several are
        # loaded, so a pdk circuit has a single testbench (checked by Circuit).
        if len(decks) != 1:
            raise ValueError("a deck set with .param lines must be a single deck")
        static, params = _split_params(decks[0])
        reuse = self._kept == static
        self.output.clear()
        try:
            if reuse:  # only project-made commands: a checked name, a formatted float
                for name, value in params:
                    self.command(f"alterparam acs_{name}={format_number(value)}")
                self.command("reset")
            else:
                if on_parse is not None:
                    on_parse(False)
                self.drop_kept()
                self.load(decks[0])
                self._kept = static
                if on_parse is not None:
                    on_parse(True)
            self.run()
            vectors = self.vectors(wanted)
            self.command("destroy all")
        except Exception:
            self.drop_kept()
            raise
        return vectors, "\n".join(self.output)

    def drop_kept(self) -> None:
        """Remove the kept circuit (if any): the next deck is parsed afresh."""
        if self._kept is not None:
            self.command("remcirc")
        self._kept = None
        self.command("destroy all")


def _split_params(deck: str) -> tuple[str, list[tuple[str, float]]]:
    """A deck without its project ``.param`` numbers (names kept), and those names and numbers."""
    static, params = [], []
    for line in deck.splitlines():
        match = PARAM_LINE_RE.fullmatch(line)
        if match:
            params.append((match.group(1), float(match.group(2))))
        else:
            static.append(line)
    static.append(" ".join(name for name, _ in params))  # same names, same circuit
    return "\n".join(static), params


class SimulationHandler:
    """The resident worker's requests: ``["hello"]`` and ``["simulate", request]``.

    ``hello`` answers once the library is loaded (``pid``, and ``cpu``: the worker's CPU
    seconds so far). ``simulate`` takes ``{"circuit": path, "decks": [text, ...]}`` and
    answers ``{"metrics": ...}`` or ``{"error": text}`` with the run's ``seconds``,
    ``ngspice_seconds`` and ``cpu``; a foundry library parse is announced by two notes
    (``{"parsing": True, "cpu": ...}`` then ``{"parsed": True, "cpu": ...}``) so the
    supervisor times it apart from the run.

    Example:
        >>> from agent_envs.circuits.circuit import Circuit
        >>> from agent_envs.circuits.netlist import render_decks
        >>> c = Circuit.load("opamp")
        >>> handler = SimulationHandler()
        >>> request = {"circuit": str(c.folder), "decks": list(render_decks(c, c.defaults()))}
        >>> handler.handle(["simulate", request], print)["metrics"]["gain"] > 40
        True
    """

    def __init__(self) -> None:
        from agent_envs.circuits.circuit import Circuit

        self._load = Circuit.load
        self.session = NgspiceSession()
        self._circuits: dict[str, tuple[Any, set[str]]] = {}

    def handle(self, request: list, notify: Callable[[Any], None]) -> dict[str, Any]:
        """Answer one request (see the class notes)."""
        if request[0] == "hello":
            return {"pid": os.getpid(), "cpu": time.process_time()}
        if request[0] != "simulate":
            raise ValueError(f"unknown request {request[0]!r}")
        return self._simulate(request[1], notify)

    def _simulate(self, request: dict, notify: Callable[[Any], None]) -> dict[str, Any]:
        from agent_envs.circuits.measure import measure_all, run_failure

        start = time.perf_counter()
        known = self._circuits.get(request["circuit"])
        if known is None:
            circuit = self._load(request["circuit"])
            wanted = {m.vector for m in circuit.measurements}
            wanted |= {m.reference for m in circuit.measurements if m.reference}
            wanted |= {"ac:frequency", "tran:time", "noise:frequency"}
            known = self._circuits[request["circuit"]] = (circuit, wanted)
        circuit, wanted = known

        def on_parse(done: bool) -> None:  # a library parse is timed apart from the run
            notify({"parsed" if done else "parsing": True, "cpu": time.process_time()})

        simulated = start
        try:
            vectors, log = self.session.simulate(request["decks"], wanted, on_parse)
            simulated = time.perf_counter()
            error = run_failure(vectors, circuit.analyses, log)
            if error:
                reply: dict[str, Any] = {"error": error}
            else:
                reply = {"metrics": measure_all(vectors, circuit.measurements)}
        except Exception as exc:  # report, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        reply["seconds"] = time.perf_counter() - start
        reply["ngspice_seconds"] = simulated - start
        reply["cpu"] = time.process_time()
        return reply
