"""Per-step time of ACS-OpAmp-v0 against its simulator, measured in one run.

(a) the raw resident ngspice analyses alone (in-process shared library: load, run,
    read the vectors the measurements need, clear; no parsing, rendering, IPC or
    measurement);
(b) spawning one ``ngspice -b`` per testbench per evaluation: write the netlist, run,
    read the raw file, measure (what the subprocess backend does);
and the environment's ``step`` with the resident backend (parse the reply, render and
check the decks, simulate in the supervised worker, measure, score, report).
Every evaluation uses a new design, so the env's cache never hits; the three are
interleaved design by design so they see the same machine load.

Then where the step's time goes (medians): parsing the reply, rendering and checking the
decks, the worker's ngspice part and its checks + measurements (timed by the worker),
the request/reply transport with the two process wake-ups (the backend's wall time less
the worker's), and the rest of the step (score, report, info).

Run: ``PYTHONPATH=$PWD python benchmarks/acs_step.py [--n 200]``.
Targets: step <= 1.25x (a); (b) >= 3x the step.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from agent_envs.circuits.backends import SubprocessBackend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.env import ACSEnv
from agent_envs.circuits.netlist import render_decks
from agent_envs.circuits.protocol import read_action
from agent_envs.circuits.resident import NgspiceSession


def designs(c: Circuit, n: int, seed: int = 0) -> list[dict[str, float]]:
    """``n`` distinct designs near the default (perturbed cc and ibias)."""
    rng = np.random.default_rng(seed)
    base = c.defaults()
    return [
        {
            **base,
            "cc": float(base["cc"] * rng.uniform(0.7, 1.5)),
            "ibias": float(base["ibias"] * rng.uniform(0.7, 1.5)),
        }
        for _ in range(n)
    ]


def timed(fn, item) -> float:
    start = time.perf_counter()
    fn(item)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200, help="evaluations per method")
    args = parser.parse_args()
    c = Circuit.load("opamp")
    ds = designs(c, args.n)
    decks = [render_decks(c, d) for d in ds]

    # the same vectors the worker reads for the measurements
    wanted = {m.vector for m in c.measurements} | {m.reference for m in c.measurements}
    wanted |= {"ac:frequency", "tran:time", "noise:frequency"}
    session = NgspiceSession()
    session.simulate(list(decks[0]))  # warm up
    env = ACSEnv(budget=10**6, max_turns=10**6)
    env.reset(seed=0)
    env.step(env.format_action(c.defaults()))  # start the worker
    replies = [env.format_action(d) for d in ds]
    backend = env.unwrapped._backend
    inner = backend.simulate
    parts: dict[str, list[float]] = {
        k: [] for k in ("parse", "render", "backend", "worker", "ngspice")
    }

    def simulate(decks):  # the backend's wall time, and the worker's own timing
        start = time.perf_counter()
        result = inner(decks)
        parts["backend"].append(time.perf_counter() - start)
        parts["worker"].append(backend.last_timing["seconds"])
        parts["ngspice"].append(backend.last_timing["ngspice_seconds"])
        return result

    backend.simulate = simulate
    raw, steps, spawned = [], [], []
    with tempfile.TemporaryDirectory() as workdir:
        spawn = SubprocessBackend(c, workdir, timeout=30)
        # interleaved, so that all three see the same machine load
        for i, (dk, reply) in enumerate(zip(decks, replies, strict=True)):
            raw.append(timed(lambda x: session.simulate(list(x), wanted), dk))
            steps.append(timed(env.step, reply))
            parts["parse"].append(timed(lambda r: read_action(r, c.variables), reply))
            parts["render"].append(timed(lambda d: render_decks(c, d), ds[i]))
            if i % 4 == 0:
                spawned.append(timed(spawn.simulate, dk))
    history = env.unwrapped._history
    assert len(history) == args.n + 1 and all("metrics" in h for h in history[1:])
    env.close()

    def ms(xs, q):
        return float(np.percentile(xs, q)) * 1e3

    print(f"evaluations: {args.n} (spawn baseline: {len(spawned)}); ms per evaluation")
    print("                                      median      p10")
    rows = [("(a) raw resident ngspice analyses", raw), ("    ACS-OpAmp-v0 step (resident)", steps)]
    rows.append(("(b) ngspice -b per evaluation", spawned))
    for name, xs in rows:
        print(f"  {name:<34} {ms(xs, 50):7.2f}  {ms(xs, 10):7.2f}")
    for q, label in ((50, "median"), (10, "p10")):
        print(
            f"{label:>6}: step / (a) = {ms(steps, q) / ms(raw, q):.2f} (target <= 1.25);"
            f" (b) / step = {ms(spawned, q) / ms(steps, q):.2f} (target >= 3)"
        )
    med = {k: float(np.median(v)) * 1e3 for k, v in parts.items()}
    step_ms = ms(steps, 50)
    rows = [
        ("parse the reply", med["parse"]),
        ("render and check the decks", med["render"]),
        ("worker: ngspice (load, run, read, clear)", med["ngspice"]),
        ("worker: checks and measurements", med["worker"] - med["ngspice"]),
        ("transport: request, reply, two wake-ups", med["backend"] - med["worker"]),
        ("score, report, info", step_ms - med["parse"] - med["render"] - med["backend"]),
    ]
    print(f"where the step's {step_ms:.2f} ms go (medians; the parts need not add up exactly):")
    for name, value in rows:
        print(f"  {name:<42} {value:7.3f} ms  {100 * value / step_ms:5.1f} %")
    print("One request and one reply per step: the worker and the environment each wake once;")
    print("when every core is busy each wake-up waits for a core, so the ratio grows with load.")


if __name__ == "__main__":
    main()
