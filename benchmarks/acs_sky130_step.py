"""Per-evaluation time on the sky130 tier, and why random designs are slow.

1. ``env``: ``ACS-FiveTransistorOTA-Sky130-v0`` steps on the default design and on
   uniformly random designs (what a random-search baseline sends), with the resident
   backend: wall time per step, the worker's own time, failures, time-outs, library
   parses (the first one only, if timeouts never force a restart) and faults.
2. ``analyses``: for the same random designs, in-process CPU seconds of the operating
   point alone, with ``.ac``, and the full deck (with ``.tran``): where the time goes.
3. ``ways`` (with ``--ways``; slow, a reload parses the library each time): the same designs three ways, interleaved design by design so each sees the
   same machine load: ``alter`` (kept circuit, ``alterparam`` + ``reset``: the env),
   ``reload`` (the deck and its ``.lib`` parsed afresh each time), ``subprocess``
   (``ngspice -b`` per design); median ms and the ratio to ``alter``.

Run: ``PYTHONPATH=$PWD python benchmarks/acs_sky130_step.py [--n 8] [--ways]``. Print the load
average with the figures: on a shared machine wall times grow with it, CPU times do not.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import numpy as np

from agent_envs.circuits.backends import SubprocessBackend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.env import ACSEnv
from agent_envs.circuits.make_specs import sample_design
from agent_envs.circuits.netlist import render_decks
from agent_envs.circuits.resident import NgspiceSession

FOLDER = "ota5_sky130"


def _strip(deck: str, kinds: tuple[str, ...]) -> str:
    return "".join(line for line in deck.splitlines(True) if not line.startswith(kinds))


def env_steps(circuit: Circuit, designs: list[dict[str, float]]) -> None:
    env = ACSEnv(circuit=FOLDER, budget=10**6, max_turns=10**6)
    env.reset(seed=0)
    start = time.perf_counter()
    env.step(env.format_action(circuit.defaults()))  # starts the worker, parses the library
    first = time.perf_counter() - start
    backend = env.unwrapped._backend
    rows = {"default": [], "random": []}
    errors = []
    for i, design in enumerate(designs):
        for kind, values in (("default", circuit.defaults()), ("random", design)):
            values = dict(values)
            if kind == "default":  # a new design near the default, not a cache hit
                values["ibias"] *= 1 + (i + 1) / 1000
            start = time.perf_counter()
            info = env.step(env.format_action(values))[4]
            wall = time.perf_counter() - start
            rows[kind].append((wall, backend.last_timing.get("seconds", float("nan"))))
            if info["sim_error"] or info["env_error"]:
                errors.append(info["sim_error"] or info["env_error"])
    env.close()
    print(f"env steps (first step, worker start + library parse: {first:.2f} s)")
    print(
        f"{'designs':<10} {'n':>3} {'median ms':>10} {'p90 ms':>8} {'max ms':>8} {'worker ms':>10}"
    )
    for kind, xs in rows.items():
        walls = [w for w, _ in xs]
        worker = statistics.median(s for _, s in xs) * 1e3
        print(
            f"{kind:<10} {len(xs):>3} {statistics.median(walls) * 1e3:10.1f}"
            f" {np.percentile(walls, 90) * 1e3:8.1f} {max(walls) * 1e3:8.1f} {worker:10.1f}"
        )
    walls = [w for xs in rows.values() for w, _ in xs]
    over = sum(w > 10.0 for w in walls)
    print(f"steps over 10 s of wall time (the default sim_timeout): {over} of {len(walls)}")
    timeouts = sum("timeout" in e for e in errors)
    print(
        f"failed simulations: {len(errors)} (timeouts {timeouts}); library parses:"
        f" {backend.parses if hasattr(backend, 'parses') else 'n/a'} (1 = only the first);"
        f" worker restarts: {backend.restarts}; infrastructure faults retried: {backend.faults}"
    )
    for e in sorted(set(errors))[:5]:
        print(f"  {e[:110]}")


def analyses(circuit: Circuit, designs: list[dict[str, float]]) -> None:
    session = NgspiceSession()
    cpu: dict[str, list[float]] = {"op": [], "op + ac": [], "op + ac + tran": []}
    drops = {"op": (".ac ", ".tran"), "op + ac": (".tran",), "op + ac + tran": ()}
    all_designs = [circuit.defaults(), *designs]
    for name, drop in drops.items():  # one library parse per variant, then alterparam
        session.simulate([_strip(render_decks(circuit, all_designs[0])[0], drop)])
        for design in all_designs:
            variant = _strip(render_decks(circuit, design)[0], drop)
            start = time.process_time()
            session.simulate([variant])  # alterparam + reset + run: what a step costs
            cpu[name].append(time.process_time() - start)
    print("CPU ms per analysis set (in-process, kept circuit); first column: the default design")
    print(f"{'analyses':<16} {'default':>8} {'median':>8} {'max':>8}")
    for name, xs in cpu.items():
        print(
            f"{name:<16} {xs[0] * 1e3:8.1f} {statistics.median(xs[1:]) * 1e3:8.1f}"
            f" {max(xs[1:]) * 1e3:8.1f}"
        )


def ways(circuit: Circuit, designs: list[dict[str, float]]) -> None:
    session = NgspiceSession()
    times: dict[str, list[float]] = {"alter": [], "reload": [], "subprocess": []}
    session.simulate(list(render_decks(circuit, circuit.defaults())))  # warm up
    with tempfile.TemporaryDirectory() as workdir:
        batch = SubprocessBackend(circuit, workdir, timeout=120)
        for design in designs:
            decks = list(render_decks(circuit, design))
            for way in times:
                start = time.perf_counter()
                if way == "subprocess":
                    batch.simulate(decks)
                else:
                    if way == "reload":
                        session.drop_kept()  # forget the kept circuit: parse everything
                    session.simulate(decks)
                times[way].append(time.perf_counter() - start)
    base = statistics.median(times["alter"])
    print(f"random designs three ways\n{'way':<12} {'ms/eval':>9} {'x alter':>8}")
    for way, ts in times.items():
        med = statistics.median(ts)
        print(f"{way:<12} {med * 1e3:9.1f} {med / base:8.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=8, help="random designs")
    parser.add_argument("--ways", action="store_true", help="also alter vs reload vs subprocess")
    args = parser.parse_args()
    circuit = Circuit.load(FOLDER)
    rng = np.random.default_rng(0)
    designs = [sample_design(circuit, rng) for _ in range(args.n)]
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    env_steps(circuit, designs)
    analyses(circuit, designs)
    if args.ways:
        ways(circuit, designs)
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
