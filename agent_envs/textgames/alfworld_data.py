"""Load ALFWorld tasks from the ``ALFWORLD_DATA`` layout (official or generated).

The layout is ``<root>/json_2.1.1/<split>/<task folder>/<trial folder>/`` holding
``traj_data.json`` (task type, targets, annotations) and ``game.tw-pddl`` (a JSON
document with the PDDL domain, the PDDL problem, the text grammar, ``solvable`` and a
``walkthrough``). The procedural generator writes the same layout, so one loader serves
both.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agent_envs.textgames.alfworld_scenes import TASK_TYPES

__all__ = [
    "AlfworldTask",
    "SPLITS",
    "find_tasks",
    "load_task",
    "describe_task",
    "official_data_root",
    "GOAL_TEMPLATES",
    "UNKNOWN_GOAL",
    "grammar_goal",
    "task_phrasing",
]

#: ALFWorld's two goal phrasings per task type (``{obj}``, ``{recep}``, ``{toggle}``
#: are the lower-cased ``pddl_params`` targets); ALFWorld draws one per game.
GOAL_TEMPLATES: dict[str, tuple[str, str]] = {
    "pick_and_place_simple": ("put a {obj} in {recep}", "put some {obj} on {recep}"),
    "look_at_obj_in_light": (
        "look at {obj} under the {toggle}",
        "examine the {obj} with the {toggle}",
    ),
    "pick_clean_then_place_in_recep": (
        "put a clean {obj} in {recep}",
        "clean some {obj} and put it in {recep}",
    ),
    "pick_heat_then_place_in_recep": (
        "put a hot {obj} in {recep}",
        "heat some {obj} and put it in {recep}",
    ),
    "pick_cool_then_place_in_recep": (
        "put a cool {obj} in {recep}",
        "cool some {obj} and put it in {recep}",
    ),
    "pick_two_obj_and_place": (
        "put two {obj} in {recep}",
        "find two {obj} and put them in {recep}",
    ),
}
#: What ``alfred.twl2`` says before a goal is written into a game's grammar.
UNKNOWN_GOAL = "UNKNOWN GOAL"
_GRAMMAR_GOAL_RE = re.compile(r'"rhs"\s*:\s*"Your task is to: ((?:[^"\\]|\\.)*)"')

#: ALFWorld's splits and their folder names under ``json_2.1.1``.
SPLITS: dict[str, str] = {
    "train": "train",
    "valid_seen": "valid_seen",
    "valid_unseen": "valid_unseen",
}


@dataclass(frozen=True)
class AlfworldTask:
    """One task: where its files are, its type, its goal text and a known solution."""

    folder: Path
    task_type: str
    description: str
    walkthrough: tuple[str, ...] = ()
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    #: The goal as the game file words it (:data:`UNKNOWN_GOAL` when it has none).
    game_goal: str = UNKNOWN_GOAL

    @property
    def game_file(self) -> Path:
        """The ``game.tw-pddl`` file played by ``textworld``."""
        return self.folder / "game.tw-pddl"


def describe_task(
    traj_data: dict[str, Any], annotation: int | None = None, phrasing: int = 0
) -> str:
    """The goal sentence of a task from its ``traj_data.json`` content.

    By default ALFWorld's template number ``phrasing`` (0 or 1, see
    :data:`GOAL_TEMPLATES`) filled from ``pddl_params``; with ``annotation=i`` the i-th
    human annotation (``turk_annotations``), when present.

    Example:
        >>> traj = {"task_type": "pick_heat_then_place_in_recep",
        ...         "pddl_params": {"object_target": "Mug", "parent_target": "CounterTop"}}
        >>> describe_task(traj), describe_task(traj, phrasing=1)
        ('put a hot mug in countertop', 'heat some mug and put it in countertop')
    """
    if annotation is not None:
        anns = (traj_data.get("turk_annotations") or {}).get("anns") or []
        if anns:
            text = str(anns[annotation % len(anns)].get("task_desc", "")).strip().rstrip(".")
            if text:
                return text
    params = traj_data.get("pddl_params") or {}
    templates = GOAL_TEMPLATES.get(traj_data.get("task_type", ""), GOAL_TEMPLATES[TASK_TYPES[0]])
    return templates[phrasing % len(templates)].format(
        obj=str(params.get("object_target", "")).lower(),
        recep=str(params.get("parent_target", "")).lower(),
        toggle=str(params.get("toggle_target", "")).lower(),
    )


def grammar_goal(grammar: str) -> str:
    """The goal written into a game's grammar (``Your task is to: ...``), or
    :data:`UNKNOWN_GOAL`.

    Example:
        >>> grammar_goal('"task": [{"rhs": "Your task is to: put a mug in desk."}]')
        'put a mug in desk'
        >>> grammar_goal('"rhs": "Your task is to: UNKNOWN GOAL."')
        'UNKNOWN GOAL'
    """
    match = _GRAMMAR_GOAL_RE.search(grammar or "")
    if match is None:
        return UNKNOWN_GOAL
    try:
        text = json.loads(f'"{match.group(1)}"')
    except ValueError:
        text = match.group(1)
    return text.strip().rstrip(".").strip() or UNKNOWN_GOAL


def task_phrasing(folder: str | os.PathLike) -> int:
    """Which of the two phrasings a task without a written goal gets: fixed per task
    (a digest of its task and trial folder names), half of the tasks each.

    Example:
        >>> task_phrasing("json_2.1.1/train/pick_and_place_simple-Mug-None-Desk-1/trial_1")
        1
    """
    path = Path(folder)
    digest = hashlib.sha256(f"{path.parent.name}/{path.name}".encode()).digest()
    return digest[0] % 2


def load_task(folder: str | os.PathLike, annotation: int | None = None) -> AlfworldTask:
    """Read one task folder; raise ``ValueError`` when it is not a playable task.

    Example:
        >>> load_task("/nonexistent")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: ...traj_data.json...
    """
    folder = Path(folder)
    try:
        traj = json.loads((folder / "traj_data.json").read_text())
        game = json.loads((folder / "game.tw-pddl").read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"{folder} has no readable traj_data.json and game.tw-pddl: {exc}"
        ) from None
    task_type = traj.get("task_type")
    if task_type not in TASK_TYPES:
        raise ValueError(f"{folder}: unsupported task type {task_type!r}")
    if not game.get("solvable"):
        raise ValueError(f"{folder}: game.tw-pddl is not marked solvable")
    game_goal = grammar_goal(str(game.get("grammar") or ""))
    if annotation is not None or game_goal == UNKNOWN_GOAL:
        description = describe_task(traj, annotation, phrasing=task_phrasing(folder))
    else:
        description = game_goal  # the phrasing ALFWorld drew when it wrote the game
    return AlfworldTask(
        folder=folder,
        task_type=task_type,
        description=description,
        walkthrough=tuple(game.get("walkthrough") or ()),
        params=dict(traj.get("pddl_params") or {}),
        game_goal=game_goal,
    )


def find_tasks(
    root: str | os.PathLike, split: str, task_types: tuple[str, ...] = TASK_TYPES
) -> list[Path]:
    """Sorted task folders of a split under ``root`` (the folder holding ``json_2.1.1``).

    Like ALFWorld, movable-receptacle and sliced tasks are skipped; :func:`load_task`
    rejects games not marked solvable.
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    base = Path(root) / "json_2.1.1" / SPLITS[split]
    found = []
    for dirpath, _, files in os.walk(base):
        if "traj_data.json" not in files or "game.tw-pddl" not in files:
            continue
        if "movable" in dirpath or "Sliced" in dirpath:
            continue
        name = Path(dirpath).parent.name
        if not any(name.startswith(t) for t in task_types):
            continue
        found.append(Path(dirpath))
    return sorted(found)


def official_data_root() -> Path | None:
    """``$ALFWORLD_DATA`` when it holds ALFWorld's ``json_2.1.1`` folder, else None."""
    root = os.environ.get("ALFWORLD_DATA")
    if root and (Path(root).expanduser() / "json_2.1.1").is_dir():
        return Path(root).expanduser()
    return None
