"""Every environment id of the suite, registered with Gymnasium on ``import agent_envs``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

__all__ = ["EnvEntry", "ENTRIES", "register_all", "list_ids"]


@dataclass(frozen=True)
class EnvEntry:
    """One registered id: where its class lives, its default keywords, a one-line summary."""

    id: str
    entry_point: str
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)


# Families: ACS-<Circuit>-v0, MathTIR-v0, TextWorld-<Kind>-v0, ALFWorld-v0, Toy-*-v0.
ENTRIES: list[EnvEntry] = [
    EnvEntry(
        "Toy-GuessNumber-v0",
        "agent_envs.toy.guess_number:GuessNumberEnv",
        "Guess a hidden integer from higher/lower feedback (tests, CPU demos).",
    ),
    EnvEntry(
        "MathTIR-v0",
        "agent_envs.math.env:MathTIREnv",
        "Tool-integrated math: run Python in a sandbox over turns, answer in \\boxed{}.",
    ),
    EnvEntry(
        "TextWorld-Custom-v0",
        "agent_envs.textgames.textworld_env:TextWorldEnv",
        "TextWorld adventure from textworld.make; presets like 'w2-o3-q4' (rooms-objects-quest).",
        {"kind": "Custom"},
    ),
    EnvEntry(
        "TextWorld-Treasure-v0",
        "agent_envs.textgames.textworld_env:TextWorldEnv",
        "TextWorld Treasure Hunter: find an object in a generated maze (levels 1-30).",
        {"kind": "Treasure"},
    ),
    EnvEntry(
        "TextWorld-Cooking-v0",
        "agent_envs.textgames.textworld_env:TextWorldEnv",
        "TextWorld Cooking: read a recipe, gather and prepare ingredients, eat the meal.",
        {"kind": "Cooking"},
    ),
    EnvEntry(
        "TextWorld-Coin-v0",
        "agent_envs.textgames.textworld_env:TextWorldEnv",
        "TextWorld Coin Collector: navigate rooms to find the coin (levels 1-300).",
        {"kind": "Coin"},
    ),
    EnvEntry(
        "ALFWorld-v0",
        "agent_envs.textgames.alfworld_env:ALFWorldEnv",
        "ALFWorld household tasks (six types); official data or offline generated tasks.",
    ),
]


def _circuit_entries() -> list[EnvEntry]:
    """One ``ACS-<Circuit>-v0`` entry per circuit folder (reads small JSON files only)."""
    from agent_envs.circuits.catalog import ENTRY_POINT, discover_circuits

    return [
        EnvEntry(env_id, ENTRY_POINT, description, {"circuit": folder})
        for env_id, folder, description in discover_circuits()
    ]


ENTRIES.extend(_circuit_entries())


def register_all() -> None:
    """Register every entry with Gymnasium (idempotent)."""
    for entry in ENTRIES:
        if entry.id not in gym.registry:
            gym.register(
                id=entry.id,
                entry_point=entry.entry_point,
                kwargs=dict(entry.kwargs),
                disable_env_checker=False,
            )


def list_ids() -> list[tuple[str, str]]:
    """Return ``(id, description)`` for every environment of the suite.

    Example:
        >>> ("Toy-GuessNumber-v0" in dict(list_ids()))
        True
    """
    return [(entry.id, entry.description) for entry in ENTRIES]
