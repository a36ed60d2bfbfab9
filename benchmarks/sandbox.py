"""Sandbox latency at each isolation level, against a fresh ``python -I -S`` per cell.

Run: ``PYTHONPATH=$PWD python benchmarks/sandbox.py [--cells 300] [--episodes 40]``.
Prints, for each level this host supports: the per-cell latency of a trivial cell in a
persistent session; the cold start of a sandbox and what it is made of; the reset of a
sandbox to a fresh session (the zygote forks a new interpreter); and, for
``MathTIR-v0``, the median episode start (``reset`` + first cell) in a loop of short
episodes. The baseline (a new interpreter per cell) is measured in the same run.

Why a cold start costs what it does: bubblewrap creates five namespaces and about
twenty mounts (the network namespace is the slowest part), then a Python interpreter
starts inside (``-S``: no ``site``, the import path is passed in) and imports what the
worker needs, then the worker applies its limits and reports its facts. An episode
loop does not pay it: ``Sandbox.reset`` keeps the namespaces and forks a fresh session
from the pristine zygote, after ending every process and emptying every directory of
the last one.

Targets: per-cell <= 4.5 ms at the strongest level; median episode start <= 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from agent_envs.sandbox import ISOLATION_LEVELS, Sandbox, SandboxError, SandboxLimits
from agent_envs.sandbox.isolation import worker_argv

LIMITS = SandboxLimits(wall_time=10)


def _ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def _timed(command: list[str], n: int) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run(command, check=False)
        times.append(time.perf_counter() - start)
    return _ms(times)


def fresh_interpreter_cell(n: int) -> float:
    """Median ms of running a trivial cell in a new ``python -I -S`` process."""
    return _timed([sys.executable, "-I", "-S", "-c", "x = 1"], n)


def cold_start_parts(n: int) -> dict[str, float]:
    """Median ms of the pieces of a bubblewrap cold start."""
    python = [sys.executable, "-I", "-S", "-c", "import ast, json, resource, socket, types"]
    return {
        "bwrap only (namespaces + mounts)": _timed(
            worker_argv("bwrap", ["/bin/true"], None, 64), n
        ),
        "python -I -S + worker imports": _timed(python, n),
        "both": _timed(worker_argv("bwrap", python, None, 64), n),
    }


def measure_level(level: str, cells: int, starts: int) -> dict[str, float] | None:
    """Per-cell, cold-start and reset medians (ms) at ``level``; None if absent."""
    try:
        box = Sandbox(LIMITS, isolation=level).start()
    except SandboxError as exc:
        print(f"  {level}: unavailable ({str(exc)[:120]})")
        return None
    try:
        box.run("x = 0")
        times = []
        for _ in range(cells):
            start = time.perf_counter()
            box.run("x = x + 1")
            times.append(time.perf_counter() - start)
        resets = []
        for _ in range(starts * 3):
            start = time.perf_counter()
            box.reset()
            box.run("x = 1")
            resets.append(time.perf_counter() - start)
    finally:
        box.close()
    cold = []
    for _ in range(starts):
        start = time.perf_counter()
        fresh = Sandbox(LIMITS, isolation=level).start()
        cold.append(time.perf_counter() - start)
        fresh.close()
    return {"cell": _ms(times), "cold": _ms(cold), "reset": _ms(resets)}


def episode_loop(episodes: int) -> tuple[float, float]:
    """Median and 90th-percentile ms of reset + first cell over short MathTIR episodes."""
    from agent_envs.math.env import MathTIREnv

    env = MathTIREnv(levels=1, cell_timeout=5)
    starts = []
    for seed in range(episodes):
        start = time.perf_counter()
        env.reset(seed=seed)
        env.step("```python\nprint(6 * 7)\n```")
        starts.append(time.perf_counter() - start)
        env.step("\\boxed{42}")
    env.close()
    starts.sort()
    return _ms(starts), 1000 * starts[int(0.9 * (len(starts) - 1))]


def main() -> None:
    """Measure and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--episodes", type=int, default=40)
    args = parser.parse_args()
    print(f"baseline: fresh `python -I -S` per cell ({args.starts * 3} runs)...")
    base = fresh_interpreter_cell(args.starts * 3)
    rows = {}
    for level in ISOLATION_LEVELS:
        print(f"measuring {level}...")
        result = measure_level(level, args.cells, args.starts)
        if result:
            rows[level] = result
    print()
    print(f"{'level':<15}{'cell ms':>9}{'vs fresh':>10}{'cold start ms':>15}{'reset+cell ms':>15}")
    print(f"{'fresh python':<15}{base:>9.2f}{1.0:>9.2f}x{base:>15.1f}{'-':>15}")
    for level, r in rows.items():
        print(
            f"{level:<15}{r['cell']:>9.3f}{r['cell'] / base:>9.3f}x"
            f"{r['cold']:>15.1f}{r['reset']:>15.2f}"
        )
    if any(level.startswith("bwrap") for level in rows):
        print("\nwhat a bubblewrap cold start is made of (medians, ms):")
        for name, ms in cold_start_parts(args.starts).items():
            print(f"  {name:<36}{ms:>8.1f}")
    median, p90 = episode_loop(args.episodes)
    print(
        f"\nMathTIR-v0, {args.episodes} short episodes in a loop: episode start "
        f"(reset + first cell) median {median:.1f} ms, p90 {p90:.1f} ms (target median <= 50)"
    )
    if rows:
        strongest = next(iter(rows))
        r = rows[strongest]
        print(
            f"strongest level {strongest}: per-cell {r['cell']:.3f} ms (target <= 4.5), "
            f"cold start {r['cold']:.0f} ms, reset to a fresh session + first cell {r['reset']:.1f} ms"
        )


if __name__ == "__main__":
    main()
