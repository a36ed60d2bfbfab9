"""skyrl-gym 0.4: agent-envs ids through ``skyrl_gym.make`` in the order SkyRL's generator uses.

SkyRL's ``SkyRLGymGenerator`` builds an env per dataset row with
``skyrl_gym.make(row["env_class"], env_config=cfg, extras=row)``, calls
``init(prompt)``, ``step(text)`` until ``done``, ``get_metrics()``, ``close()``, and
aggregates metrics with the env class's ``aggregate_metrics``. The loop below is that
order; returns are checked against local ``run_episode`` on plain Gymnasium envs.
"""

from __future__ import annotations

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.integrations import prompt_rows
from agent_envs.registration import list_ids
from agent_envs.rl import run_episode

from helpers.frameworks import require

skyrl_gym = require("skyrl_gym")

from agent_envs.integrations.skyrl import AgentEnvsTextEnv, register_skyrl_envs  # noqa: E402

pytestmark = pytest.mark.usefixtures("no_open_episodes")


def bisect_policy(messages):
    low, high = 1, 100
    for i, m in enumerate(messages):
        if m["role"] == "assistant" and i + 1 < len(messages):
            feedback = messages[i + 1]["content"]
            if "higher" in feedback:
                low = int(m["content"]) + 1
            elif "lower" in feedback:
                high = int(m["content"]) - 1
    return str((low + high) // 2)


def generator_episode(row, env_config, policy):
    """SkyRL's generator call order for one row."""
    extras = {k: v for k, v in row.items() if k not in ("prompt", "env_class")}
    env = skyrl_gym.make(row["env_class"], env_config=env_config, extras=extras)
    try:
        chat, _ = env.init(row["prompt"])
        chat = list(chat)
        done = False
        while not done:
            action = policy(chat)
            chat.append({"role": "assistant", "content": action})
            out = env.step(action)
            chat.extend(out["observations"])
            done = out["done"]
        return env.get_metrics()
    finally:
        env.close()


def test_every_id_is_registered_by_one_call():
    ids = register_skyrl_envs()
    assert sorted(ids) == sorted(i for i, _ in list_ids())
    for env_id in ids:
        assert env_id in skyrl_gym.registry
    assert register_skyrl_envs() == ids  # twice is fine


@pytest.mark.parametrize("max_turns", [None, 3])
def test_generator_order_matches_local_episodes(max_turns):
    register_skyrl_envs(["Toy-GuessNumber-v0"])
    rows = prompt_rows("Toy-GuessNumber-v0", [0, 1, 2])
    config = {} if max_turns is None else {"max_turns": max_turns}
    metrics = [generator_episode(r, config, bisect_policy) for r in rows]
    env = gym.make("Toy-GuessNumber-v0")
    try:
        local = [run_episode(env, bisect_policy, seed=r["seed"], max_turns=max_turns) for r in rows]
    finally:
        env.close()
    assert [m["episode_return"] for m in metrics] == pytest.approx([t.total_reward for t in local])
    assert [m["turns"] for m in metrics] == [len(t.turns) for t in local]
    cls = skyrl_gym.registry["Toy-GuessNumber-v0"]
    aggregated = AgentEnvsTextEnv.aggregate_metrics(metrics)
    assert aggregated["episode_return"] == pytest.approx(
        sum(t.total_reward for t in local) / len(local)
    )
    assert cls.kwargs == {"env_id": "Toy-GuessNumber-v0"}


def test_opamp_episode_through_skyrl_closes_its_simulator():
    register_skyrl_envs(["ACS-OpAmp-v0"])
    row = prompt_rows("ACS-OpAmp-v0", [0])[0]
    metrics = generator_episode(row, {"max_turns": 2}, lambda chat: "w1 = 20u\ncc = 2p")
    assert metrics["turns"] == 2
    assert "best_score" in metrics


def test_malformed_action_is_an_observation_not_a_crash():
    register_skyrl_envs(["Toy-GuessNumber-v0"])
    env = skyrl_gym.make("Toy-GuessNumber-v0", env_config={}, extras={"seed": 0})
    try:
        env.init(None)
        out = env.step("no number at all")
        assert out["done"] is False and out["metadata"]["action_valid"] is False
        assert out["observations"][0]["role"] == "user"
    finally:
        env.close()


def test_missing_env_id_is_a_clear_error():
    with pytest.raises(ValueError, match="env_id"):
        AgentEnvsTextEnv(env_config={}, extras={"seed": 0})
