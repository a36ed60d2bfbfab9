"""``agent_envs.make``: the id with its reward scheme, recording and chat formatting."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import agent_envs
from agent_envs.wrappers import REWARD_SCHEMES, wrap_reward

GUESSES = ["50", "25", "hello", "37", "31"]


def _play(env: gym.Env) -> tuple[list[float], list[dict]]:
    env.reset(seed=3)
    rewards, infos = [], []
    for guess in GUESSES:
        _, reward, terminated, truncated, info = env.step(guess)
        rewards.append(float(reward))
        infos.append(info)
        if terminated or truncated:
            break
    return rewards, infos


@pytest.mark.parametrize("scheme", sorted(REWARD_SCHEMES))
def test_each_scheme_pays_what_the_wrapper_pays(scheme: str) -> None:
    # the same rewards as wrapping by hand: make adds nothing of its own to the signal
    made = agent_envs.make("Toy-GuessNumber-v0", reward=scheme)
    by_hand = wrap_reward(gym.make("Toy-GuessNumber-v0"), scheme)
    assert _play(made)[0] == _play(by_hand)[0]


def test_best_turn_return_is_the_best_valid_score() -> None:
    rewards, infos = _play(agent_envs.make("Toy-GuessNumber-v0", reward="best-turn"))
    scores = [i["score"] for i in infos if i["score"] is not None]
    assert sum(rewards) == pytest.approx(max(scores))


def test_record_writes_the_scheme_rewards_and_chat_gives_messages(tmp_path) -> None:
    path = tmp_path / "episodes.jsonl"
    env = agent_envs.make("Toy-GuessNumber-v0", reward="sparse", record=path, chat={"max_turns": 2})
    messages, _ = env.reset(seed=3)
    assert [m["role"] for m in messages] == ["system", "user"]
    paid = []
    for guess in GUESSES:
        messages, reward, terminated, truncated, _ = env.step(guess)
        paid.append(reward)
        if terminated or truncated:
            break
    env.close()
    assert all(r == 0.0 for r in paid[:-1])  # sparse: everything at the end
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    recorded = [line["reward"] for line in lines if "reward" in line]
    assert recorded == paid


def test_gymnasium_keywords_reach_gym_make() -> None:
    env = agent_envs.make("Toy-GuessNumber-v0", max_episode_steps=2, reward="sparse")
    env.reset(seed=0)
    env.step("1")
    *_, truncated, _ = env.step("2")
    assert truncated  # the time limit sits inside the scheme, so it sees the end


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"reward": "sum"}, ValueError),
        ({"reward": "native", "reward_kwargs": {"k": 2}}, ValueError),
        ({"reward_kwargs": [1]}, TypeError),
        ({"chat": "yes"}, TypeError),
        ({"record": 3}, TypeError),
    ],
)
def test_bad_arguments_raise_clear_errors(kwargs: dict, error: type) -> None:
    with pytest.raises(error):
        agent_envs.make("Toy-GuessNumber-v0", **kwargs)
