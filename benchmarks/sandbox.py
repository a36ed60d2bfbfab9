"""Sandbox latency at each isolation level, against a fresh ``python -I -S`` per cell.

Run: ``PYTHONPATH=$PWD python benchmarks/sandbox.py [--cells 300]``. Prints, for each
level this host supports: the per-cell latency of a trivial cell in a persistent
session, the cold start of a session, and the start of an episode from a warm pool;
the baseline (a new interpreter per cell) is measured in the same run.
Targets: per-cell <= 4.5 ms at the strongest level; warm-pool start <= 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from agent_envs.sandbox import ISOLATION_LEVELS, Sandbox, SandboxError, SandboxLimits, SandboxPool

LIMITS = SandboxLimits(wall_time=10)


def _ms(samples: list[float]) -> float:
    return 1000 * statistics.median(samples)


def fresh_interpreter_cell(n: int) -> float:
    """Median ms of running a trivial cell in a new ``python -I -S`` process."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-S", "-c", "x = 1"], check=True)
        times.append(time.perf_counter() - start)
    return _ms(times)


def measure_level(level: str, cells: int, starts: int) -> dict[str, float] | None:
    """Per-cell, cold-start and warm-pool-start medians (ms) at ``level``; None if absent."""
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
    finally:
        box.close()
    cold = []
    for _ in range(starts):
        start = time.perf_counter()
        fresh = Sandbox(LIMITS, isolation=level).start()
        cold.append(time.perf_counter() - start)
        fresh.close()
    warm = []
    with SandboxPool(1, limits=LIMITS, isolation=level) as pool:
        for _ in range(starts):
            pool.wait_ready()
            start = time.perf_counter()
            got = pool.acquire()
            got.run("x = 1")  # the episode's first cell included
            warm.append(time.perf_counter() - start)
            got.close()
    return {"cell": _ms(times), "cold": _ms(cold), "warm": _ms(warm)}


def main() -> None:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=300)
    parser.add_argument("--starts", type=int, default=10)
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
    print(f"{'level':<15}{'cell ms':>9}{'vs fresh':>10}{'cold start ms':>15}{'warm start ms':>15}")
    print(f"{'fresh python':<15}{base:>9.2f}{1.0:>9.2f}x{base:>15.1f}{'-':>15}")
    for level, r in rows.items():
        print(
            f"{level:<15}{r['cell']:>9.3f}{r['cell'] / base:>9.3f}x"
            f"{r['cold']:>15.1f}{r['warm']:>15.2f}"
        )
    if rows:
        strongest = next(iter(rows))
        r = rows[strongest]
        print(
            f"\nstrongest level {strongest}: per-cell {r['cell']:.3f} ms (target <= 4.5), "
            f"warm-pool episode start {r['warm']:.2f} ms (target <= 50)"
        )


if __name__ == "__main__":
    main()
