"""ALFWorld-v0 on generated tasks, played by textworld with ALFWorld's wrappers."""

from __future__ import annotations

import json
import shutil

import gymnasium as gym
import pytest

pytest.importorskip("textworld")
pytest.importorskip("alfworld")

import agent_envs  # noqa: E402,F401  (registers the ids)
from agent_envs.core import check_text_env  # noqa: E402
from agent_envs.textgames import ALFWorldEnv  # noqa: E402
from agent_envs.textgames.alfworld_data import (  # noqa: E402
    GOAL_TEMPLATES,
    describe_task,
    find_tasks,
    grammar_goal,
    load_task,
    task_phrasing,
)
from agent_envs.textgames.alfworld_engine import verify_task  # noqa: E402
from agent_envs.textgames.alfworld_generator import generate_task, write_task  # noqa: E402
from agent_envs.textgames.alfworld_scenes import TASK_TYPES  # noqa: E402

pytestmark = pytest.mark.textworld


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("alfworld-cache"))


@pytest.mark.slow
@pytest.mark.parametrize("task_type", TASK_TYPES)
def test_each_task_type_is_solved_by_its_stored_solution(task_type, cache_dir):
    env = gym.make("ALFWorld-v0", task_types=(task_type,), cache_dir=cache_dir, num_generated=1)
    obs, info = env.reset(seed=0)
    assert info["task_type"] == task_type and info["source"] == "generated"
    assert f"Your task is to: {info['task']}." in obs and "Welcome" not in obs
    steps = env.unwrapped.walkthrough()
    assert verify_task(env.unwrapped.task.game_file, steps)
    total = 0.0
    for command in steps:
        assert command in info["admissible_commands"]
        obs, reward, terminated, truncated, info = env.step(f"Plan step.\nAction: {command}")
        total += reward
    assert terminated and info["won"] and info["success"] and total == 1.0 == info["score"]
    env.close()


@pytest.mark.slow
def test_contract(cache_dir):
    def make():
        return gym.make(
            "ALFWorld-v0",
            task_types=("pick_heat_then_place_in_recep",),
            cache_dir=cache_dir,
            num_generated=1,
        )

    env = make()
    env.reset(seed=0)
    actions = env.unwrapped.walkthrough()[:3]
    env.close()
    check_text_env(make, actions)


def test_one_loader_reads_generated_data_as_official(cache_dir):
    root = ALFWorldEnv(cache_dir=cache_dir, source="generated").generated_root
    folders = find_tasks(root, "train")
    assert len(folders) >= len(TASK_TYPES)
    env = ALFWorldEnv(source="official", data_dir=str(root), task_types=("look_at_obj_in_light",))
    obs, info = env.reset(seed=0)
    assert info["source"] == "official" and info["task_type"] == "look_at_obj_in_light"
    for command in env.walkthrough():
        *_, terminated, _, info = env.step(command)
    assert terminated and info["won"]
    env.close()


def test_goal_text_comes_from_traj_data(cache_dir, tmp_path):
    root = ALFWorldEnv(cache_dir=cache_dir, source="generated").generated_root
    source = find_tasks(root, "train", ("pick_two_obj_and_place",))[0]
    folder = tmp_path / "json_2.1.1" / "valid_seen" / source.parent.name / "trial_x"
    shutil.copytree(source, folder)
    game = json.loads((folder / "game.tw-pddl").read_text())
    game["grammar"] = game["grammar"].replace(load_task(source).description, "UNKNOWN GOAL")
    (folder / "game.tw-pddl").write_text(json.dumps(game))  # as before alfworld-generate
    traj = json.loads((folder / "traj_data.json").read_text())
    traj["turk_annotations"]["anns"] = [{"task_desc": "Bring two of them over there."}]
    (folder / "traj_data.json").write_text(json.dumps(traj))
    env = ALFWorldEnv(split="valid_seen", data_dir=str(tmp_path))
    obs, info = env.reset(seed=0)
    drawn = describe_task(traj, phrasing=task_phrasing(folder))  # one of ALFWorld's two
    assert info["task"] == drawn and f"Your task is to: {info['task']}." in obs
    human = ALFWorldEnv(split="valid_seen", data_dir=str(tmp_path), goal_annotation=0)
    obs, info = human.reset(seed=0)
    assert info["task"] == "Bring two of them over there" and info["task"] in obs
    env.close()
    human.close()


def test_splits_do_not_share_tasks(cache_dir):
    def problem(split):
        env = ALFWorldEnv(split=split, task_types=("pick_and_place_simple",), cache_dir=cache_dir)
        env.reset(seed=0, options={"task_index": 0})
        text = json.loads(env.task.game_file.read_text())["pddl_problem"]
        env.close()
        return text

    assert problem("train") != problem("valid_unseen")
    # the suite's names play ALFWorld's splits: valid is valid_seen, test is valid_unseen
    assert problem("test") == problem("valid_unseen") != problem("valid")


