"""Ray rollouts against local ``run_episode`` in the same process, on ``ACS-OpAmp-v0``.

Plays ``--episodes`` episodes of ``--turns`` turns with a deterministic policy (a new
design every turn, so every turn simulates), three ways: sequentially in this process
(the baseline), on a ``RayRolloutPool`` with the policy on the actors, and with the
policy batched on the driver. Prints seconds and the speed ratio to the baseline
(Ray start-up is excluded; the pool's actors are warmed by one episode each, and the
batched mode, which keeps every episode's env alive at once, by one first call).

Run: ``PYTHONPATH=$PWD python benchmarks/ray_rollouts.py [--workers 2 --episodes 16]``.
"""

from __future__ import annotations

import argparse
import time
import zlib

import agent_envs
from agent_envs.rl import run_episode


def policy(messages: list[dict[str, str]]) -> str:
    n, task = len(messages), zlib.crc32(messages[1]["content"].encode()) % 97
    return f"w1 = {10 + 3 * n + task}u\ncc = {1 + n / 10:.2f}p"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--episodes", type=int, default=16)
    parser.add_argument("--turns", type=int, default=4)
    args = parser.parse_args()
    import ray

    from agent_envs.integrations.ray_rollouts import RayRolloutPool

    seeds = list(range(args.episodes))
    env = agent_envs.make("ACS-OpAmp-v0")
    run_episode(env, policy, seed=10_000, max_turns=1)  # start the simulator
    start = time.perf_counter()
    local = [run_episode(env, policy, seed=s, max_turns=args.turns) for s in seeds]
    t_local = time.perf_counter() - start
    env.close()

    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    with RayRolloutPool("ACS-OpAmp-v0", num_workers=args.workers) as pool:
        pool.run_episodes(policy, [10_000 + i for i in range(args.workers)], max_turns=1)
        start = time.perf_counter()
        remote = pool.run_episodes(policy, seeds, max_turns=args.turns)
        t_remote = time.perf_counter() - start
        times = []
        for _ in range(2):  # the first round starts one simulator per running episode
            start = time.perf_counter()
            batched = pool.run_batched(
                lambda ps: [policy(p) for p in ps], seeds, max_turns=args.turns
            )
            times.append(time.perf_counter() - start)
        t_cold, t_batched = times
    ray.shutdown()
    same = [t.rewards for t in local] == [t.rewards for t in remote] == [t.rewards for t in batched]
    print(
        f"{args.episodes} episodes x {args.turns} turns, {args.workers} Ray workers; same rewards: {same}"
    )
    print(f"local run_episode      {t_local:7.2f} s   1.00x")
    print(f"Ray, policy on actors  {t_remote:7.2f} s   {t_local / t_remote:.2f}x")
    print(f"Ray, batched on driver {t_batched:7.2f} s   {t_local / t_batched:.2f}x")
    print(f"  (first batched call, starting {args.episodes} simulators: {t_cold:.2f} s)")


if __name__ == "__main__":
    main()
