"""verl 0.9 agent loop ``agent_envs``: one agent-envs episode per sample.

    python examples/verl_agent_loop.py --smoke                       # CPU, scripted server
    python examples/verl_agent_loop.py --env-id ACS-OpAmp-v0 --write-dataset data/opamp

Training with verl: write the dataset (rows carry ``agent_name: agent_envs`` and the
env id/seed in ``extra_info``), import the loop so it registers, and run verl's PPO/GRPO
entry point with multi-turn agent rollouts, e.g.::

    python -m verl.trainer.main_ppo data.train_files=data/opamp/train.parquet \\
        actor_rollout_ref.rollout.agent.agent_loop_config_path=data/opamp/agent_loops.yaml ...

(the YAML names the class, so verl's rollout workers import and register it).

``--smoke`` runs the loop exactly as verl's worker does (registry lookup, Hydra
instantiate, ``await run``) with verl's ``LLMServerClient`` answering from a scripted
policy instead of a vLLM replica, and a byte-level tokenizer built offline.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agent_envs.integrations.verl_agent_loop import AGENT_NAME, verl_rows  # noqa: E402

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def smoke(seeds: list[int]) -> int:
    import hydra
    from _policies import bisect_guess
    from _smoke import byte_tokenizer
    from omegaconf import OmegaConf
    from verl.experimental.agent_loop import agent_loop
    from verl.utils.dataset.rl_dataset import RLHFDataset
    from verl.workers.rollout.llm_server import LLMServerClient
    from verl.workers.rollout.replica import TokenOutput

    tokenizer = byte_tokenizer(CHATML)
    config = OmegaConf.create(
        {
            "actor_rollout_ref": {"rollout": {"prompt_length": 2048, "response_length": 2048}},
            "data": {},
        }
    )

    class ScriptedServer(LLMServerClient):
        async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs):
            context = tokenizer.decode(prompt_ids)
            ids = tokenizer(str(bisect_guess(context)), add_special_tokens=False)["input_ids"]
            return TokenOutput(token_ids=ids + [tokenizer.eos_token_id])

    async def run(row):
        loop = hydra.utils.instantiate(
            config=agent_loop._agent_loop_registry[row["agent_name"]],
            trainer_config=agent_loop.DictConfigWrap(config=config),
            server_manager=ScriptedServer(config, load_balancer_handle=None),
            tokenizer=tokenizer,
            processor=None,
            hf_model_type=None,
            dataset_cls=RLHFDataset,
            data_config=agent_loop.DictConfigWrap(config.data),
            tools=agent_loop.ToolListWrap([]),
        )
        return await loop.run({"temperature": 1.0}, raw_prompt=row["prompt"], **row)

    for row in verl_rows("Toy-GuessNumber-v0", seeds):
        out = asyncio.run(run(row))
        print(
            f"seed {row['extra_info']['seed']}: reward_score {out.reward_score:.3f}, "
            f"turn_scores {[round(r, 3) for r in out.extra_fields['turn_scores']]}, "
            f"{sum(out.response_mask)}/{len(out.response_mask)} response tokens generated"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--env-id", default="Toy-GuessNumber-v0")
    parser.add_argument("--seeds", type=int, default=256)
    parser.add_argument("--max-turns", type=int, default=None)
    parser.add_argument("--write-dataset", default=None, help="a folder for train.parquet")
    args = parser.parse_args(argv)
    if args.smoke:
        return smoke([0, 1, 2])
    if not args.write_dataset:
        parser.error("give --smoke or --write-dataset")
    import datasets

    out = Path(args.write_dataset)
    out.mkdir(parents=True, exist_ok=True)
    rows = verl_rows(args.env_id, range(args.seeds), max_turns=args.max_turns)
    datasets.Dataset.from_list(rows).to_parquet(str(out / "train.parquet"))
    (out / "agent_loops.yaml").write_text(
        f"- name: {AGENT_NAME}\n"
        "  _target_: agent_envs.integrations.verl_agent_loop.AgentEnvsAgentLoop\n"
    )
    print("wrote", out / "train.parquet", "and", out / "agent_loops.yaml")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
