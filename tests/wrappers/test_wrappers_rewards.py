"""BestTurnReward, RewardSparsity and TurnPenalty on the toy env and a scripted env."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agent_envs  # noqa: F401
from agent_envs.toy import GuessNumberEnv
from agent_envs.wrappers import SPARSITY_MODES, BestTurnReward, RewardSparsity, TurnPenalty

from helpers.scripted_env import ScriptedScoreEnv

scores_st = st.lists(
    st.floats(-10, 10, allow_nan=False, allow_infinity=False), min_size=1, max_size=12
)


def play(env, seed=0, actions=None, max_steps=50):
    env.reset(seed=seed)
    rewards, infos = [], []
    for i in range(max_steps):
        action = actions[i] if actions else "go"
        _, reward, terminated, truncated, info = env.step(action)
        rewards.append(float(reward))
        infos.append(info)
        if terminated or truncated:
            break
    return rewards, infos


@settings(max_examples=80, deadline=None)
@given(scores_st)
def test_best_turn_return_is_max_score(scores):
    rewards, infos = play(BestTurnReward(ScriptedScoreEnv(scores)))
    assert len(rewards) == len(scores)
    assert math.isclose(sum(rewards), max(scores), rel_tol=1e-9, abs_tol=1e-9)
    assert all(r >= 0 for r in rewards[1:])
    assert [i["score"] for i in infos] == scores  # the raw score stays in info
    assert [i["native_reward"] for i in infos] == scores


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.floats(-5, 5, allow_nan=False)), min_size=1, max_size=10))
def test_best_turn_with_invalid_turns(scores):
    rewards, _ = play(BestTurnReward(ScriptedScoreEnv(scores), invalid_reward=-0.25))
    valid = [s for s in scores if s is not None]
    expected = (max(valid) if valid else 0.0) - 0.25 * (len(scores) - len(valid))
    assert math.isclose(sum(rewards), expected, abs_tol=1e-9)


def test_best_turn_on_toy_env_and_reset():
    env = BestTurnReward(gym.make("Toy-GuessNumber-v0"))
    rewards, infos = play(env, actions=["1", "100", "hello", "50", "49", "51", "2", "3"])
    scores = [i["score"] for i in infos if i["score"] is not None]
    assert math.isclose(sum(rewards), max(scores))
    assert env.best_score == max(scores) == infos[-1]["best_score"]
    env.reset(seed=1)
    assert env.best_score is None
    with pytest.raises(ValueError):
        BestTurnReward(GuessNumberEnv(), invalid_reward=float("nan"))


@settings(max_examples=40, deadline=None)
@given(scores_st, st.sampled_from(["dense", "sparse", "every_k", "delayed"]), st.integers(1, 4))
def test_sparsity_preserves_the_sum(scores, mode, k):
    wrapped = RewardSparsity(ScriptedScoreEnv(scores), mode=mode, k=k, delay=k)
    rewards, infos = play(wrapped)
    dense = [i["dense_reward"] for i in infos]
    assert dense == scores
    assert math.isclose(math.fsum(rewards), math.fsum(scores), rel_tol=1e-9, abs_tol=1e-9)


def test_sparsity_timing_by_hand():
    scores = [1.0, 2.0, 3.0, 4.0, 5.0]

    def rewards(mode, **kw):
        return play(RewardSparsity(ScriptedScoreEnv(scores), mode=mode, **kw))[0]

    assert rewards("dense") == scores
    assert rewards("sparse") == [0, 0, 0, 0, 15]
    assert rewards("every_k", k=2) == [0, 3, 0, 7, 5]
    assert rewards("delayed", delay=2) == [0, 0, 1, 2, 12]
    assert rewards("delayed", delay=0) == scores
    assert rewards("success") == [0, 0, 0, 0, 0]
    won = play(RewardSparsity(ScriptedScoreEnv(scores, success_at=3), mode="success"))[0]
    assert won == [0, 0, 1.0]


def test_dropout_is_seeded_and_drops_about_p():
    scores = [1.0] * 400

    def dropout(**kw):
        return RewardSparsity(ScriptedScoreEnv(scores), mode="dropout", p=0.25, **kw)

    env = dropout()
    first, _ = play(env, seed=7, max_steps=400)
    again, _ = play(env, seed=7, max_steps=400)  # a second member of the same group
    assert first == play(dropout(), seed=7, max_steps=400)[0]  # a fresh run reproduces
    assert first != again  # group members (same seed, same env) flip different coins
    assert first != play(dropout(), seed=8, max_steps=400)[0]
    assert first != play(dropout(coin_seed=1), seed=7, max_steps=400)[0]  # parallel members
    assert set(first) <= {0.0, 1.0}
    assert 0.15 < first.count(0.0) / 400 < 0.35
    assert (
        play(RewardSparsity(ScriptedScoreEnv(scores), mode="dropout", p=0.0), max_steps=400)[0]
        == scores
    )


def test_sparsity_rejects_bad_arguments():
    for kwargs in (
        {"mode": "bogus"},
        {"k": 0},
        {"delay": -1},
        {"p": 1.5},
        {"mode": "every_k", "k": 2.0},
    ):
        with pytest.raises(ValueError):
            RewardSparsity(GuessNumberEnv(), **kwargs)
    assert set(SPARSITY_MODES) == {"dense", "sparse", "success", "every_k", "delayed", "dropout"}


def test_sparse_on_toy_env_with_time_limit():
    env = RewardSparsity(gym.make("Toy-GuessNumber-v0", max_episode_steps=3), mode="sparse")
    rewards, infos = play(env, actions=["10", "junk", "90"])
    assert len(rewards) == 3 and rewards[:2] == [0.0, 0.0]
    assert math.isclose(rewards[2], sum(i["dense_reward"] for i in infos))


def test_turn_penalty():
    env = TurnPenalty(ScriptedScoreEnv([1.0, None, 0.5]), penalty=0.1, invalid_penalty=1.0)
    rewards, infos = play(env)
    assert [round(r, 9) for r in rewards] == [0.9, -1.2, 0.4]
    assert [i["unpenalized_reward"] for i in infos] == [1.0, -0.1, 0.5]
    with pytest.raises(TypeError):
        TurnPenalty(GuessNumberEnv(), penalty="1")
    with pytest.raises(ValueError):
        TurnPenalty(GuessNumberEnv(), penalty=float("inf"))


def test_wrappers_stack_and_record_constructor_args():
    env = TurnPenalty(
        RewardSparsity(BestTurnReward(ScriptedScoreEnv([0.2, 0.8, 0.5])), mode="sparse"),
        penalty=0.0,
    )
    rewards, _ = play(env)
    assert rewards[:2] == [0.0, 0.0] and math.isclose(rewards[2], 0.8)
    assert env.env._saved_kwargs == {"mode": "sparse", "k": 2, "delay": 1, "p": 0.5, "coin_seed": 0}
