"""``agent-envs acs-random``: a short random-search run of an ACS id, printed as a table.

Example:
    >>> import argparse
    >>> args = argparse.Namespace(env_id="ACS-OpAmp-v0", episodes=1, budget=2,
    ...                           difficulty=0.5, backend="subprocess", seed=0)
    >>> run(args)  # doctest: +ELLIPSIS
    episode  seed  specs  sims  best score  success  ms/step
    ...
    0
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``acs-random`` subcommand.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> parser.parse_args(["--episodes", "2"]).episodes
        2
    """
    parser.add_argument("--env-id", default="ACS-OpAmp-v0")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--difficulty", type=float, default=0.5)
    parser.add_argument("--backend", default="resident", choices=("resident", "subprocess"))
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    """Play ``episodes`` episodes with uniformly random designs; print one row each."""
    import agent_envs  # noqa: F401  (registers the ids)
    from agent_envs.circuits.make_specs import sample_design

    env = gym.make(
        args.env_id, budget=args.budget, difficulty=args.difficulty, backend=args.backend
    )
    rng = np.random.default_rng(args.seed)
    print("episode  seed  specs  sims  best score  success  ms/step")
    try:
        for episode in range(args.episodes):
            seed = args.seed + episode
            env.reset(seed=seed)
            base = env.unwrapped
            done, info, start = False, {}, time.perf_counter()
            while not done:
                reply = base.format_action(sample_design(base.circuit, rng))
                _, _, terminated, truncated, info = env.step(reply)
                done = terminated or truncated
            per_step = (time.perf_counter() - start) / max(base.turn, 1) * 1e3
            print(
                f"{episode:>7}  {seed:>4}  {len(base.specs):>5}  {base.simulations:>4}  "
                f"{info['best_score']:>10.3f}  {info['success']!s:>7}  {per_step:>7.1f}"
            )
    finally:
        env.close()
    return 0
