"""The core contract: text spaces, TextEnv, forking, pickling, registration, vector envs."""

from __future__ import annotations

import pickle
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import agent_envs
from agent_envs.core import (
    STEP_INFO_KEYS,
    TextEnv,
    TurnOutcome,
    UnicodeText,
    check_text_env,
    truncate_text,
)
from agent_envs.toy import GuessNumberEnv

WEIRD = "naïve 🙂 \x00 \u200b 中文 \U0010ffff end"


class EchoEnv(TextEnv):
    """Echoes the action back (with arbitrary Unicode) for vector-env and truncation tests."""

    def __init__(self, max_observation_length: int = 64) -> None:
        super().__init__(max_observation_length=max_observation_length)

    def _reset_episode(self, options):
        return WEIRD, {"system_prompt": "echo"}

    def _play_turn(self, action):
        return TurnOutcome(
            action * 2, reward=1.0, score=float(len(action)), truncated=self.turn >= 3
        )


def test_unicode_space_accepts_any_text_and_rejects_too_long():
    space = UnicodeText(10)
    assert space.contains("") and space.contains("🙂" * 10)
    assert not space.contains("a" * 11) and not space.contains(b"bytes")
    assert all(space.contains(space.sample()) for _ in range(20))


def test_truncation_is_visible_and_bounded():
    for n in (10, 50, 200, 5000):
        out = truncate_text("x" * 10_000, n)
        assert len(out) <= n
    assert "truncated" in truncate_text("y" * 1000, 100)


def test_long_observation_is_truncated_not_crashing():
    env = EchoEnv(max_observation_length=50)
    env.reset(seed=0)
    obs, *_ = env.step("z" * 100)
    assert len(obs) <= 50 and "truncated" in obs


def test_toy_env_keeps_the_contract():
    check_text_env(GuessNumberEnv, ["50", "25", "75", "60"])


def test_echo_env_keeps_the_contract():
    check_text_env(EchoEnv, ["a", "b"])


def test_gym_make_without_import_and_ids_listed():
    code = (
        "import gymnasium as gym; e = gym.make('agent_envs:Toy-GuessNumber-v0'); "
        "o, i = e.reset(seed=1); print(type(o).__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "str"
    assert "Toy-GuessNumber-v0" in dict(agent_envs.list_ids())


def test_cli_list_prints_every_id():
    out = subprocess.run(
        [sys.executable, "-m", "agent_envs", "list"], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    for env_id, _ in agent_envs.list_ids():
        assert env_id in out.stdout


def test_info_keys_and_best_score():
    env = GuessNumberEnv(low=1, high=10, max_turns=5)
    env.reset(seed=4)
    scores = []
    for action in ["1", "garbage", "10", "5"]:
        *_, info = env.step(action)
        assert all(k in info for k in STEP_INFO_KEYS)
        if info["action_valid"]:
            scores.append(info["score"])
        assert info["best_score"] == (max(scores) if scores else None)
    assert info["turn"] == 4


def test_step_after_end_and_non_string_actions_do_not_raise():
    env = GuessNumberEnv(low=1, high=2, max_turns=1)
    env.reset(seed=0)
    _, _, terminated, truncated, _ = env.step(None)  # type: ignore[arg-type]
    assert truncated or terminated
    obs, reward, *_, info = env.step("1")
    assert "over" in obs and info["action_valid"] is False and reward == 0.0


def test_fork_matches_and_is_independent():
    env = GuessNumberEnv()
    env.reset(seed=11)
    env.step("50")
    twin = env.fork()
    assert twin.actions == env.actions and twin._target == env._target
    twin.step("30")
    assert env.turn == 1 and twin.turn == 2
    # random state is the same too
    assert twin.np_random.random() == env.np_random.random()


def test_pickle_round_trip_keeps_episode():
    env = GuessNumberEnv()
    env.reset(seed=5)
    env.step("40")
    clone = pickle.loads(pickle.dumps(env))
    assert clone.actions == ["40"] and clone._target == env._target
    assert clone.step("41")[:4] == env.step("41")[:4]


def test_bad_constructor_arguments_raise_clearly():
    with pytest.raises(ValueError, match="low < high"):
        GuessNumberEnv(low=5, high=1)
    with pytest.raises(ValueError, match="render_mode"):
        GuessNumberEnv(render_mode="rgb_array")


def test_close_twice_is_fine():
    env = GuessNumberEnv()
    env.close()
    env.close()


@pytest.mark.parametrize("shared_memory", [True, False])
def test_async_vector_env_with_any_unicode(shared_memory):
    gym.register(
        "Test-Echo-v0", entry_point=EchoEnv
    ) if "Test-Echo-v0" not in gym.registry else None
    envs = gym.make_vec(
        "Test-Echo-v0",
        num_envs=2,
        vectorization_mode="async",
        vector_kwargs={"shared_memory": shared_memory},
    )
    try:
        obs, info = envs.reset(seed=[0, 1])
        assert tuple(obs) == (WEIRD, WEIRD)
        obs, reward, terminated, truncated, info = envs.step(("ä🙂", "\x00x"))
        assert tuple(obs) == ("ä🙂ä🙂", "\x00x\x00x")
        assert np.allclose(reward, 1.0)
    finally:
        envs.close()


def test_async_vector_env_of_registered_id_as_is():
    envs = gym.make_vec("Toy-GuessNumber-v0", 2, vectorization_mode="async")
    try:
        obs, _ = envs.reset(seed=3)
        obs, reward, *_ = envs.step(("50", "oops"))
        assert reward[1] == GuessNumberEnv.invalid_action_reward
    finally:
        envs.close()
