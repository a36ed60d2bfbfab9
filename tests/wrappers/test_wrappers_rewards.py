"""BestTurnReward, RewardSparsity and TurnPenalty on the toy env and a scripted env."""

from __future__ import annotations

import math

import gymnasium as gym
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agent_envs  # noqa: F401
from agent_envs.toy import GuessNumberEnv
from agent_envs.wrappers import (
    SPARSITY_MODES,
    BestTurnReward,
    NormalizedDenseReward,
    RewardSparsity,
    TurnPenalty,
)

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
    dense = [i["reward_before_sparsity"] for i in infos]
    assert dense == scores == [i["dense_reward"] for i in infos]  # the old key, one version
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
    assert math.isclose(rewards[2], sum(i["reward_before_sparsity"] for i in infos))


def test_turn_penalty():
    env = TurnPenalty(ScriptedScoreEnv([1.0, None, 0.5]), penalty=0.1, invalid_penalty=1.0)
    rewards, infos = play(env)
    assert [round(r, 9) for r in rewards] == [0.9, -1.2, 0.4]
    assert [i["reward_before_turn_penalty"] for i in infos] == [1.0, -0.1, 0.5]
    assert [i["unpenalized_reward"] for i in infos] == [1.0, -0.1, 0.5]  # old key, one version
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


# ------------------------------------------------------- the keys of a stack of wrappers
SCRIPT = [0.2, None, 0.8, 0.5]  # native rewards 0.2, -0.1 (invalid), 0.8, 0.5


def _column(infos, key):
    return [round(i[key], 12) for i in infos]


def test_two_wrappers_keep_native_and_each_input_by_hand():
    env = TurnPenalty(BestTurnReward(ScriptedScoreEnv(SCRIPT)), penalty=0.1, invalid_penalty=1.0)
    rewards, infos = play(env)
    # best-turn pays 0.2, 0 (invalid), 0.6, 0; the penalty takes 0.1 a turn, 1.1 when invalid
    assert [round(r, 12) for r in rewards] == [0.1, -1.1, 0.5, -0.1]
    assert _column(infos, "native_reward") == [0.2, -0.1, 0.8, 0.5]
    assert _column(infos, "reward_before_best_turn") == [0.2, -0.1, 0.8, 0.5]
    assert _column(infos, "reward_before_turn_penalty") == [0.2, 0.0, 0.6, 0.0]
    assert _column(infos, "unpenalized_reward") == [0.2, 0.0, 0.6, 0.0]
    # the other order: native_reward is still the env's own, not the penalized one
    rewards, infos = play(BestTurnReward(TurnPenalty(ScriptedScoreEnv(SCRIPT), penalty=0.1)))
    assert _column(infos, "native_reward") == [0.2, -0.1, 0.8, 0.5]
    assert _column(infos, "reward_before_turn_penalty") == [0.2, -0.1, 0.8, 0.5]
    assert _column(infos, "reward_before_best_turn") == [0.1, -0.2, 0.7, 0.4]


def test_three_wrappers_keep_native_and_each_input_by_hand():
    env = RewardSparsity(TurnPenalty(BestTurnReward(ScriptedScoreEnv(SCRIPT)), 0.1), "sparse")
    rewards, infos = play(env)
    assert [round(r, 12) for r in rewards] == [0.0, 0.0, 0.0, 0.4]
    assert _column(infos, "native_reward") == [0.2, -0.1, 0.8, 0.5]
    assert _column(infos, "reward_before_best_turn") == [0.2, -0.1, 0.8, 0.5]
    assert _column(infos, "reward_before_turn_penalty") == [0.2, 0.0, 0.6, 0.0]
    assert _column(infos, "reward_before_sparsity") == [0.1, -0.1, 0.5, -0.1]
    assert _column(infos, "dense_reward") == [0.1, -0.1, 0.5, -0.1]
    # normalized-dense over a delayed sparsity: the delay shows in the normalizer's input
    inner = RewardSparsity(ScriptedScoreEnv(SCRIPT), mode="delayed", delay=1)
    env = TurnPenalty(NormalizedDenseReward(inner, max_total_reward=2.0), penalty=0.05)
    rewards, infos = play(env)
    assert _column(infos, "reward_before_sparsity") == [0.2, -0.1, 0.8, 0.5]
    assert _column(infos, "reward_before_normalized_dense") == [0.0, 0.2, -0.1, 1.3]
    assert _column(infos, "dense_reward") == [0.0, 0.2, -0.1, 1.3]  # the outer one's input
    assert _column(infos, "reward_before_turn_penalty") == [0.0, 0.1, -0.05, 0.65]
    assert [round(r, 12) for r in rewards] == [-0.05, 0.05, -0.1, 0.6]
    assert _column(infos, "native_reward") == [0.2, -0.1, 0.8, 0.5]


_LAYERS = {
    "best": lambda e: BestTurnReward(e, invalid_reward=-0.5),
    "penalty": lambda e: TurnPenalty(e, penalty=0.05, invalid_penalty=0.3),
    "every_k": lambda e: RewardSparsity(e, mode="every_k", k=2),
    "normalized": lambda e: NormalizedDenseReward(e, max_total_reward=3.0),
}
_KEYS = {
    "best": "reward_before_best_turn",
    "penalty": "reward_before_turn_penalty",
    "every_k": "reward_before_sparsity",
    "normalized": "reward_before_normalized_dense",
}


def _stack(names, scores):
    env = ScriptedScoreEnv(scores)
    for name in names:  # innermost first
        env = _LAYERS[name](env)
    return env


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.floats(-3, 3, allow_nan=False)), min_size=1, max_size=8),
    st.permutations(list(_LAYERS)).flatmap(lambda p: st.integers(1, 4).map(lambda n: p[:n])),
)
def test_any_stack_keeps_native_and_what_the_layer_below_paid(scores, names):
    """Each wrapper's key holds what the stack below it pays when run on its own."""
    bare, _ = play(ScriptedScoreEnv(scores))
    _, infos = play(_stack(names, scores))
    assert [i["native_reward"] for i in infos] == bare
    for depth, name in enumerate(names):
        below, _ = play(_stack(names[:depth], scores))
        assert [i[_KEYS[name]] for i in infos] == pytest.approx(below, abs=1e-12)
