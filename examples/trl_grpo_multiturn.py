"""Multi-turn GRPO with TRL: ``GRPOTrainer(environment_factory=EnvironmentFactory(id))``.

    python examples/trl_grpo_multiturn.py --smoke      # tiny random model, 2 steps, CPU
    python examples/trl_grpo_multiturn.py --model Qwen/Qwen3-0.6B --env-id ACS-OpAmp-v0

Each rollout gets its own environment; the model plays turns by calling the ``act``
tool, and ``get_reward`` (the episode return) scores the rollout. ``--smoke`` builds a
2-layer model from a config (no download) and steers it with ``sequence_bias`` to call
the tool, so the run really goes through TRL's tool loop.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--env-id", default="Toy-GuessNumber-v0")
    parser.add_argument("--model", default=None, help="a chat model with tool calling")
    parser.add_argument("--seeds", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--max-turns", type=int, default=5)
    parser.add_argument("--output-dir", default="runs/trl_grpo_multiturn")
    args = parser.parse_args(argv)

    import torch
    import trl
    from datasets import Dataset

    from agent_envs.integrations import prompt_rows
    from agent_envs.integrations.trl_env import EnvironmentFactory

    extra: dict = {}
    if args.smoke:
        from _smoke import byte_tokenizer, forced_reply_bias, tiny_causal_lm

        torch.set_num_threads(1)
        template = (Path(trl.__file__).parent / "chat_templates" / "qwen3.jinja").read_text()
        tokenizer = byte_tokenizer(template)
        model = tiny_causal_lm(tokenizer)
        call = '<tool_call>\n{"name": "act", "arguments": {"reply": "50"}}\n</tool_call>'
        extra["generation_kwargs"] = {"sequence_bias": forced_reply_bias(tokenizer, call)}
        args.env_id, args.seeds, args.steps, args.max_turns = "Toy-GuessNumber-v0", 2, 2, 3
    else:
        if not args.model:
            parser.error("--model is required without --smoke")
        from transformers import AutoTokenizer

        model, tokenizer = args.model, AutoTokenizer.from_pretrained(args.model)
    dataset = Dataset.from_list(prompt_rows(args.env_id, range(args.seeds)))
    config = trl.GRPOConfig(
        output_dir=args.output_dir,
        per_device_train_batch_size=2,
        num_generations=2,
        max_steps=args.steps,
        max_completion_length=256 if args.smoke else 2048,
        max_tool_calling_iterations=args.max_turns + 1,
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=args.smoke or not torch.cuda.is_available(),
        **extra,
    )
    with EnvironmentFactory(args.env_id, max_turns=args.max_turns) as factory:
        trainer = trl.GRPOTrainer(
            model=model,
            processing_class=tokenizer,
            args=config,
            train_dataset=dataset,
            environment_factory=factory,
        )
        trainer.train()
        for env in factory.instances:
            print("last episode:", env.trajectory.actions, "reward", round(env.get_reward(), 3))
    for log in trainer.state.log_history:
        if "rewards/TRLEnvironment/mean" in log:
            print(
                f"step {log['step']}: reward {log['rewards/TRLEnvironment/mean']:.3f}, "
                f"tool calls/rollout {log['tools/call_frequency']:.1f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
