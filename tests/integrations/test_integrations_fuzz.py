"""Fuzz the framework-free parts of the adapters: any reply text, any turn count."""

from __future__ import annotations

import asyncio
import math

from hypothesis import given, settings
from hypothesis import strategies as st

import agent_envs  # noqa: F401
from agent_envs.integrations.openrlhf_agent import OpenRLHFAgent
from agent_envs.integrations.trl_env import EnvironmentFactory

replies = st.lists(st.one_of(st.text(max_size=40), st.integers(-1000, 1000).map(str)), max_size=12)


@settings(max_examples=30, deadline=None)
@given(replies=replies, seed=st.integers(0, 2**31 - 1), max_turns=st.integers(1, 6))
def test_trl_environment_takes_any_reply(replies, seed, max_turns):
    with EnvironmentFactory("Toy-GuessNumber-v0", max_turns=max_turns) as factory:
        env = factory()
        env.reset(seed=seed, prompt="given")
        for reply in replies:
            assert isinstance(env.act(reply), str)
        played = len(env.trajectory.turns)
        assert played == min(len(replies), max_turns) or env.trajectory.done
        assert math.isfinite(env.get_reward())
    assert factory.open_instances() == 0


@settings(max_examples=20, deadline=None)
@given(replies=replies, seed=st.integers(0, 10_000))
def test_openrlhf_scores_are_the_running_return(replies, seed):
    agent = OpenRLHFAgent("Toy-GuessNumber-v0", tensors=False, max_turns=5)

    async def play():
        await agent.reset({"observation": "p", "label": {"seed": seed}})
        total, outs = 0.0, []
        for reply in replies:
            out = await agent.step({"action_text": reply})
            total += out["rewards"]
            outs.append((out, total))
        return outs

    try:
        for out, total in asyncio.run(play()):
            assert math.isclose(out["scores"], total, abs_tol=1e-9)
    finally:
        agent.close()
