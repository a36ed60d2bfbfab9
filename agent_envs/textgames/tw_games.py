"""TextWorld game kinds, presets and difficulty, train/valid/test seeds and cached generation.

Games are made by ``textworld``'s own generator (``textworld.make`` and the challenges of
``tw-make``), offline: the Inform 7 compiler ships in the ``textworld`` wheel. Generation
runs in a child process with a time limit (the compiler is an external program): an
``os.fork`` copy of the warm template that already imported ``textworld`` (see
:mod:`~agent_envs.textgames.engine_process`), so a game does not pay the ~1 s CPU (4 s
on a loaded machine) of importing it. The output lands in a
:class:`~agent_envs.textgames.cache.GameCache`, once per (kind, settings, split, index).

Run as a program it generates one game: ``python -m agent_envs.textgames.tw_games
--kind custom --settings '{"world_size": 2, "nb_objects": 3, "quest_length": 4}'
--seed 7 --out DIR``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import sys
from pathlib import Path
from typing import Any

from agent_envs.core.arguments import check_difficulty
from agent_envs.textgames.cache import GameCache
from agent_envs.textgames.engine_process import EngineFailure, EngineProcess
from agent_envs.textgames.engine_templates import ENGINE_PRELOAD

__all__ = [
    "KINDS",
    "PRESETS",
    "SPLITS",
    "resolve_settings",
    "difficulty_settings",
    "game_seed",
    "ensure_game",
    "generate_game",
    "GENERATION_TIMEOUT_S",
]

#: Kinds of game: id suffix -> ``tw-make`` challenge ("custom" is ``textworld.make``).
KINDS: dict[str, str] = {
    "Custom": "custom",
    "Treasure": "tw-treasure_hunter",
    "Cooking": "tw-cooking",
    "Coin": "tw-coin_collector",
}

_COOKING = {"recipe": 1, "take": 1, "go": 1, "open": False, "cook": False, "cut": False}

#: Named presets per kind (``preset=``). "Custom" also accepts any ``"w<rooms>-o<objects>-q<quest>"``;
#: ``difficulty`` in ``[0, 1]`` walks easy (0), medium (0.5), hard (1): see :func:`difficulty_settings`.
PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    "Custom": {
        "easy": {"world_size": 2, "nb_objects": 3, "quest_length": 2},
        "w2-o3-q4": {"world_size": 2, "nb_objects": 3, "quest_length": 4},
        "medium": {"world_size": 2, "nb_objects": 3, "quest_length": 4},
        "hard": {"world_size": 4, "nb_objects": 6, "quest_length": 6},
    },
    "Treasure": {"easy": {"level": 3}, "medium": {"level": 13}, "hard": {"level": 23}},
    "Cooking": {
        "easy": {**_COOKING, "open": True},
        "medium": {**_COOKING, "recipe": 2, "take": 2, "go": 6, "open": True, "cut": True},
        "hard": {
            **_COOKING,
            **{"recipe": 3, "take": 3, "go": 9, "open": True, "cook": True, "cut": True},
        },
    },
    "Coin": {"easy": {"level": 5}, "medium": {"level": 105}, "hard": {"level": 205}},
}
_DEFAULT_PRESET = {"Custom": "w2-o3-q4", "Treasure": "easy", "Cooking": "easy", "Coin": "easy"}

#: Seed residues keep the splits' games disjoint: game seed = 3 * index + offset.
SPLITS: dict[str, int] = {"train": 0, "valid": 1, "test": 2}
GENERATION_TIMEOUT_S = 300.0
_SHAPE_RE = re.compile(r"^w(\d+)-o(\d+)-q(\d+)$")
_KNOBS = {
    "Custom": {"world_size", "nb_objects", "quest_length"},
    "Treasure": {"level"},
    "Cooking": set(_COOKING) | {"drop"},
    "Coin": {"level"},
}


def difficulty_settings(kind: str, difficulty: float) -> dict[str, Any]:
    """Generator settings of a kind at ``difficulty`` in ``[0, 1]`` (0 easiest).

    ``difficulty`` walks the kind's presets: 0 is ``easy``, 0.5 ``medium``, 1 ``hard``.
    Integer knobs are interpolated linearly between the two neighbouring presets and
    rounded (halfway up); knobs that do not interpolate (Cooking's booleans and its
    ``go``, which takes only 1, 6, 9 or 12) take the nearest preset's value (0.25 and
    0.75 go to the harder one).

    Example:
        >>> difficulty_settings("Treasure", 0.0), difficulty_settings("Treasure", 0.25)
        ({'level': 3}, {'level': 8})
        >>> difficulty_settings("Custom", 1.0) == PRESETS["Custom"]["hard"]
        True
    """
    ladder = [PRESETS[kind][name] for name in ("easy", "medium", "hard")]
    position = check_difficulty(difficulty, f"TextWorld-{kind}") * (len(ladder) - 1)
    low = min(int(position), len(ladder) - 2)
    fraction = position - low
    near = ladder[low + (fraction >= 0.5)]
    settings: dict[str, Any] = {}
    for key, value in ladder[low].items():
        high = ladder[low + 1][key]
        if isinstance(value, bool) or (kind == "Cooking" and key == "go"):
            settings[key] = near[key]
        else:
            settings[key] = math.floor(value + fraction * (high - value) + 0.5)
    return settings


def resolve_settings(
    kind: str,
    preset: str | None,
    overrides: dict[str, Any],
    difficulty: float | None = None,
) -> dict[str, Any]:
    """Generator settings for a kind: the preset (or ``difficulty``), then knob overrides.

    Example:
        >>> resolve_settings("Custom", "w2-o3-q4", {})
        {'world_size': 2, 'nb_objects': 3, 'quest_length': 4}
        >>> resolve_settings("Custom", "easy", {"quest_length": 3})["quest_length"]
        3
        >>> resolve_settings("Treasure", "hard", {})
        {'level': 23}
        >>> resolve_settings("Coin", None, {}, difficulty=0.5)
        {'level': 105}
    """
    if kind not in KINDS:
        raise ValueError(f"unknown TextWorld kind {kind!r}; choose one of {sorted(KINDS)}")
    if difficulty is not None and preset is not None:
        raise ValueError("give difficulty (a float in [0, 1]) or preset (a name), not both")
    presets = PRESETS[kind]
    shape = _SHAPE_RE.match(preset) if isinstance(preset, str) else None
    if difficulty is not None:
        settings = difficulty_settings(kind, difficulty)
    elif preset is None:
        settings = dict(presets[_DEFAULT_PRESET[kind]])
    elif isinstance(preset, str) and preset in presets:
        settings = dict(presets[preset])
    elif kind == "Custom" and shape:
        settings = dict(
            zip(("world_size", "nb_objects", "quest_length"), map(int, shape.groups()), strict=True)
        )
    else:
        hint = " or 'w<rooms>-o<objects>-q<length>'" if kind == "Custom" else ""
        raise ValueError(f"unknown preset {preset!r} for {kind}; use {sorted(presets)}{hint}")
    for key, value in overrides.items():
        if value is None:
            continue
        if key not in _KNOBS[kind]:
            raise ValueError(f"{kind} games have no setting {key!r}; known: {sorted(_KNOBS[kind])}")
        settings[key] = value
    _validate(kind, settings)
    return settings


def _validate(kind: str, settings: dict[str, Any]) -> None:
    ints = {k: v for k, v in settings.items() if not isinstance(v, bool)}
    for key, value in ints.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{key} must be a positive int, got {value!r}")
    if kind == "Treasure" and not 1 <= settings["level"] <= 30:
        raise ValueError(f"Treasure level must be in 1..30, got {settings['level']}")
    if kind == "Coin" and not 1 <= settings["level"] <= 300:
        raise ValueError(f"Coin level must be in 1..300, got {settings['level']}")
    if kind == "Cooking":
        if settings["go"] not in (1, 6, 9, 12):
            raise ValueError(f"Cooking 'go' must be 1, 6, 9 or 12, got {settings['go']}")
        if settings["take"] > settings["recipe"]:
            raise ValueError("Cooking 'take' cannot exceed 'recipe'")


def game_seed(split: str, index: int) -> int:
    """The generator seed of game ``index`` of a split; splits never share a seed.

    Example:
        >>> game_seed("train", 0), game_seed("valid", 0), game_seed("test", 5)
        (0, 1, 17)
    """
    if split not in SPLITS:
        raise ValueError(f"split must be one of {list(SPLITS)}, got {split!r}")
    return 3 * int(index) + SPLITS[split]


def cache_key(kind: str, settings: dict[str, Any], split: str, index: int) -> str:
    """Name of a game's cache entry: kind, a digest of the settings and version, seed."""
    import textworld  # the generator's version is part of the key

    blob = json.dumps([settings, textworld.__version__], sort_keys=True).encode()
    tag = hashlib.sha256(blob).hexdigest()[:12]
    return f"{kind.lower()}-{tag}-{split}-{int(index)}"


