"""One loop, one record, one policy protocol: baselines play through ``rl.EpisodeStepper``.

The oracle for "identical to before" is a plain Gymnasium loop written here
(``env.reset``/``env.step`` by hand, messages appended by hand), independent of the
stepper and of ``Trajectory.to_messages``.
"""

from __future__ import annotations

import asyncio
import re

import gymnasium as gym
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs import rl
from agent_envs.baselines import (
    ChatPolicy,
    Completion,
    Episode,
    Policy,
    async_policy,
    batch_policy,
    extend_messages,
    play_episode,
    start_messages,
)
from agent_envs.integrations import EnvPool


class EchoDigits(ChatPolicy):
    """A deterministic chat "model": guesses from the digits of the last message."""

    def __init__(self) -> None:
        super().__init__(name="echo-digits")

    def _complete(self, messages, params):
        digits = re.findall(r"\d+", messages[-1]["content"])
        guess = (sum(map(int, digits)) % 100) + 1 if digits else 50
        return Completion(str(guess), "stop", 1, 1)


class Flaky(Policy):
    """Fails (reports a ``last_error``) on odd turns, from the info it is given."""

    name = "flaky"

    def act(self, messages, info):
        if info.get("turn", 0) % 2:
            self.last_error = "RuntimeError: odd turn"
            return ""
        return "50"


def hand_loop(env, policy, seed, max_turns=None):
    """The protocol written out with raw env calls: messages, rewards, infos, errors."""
    observation, info = env.reset(seed=seed)
    policy.reset(env, seed=seed)
    messages = [{"role": "system", "content": info["system_prompt"]}]
    messages.append({"role": "user", "content": observation})
    rewards, infos, errors = [], [info], []
    flags = (False, False)
    while max_turns is None or len(rewards) < max_turns:
        policy.last_error = None
        reply = policy.act([dict(m) for m in messages], info)
        errors.append(policy.last_error)
        observation, reward, terminated, truncated, info = env.step(reply)
        messages += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": observation},
        ]
        rewards.append(float(reward))
        infos.append(info)
        if terminated or truncated:
            flags = (terminated, truncated)
            break
    return messages, rewards, infos, errors, flags


@pytest.mark.parametrize("seed", [0, 7])
@pytest.mark.parametrize("make", [EchoDigits, Flaky])
@pytest.mark.parametrize("max_turns", [None, 3])
def test_play_episode_matches_the_hand_written_loop(make, seed, max_turns):
    env_kwargs = {"max_turns": 6}
    messages, rewards, infos, errors, flags = hand_loop(
        gym.make("Toy-GuessNumber-v0", **env_kwargs), make(), seed, max_turns
    )
    episode = play_episode(
        gym.make("Toy-GuessNumber-v0", **env_kwargs), make(), seed=seed, max_turns=max_turns
    )
    assert episode.messages == messages
    assert episode.rewards == rewards and episode.infos == infos
    assert episode.policy_errors == errors
    assert (episode.terminated, episode.truncated) == flags
    assert episode.turns == len(rewards) and episode.seed == seed
    assert episode.best_score == infos[-1].get("best_score")
    assert episode.success == bool(infos[-1].get("success"))
    # The record is a Trajectory; the Episode is a view of it.
    traj = episode.trajectory
    assert isinstance(traj, rl.Trajectory) and traj.to_messages() == messages
    assert traj.metadata["policy_errors"] == errors
    assert traj.metadata.get("stopped") == ("max_turns" if max_turns and not any(flags) else None)


def test_episode_trajectory_round_trips_through_jsonl(tmp_path):
    episode = play_episode(gym.make("Toy-GuessNumber-v0", max_turns=4), Flaky(), seed=3)
    path = tmp_path / "episodes.jsonl"
    rl.write_jsonl(path, [episode.trajectory])
    (back,) = rl.read_jsonl(path)
    assert back == episode.trajectory
    assert Episode(back, episode.reset_info).policy_errors == [None, "RuntimeError: odd turn"] * 2


@pytest.mark.parametrize("seed", [1, 4])
def test_a_baseline_policy_is_an_rl_policy(seed):
    """The same policy object, played by every driver, gives the same episode."""

    def env():
        return gym.make("Toy-GuessNumber-v0", max_turns=5)

    reference = play_episode(env(), EchoDigits(), seed=seed).trajectory
    reference.metadata.pop("policy_errors")
    assert rl.run_episode(env(), EchoDigits(), seed=seed) == reference
    group = rl.run_group(env(), EchoDigits(), seed=seed, group_size=2)
    assert group == [reference, reference]

    async def pooled():
        async with EnvPool("Toy-GuessNumber-v0", 1, env_kwargs={"max_turns": 5}) as pool:
            return await pool.run_episode(async_policy(EchoDigits()), seed=seed)

    assert asyncio.run(pooled()) == reference
    prompts = [turn.prompt for turn in reference.turns]
    assert batch_policy(EchoDigits())(prompts) == reference.actions


def test_derived_forms_of_a_plain_callable():
    def policy(messages):
        return messages[-1]["content"].upper()

    async def already_async(messages):
        return "a"

    prompts = [[{"role": "user", "content": text}] for text in ("x", "yz")]
    assert batch_policy(policy)(prompts) == ["X", "YZ"]
    assert asyncio.run(async_policy(policy)(prompts[1])) == "YZ"
    assert async_policy(already_async) is already_async
    episode = play_episode(gym.make("Toy-GuessNumber-v0", max_turns=2), lambda m: "50", seed=0)
    assert episode.trajectory.actions == ["50", "50"]
    assert episode.policy_errors == [None, None]


def test_black_box_policy_outside_play_episode_says_what_is_missing():
    from agent_envs.baselines import RandomSearch

    with pytest.raises(RuntimeError, match="reset"):
        RandomSearch()([{"role": "user", "content": "design?"}])


@settings(max_examples=30, deadline=None)
@given(
    system=st.one_of(st.none(), st.text(max_size=20)),
    observations=st.lists(st.text(max_size=30), min_size=1, max_size=6),
    replies=st.lists(st.text(max_size=30), min_size=0, max_size=5),
)
def test_message_helpers_are_the_trajectory_messages(system, observations, replies):
    task, rest = observations[0], observations[1:]
    pairs = list(zip(replies, rest, strict=False))
    messages = start_messages(task, {"system_prompt": system})
    for reply, observation in pairs:
        extend_messages(messages, reply, observation)
    turns = [rl.Turn(observation=o, action=r) for r, o in pairs]
    assert messages == rl.Trajectory(None, None, system, task, turns).to_messages()
    expected = [{"role": "system", "content": system}] if system else []
    expected.append({"role": "user", "content": task})
    for reply, observation in pairs:
        expected += [
            {"role": "assistant", "content": reply},
            {"role": "user", "content": observation},
        ]
    assert messages == expected


def test_env_or_policy_failure_keeps_the_turns_played():
    class Boom(Policy):
        def act(self, messages, info):
            if info.get("turn", 0) >= 2:
                raise RuntimeError("policy bug")
            return "50"

    from agent_envs.baselines import play_stepper

    stepper = rl.EpisodeStepper(gym.make("Toy-GuessNumber-v0"))
    with pytest.raises(RuntimeError, match="policy bug"):
        play_stepper(stepper, Boom(), seed=0)
    assert len(stepper.trajectory.turns) == 2
    assert stepper.trajectory.metadata["policy_errors"] == [None, None]
