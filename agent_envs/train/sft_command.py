"""``agent-envs sft``: expert episodes -> chat JSONL -> supervised fine-tuning.

Imports neither torch nor transformers until the command trains.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from agent_envs.core.jsonable import to_jsonable

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``sft`` flags to ``parser``.

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> args = parser.parse_args(["--env", "Toy-GuessNumber-v0", "--episodes", "4"])
        >>> args.episodes, args.steps
        (4, 20)
    """
    add = parser.add_argument
    add("--env", default="Toy-GuessNumber-v0", help="environment id (default %(default)s)")
    add("--env-kwargs", default="{}", help="JSON keywords for gym.make")
    add("--episodes", type=int, default=64, help="expert episodes to play (without --data)")
    add("--expert", default=None, help="expert name (default: the family's; see docs/train/sft.md)")
    add("--data", default=None, help="train on this chat JSONL instead of playing the expert")
    add("--export", default=None, help="write the expert chats here (JSONL, {'messages': [...]})")
    add("--out", default=None, help="output folder: expert.jsonl, log, checkpoint/, summary.json")
    add("--model", default="tiny", help="as for `agent-envs train`")
    add("--steps", type=int, default=20, help="optimizer steps (0: export only)")
    add("--batch-size", type=int, default=8, help="expert chats per step")
    add("--micro-batch-size", type=int, default=4)
    add("--lr", type=float, default=1e-5)
    add("--max-turns", type=int, default=16, help="turn cap of expert and evaluation episodes")
    add("--max-new-tokens", type=int, default=256, help="reply length at evaluation")
    add("--system-prompt", default=None, help="replace the environment's system prompt")
    add("--eval-episodes", type=int, default=16, help="held-out episodes before and after")
    add("--seed", type=int, default=0)
    add("--device", default="auto")
    add("--cpu-threads", type=int, default=None)
    add("--quiet", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Collect or read expert chats, export them, fine-tune; return the exit status."""
    from agent_envs.train.config import TrainConfig
    from agent_envs.train.evaluation import format_evaluation
    from agent_envs.train.sft import collect_expert_episodes, read_chat_jsonl, write_chat_jsonl

    try:
        env_kwargs = json.loads(args.env_kwargs)
        if not isinstance(env_kwargs, dict):
            raise ValueError("--env-kwargs must be a JSON object")
        if args.episodes < 1 or args.steps < 0 or args.batch_size < 2:
            raise ValueError("need --episodes >= 1, --steps >= 0, --batch-size >= 2")
    except (ValueError, json.JSONDecodeError) as err:
        print(f"agent-envs sft: {err}", file=sys.stderr)
        return 2
    out = Path(args.out) if args.out else None
    data = args.data
    if data is None:
        episodes = collect_expert_episodes(
            args.env, range(10_000, 10_000 + args.episodes), env_kwargs=env_kwargs,
            max_turns=args.max_turns, expert=args.expert,
        )  # fmt: skip
        target = args.export or (str(out / "expert.jsonl") if out else None)
        if target is None:
            print("agent-envs sft: give --out or --export for the expert data", file=sys.stderr)
            return 2
        n = write_chat_jsonl(episodes, target)
        print(f"expert: {n} of {args.episodes} episodes kept -> {target}", file=sys.stderr)
        data = target
    if args.steps == 0:
        return 0
    if not read_chat_jsonl(data):
        print(f"agent-envs sft: no expert chat in {data}", file=sys.stderr)
        return 2
    from agent_envs.train.trainer import Trainer

    config = TrainConfig(
        env_id=args.env, env_kwargs=env_kwargs, model=args.model, steps=args.steps,
        group_size=args.batch_size, micro_batch_size=args.micro_batch_size, lr=args.lr,
        max_turns=args.max_turns, max_new_tokens=args.max_new_tokens,
        system_prompt=args.system_prompt, sft_ratio=1.0, sft_data=data, seed=args.seed,
        device=args.device, cpu_threads=args.cpu_threads, out_dir=args.out, quiet=args.quiet,
        eval_episodes=args.eval_episodes,
    )  # fmt: skip
    start, summary = time.perf_counter(), {"config": config.to_dict()}
    trainer = Trainer(config)
    try:
        if config.eval_episodes:
            summary["before"] = trainer.evaluate()
            print(format_evaluation("eval before", summary["before"]), file=sys.stderr)
        trainer.train()
        if config.eval_episodes:
            summary["after"] = trainer.evaluate()
            print(format_evaluation("eval after ", summary["after"]), file=sys.stderr)
    finally:
        trainer.close()
    summary["seconds"] = time.perf_counter() - start
    summary = to_jsonable(summary)  # NaN (no valid turn, no best score) -> null
    print(json.dumps({k: v for k, v in summary.items() if k != "config"}))
    if out:
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    return 0
