"""PDDL problems for ALFWorld's ``alfred.pddl`` domain, written from a room and a goal."""

from __future__ import annotations

from agent_envs.textgames.alfworld_scenes import (
    CLEANABLE,
    COOLABLE,
    HEATABLE,
    RECEPTACLES,
    can_contain,
)

__all__ = ["problem_text"]

# types the domain's actions name as constants: a problem must declare them
_DOMAIN_RTYPES = ("SinkBasin", "Microwave", "Fridge")
_DOMAIN_OTYPES = ("Knife", "ButterKnife")


def problem_text(
    receptacles: list[tuple[str, str]],
    objects: list[tuple[str, str, str]],
    task_type: str,
    obj: str,
    target: str | None,
    state: str | None,
) -> str:
    """The PDDL problem of a room: ``receptacles`` are ``(id, type)``, ``objects`` are
    ``(id, type, receptacle id)``; the goal is of ``task_type`` on object type ``obj``,
    receptacle type ``target`` and state predicate ``state`` (e.g. ``isHot``).

    Example:
        >>> text = problem_text([("fridge_bar_01", "Fridge")],
        ...                     [("egg_bar_01", "Egg", "fridge_bar_01")],
        ...                     "pick_cool_then_place_in_recep", "Egg", "Fridge", "isCool")
        >>> "(openable fridge_bar_01)" in text, "(isCool ?o)" in text
        (True, True)
    """
    kinds = {kind for _, kind in receptacles}
    rtypes = sorted(kinds | set(_DOMAIN_RTYPES))
    otypes = sorted({kind for _, kind, _ in objects} | set(_DOMAIN_OTYPES))
    location = {rid: f"loc_bar_{i + 1}" for i, (rid, _) in enumerate(receptacles)}
    lines = ["(define (problem agent_envs_task)", "(:domain alfred)", "(:objects", "agent1 - agent"]
    lines += [f"{t}Type - otype" for t in otypes] + [f"{t}Type - rtype" for t in rtypes]
    lines += [f"{oid} - object" for oid, _, _ in objects]
    lines += [f"{rid} - receptacle" for rid, _ in receptacles]
    lines += ["loc_bar_0 - location"] + [f"{loc} - location" for loc in location.values()]
    lines += [")", "(:init", "(atLocation agent1 loc_bar_0)"]
    for rid, kind in receptacles:
        lines += [
            f"(receptacleType {rid} {kind}Type)",
            f"(receptacleAtLocation {rid} {location[rid]})",
        ]
        if RECEPTACLES[kind][0]:
            lines.append(f"(openable {rid})")
    for oid, kind, rid in objects:
        lines += [f"(objectType {oid} {kind}Type)", f"(inReceptacle {oid} {rid})"]
        lines.append(f"(objectAtLocation {oid} {location[rid]})")
        if kind == "DeskLamp":
            lines.append(f"(toggleable {oid})")
            continue
        lines.append(f"(pickupable {oid})")
        for flags, predicate in (
            (CLEANABLE, "cleanable"),
            (HEATABLE, "heatable"),
            (COOLABLE, "coolable"),
        ):
            if kind in flags:
                lines.append(f"({predicate} {oid})")
    for rkind in sorted(kinds):
        for okind in otypes:
            if can_contain(rkind, okind):
                lines.append(f"(canContain {rkind}Type {okind}Type)")
    lines += [")", f"(:goal {_goal(task_type, obj, target, state)})", ")"]
    return "\n".join(lines) + "\n"


def _goal(task_type: str, obj: str, target: str | None, state: str | None) -> str:
    if task_type == "look_at_obj_in_light":
        return (
            "(and (exists (?t - object ?r - receptacle ?a - agent ?l - location)"
            " (and (objectType ?t DeskLampType) (toggleable ?t) (isToggled ?t)"
            " (inReceptacle ?t ?r) (receptacleAtLocation ?r ?l) (atLocation ?a ?l)))"
            f" (exists (?o - object ?a - agent) (and (objectType ?o {obj}Type) (holds ?a ?o))))"
        )
    if task_type == "pick_two_obj_and_place":
        return (
            "(exists (?r - receptacle ?o1 - object ?o2 - object)"
            f" (and (not (= ?o1 ?o2)) (receptacleType ?r {target}Type)"
            f" (objectType ?o1 {obj}Type) (objectType ?o2 {obj}Type)"
            " (inReceptacle ?o1 ?r) (inReceptacle ?o2 ?r)))"
        )
    extra = f" ({state} ?o)" if state else ""
    return (
        "(exists (?r - receptacle ?o - object)"
        f" (and (objectType ?o {obj}Type) (receptacleType ?r {target}Type)"
        f" (inReceptacle ?o ?r){extra}))"
    )
