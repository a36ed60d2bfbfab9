"""The wrappers and turn-level groups on the real circuit env (ngspice really simulates)."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.rl import Trajectory, run_episode, sample_turn_group
from agent_envs.wrappers import (
    BestTurnReward,
    ChatMessages,
    RecordTrajectories,
    read_recorded_episodes,
)

REPLIES = ["cc = 2p\nibias = 30u", "banana", "ibias = 50u\nw6 = 80u", "cc = 4p\nrz = 2k"]


@pytest.mark.slow  # several ngspice workers start (a few seconds)
def test_acs_opamp_best_turn_chat_recording_and_turn_group(tmp_path):
    path = tmp_path / "acs.jsonl"
    env = ChatMessages(BestTurnReward(RecordTrajectories(gym.make("ACS-OpAmp-v0", budget=4), path)))
    replies = iter(REPLIES)
    try:
        traj = run_episode(env, lambda messages: next(replies), seed=1, max_turns=len(REPLIES))
    finally:
        env.close()
    scores = [t.info["score"] for t in traj.turns]
    assert scores[1] is None and traj.turns[1].info["action_valid"] is False
    valid = [s for s in scores if s is not None]
    assert len(valid) == 3 and all(-1.0 <= s <= 1.0 for s in valid)
    assert math.isclose(traj.total_reward, max(valid), abs_tol=1e-12)  # return = best turn
    assert [t.info["native_reward"] for t in traj.turns][1] == -1.0
    (episode,) = read_recorded_episodes(path)
    assert episode["env_id"] == "ACS-OpAmp-v0" and episode["seed"] == 1
    recorded = Trajectory.from_dict(episode)
    assert recorded.to_messages() == traj.to_messages()
    assert [t.info["score"] for t in recorded.turns] == scores

    # fork-based turn group on the circuit env: identical start, original untouched
    base = gym.make("ACS-OpAmp-v0", budget=4)
    try:
        base.reset(seed=1)
        base.step(REPLIES[0])
        before = (base.unwrapped.turn, base.unwrapped.actions, base.unwrapped.best_score)
        group = sample_turn_group(base, lambda m: REPLIES[2], [], 3)
        assert (base.unwrapped.turn, base.unwrapped.actions, base.unwrapped.best_score) == before
        assert len({(c.observation, c.reward) for c in group}) == 1
        assert all(c.info["cost"]["simulations"] == 2 for c in group)
        obs, reward, *_ = base.step(REPLIES[2])
        assert (obs, reward) == (group[0].observation, group[0].reward)
        for c in group:
            c.close()
    finally:
        base.close()
