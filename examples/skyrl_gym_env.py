"""agent-envs ids as SkyRL-Gym environments (``skyrl_gym.make(id, env_config, extras)``).

    python examples/skyrl_gym_env.py --smoke                   # scripted policy, CPU
    python examples/skyrl_gym_env.py --env-id ACS-OpAmp-v0 --write-dataset data/opamp.parquet

``register_skyrl_envs()`` registers every id; the rows of ``prompt_rows`` carry the
``prompt`` and ``env_class`` columns SkyRL's dataset reads (``seed`` reaches the env in
``extras``). The loop below is the call order of SkyRL's generator.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import skyrl_gym  # noqa: E402
from _policies import bisect_policy  # noqa: E402

from agent_envs.integrations import prompt_rows  # noqa: E402
from agent_envs.integrations.skyrl import AgentEnvsTextEnv, register_skyrl_envs  # noqa: E402


def play(row: dict, env_config: dict, policy) -> dict:
    """One row, as SkyRL's generator plays it: make, init, step until done, metrics, close."""
    extras = {k: v for k, v in row.items() if k not in ("prompt", "env_class")}
    env = skyrl_gym.make(row["env_class"], env_config=env_config, extras=extras)
    try:
        chat, _ = env.init(row["prompt"])
        chat, done = list(chat), False
        while not done:
            reply = policy(chat)
            chat.append({"role": "assistant", "content": reply})
            out = env.step(reply)
            chat.extend(out["observations"])
            done = out["done"]
        return env.get_metrics()
    finally:
        env.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--env-id", default="Toy-GuessNumber-v0")
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--max-turns", type=int, default=None)
    parser.add_argument("--write-dataset", default=None, help="parquet path for SkyRL training")
    args = parser.parse_args(argv)
    ids = register_skyrl_envs()
    print(f"registered {len(ids)} ids in skyrl_gym")
    rows = prompt_rows(args.env_id, range(args.seeds))
    if args.write_dataset:
        import datasets

        datasets.Dataset.from_list(rows).to_parquet(args.write_dataset)
        print("wrote", args.write_dataset)
    config = {} if args.max_turns is None else {"max_turns": args.max_turns}
    policy = bisect_policy if args.env_id == "Toy-GuessNumber-v0" else (lambda chat: "w1 = 20u")
    metrics = [play(row, config, policy) for row in rows]
    for row, m in zip(rows, metrics, strict=True):
        print(f"seed {row['seed']}: {m}")
    print("aggregate:", AgentEnvsTextEnv.aggregate_metrics(metrics))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