def generate_game(kind: str, settings: dict[str, Any], seed: int, out_dir: Path) -> None:
    """Generate one game in this process; writes ``game.z8`` and ``game.json`` in ``out_dir``."""
    import textworld
    import textworld.challenges
    from textworld.generator import compile_game

    options = textworld.GameOptions()
    options.seeds = int(seed)
    options.path = str(Path(out_dir) / "game.z8")
    options.force_recompile = True
    challenge = KINDS[kind]
    if challenge == "custom":
        options.nb_rooms = settings["world_size"]
        options.nb_objects = settings["nb_objects"]
        options.quest_length = settings["quest_length"]
        textworld.make(options)
    else:
        _, make, _ = textworld.challenges.CHALLENGES[challenge]
        extra: dict[str, Any] = {}
        if kind == "Cooking":
            extra = {"drop": False, "recipe_seed": int(seed), "split": settings.get("split")}
        game = make({**extra, **settings}, options)
        compile_game(game, options)
    for leftover in Path(out_dir).glob("game.ni"):
        leftover.unlink()  # the Inform 7 source is not needed to play


def ensure_game(
    cache: GameCache,
    kind: str,
    settings: dict[str, Any],
    split: str,
    index: int,
    timeout_s: float = GENERATION_TIMEOUT_S,
) -> Path:
    """Return the cached ``game.z8`` of game ``index`` of ``split``, generating it once."""
    seed = game_seed(split, index)
    if kind == "Cooking":
        settings = {**settings, "split": split}

    def build(folder: Path) -> None:
        _run_generator(kind, settings, seed, folder, timeout_s)

    return cache.get(cache_key(kind, settings, split, index), build) / "game.z8"


