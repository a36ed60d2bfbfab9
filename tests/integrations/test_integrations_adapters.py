"""Framework adapters: async envs, messages env, verl interaction, TRL reward functions."""

from __future__ import annotations

import asyncio
import json
import zlib

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.integrations import (
    AsyncTextEnv,
    EnvPool,
    EnvReward,
    EpisodeStepper,
    MessagesEnv,
    VerlInteraction,
    prompt_rows,
)
from agent_envs.rl import run_episode
from agent_envs.wrappers import ChatMessages


def comparable(traj) -> dict:
    data = traj.to_dict()
    for turn in data["turns"]:
        cost = turn["info"].get("cost") or {}
        for key in [k for k in cost if k.endswith("seconds")]:
            del cost[key]
    return data


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


def opamp_policy(messages):
    n, task = len(messages), zlib.crc32(messages[1]["content"].encode()) % 97
    return f"w1 = {10 + 3 * n + task}u\ncc = {1 + n / 10:.2f}p"


def local(env_id, policy, seeds, max_turns=None, env_kwargs=None):
    env = gym.make(env_id, **(env_kwargs or {}))
    try:
        return [comparable(run_episode(env, policy, seed=s, max_turns=max_turns)) for s in seeds]
    finally:
        env.close()


@pytest.mark.parametrize("max_turns", [None, 0, 2])
def test_stepper_matches_run_episode_also_with_chat_wrapper(max_turns):
    for wrap in (lambda e: e, lambda e: ChatMessages(e, max_turns=1)):
        stepper = EpisodeStepper(wrap(gym.make("Toy-GuessNumber-v0")), max_turns=max_turns)
        prompt = stepper.reset(seed=4)
        while not stepper.done:
            prompt = stepper.step(bisect_policy(prompt))
        expected = run_episode(
            wrap(gym.make("Toy-GuessNumber-v0")), bisect_policy, seed=4, max_turns=max_turns
        )
        assert comparable(stepper.trajectory) == comparable(expected)
        with pytest.raises(RuntimeError, match="over"):
            stepper.step("1")
    with pytest.raises(ValueError):
        EpisodeStepper(gym.make("Toy-GuessNumber-v0"), max_turns=-1)


def test_env_pool_runs_episodes_concurrently_and_matches_local():
    in_flight, peak = 0, 0

    async def policy(messages):
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.001)  # a model server answering
        in_flight -= 1
        return bisect_policy(messages)

    async def main():
        async with EnvPool("Toy-GuessNumber-v0", size=3) as pool:
            return await pool.run_episodes(policy, seeds=list(range(7)))

    trajectories = asyncio.run(main())
    assert [t.seed for t in trajectories] == list(range(7))
    assert [comparable(t) for t in trajectories] == local(
        "Toy-GuessNumber-v0", bisect_policy, range(7)
    )
    assert 1 < peak <= 3  # concurrent, but never more episodes than environments


def test_async_opamp_steps_leave_the_event_loop_free():
    ticks = 0

    async def ticker(stop):
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    async def policy(messages):
        return opamp_policy(messages)

    async def main():
        stop = asyncio.Event()
        tick = asyncio.create_task(ticker(stop))
        pool = EnvPool("ACS-OpAmp-v0", size=2, max_turns=2)
        try:
            before = ticks
            out = await pool.run_episodes(policy, seeds=[0, 1, 2])
            during = ticks - before
        finally:
            pool.close()
            stop.set()
            await tick
        return out, during

    trajectories, during = asyncio.run(main())
    assert [comparable(t) for t in trajectories] == local(
        "ACS-OpAmp-v0", opamp_policy, [0, 1, 2], max_turns=2
    )
    assert all(t.turns[-1].info["cost"]["simulations"] == 2 for t in trajectories)
    assert during > 10  # the loop kept running while ngspice simulated in threads


