"""Every ACS id answers every reply with an observation: structured fuzz of ``step()``,
and an async vector env that keeps working after the replies that used to raise."""

from __future__ import annotations

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.registration import list_ids

from helpers.acs_replies import replies

ACS_IDS = sorted(env_id for env_id, _ in list_ids() if env_id.startswith("ACS-"))
BREAKERS = [
    "cc = 1e9999999",
    '{"name": "simulate", "arguments": {"cc": ' + "9" * 400 + "}}",
    '{"name": "simulate", "arguments": "' + "[" * 50_000 + '"}',
    "w1 = a" + " " * 2000 + "x",
]


@pytest.mark.slow
@pytest.mark.parametrize("env_id", ACS_IDS)
def test_step_never_raises_under_structured_fuzz(env_id):
    env = gym.make(env_id, budget=200, max_turns=400)
    base = env.unwrapped
    names = [v.name for v in base.design_space]
    # in-range values that stay near the default, so valid replies simulate quickly
    near_default = {v.name: v.default for v in base.design_space}
    state = {"episodes": 0}
    env.reset(seed=0)

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(replies(names, near_default), st.text(max_size=300)))
    def play(text):
        obs, reward, terminated, truncated, info = env.step(text)
        assert isinstance(obs, str) and obs and isinstance(reward, float)
        assert info["action_valid"] or info["action_error"]
        assert "env_error" in info, (info, obs)
        assert info["env_error"] == "" or reward == 0.0
        if terminated or truncated:
            state["episodes"] += 1
            env.reset(seed=state["episodes"])

    try:
        for reply in BREAKERS:
            obs, reward, *_, info = env.step(reply)
            assert not info["action_valid"] and reward == base.invalid_action_reward
        first = base.design_space[0]
        *_, terminated, truncated, info = env.step(base.format_action({first.name: first.default}))
        assert info["action_valid"] and info["cost"]["simulations"] == 1
        if terminated or truncated:  # the default design may already meet the specs
            env.reset(seed=1)
        play()
    finally:
        env.close()


@pytest.mark.slow
def test_async_vector_env_survives_the_replies_that_used_to_raise():
    envs = gym.make_vec("ACS-OpAmp-v0", num_envs=2, vectorization_mode="async")
    try:
        envs.reset(seed=0)
        for first, second in zip(BREAKERS[:2], BREAKERS[2:], strict=True):
            obs, rewards, _, _, infos = envs.step((first, second))
            assert list(rewards) == [-1.0, -1.0] and not any(infos["action_valid"])
        obs, rewards, _, _, infos = envs.step(("cc = 2p", "ibias = 30u"))
        assert all(infos["action_valid"]) and all(r >= -1.0 for r in rewards)
        assert all("Simulated with" in o for o in obs)
    finally:
        envs.close()
