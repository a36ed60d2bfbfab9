"""Seeded generator of ALFRED-style household tasks, written in ALFWorld's on-disk layout.

A task is one room (kitchen, living room, bedroom or bathroom) with receptacles and
objects, and a goal of one of the six ALFWorld task types. The generator builds the
PDDL problem for ``alfworld``'s ``alfred.pddl`` domain, the goal sentence (put into the
``alfred.twl2`` grammar, as ``alfworld-generate`` does), and a solution computed by a
hand-written solver while the room is built.
:func:`~agent_envs.textgames.alfworld_engine.verify_task` plays that solution through
``textworld`` and ALFWorld's wrappers; a task is only cached after it is won.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent_envs.textgames.alfworld_data import UNKNOWN_GOAL, describe_task

# moved to alfworld_engine (the engine side); still importable from here
from agent_envs.textgames.alfworld_engine import open_alfworld_game, verify_task  # noqa: F401
from agent_envs.textgames.alfworld_pddl import problem_text
from agent_envs.textgames.alfworld_scenes import (
    CATEGORIES,
    CLEANABLE,
    COOLABLE,
    HEATABLE,
    LAMP_HOLDERS,
    RECEPTACLES,
    ROOMS,
    TASK_TYPES,
    can_contain,
)

__all__ = ["GeneratedTask", "generate_task", "write_task"]

_STATE = {  # task type -> (object property, appliance used, PDDL state predicate, verb)
    "pick_clean_then_place_in_recep": (CLEANABLE, "SinkBasin", "isClean", "clean"),
    "pick_heat_then_place_in_recep": (HEATABLE, "Microwave", "isHot", "heat"),
    "pick_cool_then_place_in_recep": (COOLABLE, "Fridge", "isCool", "cool"),
}
_ROOMS_FOR = {
    "pick_and_place_simple": ("kitchen", "livingroom", "bedroom", "bathroom"),
    "look_at_obj_in_light": ("livingroom", "bedroom"),
    "pick_clean_then_place_in_recep": ("kitchen", "bathroom"),
    "pick_heat_then_place_in_recep": ("kitchen",),
    "pick_cool_then_place_in_recep": ("kitchen",),
    "pick_two_obj_and_place": ("kitchen", "livingroom", "bedroom", "bathroom"),
}


@dataclass(frozen=True)
class GeneratedTask:
    """A generated task: PDDL problem, ``traj_data.json`` content and a solution."""

    task_type: str
    problem: str
    traj_data: dict[str, Any]
    walkthrough: tuple[str, ...]
    #: The goal sentence, in one of ALFWorld's two phrasings of the type (drawn by seed).
    goal: str = ""

    @property
    def folder_name(self) -> str:
        """ALFWorld-style task folder name: ``<type>-<object>-<mrecep>-<recep>-<room>``."""
        p = self.traj_data["pddl_params"]
        toggle = p["toggle_target"] or "None"
        recep = p["parent_target"] or "None"
        return f"{self.task_type}-{p['object_target']}-{toggle}-{recep}-{self.traj_data['scene']['room']}"


def _entity_id(kind: str, number: int) -> str:
    # ALFWorld's demangler names "<x>_bar_..._bar_<x>basin" ids "<x>basin"
    if kind.endswith("Basin"):
        return f"{kind[:-5].lower()}_bar_{number:02d}_bar_{kind.lower()}"
    return f"{kind.lower()}_bar_{number:02d}"


def _display_names(ids: list[str]) -> dict[str, str]:
    """Names ALFWorld's ``Demangler`` gives: per base name, sorted ids numbered n..1."""
    groups: dict[str, list[str]] = {}
    for entity in sorted(ids):
        base = entity.split("_bar_", 1)[0] + ("basin" if "basin" in entity else "")
        groups.setdefault(base, []).append(entity)
    return {
        e: f"{base} {len(group) - i}" for base, group in groups.items() for i, e in enumerate(group)
    }


class _Room:
    """Receptacles and objects being placed, with the solver's bookkeeping."""

    def __init__(self, rng: random.Random, room: str) -> None:
        self.rng, self.room = rng, room
        counts, self.categories = ROOMS[room]
        self.receptacles: list[tuple[str, str]] = []  # (id, type)
        for kind, (low, high) in counts.items():
            for n in range(1, rng.randint(low, high) + 1):
                self.receptacles.append((_entity_id(kind, n), kind))
        self.objects: list[tuple[str, str, str]] = []  # (id, type, receptacle id)
        self.kinds = {kind for _, kind in self.receptacles}

    def holders(self, obj: str, avoid: set[str] = frozenset()) -> list[str]:
        return [
            rid for rid, kind in self.receptacles if can_contain(kind, obj) and kind not in avoid
        ]

    def place(
        self, obj: str, avoid: set[str] = frozenset(), holders: list[str] | None = None
    ) -> str:
        number = 1 + sum(1 for _, kind, _ in self.objects if kind == obj)
        oid = _entity_id(obj, number)
        self.objects.append((oid, obj, self.rng.choice(holders or self.holders(obj, avoid))))
        return oid


def generate_task(task_type: str, seed: int) -> GeneratedTask:
    """Build a task of ``task_type`` from ``seed`` (same seed, same task).

    Example:
        >>> task = generate_task("pick_heat_then_place_in_recep", 3)
        >>> task.traj_data["task_type"], task.walkthrough[-1].startswith("move ")
        ('pick_heat_then_place_in_recep', True)
    """
    if task_type not in TASK_TYPES:
        raise ValueError(f"task_type must be one of {TASK_TYPES}, got {task_type!r}")
    rng = random.Random(f"alfworld-{task_type}-{int(seed)}")
    for _ in range(200):
        task = _try_generate(task_type, rng)
        if task is not None:
            return task
    raise RuntimeError(f"could not build a {task_type} task from seed {seed}")


