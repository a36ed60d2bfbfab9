"""Distributed rollouts on Ray with ``RayRolloutPool`` (results equal local ``run_episode``).

    python examples/ray_rollouts.py --smoke                       # 2 actors, scripted policy
    python examples/ray_rollouts.py --env-id ACS-OpAmp-v0 --workers 8 --seeds 64

The policy is a picklable ``messages -> reply`` function shipped to the actors; for a
model on the driver use ``pool.run_batched(batch_policy, seeds)`` instead.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _policies import bisect_policy  # noqa: E402

import agent_envs  # noqa: E402
from agent_envs.integrations.ray_rollouts import RayRolloutPool  # noqa: E402
from agent_envs.rl import run_episode  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="2 actors, 4 seeds, CPU")
    parser.add_argument("--env-id", default="Toy-GuessNumber-v0")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=4)
    args = parser.parse_args(argv)
    if args.smoke:
        args.env_id, args.workers, args.seeds = "Toy-GuessNumber-v0", 2, 4
    seeds = list(range(args.seeds))
    import ray

    ray.cloudpickle.register_pickle_by_value(sys.modules["_policies"])
    init = {"num_cpus": args.workers, "include_dashboard": False, "log_to_driver": False}
    with RayRolloutPool(
        args.env_id, num_workers=args.workers, num_cpus_per_worker=1, ray_init_kwargs=init
    ) as pool:
        remote = pool.run_episodes(bisect_policy, seeds)
    env = agent_envs.make(args.env_id)
    try:
        local = [run_episode(env, bisect_policy, seed=s) for s in seeds]
    finally:
        env.close()
    for r, loc in zip(remote, local, strict=True):
        print(
            f"seed {r.seed}: {len(r.turns)} turns, return {r.total_reward:.3f} "
            f"(local {loc.total_reward:.3f})"
        )
    same = [r.total_reward for r in remote] == [loc.total_reward for loc in local]
    print("remote == local:", same)
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
