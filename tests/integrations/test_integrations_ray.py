"""Ray rollouts: same trajectories as local ``run_episode``, driver-side batching, dead actors."""

from __future__ import annotations

import os
import sys
import zlib

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.rl import Trajectory, run_episode

ray = pytest.importorskip("ray")

from agent_envs.integrations.ray_rollouts import RayRolloutPool, RolloutError  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ray_session():
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    # Policies below are defined in this test module, which Ray workers cannot import.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    if started:
        ray.shutdown()


def comparable(traj: Trajectory) -> dict:
    """The trajectory as a dict, without wall-clock costs (never reproducible)."""
    data = traj.to_dict()
    for turn in data["turns"]:
        cost = turn["info"].get("cost") or {}
        for key in [k for k in cost if k.endswith("seconds")]:
            del cost[key]
    return data


def bisect_policy(messages: list[dict[str, str]]) -> str:
    """Deterministic: binary search from the higher/lower feedback in the chat."""
    low, high = 1, 100
    for i, m in enumerate(messages):
        if m["role"] == "assistant" and i + 1 < len(messages):
            guess = int(m["content"])
            feedback = messages[i + 1]["content"]
            if "higher" in feedback:
                low = guess + 1
            elif "lower" in feedback:
                high = guess - 1
    return str((low + high) // 2)


def opamp_policy(messages: list[dict[str, str]]) -> str:
    """Deterministic sizes that change with the task and the turn.

    Distinct designs per episode, so the env's simulation cache (shared by the episodes
    an env instance plays) never makes ``cost["cache_hits"]`` depend on who played what.
    """
    n, task = len(messages), zlib.crc32(messages[1]["content"].encode()) % 97
    return f"w1 = {10 + 3 * n + task}u\ncc = {1 + n / 10:.2f}p"


def local(env_id, policy, seeds, max_turns=None, **kwargs):
    env = gym.make(env_id, **kwargs)
    try:
        return [run_episode(env, policy, seed=s, max_turns=max_turns) for s in seeds]
    finally:
        env.close()


def test_guess_number_matches_local(ray_session):
    seeds = [0, 1, 2, 3, 4]
    with RayRolloutPool("Toy-GuessNumber-v0", num_workers=2, num_cpus_per_worker=0.5) as pool:
        remote = pool.run_episodes(bisect_policy, seeds)
        groups = pool.run_groups(bisect_policy, [7, 8], group_size=3)
    expected = local("Toy-GuessNumber-v0", bisect_policy, seeds)
    assert [comparable(t) for t in remote] == [comparable(t) for t in expected]
    assert all(t.success for t in remote)  # bisection always finds it in 8 turns
    assert [[t.seed for t in g] for g in groups] == [[7] * 3, [8] * 3]
    assert comparable(groups[1][2]) == comparable(
        local("Toy-GuessNumber-v0", bisect_policy, [8])[0]
    )


def test_opamp_matches_local(ray_session):
    seeds = [0, 1, 2]
    with RayRolloutPool("ACS-OpAmp-v0", num_workers=2, num_cpus_per_worker=0.5) as pool:
        remote = pool.run_episodes(opamp_policy, seeds, max_turns=2)
    expected = local("ACS-OpAmp-v0", opamp_policy, seeds, max_turns=2)
    assert [comparable(t) for t in remote] == [comparable(t) for t in expected]
    assert all(t.turns[-1].info["cost"]["simulations"] == 2 for t in remote)  # ngspice ran
    assert len({t.task for t in remote}) == 3


def test_driver_side_batched_policy(ray_session):
    seeds = [5, 6, 7, 8, 9]
    batches: list[int] = []

    def batch_policy(prompts):
        batches.append(len(prompts))
        return [bisect_policy(p) for p in prompts]

    with RayRolloutPool("Toy-GuessNumber-v0", num_workers=2, num_cpus_per_worker=0.5) as pool:
        remote = pool.run_batched(batch_policy, seeds)
        with pytest.raises(ValueError, match="one reply per prompt"):
            pool.run_batched(lambda prompts: ["50"], seeds)
        again = pool.run_batched(lambda prompts: [bisect_policy(p) for p in prompts], seeds)
    expected = local("Toy-GuessNumber-v0", bisect_policy, seeds)
    assert [comparable(t) for t in remote] == [comparable(t) for t in expected]
    assert [comparable(t) for t in again] == [comparable(t) for t in expected]
    assert batches[0] == len(seeds)  # every episode on every actor answered in one call
    assert sum(batches) == sum(len(t.turns) for t in remote)


class CrashOncePolicy:
    """Bisects, but kills its own actor process at the second turn of the first episode
    that gets there while ``marker`` does not exist (and creates it: crash once)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __call__(self, messages: list[dict[str, str]]) -> str:
        if len(messages) > 3 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return bisect_policy(messages)


def test_actor_killed_mid_episode_is_retried_or_reported(ray_session, tmp_path):
    marker = tmp_path / "crashed"
    policy = CrashOncePolicy(str(marker))
    seeds = [1, 2, 3, 4]
    with RayRolloutPool("Toy-GuessNumber-v0", num_workers=2, num_cpus_per_worker=0.5) as pool:
        remote = pool.run_episodes(policy, seeds)
        assert pool.restarts == 1 and marker.exists()
    expected = local("Toy-GuessNumber-v0", bisect_policy, seeds)
    assert [comparable(t) for t in remote] == [comparable(t) for t in expected]

    marker.unlink()
    with (
        RayRolloutPool(
            "Toy-GuessNumber-v0", num_workers=2, num_cpus_per_worker=0.5, max_retries=0
        ) as pool,
        pytest.raises(RolloutError, match=r"seed [1-4] of Toy-GuessNumber-v0 failed"),
    ):
        pool.run_episodes(policy, seeds)
    assert marker.exists()


def test_batched_actor_killed_restarts_its_episodes(ray_session):
    seeds = [0, 1, 2, 3]
    pool = RayRolloutPool("Toy-GuessNumber-v0", num_workers=2, num_cpus_per_worker=0.5)
    rounds = []

    def batch_policy(prompts):
        rounds.append(len(prompts))
        if len(rounds) == 2:
            ray.kill(pool.workers[0], no_restart=True)
        return [bisect_policy(p) for p in prompts]

    try:
        remote = pool.run_batched(batch_policy, seeds)
        assert pool.restarts == 1
    finally:
        pool.close()
    expected = local("Toy-GuessNumber-v0", bisect_policy, seeds)
    assert [comparable(t) for t in remote] == [comparable(t) for t in expected]
    pool.close()  # twice is fine
    with pytest.raises(ValueError, match="unknown environment id"):
        RayRolloutPool("Toy-NoSuchThing-v0")
    with pytest.raises(RuntimeError, match="closed"):
        pool.run_episodes(bisect_policy, [0])
