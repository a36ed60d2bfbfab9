"""Generate (and cache) the first games of a text-game id ahead of training.

Generation costs seconds per game; doing it once before a run keeps the first resets of
training fast. Parallel jobs are safe: the cache lets one process build each game.

    python -m agent_envs.textgames.prefetch TextWorld-Custom-v0 --games 200 --jobs 2 \\
        --kwargs '{"difficulty": "w2-o3-q4", "split": "train"}'
"""

from __future__ import annotations

import argparse
import json
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

__all__ = ["prefetch", "main"]


def _one(env_id: str, index: int, kwargs: dict[str, Any]) -> int:
    import gymnasium as gym

    import agent_envs  # noqa: F401  (registers the ids)

    option = "task_index" if env_id.startswith("ALFWorld") else "game_index"
    env = gym.make(env_id, **kwargs)
    try:
        env.reset(seed=0, options={option: index})
    finally:
        env.close()
    return index


def prefetch(env_id: str, games: int, jobs: int = 1, **kwargs: Any) -> int:
    """Make sure games ``0..games-1`` of ``env_id`` (with ``kwargs``) are cached.

    Returns the number of games checked.

    Example:
        >>> prefetch("Toy-GuessNumber-v0", 0)
        0
    """
    if games < 0 or jobs < 1:
        raise ValueError("games must be >= 0 and jobs >= 1")
    if games == 0:
        return 0
    if jobs == 1:
        return len([_one(env_id, i, kwargs) for i in range(games)])
    with ProcessPoolExecutor(jobs) as pool:
        return len(list(pool.map(_one, [env_id] * games, range(games), [kwargs] * games)))


def main(argv: list[str] | None = None) -> int:
    """Command line (`agent-envs prefetch ENV_ID --games N --jobs J`); returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("env_id")
    parser.add_argument("--games", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--kwargs", default="{}", help="JSON object of constructor keywords")
    args = parser.parse_args(argv)
    done = prefetch(args.env_id, args.games, args.jobs, **json.loads(args.kwargs))
    print(f"{done} games of {args.env_id} ready")
    return 0


if __name__ == "__main__":
    sys.exit(main())
