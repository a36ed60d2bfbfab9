"""verl 0.9: the ``agent_envs`` agent loop, built and run the way verl's worker runs loops.

verl's ``AgentLoopWorker`` looks the sample's ``agent_name`` up in its registry,
instantiates the loop with ``hydra.utils.instantiate`` and awaits ``run``; the loop asks
verl's ``LLMServerClient`` for tokens. Here the client is a ``LLMServerClient`` subclass
whose ``generate`` answers with a deterministic bisection policy (decoded from the
prompt tokens verl's Continuous Token builder produced), so the episode returns can be
checked against local ``run_episode``. Tokenizer: byte-level, ChatML, no download.
"""

from __future__ import annotations

import asyncio
import re
import sys

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.rl import run_episode

from helpers.frameworks import ROOT, require

require("verl")
hydra = require("hydra")
from omegaconf import OmegaConf  # noqa: E402
from verl.experimental.agent_loop import agent_loop as verl_agent_loop  # noqa: E402
from verl.utils.dataset.rl_dataset import RLHFDataset  # noqa: E402
from verl.workers.rollout.llm_server import LLMServerClient  # noqa: E402
from verl.workers.rollout.replica import TokenOutput  # noqa: E402

from agent_envs.integrations.verl_agent_loop import AGENT_NAME, verl_rows  # noqa: E402

sys.path.insert(0, str(ROOT / "examples"))
from _smoke import byte_tokenizer  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_open_episodes")

CHATML = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def guess_from_text(text: str) -> int:
    low, high = 1, 100
    for guess, word in re.findall(r"Guess (\d+): (higher|lower)", text):
        if word == "higher":
            low = max(low, int(guess) + 1)
        else:
            high = min(high, int(guess) - 1)
    return (low + high) // 2


class BisectServer(LLMServerClient):
    """verl's server client, routing to a policy instead of a vLLM replica."""

    def __init__(self, config, tokenizer, reply=None):
        super().__init__(config, load_balancer_handle=None)
        self.tokenizer, self.reply, self.prompts = tokenizer, reply, []

    async def generate(self, request_id, *, prompt_ids, sampling_params, **kwargs):
        text = self.tokenizer.decode(prompt_ids, skip_special_tokens=False)
        self.prompts.append(text)
        reply = self.reply or str(guess_from_text(text))
        ids = self.tokenizer(reply, add_special_tokens=False)["input_ids"]
        ids.append(self.tokenizer.eos_token_id)
        return TokenOutput(token_ids=ids, log_probs=[-0.5] * len(ids), stop_reason="completed")


def config(response_length=2048):
    return OmegaConf.create(
        {
            "actor_rollout_ref": {
                "rollout": {"prompt_length": 2048, "response_length": response_length}
            },
            "data": {},
        }
    )


def run_loop(row, server, cfg):
    """What verl's AgentLoopWorker does for one sample."""
    spec = verl_agent_loop._agent_loop_registry[row["agent_name"]]

    async def go():
        loop = hydra.utils.instantiate(
            config=spec,
            trainer_config=verl_agent_loop.DictConfigWrap(config=cfg),
            server_manager=server,
            tokenizer=server.tokenizer,
            processor=None,
            hf_model_type=None,
            dataset_cls=RLHFDataset,
            data_config=verl_agent_loop.DictConfigWrap(cfg.data),
            tools=verl_agent_loop.ToolListWrap([]),
        )
        return await loop.run({"temperature": 1.0}, raw_prompt=row["prompt"], **row)

    return asyncio.run(go())


def local(seed, policy, max_turns=None):
    env = gym.make("Toy-GuessNumber-v0")
    try:
        return run_episode(env, policy, seed=seed, max_turns=max_turns)
    finally:
        env.close()


def bisect_policy(messages):
    return str(guess_from_text("\n".join(m["content"] for m in messages)))


@pytest.mark.parametrize("seed", [0, 5])
def test_agent_loop_plays_the_episode_with_verl_server(seed):
    assert AGENT_NAME in verl_agent_loop._agent_loop_registry
    tokenizer = byte_tokenizer(CHATML)
    server = BisectServer(config(), tokenizer)
    row = verl_rows("Toy-GuessNumber-v0", [seed])[0]
    out = run_loop(row, server, config())
    expected = local(seed, bisect_policy)
    assert out.extra_fields["turn_scores"] == pytest.approx(expected.rewards)
    assert out.reward_score == pytest.approx(expected.total_reward)
    assert out.extra_fields["episode_done"] is True
    assert len(server.prompts) == len(expected.turns)
    # verl's token bookkeeping: the env's replies are in the response, masked 0
    assert len(out.response_ids) == len(out.response_mask) == len(out.response_logprobs)
    text = tokenizer.decode(out.response_ids)
    assert expected.turns[0].observation in text
    generated = [t for t, m in zip(out.response_ids, out.response_mask, strict=True) if m]
    assert tokenizer.decode(generated).count("<|im_end|>") == len(expected.turns)
    assert tokenizer.decode(out.prompt_ids).startswith("<|im_start|>system")


def test_response_budget_ends_the_sample_and_closes_the_env():
    tokenizer = byte_tokenizer(CHATML)
    cfg = config(response_length=40)
    server = BisectServer(cfg, tokenizer, reply="50")
    row = verl_rows("Toy-GuessNumber-v0", [2])[0]
    out = run_loop(row, server, cfg)
    assert out.extra_fields["episode_done"] is False
    assert len(out.response_ids) <= 40
    assert out.reward_score == pytest.approx(sum(out.extra_fields["turn_scores"]))


def test_opamp_sample_closes_its_simulator():
    tokenizer = byte_tokenizer(CHATML)
    server = BisectServer(config(), tokenizer, reply="w1 = 20u\ncc = 2p")
    row = verl_rows("ACS-OpAmp-v0", [0], max_turns=2)[0]
    out = run_loop(row, server, config())
    assert len(out.extra_fields["turn_scores"]) == 2
    assert "best_score" in out.extra_fields


def test_row_without_env_id_is_a_clear_error():
    tokenizer = byte_tokenizer(CHATML)
    row = {"prompt": [{"role": "user", "content": "hi"}], "agent_name": AGENT_NAME}
    with pytest.raises(ValueError, match="env_id"):
        run_loop(row, BisectServer(config(), tokenizer), config())
