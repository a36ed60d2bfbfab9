"""Per-step time of every ACS circuit, against the op-amp measured in the same run.

For each circuit, ``env.step`` (resident backend) on ``--n`` designs drawn at random in
its design space (a new design each time, so the cache never hits); circuits are
interleaved design by design so they see the same machine load. Prints the median
milliseconds per step and the ratio to ``ACS-OpAmp-v0``.

Run: ``PYTHONPATH=$PWD python benchmarks/acs_circuits_step.py [--n 40]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from agent_envs.circuits.catalog import discover_circuits
from agent_envs.circuits.env import ACSEnv
from agent_envs.circuits.make_specs import sample_design


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=40, help="steps per circuit")
    args = parser.parse_args()
    folders = {env_id: folder for env_id, folder, _ in discover_circuits()}
    envs = {
        i: ACSEnv(circuit=f, budget=args.n + 1, max_turns=2 * args.n + 2)
        for i, f in folders.items()
    }
    rng = np.random.default_rng(0)
    times: dict[str, list[float]] = {i: [] for i in envs}
    try:
        for env in envs.values():
            env.reset(seed=0)
            env.step(env.format_action(env.circuit.defaults()))  # start the worker
            env.reset(seed=0)
        for _ in range(args.n):
            for env_id, env in envs.items():
                reply = env.format_action(sample_design(env.circuit, rng))
                start = time.perf_counter()
                *_, terminated, truncated, info = env.step(reply)
                times[env_id].append(time.perf_counter() - start)
                assert info["action_valid"], (env_id, reply, info["action_error"])
                if terminated or truncated:  # keep simulating: a new episode
                    env.reset(seed=0)
    finally:
        for env in envs.values():
            env.close()
    base = statistics.median(times["ACS-OpAmp-v0"])
    print(f"{'id':<28} {'ms/step':>8} {'x opamp':>8}")
    for env_id, ts in times.items():
        med = statistics.median(ts)
        print(f"{env_id:<28} {med * 1e3:8.1f} {med / base:8.2f}")


if __name__ == "__main__":
    main()
