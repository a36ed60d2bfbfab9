"""Paired comparison of black-box baselines against random search at equal budget.

Every policy plays the same seeds (the same tasks); for each policy and each seed the
best score is paired with random search's on that seed. Printed per policy: wins / ties /
losses, the mean paired difference, and the one-sided Wilcoxon signed-rank p-value of
"better than random"; then for success, the discordant pairs (only this policy solved the
seed / only random did) and the one-sided exact McNemar (binomial) p-value. Episodes are stored and resumed like ``agent-envs bench`` (same
folder format), so this can reuse a bench run's ``--out`` folder.

Run: ``PYTHONPATH=$PWD python benchmarks/bo_vs_random.py [--env ACS-OpAmp-v0]
[--policies sobol,bo,cmaes] [--episodes 20] [--budget 30] [--out runs/results-opamp]``.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from scipy.stats import binomtest, wilcoxon

from agent_envs.bench.runner import BenchConfig, check_policies, run_bench


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="ACS-OpAmp-v0")
    parser.add_argument("--policies", default="sobol,bo,cmaes")
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--budget", type=int, default=30)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()

    others = [p for p in args.policies.split(",") if p and p != "random"]
    config = BenchConfig(
        args.env, ["random", *others], list(range(args.episodes)), {"budget": args.budget}
    )
    check_policies(config)
    out = args.out or Path("runs") / f"bo_vs_random-{args.env}-{args.budget}"
    records = run_bench(config, out, workers=args.workers)
    best = {(r["policy"], r["seed"]): r["best_score"] for r in records}
    solved = {(r["policy"], r["seed"]): r["success"] for r in records}
    print(f"\n{args.env}, budget {args.budget}, seeds 0..{args.episodes - 1}: best score vs random")
    print(
        "| policy | pairs | wins/ties/losses | mean difference | Wilcoxon p (one-sided) "
        "| success: only policy / only random | McNemar p (one-sided) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for policy in others:
        pairs = [
            (best[(policy, s)], best[("random", s)])
            for s in config.seeds
            if best.get((policy, s)) is not None and best.get(("random", s)) is not None
        ]
        diffs = [a - b for a, b in pairs]
        wins = sum(d > 0 for d in diffs)
        ties = sum(d == 0 for d in diffs)
        mean = sum(diffs) / len(diffs) if diffs else float("nan")
        nonzero = [d for d in diffs if d != 0]
        p = wilcoxon(nonzero, alternative="greater").pvalue if nonzero else float("nan")
        only_p = sum(solved[(policy, s)] and not solved[("random", s)] for s in config.seeds)
        only_r = sum(solved[("random", s)] and not solved[(policy, s)] for s in config.seeds)
        n = only_p + only_r
        mp = binomtest(only_p, n, alternative="greater").pvalue if n else float("nan")
        print(
            f"| {policy} | {len(pairs)} | {wins}/{ties}/{len(diffs) - wins - ties} "
            f"| {mean:+.4f} | {p:.3g} | {only_p} / {only_r} | {mp:.3g} |"
        )


if __name__ == "__main__":
    main()