def generate_in(kind: str, settings: dict[str, Any], seed: int, out_dir: str) -> bool:
    """:func:`generate_game` run from inside ``out_dir`` (what the generator child runs).

    The compiler's scratch files land in ``out_dir``; the child is discarded afterwards, so
    changing its working directory touches nothing else.
    """
    os.chdir(out_dir)
    generate_game(kind, settings, seed, Path(out_dir))
    return True


def _run_generator(kind: str, settings: dict, seed: int, folder: Path, timeout_s: float) -> None:
    child = EngineProcess(preload=ENGINE_PRELOAD)
    kwargs = {"kind": kind, "settings": settings, "seed": seed, "out_dir": str(folder)}
    try:
        child.call(("run", f"{__name__}:generate_in", kwargs), timeout_s)
    except EngineFailure as exc:
        if exc.kind == "timeout":
            raise RuntimeError(f"generating a {kind} game took over {timeout_s:.0f} s") from None
        raise RuntimeError(
            f"TextWorld failed to generate a {kind} game (seed {seed}): {exc}"
        ) from None
    finally:
        child.close()  # its whole process group: the compiler too
    if not (folder / "game.z8").is_file():
        raise RuntimeError(f"TextWorld generated no game.z8 for a {kind} game (seed {seed})")


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate one TextWorld game.")
    parser.add_argument("--kind", required=True, choices=sorted(KINDS))
    parser.add_argument("--settings", required=True, help="JSON object of generator settings")
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    generate_game(args.kind, json.loads(args.settings), args.seed, Path(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(_main())
