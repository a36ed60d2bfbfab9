"""Generate (and cache) the first games of a text-game id ahead of training, in parallel.

Generating a game costs seconds of CPU (TextWorld's generator and the Inform 7 compiler;
ALFWorld's planner check); doing it once before a run keeps the first resets of training
fast. ``jobs`` worker processes (default: one per CPU) share the work; each keeps one
environment, so the engine libraries are imported once per worker, and TextWorld games
are only generated, never started. The cache lets one process build each game, so
several prefetches (or training workers) may run at once.

    python -m agent_envs.textgames.prefetch TextWorld-Custom-v0 --games 200 \\
        --kwargs '{"preset": "w2-o3-q4", "split": "train"}'
    200 games of TextWorld-Custom-v0 ready in 412.3 s with 16 processes (33.0 s per game per process)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any

__all__ = ["prefetch", "PrefetchReport", "main"]

_worker_env: Any = None


@dataclass(frozen=True)
class PrefetchReport:
    """What a prefetch did: ``games`` checked or built by ``jobs`` processes in ``seconds``.

    Example:
        >>> report = PrefetchReport("TextWorld-Custom-v0", games=10, jobs=2, seconds=50.0)
        >>> report.seconds_per_game, report.process_seconds_per_game
        (5.0, 10.0)
        >>> str(report)
        '10 games of TextWorld-Custom-v0 ready in 50.0 s with 2 processes (10.0 s per game per process)'
    """

    env_id: str
    games: int
    jobs: int
    seconds: float

    @property
    def seconds_per_game(self) -> float:
        """Wall-clock seconds per game of the pool."""
        return self.seconds / self.games if self.games else 0.0

    @property
    def process_seconds_per_game(self) -> float:
        """Seconds one process spends on one game (wall time x processes / games)."""
        return self.seconds * self.jobs / self.games if self.games else 0.0

    def __str__(self) -> str:
        return (
            f"{self.games} games of {self.env_id} ready in {self.seconds:.1f} s with "
            f"{self.jobs} process{'es' if self.jobs != 1 else ''} "
            f"({self.process_seconds_per_game:.1f} s per game per process)"
        )


def _open(env_id: str, kwargs: dict[str, Any]) -> None:
    global _worker_env
    import gymnasium as gym  # the ids are registered: importing this module ran agent_envs

    _worker_env = gym.make(env_id, **kwargs).unwrapped


def _one(env_id: str, index: int) -> int:
    from agent_envs.textgames.game_env import TextGameEnv

    env = _worker_env
    option = "task_index" if env_id.startswith("ALFWorld") else "game_index"
    if isinstance(env, TextGameEnv):
        env._select_game({option: index})  # generate (and check) the game; no episode
    else:
        env.reset(seed=0, options={option: index})
    return index


def _serial(env_id: str, indices: range, kwargs: dict[str, Any]) -> int:
    _open(env_id, kwargs)
    try:
        return len([_one(env_id, i) for i in indices])
    finally:
        _worker_env.close()


def prefetch(env_id: str, games: int, jobs: int | None = None, **kwargs: Any) -> PrefetchReport:
    """Make sure games ``0..games-1`` of ``env_id`` (with ``kwargs``) are cached.

    ``jobs`` processes work in parallel (default: one per CPU, at most one per game).

    Example:
        >>> prefetch("Toy-GuessNumber-v0", 0).games
        0
    """
    if not isinstance(games, int) or games < 0:
        raise ValueError(f"games must be an int >= 0, got {games!r}")
    if jobs is None:
        jobs = os.cpu_count() or 1
    if not isinstance(jobs, int) or jobs < 1:
        raise ValueError(f"jobs must be an int >= 1, got {jobs!r}")
    jobs = max(1, min(jobs, games))
    start = time.perf_counter()
    if games == 0:
        done = 0
    elif jobs == 1:
        done = _serial(env_id, range(games), kwargs)
    else:
        with ProcessPoolExecutor(jobs, initializer=_open, initargs=(env_id, kwargs)) as pool:
            done = len(list(pool.map(_one, [env_id] * games, range(games))))
    return PrefetchReport(env_id, done, jobs, time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    """Command line (`agent-envs prefetch ENV_ID --games N --jobs J`); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_id")
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=None, help="processes (default: CPUs)")
    parser.add_argument("--kwargs", default="{}", help="JSON object of constructor keywords")
    args = parser.parse_args(argv)
    print(prefetch(args.env_id, args.games, args.jobs, **json.loads(args.kwargs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
