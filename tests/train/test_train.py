"""Tests of the reference trainer (agent_envs.train) on the tiny local model."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from agent_envs.cli import main  # noqa: E402
from agent_envs.train import ALGORITHMS, ChatFormat, Conversation, TrainConfig, Trainer  # noqa: E402
from agent_envs.train.algorithms import token_advantages, turn_advantages  # noqa: E402
from agent_envs.train.tiny import build_tiny_tokenizer  # noqa: E402

pytestmark = pytest.mark.train

# A small task a tiny model learns in seconds: Toy-GuessNumber-v0 over 1..9, two turns.
# A random character-level policy rarely writes a valid digit (episode return ~0.1-0.3);
# learning to answer with one digit near the middle is worth ~0.7.
TINY_TASK = dict(
    model="tiny",
    env_kwargs={"high": 9, "max_turns": 2},
    system_prompt="Guess 1-9.",
    group_size=8,
    groups_per_step=2,
    max_new_tokens=4,
    max_turns=2,
    lr=3e-3,
    micro_batch_size=16,
    cpu_threads=1,
    quiet=True,
)


@pytest.fixture(autouse=True)
def _restore_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_append_only_conversation_matches_the_chat_template():
    tok = build_tiny_tokenizer()
    fmt = ChatFormat(tok)
    conv = Conversation.start(fmt, "sys", "task")
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": "task"}]
    for turn, (reply, feedback) in enumerate([("5", "higher."), ("8", "lower.")]):
        ids = tok(reply, add_special_tokens=False)["input_ids"] + [tok.eos_token_id]
        conv.add_agent(ids, stop_ids={tok.eos_token_id})
        conv.add_user(feedback)
        messages += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": feedback},
        ]
        agent = [
            t for t, m, k in zip(conv.ids, conv.mask, conv.turn_of, strict=True) if m and k == turn
        ]
        assert agent == ids
    full = tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert tok.decode(conv.ids) == full
    assert tok(full, add_special_tokens=False)["input_ids"] == conv.ids
    assert sum(conv.mask) == 4 and conv.turns == 2
    # every value position is the context token right before that turn's first agent token
    for turn, pos in enumerate(conv.value_pos):
        assert conv.mask[pos] == 0 and conv.turn_of[pos + 1] == turn


def test_reply_cut_by_length_gets_the_closing_as_context():
    tok = build_tiny_tokenizer()
    conv = Conversation.start(ChatFormat(tok), "", "task")
    conv.add_agent(tok("123", add_special_tokens=False)["input_ids"], stop_ids={tok.eos_token_id})
    assert tok.decode(conv.ids).endswith("assistant\n123<|im_end|>\n")
    assert conv.mask[-2:] == [0, 0] and sum(conv.mask) == 3


def test_turn_rewards_reach_their_own_tokens():
    adv, _ = turn_advantages("gtpo", [[0.0, 1.0], [0.0, 0.0]], [0, 0], gamma=1.0)
    tokens = token_advantages([-1, 0, 0, -1, 1, 1], adv[0])
    assert tokens[0] == tokens[3] == 0.0
    assert tokens[1] == tokens[2] == adv[0][0] and tokens[4] == tokens[5] == adv[0][1]
    # tl-grpo candidates of different turn states never share a baseline
    adv, _ = turn_advantages(
        "tl-grpo", [[1.0], [0.0], [5.0], [5.0]], [(0, 0), (0, 0), (0, 1), (0, 1)]
    )
    assert adv[0][0] > 0 > adv[1][0] and adv[2][0] == adv[3][0] == 0.0


@pytest.mark.parametrize(
    "bad",
    [dict(algo="dpo"), dict(group_size=1), dict(lr=0.0), dict(resume=True), dict(steps=-1),
     dict(similarity_coef=0.5, algo="grpo"), dict(device="tpu")],
)  # fmt: skip
def test_bad_config_raises_value_error(bad):
    with pytest.raises(ValueError):
        TrainConfig(**bad).validate()


def test_cli_rejects_bad_flags(capsys):
    assert main(["train", "--env-kwargs", "[1]"]) == 2
    assert "--env-kwargs" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--algo", "reinforce"])


def test_episodes_longer_than_the_model_context_are_cut_not_crashed():
    trainer = Trainer(TrainConfig(algo="grpo", **{**TINY_TASK, "group_size": 2}))
    first = trainer.rollout(0)[1][0].conv.value_pos[0] + 1  # tokens before the first reply
    trainer.sampler.max_length = first + 4  # room for one reply, not for a second
    samples, episodes = trainer.rollout(0)
    assert all(e.done and len(e.turn_rewards) == 1 for e in episodes)
    trainer.sampler.max_length = first  # no room at all: nothing to train on, no crash
    row = trainer.step()
    assert row["agent_tokens"] == 0 and row["loss"] == 0.0
    trainer.close()


@pytest.mark.slow
def test_cli_run_writes_log_curve_checkpoint_and_resumes(tmp_path):
    straight, split = tmp_path / "straight", tmp_path / "split"
    common = ["train", "--env", "Toy-GuessNumber-v0", "--env-kwargs", '{"high": 9, "max_turns": 2}',
              "--system-prompt", "Guess 1-9.", "--model", "tiny", "--algo", "ppo", "--group-size", "4",
              "--max-new-tokens", "4", "--max-turns", "2", "--lr", "3e-3", "--kl-coef", "0.05",
              "--epochs", "2", "--cpu-threads", "1", "--quiet"]  # fmt: skip
    assert main([*common, "--steps", "4", "--out", str(straight)]) == 0
    assert main([*common, "--steps", "2", "--out", str(split)]) == 0
    assert main([*common, "--steps", "4", "--out", str(split), "--resume"]) == 0
    for folder in (straight, split):
        assert (folder / "learning_curve.png").stat().st_size > 1000
        assert (folder / "checkpoint" / "model.safetensors").exists()
        assert len((folder / "log.csv").read_text().splitlines()) == 5  # header + 4 steps
    rows = [[json.loads(line) for line in (f / "log.jsonl").read_text().splitlines()]
            for f in (straight, split)]  # fmt: skip
    for key in ("turn_reward", "loss", "kl_ref", "value_loss", "agent_tokens"):
        assert [r[key] for r in rows[0]] == pytest.approx([r[key] for r in rows[1]], rel=1e-4)
    assert all(r["kl_ref"] >= 0 and r["tokens_per_s"] > 0 for r in rows[0])
    assert json.loads((split / "summary.json").read_text())["start_step"] == 2


@pytest.mark.slow
@pytest.mark.parametrize("algo", list(ALGORITHMS))
def test_tiny_model_learns(algo):
    """Each algorithm lifts the tiny policy's mean return well above its untrained level."""
    trainer = Trainer(TrainConfig(algo=algo, steps=30, seed=0, **TINY_TASK))
    before = trainer.evaluate(64)
    trainer.train()
    after = trainer.evaluate(64)
    trainer.close()
    # Without learning (lr 1e-9) the same measurement moves by about 0.05.
    before, after = before["return"]["mean"], after["return"]["mean"]
    assert after > before + 0.25, (before, after)
    assert after > 2 * before, (before, after)


def test_template_without_a_system_role_gets_the_system_prompt_in_the_first_message():
    tok = build_tiny_tokenizer()
    tok.chat_template = (
        "{% for m in messages %}{% if m['role'] == 'system' %}{{ raise_exception('no system') }}"
        "{% endif %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    prompt = ChatFormat(tok).first_prompt("Be brief.", "2+2?")
    assert prompt == "<|im_start|>user\nBe brief.\n\n2+2?<|im_end|>\n<|im_start|>assistant\n"
