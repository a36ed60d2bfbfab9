"""Trajectories and rollout helpers on the toy env: episodes, groups, fork-based turn groups."""

from __future__ import annotations

import math
import re

import gymnasium as gym
import numpy as np
import pytest

import agent_envs  # noqa: F401
from agent_envs.rl import (
    Trajectory,
    Turn,
    choose_candidate,
    read_jsonl,
    run_episode,
    run_group,
    run_turn_level_episode,
    sample_turn_group,
    tl_grpo_advantages,
    write_jsonl,
)
from agent_envs.toy import GuessNumberEnv
from agent_envs.wrappers import ChatMessages, RecordTrajectories, read_recorded_episodes

from helpers.scripted_env import ScriptedScoreEnv


def bisect_policy(messages):
    """A real policy: binary search driven by the feedback in the chat."""
    low, high = 1, 100
    for prev, answer in zip(messages[:-1], messages[1:], strict=False):
        if prev["role"] != "assistant":
            continue
        guess = int(re.findall(r"\d+", prev["content"])[-1])
        if "higher" in answer["content"]:
            low = guess + 1
        elif "lower" in answer["content"]:
            high = guess - 1
    return f"I guess {(low + high) // 2}"


def test_run_episode_plays_to_the_end_and_exports_messages():
    env = gym.make("Toy-GuessNumber-v0")
    traj = run_episode(env, bisect_policy, seed=5)
    assert traj.success and traj.turns[-1].terminated
    assert traj.env_id == "Toy-GuessNumber-v0" and traj.env_version == 0 and traj.seed == 5
    messages = traj.to_messages()
    assert messages[0] == {"role": "system", "content": traj.system_prompt}
    assert [m["content"] for m in messages[2::2]] == traj.actions
    # each turn's prompt is the chat up to that turn
    assert traj.turns[1].prompt == messages[:4]
    # the same run through the ChatMessages wrapper gives the same chat
    chat_traj = run_episode(ChatMessages(gym.make("Toy-GuessNumber-v0")), bisect_policy, seed=5)
    assert chat_traj.to_messages() == messages
    assert math.isclose(traj.total_reward, sum(traj.rewards))


def test_run_episode_max_turns_and_truncated_history():
    traj = run_episode(GuessNumberEnv(), lambda m: "1", seed=0, max_turns=2)
    assert len(traj.turns) == 2 and traj.metadata["stopped"] == "max_turns" and traj.done
    assert traj.turns[-1].truncated and not traj.turns[-1].terminated
    seen = []
    run_episode(
        ChatMessages(GuessNumberEnv(max_turns=4), max_turns=1),
        lambda m: seen.append(m) or "3",
        seed=0,
    )
    assert [len(m) for m in seen] == [2, 4, 4, 4]  # the wrapper's truncation applies
    with pytest.raises(ValueError):
        run_episode(GuessNumberEnv(), bisect_policy, max_turns=-1)


def test_run_group_same_seed_same_task():
    rng = np.random.default_rng(0)
    group = run_group(GuessNumberEnv(), lambda m: str(rng.integers(1, 101)), seed=11, group_size=5)
    assert len({t.task for t in group}) == 1 and {t.seed for t in group} == {11}
    assert len({tuple(t.actions) for t in group}) > 1  # different replies, same task
    same = run_group(GuessNumberEnv(), bisect_policy, seed=11, group_size=3)
    assert same[0].to_dict() == same[1].to_dict() == same[2].to_dict()
    with pytest.raises(ValueError):
        run_group(GuessNumberEnv(), bisect_policy, seed=1, group_size=0)


def _state(env):
    base = env.unwrapped
    return base.turn, base.actions, base.best_score, repr(base.np_random.bit_generator.state)


@pytest.mark.parametrize(
    "make", [lambda: GuessNumberEnv(), lambda: ScriptedScoreEnv([0.1, 0.5, 0.3, 0.9])]
)
def test_turn_group_starts_from_identical_state_and_leaves_original(make):
    env = make()
    env.reset(seed=2)
    env.step("30")
    env.step("60")
    before = _state(env)
    seen = []
    group = sample_turn_group(
        env, lambda m: seen.append(m) or "45", [{"role": "user", "content": "x"}], 4
    )
    assert _state(env) == before  # the original is not disturbed
    assert len(seen) == 4 and all(m == [{"role": "user", "content": "x"}] for m in seen)
    # identical start: same action from the same state gives the same result in every fork
    outcomes = {(c.observation, c.reward, c.terminated, c.truncated, repr(c.info)) for c in group}
    assert len(outcomes) == 1
    for c in group:
        assert c.env.actions == before[1] + ["45"] and c.env.turn == before[0] + 1
    # and the original, stepped now, agrees with the forks
    obs, reward, *_ = env.step("45")
    assert (obs, reward) == (group[0].observation, group[0].reward)
    # acting in one fork changes neither the others nor the original
    group[0].env.step("46")
    assert group[1].env.turn == before[0] + 1 and env.unwrapped.turn == before[0] + 1
    for c in group:
        c.close()


