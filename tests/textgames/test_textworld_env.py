"""TextWorld-*-v0 with real generated games (needs the ``textworld`` extra)."""

from __future__ import annotations

import os
import signal

import gymnasium as gym
import pytest

pytest.importorskip("textworld")

import agent_envs  # noqa: E402,F401  (registers the ids)
from agent_envs.core import GARBAGE_ACTIONS, check_text_env  # noqa: E402
from agent_envs.textgames import TextWorldEnv  # noqa: E402
from agent_envs.textgames.cache import GameCache  # noqa: E402

pytestmark = pytest.mark.textworld
IDS = ["TextWorld-Custom-v0", "TextWorld-Treasure-v0", "TextWorld-Cooking-v0", "TextWorld-Coin-v0"]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """One cache per test session: each game is generated once for all tests."""
    return str(tmp_path_factory.mktemp("tw-cache"))


def _make(cache_dir, env_id="TextWorld-Custom-v0", **kw):
    return gym.make(env_id, cache_dir=cache_dir, num_games=kw.pop("num_games", 1), **kw)


@pytest.mark.slow
@pytest.mark.parametrize("env_id", IDS)
def test_contract(env_id, cache_dir):
    check_text_env(lambda: _make(cache_dir, env_id), ["look", "inventory", "go north"])


def test_walkthrough_wins_with_max_score(cache_dir):
    env = _make(cache_dir, preset="w2-o3-q4")
    obs, info = env.reset(seed=0, options={"game_index": 0})
    assert info["objective"] and "TextWorld" not in obs[:40] and "$$" not in obs
    total, steps = 0.0, env.unwrapped.walkthrough()
    # this game's names have capitals ("Henderson's box"); the command is lower-cased
    assert steps and any(command != command.lower() for command in steps)
    assert info["plan_length"] == len(steps)  # TextWorld's policy vs the generator's solution
    for i, command in enumerate(steps):
        reply = f"Step {i}: I will do this.\n<command>{command}</command>"
        obs, reward, terminated, truncated, info = env.step(reply)
        assert info["action_valid"] and info["command"] == command.lower()
        assert info["command_admissible"]
        total += reward
    assert terminated and not truncated and info["won"] and info["success"]
    assert total == len(steps) and info["score"] == 1.0 and info["plan_left"] == 0
    assert info["max_score"] == info["game_score"] == info["metrics"]["game_score"]
    assert "RESTART" not in obs and not obs.rstrip().endswith(">") and "=-" not in obs
    env.close()


@pytest.mark.slow
@pytest.mark.parametrize(
    "env_id, difficulty", [("TextWorld-Custom-v0", 0.75), ("TextWorld-Treasure-v0", 0.25)]
)
def test_a_difficulty_between_presets_generates_a_winnable_game(cache_dir, env_id, difficulty):
    """The interpolated settings (Custom 3 rooms, 5 objects, quest 5; Treasure level 8)
    are ones TextWorld's generator really builds, and the walkthrough wins."""
    env = _make(cache_dir, env_id, difficulty=difficulty)
    expected = {"TextWorld-Custom-v0": {"world_size": 3, "nb_objects": 5, "quest_length": 5}}
    assert env.unwrapped.settings == expected.get(env_id, {"level": 8})
    env.reset(seed=0, options={"game_index": 0})
    for command in env.unwrapped.walkthrough():
        *_, terminated, _, info = env.step(f"<command>{command}</command>")
    assert terminated and info["won"]
    env.close()


def test_same_seed_same_game_and_splits_differ(cache_dir):
    def first_obs(split, seed):
        env = _make(cache_dir, split=split)
        obs, info = env.reset(seed=seed)
        env.close()
        return obs, info["objective"]

    assert first_obs("train", 3) == first_obs("train", 3)
    assert first_obs("train", 0) != first_obs("test", 0)  # game 0 of each split differs


def test_garbage_and_system_commands_are_explained(cache_dir):
    env = _make(cache_dir, max_turns=100)
    env.reset(seed=0)
    for reply in list(GARBAGE_ACTIONS) + ["quit", "<command>restart</command>"]:
        obs, reward, terminated, truncated, info = env.step(reply)
        assert not terminated and not truncated
        if not info["action_valid"]:
            assert obs.startswith("Invalid reply:") and info["action_error"] and reward == 0.0
    obs, *_, info = env.step("<command>quit</command>")
    assert not info["action_valid"] and "game-system command" in info["action_error"]
    obs, reward, terminated, truncated, info = env.step("dance wildly")
    assert info["action_valid"] and not info["command_admissible"] and reward == 0.0
    env.close()


def test_turn_budget_truncates(cache_dir):
    env = _make(cache_dir, max_turns=2)
    env.reset(seed=0)
    assert env.step("look")[3] is False
    *_, terminated, truncated, info = env.step("xyzzy\nfoo\n<command></command>")
    assert truncated and not terminated and not info["action_valid"]
    env.close()


def test_fork_replays_and_stays_independent(cache_dir):
    env = _make(cache_dir).unwrapped
    env.reset(seed=0)
    steps = env.walkthrough()
    env.step(steps[0])
    twin = env.fork()
    for command in steps[1:]:
        *_, terminated, _, info = twin.step(command)
    assert terminated and info["won"]
    assert env.turn == 1 and not env.step("look")[4]["won"]
    twin.close()
    env.close()


