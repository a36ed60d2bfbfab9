"""Load ALFWorld tasks from the ``ALFWORLD_DATA`` layout (official or generated).

The layout is ``<root>/json_2.1.1/<split>/<task folder>/<trial folder>/`` holding
``traj_data.json`` (task type, targets, annotations) and ``game.tw-pddl`` (a JSON
document with the PDDL domain, the PDDL problem, the text grammar, ``solvable`` and a
``walkthrough``). The procedural generator writes the same layout, so one loader serves
both.
"""

from __future__ import annotations

import json
import os
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
]

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

    @property
    def game_file(self) -> Path:
        """The ``game.tw-pddl`` file played by ``textworld``."""
        return self.folder / "game.tw-pddl"


def describe_task(traj_data: dict[str, Any], annotation: int | None = None) -> str:
    """The goal sentence of a task from its ``traj_data.json`` content.

    By default a templated sentence built from ``pddl_params``; with ``annotation=i`` the
    i-th human annotation (``turk_annotations``), when present.

    Example:
        >>> describe_task({"task_type": "pick_heat_then_place_in_recep",
        ...                "pddl_params": {"object_target": "Mug", "parent_target": "CounterTop"}})
        'put a hot mug in countertop'
    """
    if annotation is not None:
        anns = (traj_data.get("turk_annotations") or {}).get("anns") or []
        if anns:
            text = str(anns[annotation % len(anns)].get("task_desc", "")).strip().rstrip(".")
            if text:
                return text
    params = traj_data.get("pddl_params") or {}
    obj = str(params.get("object_target", "")).lower()
    recep = str(params.get("parent_target", "")).lower()
    toggle = str(params.get("toggle_target", "")).lower()
    task_type = traj_data.get("task_type", "")
    if task_type == "look_at_obj_in_light":
        return f"look at {obj} under the {toggle}"
    adjective = {
        "pick_clean_then_place_in_recep": "a clean ",
        "pick_heat_then_place_in_recep": "a hot ",
        "pick_cool_then_place_in_recep": "a cool ",
        "pick_two_obj_and_place": "two ",
    }.get(task_type, "a ")
    return f"put {adjective}{obj} in {recep}"


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
    return AlfworldTask(
        folder=folder,
        task_type=task_type,
        description=describe_task(traj, annotation),
        walkthrough=tuple(game.get("walkthrough") or ()),
        params=dict(traj.get("pddl_params") or {}),
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
