"""Text games without the engines: reply parsing, the game cache, presets and seeds."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from agent_envs.textgames.alfworld_data import describe_task, find_tasks
from agent_envs.textgames.alfworld_generator import generate_task
from agent_envs.textgames.alfworld_scenes import TASK_TYPES
from agent_envs.textgames.cache import GameCache, default_cache_dir
from agent_envs.textgames.commands import MAX_COMMAND_LENGTH, extract_command
from agent_envs.textgames.engine_process import EngineFailure, EngineProcess
from agent_envs.textgames.tw_games import SPLITS, game_seed, resolve_settings


@pytest.mark.parametrize(
    "reply, command",
    [
        ("go north", "go north"),
        ("  Take the KEY.  ", "take the key"),
        ("Let me think.\nThe door is closed.\nopen door", "open door"),
        ("<command>go west</command> then maybe <command>go east</command>", "go east"),
        ("reasoning\n```\ntake apple 1 from fridge 1\n```\n", "take apple 1 from fridge 1"),
        ("I will act.\n**Action:** look\nthat is all", "look"),
        ("Command: inventory", "inventory"),
    ],
)
def test_command_is_found_where_the_protocol_says(reply, command):
    assert extract_command(reply) == (command, "")


@pytest.mark.parametrize(
    "reply, fragment",
    [
        ("", "empty"),
        ("<command>   </command>", "empty"),
        ("<command>go north\ngo south</command>", "2 lines"),
        ("<command>" + "x" * (MAX_COMMAND_LENGTH + 1) + "</command>", "characters"),
        ("<command>ouvrir la fenêtre</command>", "cannot read"),
        ("\\boxed{", "cannot read"),
        ("...", "empty after removing punctuation"),
    ],
)
def test_unusable_replies_get_a_reason(reply, fragment):
    command, error = extract_command(reply)
    assert command is None and fragment in error


def test_non_text_reply_is_refused():
    assert extract_command(None)[0] is None


def _build_slowly(folder: Path, log: str) -> None:
    with open(log, "a") as handle:
        handle.write("built\n")
    time.sleep(0.3)  # widen the race window
    (folder / "game.bin").write_bytes(b"\x00game" * 1000)


def _get(root: str, log: str) -> str:
    entry = GameCache(root).get("race-1", lambda folder: _build_slowly(folder, log))
    return (entry / "game.bin").read_bytes().hex()[:20]


def test_cache_concurrent_builders_share_one_whole_entry(tmp_path):
    log = str(tmp_path / "log.txt")
    ctx = mp.get_context("fork")
    with ctx.Pool(3) as pool:
        results = pool.starmap(_get, [(str(tmp_path / "c"), log)] * 3)
    assert len(set(results)) == 1
    assert Path(log).read_text().count("built") == 1  # the lock made the others wait
    cache = GameCache(tmp_path / "c")
    assert cache.is_valid("race-1")
    assert not [p for p in (tmp_path / "c").iterdir() if p.is_dir() and p.name != "race-1"]


def test_cache_rebuilds_a_corrupted_or_truncated_entry(tmp_path):
    builds = []

    def build(folder):
        builds.append(1)
        (folder / "game.z8").write_bytes(b"z" * 100)
        (folder / "game.json").write_text("{}")

    cache = GameCache(tmp_path)
    entry = cache.get("g", build)
    assert cache.get("g", build) == entry and len(builds) == 1  # reused
    (entry / "game.z8").write_bytes(b"z" * 50)  # truncated
    assert not cache.is_valid("g")
    cache.get("g", build)
    assert len(builds) == 2 and (entry / "game.z8").read_bytes() == b"z" * 100
    (entry / "MANIFEST.json").write_text("{not json")
    cache.get("g", build)
    assert len(builds) == 3 and cache.is_valid("g")


def test_failed_build_leaves_no_entry(tmp_path):
    def build(folder):
        (folder / "partial").write_text("half")
        raise RuntimeError("compiler crashed")

    cache = GameCache(tmp_path)
    with pytest.raises(RuntimeError, match="compiler crashed"):
        cache.get("broken", build)
    assert not cache.is_valid("broken") and not (tmp_path / "broken").exists()
    assert [p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")] == []


def test_cache_rejects_path_like_keys(tmp_path):
    with pytest.raises(ValueError):
        GameCache(tmp_path).path("../escape")


def test_cache_dir_follows_the_environment_variable(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENT_ENVS_CACHE", str(tmp_path))
    assert default_cache_dir("textworld") == tmp_path / "textworld"


def test_presets_and_knobs():
    assert resolve_settings("Custom", "w3-o5-q2", {}) == {
        "world_size": 3,
        "nb_objects": 5,
        "quest_length": 2,
    }
    assert resolve_settings("Cooking", "hard", {"go": 12})["go"] == 12
    for bad in [("Custom", "impossible", {}), ("Treasure", "easy", {"level": 31})]:
        with pytest.raises(ValueError):
            resolve_settings(*bad)
    with pytest.raises(ValueError, match="no setting"):
        resolve_settings("Treasure", "easy", {"quest_length": 3})
    with pytest.raises(ValueError):
        resolve_settings("Nope", None, {})


def test_split_seeds_are_disjoint():
    seeds = {split: {game_seed(split, i) for i in range(500)} for split in SPLITS}
    assert not seeds["train"] & seeds["test"] and not seeds["train"] & seeds["valid"]
    assert not seeds["valid"] & seeds["test"]


@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_generated_alfworld_tasks_are_seeded(task_type):
    first, again = generate_task(task_type, 11), generate_task(task_type, 11)
    assert first == again
    assert generate_task(task_type, 12).problem != first.problem
    phrasings = {describe_task(first.traj_data, phrasing=p) for p in (0, 1)}
    assert len(phrasings) == 2 and first.goal in phrasings
    assert first.traj_data["turk_annotations"]["anns"][0]["task_desc"] == first.goal
    assert first.walkthrough, "every generated task ships a solution"


def test_find_tasks_reads_the_alfworld_layout(tmp_path):
    trial = tmp_path / "json_2.1.1" / "train" / "pick_and_place_simple-Mug-None-Desk-1" / "trial_1"
    trial.mkdir(parents=True)
    (trial / "traj_data.json").write_text(json.dumps({"task_type": "pick_and_place_simple"}))
    (trial / "game.tw-pddl").write_text("{}")
    movable = tmp_path / "json_2.1.1" / "train" / "pick_and_place_with_movable_recep-A-B-C-1" / "t"
    movable.mkdir(parents=True)
    (movable / "traj_data.json").write_text("{}")
    (movable / "game.tw-pddl").write_text("{}")
    assert find_tasks(tmp_path, "train") == [trial]
    assert find_tasks(tmp_path, "train", ("look_at_obj_in_light",)) == []
    assert find_tasks(tmp_path, "valid_seen") == []


_ECHO = ("open", "agent_envs.textgames.engine_process:echo_engine", {})


def _hanging_echo(triggers) -> tuple:
    """The echo engine wrapped by a test-only module the child imports by name: a file
    named after the call in ``triggers`` makes that call hang once."""
    opener = {"opener": _ECHO[1], "kwargs": {}, "triggers": str(triggers)}
    return ("open", "tests.textgames.hanging_engine:open_hanging", opener)


def _exited(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ", 1)[1].startswith("Z")  # a zombie has exited
    except FileNotFoundError:
        return True


def test_engine_process_answers_reports_errors_and_times_out(tmp_path):
    engine = EngineProcess()
    engine.call(_hanging_echo(tmp_path), 60)
    assert engine.call(("step", "go"), 10)["feedback"] == "you said go"
    with pytest.raises(EngineFailure) as failure:
        engine.call(("no such request",), 10)
    assert failure.value.kind == "error" and engine.alive  # an engine error keeps the child
    pid = engine.pid
    (tmp_path / "step").write_text("600")  # the next step hangs
    with pytest.raises(EngineFailure) as failure:
        engine.call(("step", "go"), 0.5)
    assert failure.value.kind == "timeout" and not engine.alive and _exited(pid)
    engine.call(_ECHO, 60)  # the next call starts a fresh child
    assert engine.call(("step", "again"), 10)["feedback"] == "you said again"
    engine.close()
    engine.close()


def test_engine_process_exits_when_its_parent_dies(tmp_path):
    script = (
        "import os\n"
        "from agent_envs.textgames.engine_process import EngineProcess\n"
        "e = EngineProcess()\n"
        f"e.call({_hanging_echo(tmp_path)!r}, 60)\n"
        f"open({str(tmp_path / 'step')!r}, 'w').write('600')\n"
        "e.send(['step', 'x'])  # the child hangs in it\n"
        "print(e.pid, flush=True)\n"
        "os._exit(0)  # the parent dies without closing anything\n"
    )
    root = str(Path(__file__).resolve().parents[2])
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": root},
    )
    pid = int(out.stdout.strip())
    deadline = time.monotonic() + 30
    while not _exited(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _exited(pid)


def test_generated_goals_use_both_of_alfworlds_phrasings():
    goals = {generate_task("pick_cool_then_place_in_recep", seed).goal for seed in range(12)}
    starts = {goal.split()[0] for goal in goals}
    assert starts == {"put", "cool"}  # "put a cool X in Y" and "cool some X and put it in Y"


def test_engine_works_in_a_directory_of_its_own_removed_on_close():
    # a game-system command that writes (save, script) would otherwise land in the
    # user's working directory; the engine's relative paths resolve in its own folder
    engine = EngineProcess()
    cwd = engine.call(("run", "os:getcwd", {}), 60)
    assert os.path.realpath(cwd) != os.path.realpath(os.getcwd())
    assert os.path.basename(cwd).startswith("agent-envs-child-") and os.path.isdir(cwd)
    engine.call(("run", "os:mkdir", {"path": "relative"}), 60)
    assert os.path.isdir(os.path.join(cwd, "relative"))
    engine.close()
    engine.close()
    assert not os.path.exists(cwd)


def test_cache_build_folder_never_looks_like_a_z_machine_path(tmp_path, monkeypatch):
    # textworld guesses a game's engine from its whole path (``.z[1-8]`` anywhere means
    # Z-code): a build folder named ".key.z7c7eob7" once made an ALFWorld game unplayable
    textworld_envs = pytest.importorskip("textworld.envs")
    monkeypatch.setattr(tempfile, "_get_candidate_names", lambda: iter(["z7c7eob7", "z1abcdef"]))
    seen = []

    def build(folder):
        seen.append(folder / "game.tw-pddl")
        seen[-1].write_text("{}")

    GameCache(tmp_path).get("trial_agentenvs_0000000", build)
    assert seen and textworld_envs._guess_backend(str(seen[0])) is textworld_envs.PddlEnv
