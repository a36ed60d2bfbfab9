"""Run a benchmark: every policy on the same seeds, in parallel, resumable.

Each finished episode is appended to ``episodes.jsonl`` as soon as it ends (one
:func:`~agent_envs.bench.task.episode_record` row per episode), so a run
that is interrupted, or re-run with the same arguments, only plays what is missing.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_envs.bench.task import EpisodeTask, episode_record, play_task

__all__ = ["BenchConfig", "check_policies", "load_records", "run_bench"]

EPISODES_FILE = "episodes.jsonl"


@dataclass
class BenchConfig:
    """One benchmark: an id, its keywords, the policies and the seeds every policy plays.

    Example:
        >>> config = BenchConfig("ACS-OpAmp-v0", ["random", "bo"], [0, 1], {"budget": 10})
        >>> [task.key for task in config.tasks()]
        [('random', 0), ('bo', 0), ('random', 1), ('bo', 1)]
    """

    env_id: str
    policies: list[str]
    seeds: list[int]
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    policy_kwargs: dict[str, dict[str, Any]] = field(default_factory=dict)
    max_turns: int = 1000

    def tasks(self) -> list[EpisodeTask]:
        """Every (policy, seed) episode of the benchmark, seeds interleaved across policies."""
        return [
            EpisodeTask(
                self.env_id,
                policy,
                seed,
                dict(self.env_kwargs),
                dict(self.policy_kwargs.get(policy, {})),
                self.max_turns,
            )
            for seed in self.seeds
            for policy in self.policies
        ]

    def matches(self, record: dict[str, Any]) -> bool:
        """Whether a stored episode belongs to this benchmark (same id, keywords, seeds)."""
        return (
            record.get("env_id") == self.env_id
            and record.get("env_kwargs") == self.env_kwargs
            and record.get("policy") in self.policies
            and record.get("policy_kwargs", {}) == self.policy_kwargs.get(record["policy"], {})
            and record.get("seed") in self.seeds
        )


def check_policies(config: BenchConfig) -> None:
    """Fail early, with a clear message, if an id or a policy cannot be used.

    Builds each policy once (policies load models lazily, so this is cheap) and the
    environment once, and lets each policy class that knows its needs (``check_env``)
    inspect it: black-box policies need a design space.

    Example:
        >>> check_policies(BenchConfig("Toy-GuessNumber-v0", ["sobol"], [0]))
        Traceback (most recent call last):
        ...
        ValueError: policy 'sobol' cannot play Toy-GuessNumber-v0: ...
    """
    import gymnasium as gym

    from agent_envs import make
    from agent_envs.baselines.registry import make_policy, policy_class

    classes = {name: policy_class(name) for name in config.policies}
    for name in config.policies:  # constructor errors (a missing model name, a bad keyword)
        try:
            make_policy(name, **config.policy_kwargs.get(name, {})).close()
        except (TypeError, ValueError) as exc:
            raise ValueError(f"cannot build policy {name!r}: {exc}") from exc
    try:
        env = make(config.env_id, **config.env_kwargs)
    except gym.error.Error as exc:
        raise ValueError(f"cannot make {config.env_id!r}: {exc}") from exc
    try:
        for name, cls in classes.items():
            check = getattr(cls, "check_env", None)
            if check is not None:
                try:
                    check(env)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"policy {name!r} cannot play {config.env_id}: {exc}") from exc
    finally:
        env.close()


def load_records(path: Path) -> list[dict[str, Any]]:
    """Read every episode record of a JSONL file (a torn last line is skipped).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "episodes.jsonl"
        >>> _ = path.write_text('{"seed": 0}\\n{"seed": 1}\\n{"se')
        >>> load_records(path)
        [{'seed': 0}, {'seed': 1}]
    """
    if not path.exists():
        return []
    records = []
    with open(path) as f:
        for line in f:
            try:
                records.append(json.loads(line))
            except ValueError:
                continue  # a line cut short by an interrupted run
    return records


def _limit_threads() -> None:
    # Each worker is one of several processes: one math thread each avoids oversubscription.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def run_bench(
    config: BenchConfig, out_dir: Path, *, workers: int = 1, progress: bool = True
) -> list[dict[str, Any]]:
    """Play every missing episode of ``config``; return all its finished records.

    Episodes already in ``out_dir/episodes.jsonl`` without an error are kept, not
    replayed. Episodes that raised are stored with their ``error`` and retried on the
    next run. ``workers > 1`` runs episodes in that many processes.

    Example:
        >>> import tempfile, pathlib
        >>> out = pathlib.Path(tempfile.mkdtemp())
        >>> policy = "agent_envs.bench.task:_Always50"
        >>> config = BenchConfig("Toy-GuessNumber-v0", [policy], [0, 1], {"max_turns": 3})
        >>> len(run_bench(config, out, progress=False))
        2
        >>> config.seeds.append(2)  # one more seed: only that episode is played
        >>> [r["seed"] for r in run_bench(config, out, progress=False)]
        [0, 1, 2]
        >>> len(load_records(out / "episodes.jsonl"))
        3
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / EPISODES_FILE
    done = {
        (r["policy"], r["seed"])
        for r in load_records(path)
        if config.matches(r) and r.get("error") is None
    }
    todo = [t for t in config.tasks() if t.key not in done]
    bar = _progress(len(config.tasks()), len(done), progress, config.env_id)
    with open(path, "a") as sink:

        def store(record: dict[str, Any], task: EpisodeTask) -> None:
            sink.write(json.dumps(record) + "\n")
            sink.flush()
            if bar is not None:
                bar.set_postfix_str(f"{task.policy} seed={task.seed}", refresh=False)
                bar.update(1)
            if record["error"] is not None:
                print(
                    f"\n{task.policy} seed={task.seed} failed:\n{record['error']}", file=sys.stderr
                )

        if workers <= 1 or len(todo) <= 1:
            for task in todo:
                store(play_task(task), task)
        else:
            context = mp.get_context("spawn")  # no inherited simulator or thread state
            with ProcessPoolExecutor(
                workers, mp_context=context, initializer=_limit_threads
            ) as pool:
                futures = {pool.submit(play_task, task): task for task in todo}
                for future in as_completed(futures):
                    task = futures[future]
                    try:
                        record = future.result()
                    except Exception as exc:  # the worker process died (e.g. a crash)
                        record = episode_record(task, None, error=f"worker failed: {exc!r}")
                    store(record, task)
    if bar is not None:
        bar.close()
    return finished_records(config, load_records(path))


def finished_records(
    config: BenchConfig, records: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """The error-free records of ``config``, one per (policy, seed), in task order.

    Example:
        >>> config = BenchConfig("X-v0", ["a"], [0, 1])
        >>> stored = [{"env_id": "X-v0", "env_kwargs": {}, "policy": "a", "seed": s, "error": e}
        ...           for s, e in [(1, None), (0, "boom"), (0, None), (7, None)]]
        >>> [r["seed"] for r in finished_records(config, stored)]
        [0, 1]
    """
    latest = {(r["policy"], r["seed"]): r for r in records if config.matches(r) and not r["error"]}
    return [latest[t.key] for t in config.tasks() if t.key in latest]


def _progress(total: int, initial: int, enabled: bool, label: str) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the `plot` extra is not installed: no bar
        return None
    return tqdm(total=total, initial=initial, desc=label, unit="episode", file=sys.stderr)