def test_turn_group_different_actions_and_choice():
    env = GuessNumberEnv()
    env.reset(seed=4)
    replies = iter(["10", "bad", "50", "90"])
    group = sample_turn_group(env, lambda m: next(replies), [], 4)
    assert [c.action for c in group] == ["10", "bad", "50", "90"]
    assert group[1].info["action_valid"] is False
    adv = tl_grpo_advantages([c.reward for c in group])
    assert adv.shape == (4,) and np.isfinite(adv).all()
    best = choose_candidate(group, "best")
    assert best.reward == max(c.reward for c in group)
    assert all(c.env._closed for c in group if c is not best) and not best.env._closed
    best.close()
    with pytest.raises(ValueError):
        choose_candidate(group, "worst")
    with pytest.raises(ValueError):
        choose_candidate([], "best")
    with pytest.raises(TypeError):
        sample_turn_group(gym.make("CartPole-v1"), lambda m: "0", [], 2)


def test_choose_random_is_seeded():
    env = GuessNumberEnv()
    env.reset(seed=0)
    group = sample_turn_group(env, lambda m: "5", [], 6)
    picks = [
        choose_candidate(group, "random", rng=np.random.default_rng(s), close_others=False)
        for s in range(20)
    ]
    again = [
        choose_candidate(group, "random", rng=np.random.default_rng(s), close_others=False)
        for s in range(20)
    ]
    assert [id(p) for p in picks] == [id(p) for p in again]
    assert len({id(p) for p in picks}) > 1
    assert choose_candidate(group, "first", close_others=True) is group[0]


def test_run_turn_level_episode_follows_the_best_member():
    env = GuessNumberEnv(max_turns=6)
    rng = np.random.default_rng(1)
    traj, groups = run_turn_level_episode(
        env, lambda m: str(rng.integers(1, 101)), seed=3, group_size=4
    )
    assert env.turn == 0  # the env given is only reset
    assert len(groups) == len(traj.turns) <= 6
    for group, turn in zip(groups, traj.turns, strict=True):
        assert turn.reward == max(c.reward for c in group)
        assert turn.action in [c.action for c in group]
        assert all(c.env._closed for c in group)
    # the chosen path replays to the same rewards in a fresh env
    replay = GuessNumberEnv(max_turns=6)
    replay.reset(seed=3)
    assert [replay.step(a)[1] for a in traj.actions] == traj.rewards
    assert traj.done or traj.metadata.get("stopped")


def test_trajectory_roundtrip_and_jsonl(tmp_path):
    traj = run_episode(GuessNumberEnv(), bisect_policy, seed=9)
    traj.turns[0].reward = float("nan")
    data = traj.to_dict()
    assert data["turns"][0]["reward"] is None
    back = Trajectory.from_dict(data)
    assert math.isnan(back.turns[0].reward) and back.rewards[1:] == traj.rewards[1:]
    assert back.to_messages() == traj.to_messages()
    path = tmp_path / "t.jsonl"
    assert write_jsonl(path, [traj, traj]) == 2
    with open(path, "a") as handle:
        handle.write('{"env_id": "cut')
    assert [t.to_messages() for t in read_jsonl(path)] == [traj.to_messages()] * 2
    assert Trajectory(None, None, None, "t").to_messages() == [{"role": "user", "content": "t"}]
    assert Turn("b", "a").to_dict()["info"] == {}


def test_recorded_episode_loads_as_trajectory(tmp_path):
    path = tmp_path / "rec.jsonl"
    env = RecordTrajectories(gym.make("Toy-GuessNumber-v0"), path)
    played = run_episode(env, bisect_policy, seed=12)
    env.close()
    (episode,) = read_recorded_episodes(path)
    loaded = Trajectory.from_dict(episode)
    assert loaded.to_messages() == played.to_messages() == episode["messages"]
    assert loaded.rewards == played.rewards and loaded.seed == 12 and loaded.metadata["complete"]


def test_stepper_continuing_in_forks_records_what_stepping_records():
    from agent_envs.rl import EpisodeStepper
    from agent_envs.wrappers import BestTurnReward

    replies = ["50", "25", "12", "6"]
    scripted = iter(replies)
    direct = run_episode(BestTurnReward(gym.make("Toy-GuessNumber-v0")), lambda m: next(scripted),
                         seed=3, max_turns=4)  # fmt: skip
    stepper = EpisodeStepper(BestTurnReward(gym.make("Toy-GuessNumber-v0")), max_turns=4,
                             system_prompt="Mine.")  # fmt: skip
    original = stepper.env
    prompt = stepper.reset(seed=3)
    assert prompt[0] == {"role": "system", "content": "Mine."}
    for turn, reply in enumerate(replies):
        others = iter(["99", reply, "1"])
        group = sample_turn_group(stepper.env, lambda m, o=others: next(o), prompt, 3,
                                  last_turn=stepper.next_turn_is_last)  # fmt: skip
        for c in (group[0], group[2]):
            c.close()
        prompt = stepper.continue_with(group[1])
        assert stepper.env is group[1].env and original.unwrapped.turn == 0
        assert len(stepper.trajectory.turns) == turn + 1
    assert stepper.done and stepper.trajectory.metadata == direct.metadata
    assert [t.to_dict(prompt=False) for t in stepper.trajectory.turns] == [
        t.to_dict(prompt=False) for t in direct.turns
    ]
    with pytest.raises(RuntimeError):
        stepper.continue_with(group[1])
    stepper.close_forks()
    assert stepper.env is original
