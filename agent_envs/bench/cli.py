"""``agent-envs bench``: run policies on an id, print the summary, save results and plots.

Example: ``agent-envs bench ACS-OpAmp-v0 --policy random,bo,cmaes --episodes 20
--budget 30 --out runs/opamp``. Re-running the same command resumes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from agent_envs.bench.report import markdown_table, plot_best_so_far, plot_success_at_k, write_csv
from agent_envs.bench.runner import BenchConfig, check_policies, run_bench
from agent_envs.bench.stats import summarize

__all__ = ["add_arguments", "run"]


def _json_object(text: str) -> dict:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"need comma-separated integers: {exc}") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the ``bench`` options on ``parser``.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> args = parser.parse_args(["ACS-OpAmp-v0", "--policy", "random,bo", "--budget", "15"])
        >>> args.policy, args.budget, args.episodes
        ('random,bo', 15, 20)
    """
    parser.add_argument("env_id", help="environment id, e.g. ACS-OpAmp-v0")
    parser.add_argument(
        "--policy",
        default="random,bo",
        help="comma-separated policy names (random, sobol, bo, cmaes, ...) or module:Class",
    )
    parser.add_argument("--episodes", type=int, default=20, help="seeds per policy (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    parser.add_argument("--budget", type=int, help="simulation budget (the env's `budget` keyword)")
    parser.add_argument(
        "--env-kwargs", type=_json_object, default={}, help="JSON object of extra env keywords"
    )
    parser.add_argument(
        "--policy-kwargs",
        type=_json_object,
        default={},
        help='JSON object: policy name -> constructor keywords, e.g. \'{"bo": {"n_startup_trials": 8}}\'',
    )
    parser.add_argument("--out", type=Path, help="output folder (default runs/<env_id>)")
    parser.add_argument("--workers", type=int, help="parallel processes (default: CPU count)")
    parser.add_argument("--k", type=_int_list, help="success@k columns (default 10,20,budget)")
    parser.add_argument("--max-turns", type=int, help="safety cap on turns per episode")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; print the table and the paths written; return the exit status.

    Example:
        >>> import tempfile
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> argv = ["Toy-GuessNumber-v0", "--policy", "agent_envs.bench.task:_Always50",
        ...         "--episodes", "2", "--no-progress", "--workers", "1", "--out", tempfile.mkdtemp()]
        >>> run(parser.parse_args(argv))  # doctest: +ELLIPSIS
        <BLANKLINE>
        Toy-GuessNumber-v0: 2 episodes; 95% confidence intervals in brackets
        ...
        0
    """
    policies = [p.strip() for p in args.policy.split(",") if p.strip()]
    if not policies or args.episodes < 1:
        print("bench: need at least one policy and --episodes >= 1", file=sys.stderr)
        return 2
    env_kwargs = dict(args.env_kwargs)
    if args.budget is not None:
        env_kwargs["budget"] = args.budget
    budget = env_kwargs.get("budget")
    max_turns = args.max_turns or (4 * int(budget) + 10 if isinstance(budget, int) else 1000)
    config = BenchConfig(
        env_id=args.env_id,
        policies=policies,
        seeds=list(range(args.seed, args.seed + args.episodes)),
        env_kwargs=env_kwargs,
        policy_kwargs={k: dict(v) for k, v in args.policy_kwargs.items()},
        max_turns=max_turns,
    )
    try:
        check_policies(config)
    except ValueError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    out = args.out or Path("runs") / args.env_id.replace(":", "_").replace("/", "_")
    workers = args.workers or min(os.cpu_count() or 1, len(config.tasks()))
    records = run_bench(config, out, workers=workers, progress=not args.no_progress)

    top = max((r["cost"] for r in records), default=0)
    ks = args.k or sorted({k for k in (10, 20, budget or int(top)) if k and k <= max(top, 1)})
    rows = summarize(records, ks, policies)
    table = markdown_table(rows, ks)
    title = f"{args.env_id}" + (f", budget {budget}" if budget else "")
    (out / "summary.md").write_text(f"# {title}\n\n{table}\n")
    write_csv(rows, out / "summary.csv")
    plot_best_so_far(records, policies, out / "best_so_far.png", title)
    plot_success_at_k(records, policies, out / "success_at_k.png", title)
    failed = len(config.tasks()) - len(records)
    print(f"\n{title}: {len(records)} episodes; 95% confidence intervals in brackets\n")
    print(table)
    print(f"\nepisodes: {out / 'episodes.jsonl'}")
    print(f"summary:  {out / 'summary.md'}, {out / 'summary.csv'}")
    print(f"plots:    {out / 'best_so_far.png'}, {out / 'success_at_k.png'}")
    if failed:
        print(f"{failed} episodes failed; re-run the same command to retry them", file=sys.stderr)
        return 1
    return 0
