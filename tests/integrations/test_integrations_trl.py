"""TRL 1.16: ``GRPOTrainer(environment_factory=EnvironmentFactory(id))`` trains for real.

A 2-layer Qwen3 model built from a config (random weights, byte-level tokenizer, TRL's
own Qwen3 chat template: no download) is steered by ``sequence_bias`` to call the
environment's ``act`` tool with the reply ``"50"``; TRL parses the tool call, runs the
tool, feeds the env's answer back, repeats, then scores each rollout with
``get_reward``. The rewards TRL logs are checked against local ``run_episode`` replays.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.integrations import EnvReward, prompt_rows
from agent_envs.integrations.trl_env import EnvironmentFactory, TRLEnvironment
from agent_envs.rl import run_episode

from helpers.frameworks import ROOT, require

trl = require("trl")
torch = require("torch")
datasets = require("datasets")
sys.path.insert(0, str(ROOT / "examples"))
from _smoke import byte_tokenizer, forced_reply_bias, tiny_causal_lm  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_open_episodes")

CALL = '<tool_call>\n{"name": "act", "arguments": {"reply": "50"}}\n</tool_call>'


def local_return(seed: int, turns: int) -> float:
    env = gym.make("Toy-GuessNumber-v0")
    try:
        return run_episode(env, lambda m: "50", seed=seed, max_turns=turns).total_reward
    finally:
        env.close()


@pytest.fixture
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model on a shared CPU: threads only contend
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
def test_grpo_steps_play_episodes_through_tool_calls(tmp_path, one_thread):
    template = (Path(trl.__file__).parent / "chat_templates" / "qwen3.jinja").read_text()
    tokenizer = byte_tokenizer(template)
    seed = 0
    dataset = datasets.Dataset.from_list(prompt_rows("Toy-GuessNumber-v0", [seed, seed]))
    args = trl.GRPOConfig(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        num_generations=2,
        max_steps=2,
        max_completion_length=256,
        max_tool_calling_iterations=4,
        generation_kwargs={"sequence_bias": forced_reply_bias(tokenizer, CALL)},
        logging_steps=1,
        report_to="none",
        save_strategy="no",
        use_cpu=True,
        seed=0,
    )
    with EnvironmentFactory("Toy-GuessNumber-v0", max_turns=3) as factory:
        trainer = trl.GRPOTrainer(
            model=tiny_causal_lm(tokenizer),
            processing_class=tokenizer,
            args=args,
            train_dataset=dataset,
            environment_factory=factory,
        )
        trainer.train()
        played = [list(e.trajectory.actions) for e in factory.instances]
        returns = [e.get_reward() for e in factory.instances]
    logs = [h for h in trainer.state.log_history if "rewards/TRLEnvironment/mean" in h]
    assert len(logs) == 2 and len(played) == 2
    for actions in played:  # the model's tool calls reached the env, several turns
        assert len(actions) >= 2 and set(actions) == {"50"}
    for actions, value in zip(played, returns, strict=True):
        assert value == pytest.approx(local_return(seed, len(actions)))
    for log in logs:  # TRL's logged reward is the env's return for the turns played
        calls = log["tools/call_frequency"]
        assert calls == int(calls) and calls >= 2
        assert log["rewards/TRLEnvironment/mean"] == pytest.approx(
            local_return(seed, int(calls)), rel=1e-6
        )
    assert math.isfinite(trainer.state.log_history[-1]["train_loss"])


def test_environment_methods_trl_sees():
    """Only ``act`` is a tool; ``reset``/``get_reward`` are TRL's hooks; close is hidden."""
    import inspect

    public = [
        n
        for n, _ in inspect.getmembers(TRLEnvironment, predicate=inspect.isfunction)
        if not n.startswith("_")
    ]
    assert sorted(public) == ["act", "get_reward", "reset"]
    from transformers.utils import get_json_schema  # what TRL renders the tool schema with

    spec = get_json_schema(TRLEnvironment.act)
    assert spec["function"]["parameters"]["required"] == ["reply"]


@pytest.mark.parametrize("reward", ["return", "best_score", "last"])
def test_rewards_and_row_without_prompt(reward):
    with EnvironmentFactory("Toy-GuessNumber-v0", max_turns=2, reward=reward) as factory:
        env = factory()
        opening = env.reset(seed=3)  # no prompt column: TRL appends the env's opening
        assert isinstance(opening, str) and opening
        env.act("50")
        env.act("garbage")
        assert env.act("50").startswith("The episode is over")
        traj = env.trajectory
        expected = {
            "return": traj.total_reward,
            "last": traj.turns[-1].reward,
            "best_score": traj.turns[-1].info.get("best_score") or 0.0,
        }[reward]
        assert env.get_reward() == pytest.approx(expected)


def test_env_reward_kept_for_single_turn_completions():
    reward = EnvReward("Toy-GuessNumber-v0")
    try:
        env = gym.make("Toy-GuessNumber-v0")
        env.reset(seed=5)
        _, expected, *_ = env.step("42")
        env.close()
        assert reward(prompts=None, completions=["42"], seed=[5]) == [expected]
    finally:
        reward.close()


def test_bad_reward_name_is_a_clear_error():
    with pytest.raises(ValueError, match="reward must be"):
        EnvironmentFactory("Toy-GuessNumber-v0", reward="mean")
