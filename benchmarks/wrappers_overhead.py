"""Overhead of the reward/chat/recording wrappers and of fork-based turn groups.

Prints ratios against a bare ``Toy-GuessNumber-v0`` baseline measured in the same
process (the toy env is microseconds per step, so this is a worst case: on real
environments the simulator dominates). Run: ``PYTHONPATH=$PWD python benchmarks/wrappers_overhead.py``.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import gymnasium as gym

import agent_envs  # noqa: F401
from agent_envs.rl import run_episode, sample_turn_group
from agent_envs.wrappers import (
    BestTurnReward,
    ChatMessages,
    RecordTrajectories,
    RewardSparsity,
    TurnPenalty,
)

EPISODES = 300


def policy(messages):
    return str(len(messages) * 7 % 100 + 1)


def timed(make_env) -> float:
    env = make_env()
    start = time.perf_counter()
    for seed in range(EPISODES):
        run_episode(env, policy, seed=seed)
    env.close()
    return time.perf_counter() - start


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    timed(lambda: gym.make("Toy-GuessNumber-v0"))  # warm-up (imports, caches)
    bare = timed(lambda: gym.make("Toy-GuessNumber-v0"))
    cases = {
        "BestTurnReward": lambda: BestTurnReward(gym.make("Toy-GuessNumber-v0")),
        "RewardSparsity(sparse)": lambda: RewardSparsity(gym.make("Toy-GuessNumber-v0"), "sparse"),
        "ChatMessages": lambda: ChatMessages(gym.make("Toy-GuessNumber-v0")),
        "RecordTrajectories": lambda: RecordTrajectories(
            gym.make("Toy-GuessNumber-v0"), tmp / "a.jsonl"
        ),
        "all stacked": lambda: ChatMessages(
            TurnPenalty(
                RewardSparsity(
                    BestTurnReward(
                        RecordTrajectories(gym.make("Toy-GuessNumber-v0"), tmp / "b.jsonl")
                    ),
                    "every_k",
                )
            )
        ),
    }
    print(f"bare env: {EPISODES} episodes in {bare:.3f}s ({bare / EPISODES * 1e3:.2f} ms/episode)")
    for name, make in cases.items():
        t = timed(make)
        print(f"{name:24s} {t:.3f}s  ratio {t / bare:.2f}x")
    # turn-level group of 8 after 4 turns vs 8 plain steps
    env = gym.make("Toy-GuessNumber-v0")
    env.reset(seed=0)
    for guess in ("10", "20", "30", "40"):
        env.step(guess)
    start = time.perf_counter()
    for _ in range(50):
        for c in sample_turn_group(env, policy, [], 8):
            c.close()
    group_time = (time.perf_counter() - start) / 50
    start = time.perf_counter()
    for _ in range(50):
        twin = env.unwrapped.fork()
        twin.close()
    fork_time = (time.perf_counter() - start) / 50
    print(
        f"sample_turn_group(G=8) at turn 4: {group_time * 1e3:.2f} ms; one fork: {fork_time * 1e3:.3f} ms"
    )


if __name__ == "__main__":
    main()