def _try_generate(task_type: str, rng: random.Random) -> GeneratedTask | None:
    room = _Room(rng, rng.choice(_ROOMS_FOR[task_type]))
    types = sorted({t for c in room.categories for t in CATEGORIES[c]})
    prop, appliance, predicate, verb = _STATE.get(task_type, (None, None, None, None))
    if prop is not None:
        types = [t for t in types if t in prop]
    obj = rng.choice(types)
    avoid_target = {appliance, "GarbageCan"} if appliance else set()
    if task_type == "look_at_obj_in_light":
        lamp_spots = [rid for rid, kind in room.receptacles if kind in LAMP_HOLDERS]
        if not lamp_spots:
            return None
        target_kind = None
    else:
        targets = sorted({k for k in room.kinds if can_contain(k, obj)} - avoid_target)
        if not targets:
            return None
        target_kind = rng.choice(targets)
    avoid = {target_kind} if target_kind else set()
    if not room.holders(obj, avoid):
        return None
    wanted = [room.place(obj, avoid) for _ in range(rng.randint(2, 3) if "two" in task_type else 1)]
    rng.shuffle(wanted)
    if task_type == "look_at_obj_in_light":
        lamp = room.place("DeskLamp", holders=lamp_spots)
    for _ in range(rng.randint(4, 10)):
        other = rng.choice(
            types if prop is None else sorted({t for c in room.categories for t in CATEGORIES[c]})
        )
        if other != obj and room.holders(other):
            room.place(other)
    ids = [rid for rid, _ in room.receptacles] + [oid for oid, _, _ in room.objects]
    names = _display_names(ids)
    where = {oid: rid for oid, _, rid in room.objects}
    openable = {rid for rid, kind in room.receptacles if RECEPTACLES[kind][0]}
    plan = _Solver(names, where, openable)
    if task_type == "look_at_obj_in_light":
        plan.fetch(wanted[0])
        plan.goto(where[lamp])
        plan.say(f"use {names[lamp]}")
    else:
        target = rng.choice([rid for rid, kind in room.receptacles if kind == target_kind])
        for oid in wanted[: 2 if "two" in task_type else 1]:
            plan.fetch(oid)
            if appliance:
                station = next(rid for rid, kind in room.receptacles if kind == appliance)
                plan.goto(station)
                plan.say(f"{verb} {names[oid]} with {names[station]}")
            plan.put(oid, target)
    params = {
        "object_target": obj,
        "parent_target": target_kind or "",
        "toggle_target": "DeskLamp" if task_type == "look_at_obj_in_light" else "",
        "mrecep_target": "",
        "object_sliced": False,
    }
    traj = {
        "task_type": task_type,
        "pddl_params": params,
        "scene": {"room": room.room, "generator": "agent-envs"},
        "turk_annotations": {"anns": []},
    }
    goal = describe_task(traj, phrasing=rng.randrange(2))  # drawn last: rooms stay as in v1
    traj["turk_annotations"]["anns"].append({"task_desc": goal})
    problem = problem_text(room.receptacles, room.objects, task_type, obj, target_kind, predicate)
    return GeneratedTask(task_type, problem, traj, tuple(plan.commands), goal)


class _Solver:
    """Writes the commands that solve a task while tracking position, doors and hands."""

    def __init__(self, names: dict[str, str], where: dict[str, str], openable: set[str]) -> None:
        self.names, self.where, self.openable = names, dict(where), openable
        self.at: str | None = None
        self.opened: set[str] = set()
        self.commands: list[str] = []

    def say(self, command: str) -> None:
        self.commands.append(command)

    def goto(self, rid: str, open_it: bool = False) -> None:
        if self.at != rid:
            self.say(f"go to {self.names[rid]}")
            self.at = rid
        if open_it and rid in self.openable and rid not in self.opened:
            self.say(f"open {self.names[rid]}")
            self.opened.add(rid)

    def fetch(self, oid: str) -> None:
        source = self.where.pop(oid)
        self.goto(source, open_it=True)
        self.say(f"take {self.names[oid]} from {self.names[source]}")

    def put(self, oid: str, rid: str) -> None:
        self.goto(rid, open_it=True)
        self.say(f"move {self.names[oid]} to {self.names[rid]}")
        self.where[oid] = rid


def _alfworld_logic() -> tuple[str, str]:
    import alfworld

    data = Path(alfworld.__file__).parent / "data"
    return (data / "alfred.pddl").read_text(), (data / "alfred.twl2").read_text()


def write_task(task: GeneratedTask, folder: Path) -> None:
    """Write ``traj_data.json`` and ``game.tw-pddl`` (with the goal and solution) to ``folder``."""
    domain, grammar = _alfworld_logic()
    game = {
        "pddl_domain": domain,
        "grammar": grammar.replace(UNKNOWN_GOAL, task.goal or describe_task(task.traj_data)),
        "pddl_problem": task.problem,
        "solvable": True,
        "walkthrough": list(task.walkthrough),
    }
    (folder / "traj_data.json").write_text(json.dumps(task.traj_data, indent=1))
    (folder / "game.tw-pddl").write_text(json.dumps(game))
