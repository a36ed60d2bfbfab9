"""Reward schemes by name, driver truncation, NormalizedDenseReward, forks of wrapped stacks."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest

from agent_envs.rl import end_after_next_step, fork_env, run_episode, sample_turn_group
from agent_envs.toy import GuessNumberEnv
from agent_envs.wrappers import (
    REWARD_SCHEMES,
    BestTurnReward,
    NormalizedDenseReward,
    RewardSparsity,
    wrap_reward,
)

from helpers.scripted_env import ScriptedScoreEnv

SCORES = [1.0, 0.0, 2.0, 0.0, 4.0, 0.0, 0.0, 0.0]


class Float32Score(gym.Wrapper):
    """Hands ``info["score"]`` up as a numpy float32 (as numpy-based envs do)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        if info.get("score") is not None:
            info = {**info, "score": np.float32(info["score"])}
        return obs, reward, terminated, truncated, info


def test_best_turn_counts_numpy_scores():
    env = BestTurnReward(Float32Score(ScriptedScoreEnv([0.5, 0.25, 0.75])))
    traj = run_episode(env, lambda m: "x", seed=0)
    assert [t.reward for t in traj.turns] == [0.5, 0.0, 0.25]  # by hand: 0.5, +0, +0.25


@pytest.mark.parametrize("scheme", ["sparse", "every-k", "delayed", "dense", "native"])
def test_turn_cap_pays_pending_sum_preserving_rewards(scheme):
    # the env would run 8 turns; the driver stops after 5: the paid sum must be 1+0+2+0+4
    env = wrap_reward(ScriptedScoreEnv(SCORES), scheme, **({"k": 3} if scheme == "every-k" else {}))
    traj = run_episode(env, lambda m: "x", seed=0, max_turns=5)
    assert len(traj.turns) == 5 and traj.turns[-1].truncated
    assert traj.metadata["stopped"] == "max_turns"
    assert math.isclose(traj.total_reward, 7.0)


def test_turn_cap_pays_success_and_best_turn():
    won = run_episode(
        wrap_reward(ScriptedScoreEnv(SCORES, success_at=2), "success"), lambda m: "x", max_turns=3
    )
    assert [t.reward for t in won.turns] == [0.0, 1.0]  # terminated by success before the cap
    capped = run_episode(
        wrap_reward(ScriptedScoreEnv(SCORES), "success"), lambda m: "x", max_turns=3
    )
    assert [t.reward for t in capped.turns] == [0.0, 0.0, 0.0] and capped.turns[-1].truncated
    best = run_episode(
        wrap_reward(ScriptedScoreEnv(SCORES), "best-turn"), lambda m: "x", max_turns=5
    )
    assert math.isclose(best.total_reward, 4.0)  # the best of the five scores


def test_normalized_dense_by_hand():
    # native rewards 1, 0, 2 then a win: two non-zero rewards, so 1/2, 0, 2/2
    win = run_episode(NormalizedDenseReward(ScriptedScoreEnv([1.0, 0.0, 2.0], success_at=3)),
                      lambda m: "x", seed=0)  # fmt: skip
    assert [t.reward for t in win.turns] == [0.5, 0.0, 1.0]
    # paid on the way: r/R_max with R_max = 1 (no max_score), then the rest of 1.5 at the end
    assert [t.info["step_reward"] for t in win.turns] == [1.0, 0.0, 0.5]
    # a loss divides by the maximum total reward
    loss = run_episode(NormalizedDenseReward(ScriptedScoreEnv([1.0, 0.0, 2.0]), max_total_reward=4),
                       lambda m: "x", seed=0)  # fmt: skip
    assert [t.reward for t in loss.turns] == [0.25, 0.0, 0.5]
    with pytest.raises(ValueError):
        NormalizedDenseReward(GuessNumberEnv(), max_total_reward=0)


def test_every_scheme_has_a_name_and_rejects_unknown():
    for scheme in REWARD_SCHEMES:
        env = wrap_reward(GuessNumberEnv(max_turns=3), scheme)
        traj = run_episode(env, lambda m: "50", seed=1, max_turns=2)
        assert len(traj.turns) == 2 and all(math.isfinite(t.reward) for t in traj.turns)
    with pytest.raises(ValueError):
        wrap_reward(GuessNumberEnv(), "sum")


def test_fork_env_pays_what_the_original_pays():
    env = BestTurnReward(RewardSparsity(ScriptedScoreEnv(SCORES), mode="delayed", delay=1))
    env.reset(seed=0)
    for _ in range(3):
        env.step("x")
    twin = fork_env(env)
    assert type(twin) is BestTurnReward and type(twin.env) is RewardSparsity
    ours = [env.step("x")[1] for _ in range(3)]
    theirs = [twin.step("x")[1] for _ in range(3)]
    assert ours == theirs and twin.unwrapped is not env.unwrapped


def test_turn_group_uses_the_wrapped_rewards_and_distinct_dropout_coins():
    env = BestTurnReward(GuessNumberEnv(low=1, high=100))
    env.reset(seed=0)
    env.step("100")  # best so far: the score of 100
    replies = iter(["1", "99"])
    group = sample_turn_group(env, lambda m: next(replies), [], 2)
    assert [c.reward for c in group] == [0.0, max(0.0, group[1].info["score"] - env.best_score)]
    assert all(isinstance(c.env, BestTurnReward) for c in group)
    drop = RewardSparsity(ScriptedScoreEnv([1.0] * 64), mode="dropout", p=0.5)
    drop.reset(seed=0)
    forks = [fork_env(drop) for _ in range(2)]
    coins = [[f.step("x")[1] for _ in range(64)] for f in forks]
    assert coins[0] != coins[1]


def test_end_after_next_step_reaches_every_supporting_layer():
    env = BestTurnReward(RewardSparsity(GuessNumberEnv(max_turns=9), mode="sparse"))
    env.reset(seed=0)
    assert end_after_next_step(env) == 2
    *_, truncated, _ = env.step("50")
    assert truncated
    *_, truncated, _ = env.step("50")  # the request is consumed by one step
    assert not truncated


def test_turn_level_episode_groups_selected_turns_and_pays_at_the_cap():
    from agent_envs.rl import run_turn_level_episode

    env = wrap_reward(ScriptedScoreEnv(SCORES), "sparse")
    traj, groups = run_turn_level_episode(
        env, lambda m: "x", seed=0, group_size=3, group_turns="every:2", max_turns=5
    )
    assert traj.metadata["grouped_turns"] == [0, 2, 4] and [len(g) for g in groups] == [3] * 3
    assert [t.reward for t in traj.turns] == [0.0, 0.0, 0.0, 0.0, 7.0]  # 1+0+2+0+4 at the cap
    assert traj.turns[-1].truncated and traj.metadata["stopped"] == "max_turns"
    assert all(c.truncated for c in groups[-1])  # every fork saw the cap


def test_fork_of_a_recorded_stack_neither_writes_nor_closes_the_file(tmp_path):
    from agent_envs.wrappers import RecordTrajectories, read_recorded_episodes

    path = tmp_path / "episodes.jsonl"
    env = BestTurnReward(RecordTrajectories(ScriptedScoreEnv(SCORES), path))
    env.reset(seed=0)
    env.step("x")
    twin = fork_env(env)
    twin.step("y")
    twin.close()
    for _ in range(7):
        env.step("x")
    env.close()
    (episode,) = read_recorded_episodes(path)
    assert len(episode["turns"]) == 8 and episode["complete"]