def test_async_text_env_single_episode_and_arguments():
    async def play():
        env = AsyncTextEnv("Toy-GuessNumber-v0", env_kwargs={"max_turns": 3}, max_turns=2)
        messages = await env.reset(seed=1)
        results = []
        while not env.done:
            results.append(await env.step(bisect_policy(messages)))
            messages = results[-1].messages
        await env.close()
        return env.trajectory, results

    traj, results = asyncio.run(play())
    assert (
        comparable(traj)
        == local(
            "Toy-GuessNumber-v0", bisect_policy, [1], max_turns=2, env_kwargs={"max_turns": 3}
        )[0]
    )
    assert results[-1].done and results[-1].truncated and not results[0].done
    assert [r.reward for r in results] == traj.rewards
    with pytest.raises(TypeError):
        AsyncTextEnv(gym.make("Toy-GuessNumber-v0"), env_kwargs={"max_turns": 1})


def test_messages_env_plays_like_run_episode():
    env = MessagesEnv({"env_id": "Toy-GuessNumber-v0"}, {"seed": 6})
    messages, metadata = env.init()
    rewards = []
    while True:
        out = env.step({"role": "assistant", "content": bisect_policy(env.chat_history)})
        rewards.append(out["reward"])
        if out["done"]:
            break
        assert out["observations"][0]["role"] == "user"
    expected = local("Toy-GuessNumber-v0", bisect_policy, [6])[0]
    assert rewards == [t["reward"] for t in expected["turns"]]
    assert env.chat_history[: len(messages)] == messages and metadata["seed"] == 6
    late = env.step("50")
    assert late["done"] and late["observations"] == [] and not late["metadata"]["action_valid"]
    env.close()
    env.close()
    with pytest.raises(ValueError, match="env_id"):
        MessagesEnv({}, {"seed": 0})


def test_messages_env_tool_calls_reach_the_circuit():
    env = MessagesEnv({"env_id": "ACS-OpAmp-v0", "max_turns": 3}, {"seed": 2})
    _, metadata = env.init()
    assert metadata["tools"][0]["function"]["name"] == "simulate"
    call = {"id": "call_1", "type": "function"}
    call["function"] = {"name": "simulate", "arguments": '{"w1": "30u", "cc": "2p"}'}
    out = env.step({"role": "assistant", "content": None, "tool_calls": [call]})
    reply = out["observations"][0]
    assert reply["role"] == "tool" and reply["tool_call_id"] == "call_1"
    direct = gym.make("ACS-OpAmp-v0")
    direct.reset(seed=2)
    _, reward, *_ = direct.step("w1 = 30u\ncc = 2p")
    assert out["reward"] == reward and out["metadata"]["action_valid"]
    bad = dict(call, id="call_2", function={"name": "simulate", "arguments": "{not json"})
    out = env.step({"role": "assistant", "content": "", "tool_calls": [bad]})
    assert out["metadata"]["action_valid"] is False and out["observations"][0]["content"]
    env.close()
    direct.close()


def test_verl_interaction_concurrent_instances_match_local():
    seeds = [0, 1, 2, 3]
    inter = VerlInteraction({"name": "guess", "env_id": "Toy-GuessNumber-v0"})

    async def episode(seed):
        iid = await inter.start_interaction(seed=seed)
        rows = prompt_rows("Toy-GuessNumber-v0", [seed])
        messages = list(rows[0]["prompt"])
        scores, done = [], False
        while not done:
            messages.append({"role": "assistant", "content": bisect_policy(messages)})
            done, text, score, _ = await inter.generate_response(iid, messages)
            messages.append({"role": "user", "content": text})
            scores.append(score)
        total = await inter.calculate_score(iid)
        traj = inter.trajectory(iid)
        await inter.finalize_interaction(iid)
        return comparable(traj), scores, total

    async def main():
        return await asyncio.gather(*(episode(s) for s in seeds))

    results = asyncio.run(main())
    expected = local("Toy-GuessNumber-v0", bisect_policy, seeds)
    assert [r[0] for r in results] == expected
    for (_, scores, total), exp in zip(results, expected, strict=True):
        assert scores == [t["reward"] for t in exp["turns"]]
        assert total == pytest.approx(sum(scores))
    with pytest.raises(ValueError, match="env_id"):
        asyncio.run(VerlInteraction({}).start_interaction(seed=0))