def test_invalid_replies_and_unknown_commands(cache_dir):
    env = ALFWorldEnv(task_types=("pick_and_place_simple",), cache_dir=cache_dir, num_generated=1)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("<command>fly to the moon</command>")
    assert info["action_valid"] and not info["command_admissible"] and "Nothing happens" in obs
    obs, reward, terminated, truncated, info = env.step("<command></command>")
    assert not info["action_valid"] and reward == 0.0 and "Invalid reply" in obs
    env.close()


def test_bad_arguments_raise(tmp_path):
    with pytest.raises(ValueError):
        ALFWorldEnv(split="dev")
    with pytest.raises(ValueError, match="no difficulty knob"):
        ALFWorldEnv(difficulty=0.5)
    with pytest.raises(ValueError):
        ALFWorldEnv(task_types=("make_coffee",))
    with pytest.raises(ValueError):
        ALFWorldEnv(source="official", data_dir=str(tmp_path))  # no json_2.1.1 there
    with pytest.raises(ValueError, match="Z-machine"):  # textworld would misread its games
        ALFWorldEnv(source="generated", cache_dir=str(tmp_path / "games.z5"))


def _official_task(root, task_type, seed=0, split="train", edit=None):
    """A generated task written where ALFWorld's data would be, as ALFWorld ships it:
    no stored solution (``edit`` may change the game file's JSON further)."""
    task = generate_task(task_type, seed)
    folder = root / "json_2.1.1" / split / task.folder_name / "trial_T0001"
    folder.mkdir(parents=True)
    write_task(task, folder)
    game = json.loads((folder / "game.tw-pddl").read_text())
    del game["walkthrough"]
    if edit is not None:
        edit(game)
    (folder / "game.tw-pddl").write_text(json.dumps(game))
    return task, folder


def test_goal_phrasings_are_alfworlds():
    from alfworld.gen.goal_library import gdict

    for task_type, templates in GOAL_TEMPLATES.items():
        assert set(templates) == set(gdict[task_type]["templates"])


def test_official_task_without_a_solution_gets_a_winning_expert_plan(tmp_path):
    _official_task(tmp_path / "data", "pick_two_obj_and_place", seed=3)
    cache = str(tmp_path / "cache")
    env = ALFWorldEnv(source="official", data_dir=str(tmp_path / "data"), cache_dir=cache)
    obs, info = env.reset(seed=0)
    assert not env.task.walkthrough  # nothing stored: the planner has to find it
    plan = env.walkthrough()
    assert plan[-1].startswith("move ")  # the planner's plan, played below
    total = 0.0
    for command in plan:
        assert command in info["admissible_commands"]
        obs, reward, terminated, truncated, info = env.step(command)
        total += reward
    assert terminated and info["won"] and total == 1.0
    env.close()
    again = ALFWorldEnv(source="official", data_dir=str(tmp_path / "data"), cache_dir=cache)
    again.reset(seed=0)
    assert again.walkthrough() == plan and list((tmp_path / "cache" / "plans").iterdir())
    again.close()


def test_the_goal_written_in_the_game_is_the_task(tmp_path):
    _, folder = _official_task(tmp_path, "pick_heat_then_place_in_recep", seed=4)
    written = grammar_goal(json.loads((folder / "game.tw-pddl").read_text())["grammar"])
    traj = json.loads((folder / "traj_data.json").read_text())
    assert written in {describe_task(traj, phrasing=p) for p in (0, 1)}
    env = ALFWorldEnv(source="official", data_dir=str(tmp_path))
    obs, info = env.reset(seed=0)
    assert info["task"] == written and f"Your task is to: {written}." in obs
    traj["turk_annotations"]["anns"] = [{"task_desc": "Warm the thing up and leave it there."}]
    (folder / "traj_data.json").write_text(json.dumps(traj))
    human = ALFWorldEnv(source="official", data_dir=str(tmp_path), goal_annotation=0)
    obs, info = human.reset(seed=0)
    assert info["task"] == "Warm the thing up and leave it there"
    assert f"Your task is to: {info['task']}." in obs and written not in obs
    env.close()
    human.close()


def test_commands_reach_names_with_capitals(tmp_path):
    def capitalise(game):  # the game spells "go to" commands with a capital
        game["grammar"] = game["grammar"].replace('template :: "go to ', 'template :: "Go to ')

    task, _ = _official_task(tmp_path, "pick_and_place_simple", seed=1, edit=capitalise)
    env = ALFWorldEnv(source="official", data_dir=str(tmp_path))
    obs, info = env.reset(seed=0)
    first = task.walkthrough[0]  # "go to ..."
    assert (
        "G" + first[1:] in info["admissible_commands"] and first not in info["admissible_commands"]
    )
    obs, reward, terminated, truncated, info = env.step(first)
    assert info["command"] == first and info["command_admissible"]
    assert obs.startswith("You arrive at") and "Nothing happens" not in obs
    env.close()