def _gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_engine_crash_restarts_the_game_in_place(cache_dir):
    env = _make(cache_dir).unwrapped
    env.reset(seed=0)
    steps = env.walkthrough()
    env.step(steps[0])
    pid = env._engine.pid
    os.kill(pid, signal.SIGKILL)  # the engine process dies between two turns
    obs, reward, terminated, truncated, info = env.step(steps[1])
    assert not info["action_valid"] and "stopped" in info["action_error"] and not terminated
    assert "restarted" in obs and env._engine.pid != pid  # a fresh engine replayed steps[0]
    for command in steps[1:]:
        *_, terminated, _, info = env.step(command)
    assert terminated and info["won"]
    env.close()


def test_hung_engine_step_times_out_and_the_game_goes_on(cache_dir, tmp_path):
    env = _make(cache_dir, engine_timeout=3.0).unwrapped
    opener = env._engine_opener

    def hanging_on_demand(path):  # a test-only wrapper the engine child imports by name
        function, kwargs = opener(path)
        wrapped = {"opener": function, "kwargs": kwargs, "triggers": str(tmp_path)}
        return "tests.textgames.hanging_engine:open_hanging", wrapped

    env._engine_opener = hanging_on_demand
    env.reset(seed=0)
    steps = env.walkthrough()
    env.step(steps[0])
    hung = env._engine.pid
    (tmp_path / "step").write_text("600")  # the next step blocks
    obs, reward, terminated, truncated, info = env.step(steps[1])
    assert not info["action_valid"] and reward == 0.0 and not terminated and not truncated
    assert "did not answer" in info["action_error"] and "within 3 s" in obs
    assert _gone(hung) and env._engine.pid != hung  # killed, replaced, episode replayed
    for command in steps[1:]:
        *_, terminated, _, info = env.step(command)
    assert terminated and info["won"] and env.turn == len(steps) + 1
    pid = env._engine.pid
    env.close()
    env.close()
    assert _gone(pid)


def test_optional_sections_and_admissible_commands(cache_dir):
    env = _make(
        cache_dir, include_description=True, include_inventory=True, show_admissible_commands=True
    )
    obs, info = env.reset(seed=0)
    assert "[Room]" in obs and "[Inventory]" in obs and "Admissible commands:" in obs
    assert "look" in info["admissible_commands"] and info["max_score"] >= 1
    env.close()


def test_async_vector_env(cache_dir):
    envs = gym.make_vec(
        "TextWorld-Custom-v0",
        2,
        vectorization_mode="async",
        cache_dir=cache_dir,
        num_games=1,
    )
    try:
        obs, info = envs.reset(seed=[0, 1])
        assert len(obs) == 2 and all(isinstance(o, str) and o for o in obs)
        obs, rewards, terminated, truncated, info = envs.step(
            ["look", "<command>inventory</command>"]
        )
        assert list(info["action_valid"]) == [True, True]
    finally:
        envs.close()


def test_cache_is_reused_and_a_corrupted_game_is_regenerated(cache_dir):
    env = TextWorldEnv("Custom", cache_dir=cache_dir, num_games=1)
    env.reset(seed=0)
    game = env._game_path
    stamp = game.stat().st_mtime_ns
    env.close()
    again = TextWorldEnv("Custom", cache_dir=cache_dir, num_games=1)
    again.reset(seed=0)
    assert again._game_path == game and game.stat().st_mtime_ns == stamp  # not regenerated
    steps = again.walkthrough()
    again.close()
    game.write_bytes(game.read_bytes()[:1000])  # a truncated, corrupted game file
    assert not GameCache(cache_dir).is_valid(game.parent.name)
    fixed = TextWorldEnv("Custom", cache_dir=cache_dir, num_games=1)
    fixed.reset(seed=0)
    assert GameCache(cache_dir).is_valid(game.parent.name)
    for command in steps:
        *_, terminated, _, info = fixed.step(command)
    assert terminated and info["won"]
    fixed.close()


def test_bad_arguments_raise():
    for kwargs in [
        {"kind": "Zork"},
        {"split": "dev"},
        {"preset": "w0-o1-q1"},
        {"difficulty": 2.0},
        {"max_turns": 0},
        {"num_games": 0},
        {"engine_timeout": 0},
        {"engine_timeout": float("nan")},
    ]:
        with pytest.raises(ValueError):
            TextWorldEnv(**kwargs)


def test_a_forked_process_gets_its_own_engine(cache_dir):
    env = _make(cache_dir).unwrapped
    env.reset(seed=0)
    steps = env.walkthrough()
    env.step(steps[0])
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the copy plays to the end with an engine of its own
        code = 1
        try:
            for command in steps[1:]:
                *_, info = env.step(command)
            code = 0 if info["won"] and info["action_valid"] else 1
            os.write(write, str(env._engine.pid).encode())
            env.close()
        finally:
            os._exit(code)
    os.close(write)
    _, status = os.waitpid(child, 0)
    other = int(os.read(read, 64) or b"0")
    os.close(read)
    assert status == 0 and other not in (0, env._engine.pid)
    *_, info = env.step(steps[1])  # the original's engine was left alone
    assert info["action_valid"] and env.turn == 2
    env.close()


def test_old_engine_timeout_keyword_still_works_with_a_warning(tmp_path):
    with pytest.warns(DeprecationWarning, match="engine_timeout"):
        env = gym.make(
            "TextWorld-Custom-v0", cache_dir=str(tmp_path), num_games=1, engine_timeout_s=12.0
        )
    assert env.unwrapped.engine_timeout == 12.0
    env.close()