@pytest.mark.parametrize(
    ("env_id", "completions"),
    [
        ("Toy-GuessNumber-v0", ["50", "I think 17", "no idea", "", "1000", "7"]),
        ("ACS-OpAmp-v0", ["w1 = 40u", "cc = 3p\nw6 = 80u", "w1 = banana"]),
    ],
)
def test_env_reward_equals_direct_env_rewards(env_id, completions):
    seeds = [3, 4, 5, 3, 4, 5][: len(completions)]
    rows = prompt_rows(env_id, seeds)
    reward = EnvReward(env_id)
    conversational = [[{"role": "assistant", "content": c}] for c in completions]
    scores = reward(prompts=[r["prompt"] for r in rows], completions=completions, seed=seeds)
    assert reward(prompts=None, completions=conversational, seed=seeds) == scores
    direct = gym.make(env_id)
    expected = []
    for completion, seed in zip(completions, seeds, strict=True):
        direct.reset(seed=seed)
        expected.append(float(direct.step(completion)[1]))
    direct.close()
    reward.close()
    assert scores == expected
    assert len(set(scores)) > 1  # the replies really are told apart


def test_env_reward_multi_turn_and_arguments():
    reward = EnvReward("Toy-GuessNumber-v0", aggregate="best_score")
    chat = [
        {"role": "assistant", "content": "50"},
        {"role": "user", "content": "ignored: the env answers"},
        {"role": "assistant", "content": "75"},
    ]
    env = gym.make("Toy-GuessNumber-v0")
    env.reset(seed=0)
    env.step("50")
    best = env.step("75")[4]["best_score"]
    assert reward(completions=[chat, "nothing"], seed=[0, 0]) == [best, 0.0]
    assert EnvReward("Toy-GuessNumber-v0")(completions=[chat], seed=[0])[0] == pytest.approx(
        sum(
            local("Toy-GuessNumber-v0", lambda m: "50" if len(m) < 3 else "75", [0], 2)[0]["turns"][
                i
            ]["reward"]
            for i in range(2)
        )
    )
    with pytest.raises(ValueError, match="seed"):
        reward(completions=["1"])
    with pytest.raises(ValueError, match="2 completions but 1 seeds"):
        reward(completions=["1", "2"], seed=[0])
    with pytest.raises(ValueError, match="aggregate"):
        EnvReward("Toy-GuessNumber-v0", aggregate="mean")
    text_rows = prompt_rows("Toy-GuessNumber-v0", [0], conversational=False)
    assert isinstance(text_rows[0]["prompt"], str) and "Guess" in text_rows[0]["prompt"]


def test_openrlhf_agent_concurrent_samples_match_local():
    import torch

    from agent_envs.integrations import OpenRLHFAgent

    seeds = [0, 1, 2]

    async def sample(seed):
        agent = OpenRLHFAgent("Toy-GuessNumber-v0", feedback_template="<u>{observation}</u>")
        label = json.dumps({"seed": seed})
        rows = prompt_rows("Toy-GuessNumber-v0", [seed])
        messages = list(rows[0]["prompt"])
        await agent.reset({"observation": "prompt", "label": label})
        rewards, feedbacks, done = [], [], False
        while not done:
            action = bisect_policy(messages)
            out = await agent.step(
                {"observation_text": "...", "action_text": action, "label": label}
            )
            assert isinstance(out["rewards"], torch.Tensor)
            rewards.append(float(out["rewards"]))
            feedbacks.append(out["environment_feedback"])
            done = out["done"]
            observation = agent.trajectory.turns[-1].observation
            messages += [
                {"role": "assistant", "content": action},
                {"role": "user", "content": observation},
            ]
        return comparable(agent.trajectory), rewards, feedbacks

    async def main():
        return await asyncio.gather(*(sample(s) for s in seeds))

    results = asyncio.run(main())
    expected = local("Toy-GuessNumber-v0", bisect_policy, seeds)
    assert [r[0] for r in results] == expected
    for (_, rewards, feedbacks), exp in zip(results, expected, strict=True):
        assert rewards == pytest.approx([t["reward"] for t in exp["turns"]])
        assert feedbacks[-1] == "" and feedbacks[0] == f"<u>{exp['turns'][0]['observation']}</u>"
    with pytest.raises(ValueError, match="seed"):
        asyncio.run(OpenRLHFAgent("Toy-GuessNumber-v0").reset({"label": "not json"}))
    with pytest.raises(ValueError, match="observation"):
        OpenRLHFAgent("Toy-GuessNumber-v0", feedback_template="no hole")
