"""Forking, pickling and resetting text games around real engine failures.

The games are real TextWorld games (generated once per module); the engine failures are
real: a ``SIGKILL`` of the engine process, a step that hangs past its time limit, a
game opener that fails inside the engine.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("textworld")

import agent_envs  # noqa: E402,F401  (registers the ids)
from agent_envs.textgames import game_env  # noqa: E402
from agent_envs.textgames.engine_process import EngineProcess  # noqa: E402

pytestmark = pytest.mark.textworld
_ECHO = ("open", "agent_envs.textgames.engine_process:echo_engine", {})
#: A test-only engine wrapper the engine child imports by name: a file named after the
#: call ("reset", "step") in its trigger folder makes that call hang once.
_HANGING = "tests.textgames.hanging_engine:open_hanging"


def _hang_on_demand(env, triggers) -> None:
    """Have ``env`` open its games wrapped in the hanging engine (before its reset)."""
    opener = env._engine_opener

    def wrapped(path):
        function, kwargs = opener(path)
        return _HANGING, {"opener": function, "kwargs": kwargs, "triggers": str(triggers)}

    env._engine_opener = wrapped


def _hanging_echo(triggers) -> tuple:
    opener = {"opener": _ECHO[1], "kwargs": {}, "triggers": str(triggers)}
    return ("open", _HANGING, opener)


def _hang_next(triggers, call: str, seconds: float = 600.0) -> None:
    (triggers / call).write_text(str(seconds))


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("tw-fork-cache"))


def _make(cache_dir, **kw):
    kw.setdefault("num_games", 1)
    return gym.make("TextWorld-Custom-v0", cache_dir=cache_dir, **kw).unwrapped


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")
    except FileNotFoundError:
        return True


def _play(env, commands):
    """Observation, reward, flags and the info keys that describe the game, per command."""
    keys = ("turn", "action_valid", "game_score", "won", "admissible_commands", "best_score")
    out = []
    for command in commands:
        obs, reward, terminated, truncated, info = env.step(command)
        out.append((obs, reward, terminated, truncated, {k: info.get(k) for k in keys}))
    return out


def test_fork_copies_the_live_engine_and_stays_independent(cache_dir):
    env = _make(cache_dir)
    env.reset(seed=0)
    steps = env.walkthrough()
    env.step(steps[0])
    twin = env.fork()
    # the copy's engine is a forked copy of the original's: no game opened, nothing replayed
    assert twin._engine.pid != env._engine.pid and twin._engine.requests == 0
    assert twin.turn == env.turn == 1 and twin.actions == env.actions
    state = env.np_random.bit_generator.state
    assert twin.np_random.bit_generator.state == state and twin.np_random is not env.np_random
    ours, theirs = _play(twin, steps[1:]), _play(env, steps[1:])
    assert ours == theirs and ours[-1][2] and ours[-1][4]["won"]  # same game, both win
    assert twin._engine.requests == len(steps) - 1  # the fork played its steps, no replay
    # closing the original leaves the copy's engine alone, and the other way round
    again = twin.fork()
    pid, twin_pid = env._engine.pid, twin._engine.pid
    env.close()
    assert _gone(pid) and not _gone(twin_pid)
    twin.close()
    twin.close()
    assert _gone(twin_pid) and again._engine.alive
    again.close()


def test_fork_and_pickle_after_a_killed_engine_equal_the_original(cache_dir):
    env = _make(cache_dir)
    env.reset(seed=0)
    steps = env.walkthrough()
    env.step(steps[0])
    os.kill(env._engine.pid, signal.SIGKILL)  # a real crash between two turns
    *_, info = env.step(steps[1])  # reported as not applied
    assert not info["action_valid"] and "not applied" in info["action_error"]
    twin, copy = env.fork(), pickle.loads(pickle.dumps(env))
    assert twin.turn == copy.turn == env.turn == 2
    rest = [steps[1], "look"] + steps[2:]
    expected = _play(env, rest)
    assert expected[-1][4]["won"]
    assert _play(twin, rest) == expected  # a replay that applied steps[1] would differ here
    assert _play(copy, rest) == expected
    for each in (env, twin, copy):
        each.close()


def test_a_fork_of_a_hung_step_replays_only_what_was_applied(cache_dir, tmp_path):
    env = _make(cache_dir, engine_timeout=2.0)
    _hang_on_demand(env, tmp_path)
    env.reset(seed=0)
    steps = env.walkthrough()
    env.step(steps[0])
    _hang_next(tmp_path, "step")  # the next step blocks
    hung = env._engine.pid
    *_, info = env.step(steps[1])
    assert not info["action_valid"] and "within 2 s" in info["action_error"] and _gone(hung)
    os.kill(env._engine.pid, signal.SIGKILL)  # the fork cannot copy a dead engine...
    twin = env.fork()  # ...so both restart and replay the applied commands at their next step
    assert twin._engine is None and env._not_applied == twin._not_applied == {
        2: env._not_applied[2]
    }
    rest = steps[1:]
    assert _play(twin, rest) == _play(env, rest)
    assert env._engine.alive and twin._engine.alive and twin._engine.pid != env._engine.pid
    env.close()
    twin.close()


def test_a_failed_reset_leaves_the_environment_as_it_was(cache_dir, monkeypatch, tmp_path):
    env = _make(cache_dir)
    _hang_on_demand(env, tmp_path)
    env.reset(seed=0)
    steps = env.walkthrough()
    env.step(steps[0])
    before = (env.turn, env.actions, env.np_random.bit_generator.state, env._engine.pid)
    with pytest.raises(TypeError, match="options must be a dict"):
        env.reset(options=[1])
    with pytest.raises(ValueError, match="game_index"):
        env.reset(options={"game_index": 5})
    with pytest.raises(ValueError, match="unknown reset option.*game_idx"):
        env.reset(options={"game_idx": 0})  # misspelt: not a silent random game
    assert (env.turn, env.actions, env.np_random.bit_generator.state, env._engine.pid) == before
    # an engine that fails during reset: the reset hangs past its limit, the retry's opener
    # fails inside a fresh engine; the old episode is played on by a restarted engine
    monkeypatch.setattr(game_env, "ENGINE_START_TIMEOUT_S", 3.0)
    _hang_next(tmp_path, "reset")
    monkeypatch.setattr(env, "_engine_opener", lambda path: ("no_such_module:open", {}))
    with pytest.raises(RuntimeError, match="could not start"):
        env.reset(seed=1)
    monkeypatch.undo()
    assert (env.turn, env.actions, env.np_random.bit_generator.state) == before[:3]
    results = _play(env, steps[1:])
    assert [r[4]["action_valid"] for r in results] == [True] * (len(steps) - 1)
    assert results[-1][2] and results[-1][4]["won"] and env.turn == len(steps)
    env.close()


def test_engine_copies_die_with_their_owner(tmp_path):
    script = (
        "import os\n"
        "from agent_envs.textgames.engine_process import EngineProcess\n"
        "e = EngineProcess()\n"
        f"e.call({_hanging_echo(tmp_path)!r}, 60)\n"
        "a = e.fork(30); b = a.fork(30)\n"
        f"open({str(tmp_path / 'step')!r}, 'w').write('600')\n"
        "b.send(['step', 'x'])  # b hangs in it, a and e idle\n"
        "print(e.pid, a.pid, b.pid, flush=True)\n"
        "os._exit(0)  # the owner dies without closing anything\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": root},
    )
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 3, out.stderr
    deadline = time.monotonic() + 30
    while not all(map(_gone, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(map(_gone, pids))


def test_engine_copy_has_a_group_of_its_own_and_close_is_idempotent(tmp_path):
    engine = EngineProcess()
    engine.call(_hanging_echo(tmp_path), 60)
    engine.call(("step", "one"), 10)
    twin = engine.fork(30)
    assert os.getpgid(twin.pid) == twin.pid != os.getpgid(engine.pid)
    assert twin.call(("step", "two"), 10)["feedback"] == "you said two"
    _hang_next(tmp_path, "step")
    with pytest.raises(game_env.EngineFailure) as failure:
        twin.call(("step", "x"), 0.5)
    assert failure.value.kind == "timeout" and not twin.alive
    assert engine.call(("step", "three"), 10)["feedback"] == "you said three"
    # a copy of a copy outlives its parent, and is reaped (no zombie) once closed
    child = engine.fork(30)
    grandchild = child.fork(30)
    child_pid, grandchild_pid = child.pid, grandchild.pid
    child.close()
    assert grandchild.call(("step", "four"), 10)["feedback"] == "you said four"
    grandchild.close()
    deadline = time.monotonic() + 10
    while any(os.path.exists(f"/proc/{p}") for p in (child_pid, grandchild_pid)):
        assert time.monotonic() < deadline, "a closed copy was left as a zombie"
        time.sleep(0.05)
    pid = engine.pid
    engine.close()
    engine.close()
    twin.close()
    assert _gone(pid)


@pytest.mark.slow
def test_prefetch_builds_the_pool_in_parallel_and_reports_its_time(tmp_path):
    from agent_envs.textgames.cache import GameCache
    from agent_envs.textgames.prefetch import prefetch

    report = prefetch("TextWorld-Custom-v0", 2, jobs=2, preset="easy", cache_dir=str(tmp_path))
    assert (report.games, report.jobs) == (2, 2) and report.seconds > 0
    assert "2 games of TextWorld-Custom-v0 ready in" in str(report)
    entries = sorted(p for p in tmp_path.iterdir() if not p.name.startswith("."))
    assert len(entries) == 2 and all(GameCache(tmp_path).is_valid(p.name) for p in entries)
    stamps = {p: (p / "game.z8").stat().st_mtime_ns for p in entries}
    env = _make(str(tmp_path), preset="easy", num_games=2)
    for index in (0, 1):  # the environment plays the prefetched games: nothing regenerated
        env.reset(options={"game_index": index})
        assert env._game_path.parent in stamps
        for command in env.walkthrough():
            *_, info = env.step(command)
        assert info["won"]
    env.close()
    assert stamps == {p: (p / "game.z8").stat().st_mtime_ns for p in entries}


@pytest.mark.slow
@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=st.lists(st.sampled_from(["play", "look", "kill", "garbage"]), max_size=6))
def test_fork_and_pickle_equal_the_original_after_any_turns_and_crashes(ops, cache_dir):
    env = _make(cache_dir)
    env.reset(seed=0)
    steps, played = env.walkthrough(), 0
    for op in ops:
        if op == "play" and played < len(steps):
            env.step(steps[played])  # a crash just before it makes it a turn not applied
            played += 1 if env._not_applied.get(env.turn) is None else 0
        elif op == "look":
            env.step("look")
        elif op == "kill" and env._engine is not None and env._engine.alive:
            os.kill(env._engine.pid, signal.SIGKILL)
        elif op == "garbage":
            env.step("<command></command>")
    twin, copy = env.fork(), pickle.loads(pickle.dumps(env))
    rest = steps[played:] + ["look"]
    expected = _play(env, rest)
    assert _play(twin, rest) == expected
    assert _play(copy, rest) == expected
    assert not steps[played:] or expected[-2][4]["won"]  # the rest of the walkthrough wins
    for each in (env, twin, copy):
        each.close()
