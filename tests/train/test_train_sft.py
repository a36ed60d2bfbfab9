"""Expert data, chat JSONL, supervised steps and the SFT:RL split of the budget."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from agent_envs.cli import main  # noqa: E402
from agent_envs.train import ChatFormat, TrainConfig, Trainer  # noqa: E402
from agent_envs.train.sft import (  # noqa: E402
    collect_expert_episodes,
    read_chat_jsonl,
    sft_conversation,
    write_chat_jsonl,
)
from agent_envs.train.tiny import build_tiny_tokenizer  # noqa: E402

pytestmark = pytest.mark.train

TASK = dict(
    model="tiny", env_kwargs={"high": 9, "max_turns": 4}, system_prompt="Guess 1-9.",
    group_size=4, groups_per_step=1, max_new_tokens=3, max_turns=4, lr=3e-3,
    micro_batch_size=8, cpu_threads=1, quiet=True, eval_episodes=0,
)  # fmt: skip


def test_bisection_expert_wins_within_log2_turns_and_exports_chat_jsonl(tmp_path):
    episodes = collect_expert_episodes("Toy-GuessNumber-v0", range(20), env_kwargs={"high": 9})
    assert len(episodes) == 20 and all(t.success for t in episodes)
    assert max(len(t.turns) for t in episodes) <= math.ceil(math.log2(9)) + 1
    path = tmp_path / "expert.jsonl"
    assert write_chat_jsonl(episodes, path) == 20
    chats = read_chat_jsonl(path)
    tok = build_tiny_tokenizer()
    for chat, traj in zip(chats, episodes, strict=True):
        # the format chat templates (and TRL's SFTTrainer) read
        rendered = tok.apply_chat_template(chat, tokenize=False)
        assert all(m["content"] in rendered for m in chat)
        assert [m["content"] for m in chat if m["role"] == "assistant"] == traj.actions
        conv = sft_conversation(ChatFormat(tok), chat, stop_id=tok.eos_token_id)
        agent = tok.decode([i for i, m in zip(conv.ids, conv.mask, strict=True) if m])
        assert agent == "".join(a + "<|im_end|>" for a in traj.actions)  # only the agent's
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "no messages"}\n')
    with pytest.raises(ValueError):
        read_chat_jsonl(bad)


def test_sft_steps_lower_the_expert_nll_then_rl_takes_over():
    trainer = Trainer(TrainConfig(**{**TASK, "steps": 8, "sft_ratio": 0.75}))
    rows = trainer.train()
    trainer.close()
    phases = [r.get("phase") for r in rows]
    assert phases == ["sft"] * 6 + [None] * 2  # 0.75 of 8 steps, SFT first
    nll = [r["sft_nll"] for r in rows[:6]]
    assert nll[-1] < 0.8 * nll[0], nll


def test_sft_command_exports_and_trains(tmp_path, capsys):
    out = tmp_path / "run"
    flags = ["sft", "--env", "Toy-GuessNumber-v0", "--env-kwargs", '{"high": 9}', "--episodes",
             "6", "--max-turns", "4", "--max-new-tokens", "3", "--system-prompt", "Guess 1-9.",
             "--batch-size", "4", "--cpu-threads", "1", "--quiet", "--eval-episodes", "4"]  # fmt: skip
    assert main([*flags, "--steps", "2", "--out", str(out), "--lr", "1e-3"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["after"]) == {"success", "best_score", "return"}
    assert len(read_chat_jsonl(out / "expert.jsonl")) == 6
    assert main([*flags, "--steps", "0"]) == 2  # nowhere to write the data
    assert main(["train", "--sft-ratio", "0.5", "--sft-steps", "2"]) == 2
    bad_scheme = ["train", "--model", "tiny", "--reward", "every-k", "--reward-kwargs", '{"k": 0}']
    assert main(bad_scheme) == 2


def test_experiment_table_and_curves_from_real_runs(tmp_path):
    from agent_envs.train.experiments import EXPERIMENTS, plot_experiment, results_table

    assert {"acs", "math", "textgames", "alfworld"} <= set(EXPERIMENTS)
    for spec in EXPERIMENTS.values():  # every experiment has an lr~0 control run
        assert "--lr" in spec["runs"]["control"]
    flags = ["train", "--env", "Toy-GuessNumber-v0", "--env-kwargs", '{"high": 9}',
             "--system-prompt", "", "--model", "tiny", "--group-size", "2", "--steps", "1",
             "--max-new-tokens", "2", "--max-turns", "2", "--cpu-threads", "1", "--quiet",
             "--eval-episodes", "3"]  # fmt: skip
    for label in ("a", "control"):
        assert main([*flags, "--out", str(tmp_path / label)]) == 0
    table = results_table(tmp_path)
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    mean = summary["after"]["return"]["mean"]
    assert "| a | return |" in table and f"{mean:.3f}" in table
    assert plot_experiment(tmp_path).stat().st_size > 1000
