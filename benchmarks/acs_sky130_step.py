"""Per-evaluation time on the sky130 tier: kept circuit + ``alterparam`` vs a reload each time.

The same random designs of ``ACS-FiveTransistorOTA-Sky130-v0`` are simulated three ways,
interleaved design by design so each sees the same machine load:

* ``alter``: the resident ngspice keeps the circuit (and the parsed BSIM4 library)
  loaded and applies the new numbers with ``alterparam`` + ``reset`` (what the env does);
* ``reload``: the same in-process ngspice, but the deck (with its ``.lib``) is loaded
  afresh for every design (what the resident backend did before the pdk tier);
* ``subprocess``: ``ngspice -b`` per design (the fallback backend).

Prints the median milliseconds per evaluation and the ratios to ``alter``; then the same
for an operating point alone (the deck without ``.ac``/``.tran``), where the library
parse is nearly all of a reload's cost.

Run: ``PYTHONPATH=$PWD python benchmarks/acs_sky130_step.py [--n 20]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

from agent_envs.circuits.backends import SubprocessBackend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.make_specs import sample_design
from agent_envs.circuits.netlist import render_decks
from agent_envs.circuits.resident import NgspiceSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20, help="designs")
    args = parser.parse_args()
    circuit = Circuit.load("ota5_sky130")
    session = NgspiceSession()
    rng = np.random.default_rng(0)
    times: dict[str, list[float]] = {"alter": [], "reload": [], "subprocess": []}
    session.simulate(list(render_decks(circuit, circuit.defaults())))  # warm up
    with tempfile.TemporaryDirectory() as workdir:
        batch = SubprocessBackend(circuit, workdir, timeout=120)
        for _ in range(args.n):
            decks = list(render_decks(circuit, sample_design(circuit, rng)))
            for way in times:
                start = time.perf_counter()
                if way == "subprocess":
                    batch.simulate(decks)
                else:
                    if way == "reload":
                        session.drop_kept()  # forget the kept circuit: parse everything
                    session.simulate(decks)
                times[way].append(time.perf_counter() - start)
    _print("full deck (op, ac, tran)", times)
    op_times: dict[str, list[float]] = {"alter": [], "reload": []}
    for _ in range(args.n):
        deck = render_decks(circuit, sample_design(circuit, rng))[0]
        deck = "".join(line for line in deck.splitlines(True) if line[:4] not in (".ac ", ".tra"))
        for way in ("reload", "alter"):  # reload first: alter then finds it loaded
            if way == "reload":
                session.drop_kept()
            start = time.perf_counter()
            session.simulate([deck])
            op_times[way].append(time.perf_counter() - start)
    _print("operating point only", op_times)


def _print(title: str, times: dict[str, list[float]]) -> None:
    base = statistics.median(times["alter"])
    print(f"{title}\n{'way':<12} {'ms/eval':>9} {'x alter':>8}")
    for way, ts in times.items():
        med = statistics.median(ts)
        print(f"{way:<12} {med * 1e3:9.1f} {med / base:8.2f}")


if __name__ == "__main__":
    main()
