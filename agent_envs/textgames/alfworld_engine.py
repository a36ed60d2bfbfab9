"""The engine side of ``ALFWorld-v0``: opening a task, checking a solution, planning one.

These functions run in the environment's engine process (they load ``textworld`` with
its PDDL back end and ``alfworld``). :func:`plan_task` asks the planner that
``textworld[pddl]`` builds (Fast Downward) for a plan from the initial state: it is
how tasks without a stored solution, such as ALFWorld's official data, get an expert.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from agent_envs.textgames.commands import command_key

__all__ = ["open_alfworld_game", "verify_task", "plan_task", "CommandSpelling"]


class CommandSpelling:
    """Wraps an ALFWorld game so a command reaches it in the game's own spelling.

    The PDDL engine runs a command only when it equals an admissible command exactly,
    but the agent's commands are lower-cased: a command that matches an admissible one
    up to case and spacing is sent as the admissible one.

    Example:
        >>> class Game:  # a stand-in game whose only command has a capital
        ...     def reset(self): return {"admissible_commands": ["take CD 1 from desk 1"]}
        ...     def step(self, command): return {"feedback": command, "admissible_commands": []}, 0, False
        >>> game = CommandSpelling(Game())
        >>> _ = game.reset()
        >>> game.step("take  cd 1 from desk 1")[0]["feedback"]
        'take CD 1 from desk 1'
    """

    def __init__(self, env: Any) -> None:
        self.env = env
        self._spelling: dict[str, str] = {}

    def _remember(self, state: Any) -> Any:
        self._spelling = {command_key(c): c for c in state.get("admissible_commands") or ()}
        return state

    def reset(self) -> Any:
        """Reset the game."""
        return self._remember(self.env.reset())

    def step(self, command: str) -> tuple[Any, Any, bool]:
        """Play ``command``, respelled as the admissible command it matches (if any)."""
        state, score, done = self.env.step(self._spelling.get(command_key(command), command))
        return self._remember(state), score, done

    def close(self) -> None:
        """Close the game."""
        self.env.close()


def open_alfworld_game(game_file: str | Path, **infos: bool) -> CommandSpelling:
    """Start a ``game.tw-pddl`` with ``textworld.start`` and ALFWorld's wrappers; ``infos``
    are extra ``textworld.EnvInfos`` flags (e.g. ``policy_commands=True``).

    Example:
        >>> import pytest
        >>> _ = pytest.importorskip("alfworld")
        >>> open_alfworld_game("/nonexistent/game.tw-pddl")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        OSError: Unable to find game '/nonexistent/game.tw-pddl'.
    """
    import textworld
    from alfworld.agents.environment.alfred_tw_env import AlfredDemangler, AlfredInfos

    request = textworld.EnvInfos(admissible_commands=True, won=True, extras=["gamefile"], **infos)
    wrappers = [AlfredDemangler(shuffle=False), AlfredInfos]
    with warnings.catch_warnings():
        # PddlEnv.load reads the game with json.load(open(...)) and never closes the file
        warnings.simplefilter("ignore", ResourceWarning)
        game = textworld.start(str(game_file), request_infos=request, wrappers=wrappers)
    return CommandSpelling(game)


def verify_task(game_file: str | Path, walkthrough: tuple[str, ...] | list[str]) -> bool:
    """Play ``walkthrough`` through ``textworld``; True when it is legal and wins at the end."""
    env = open_alfworld_game(game_file)
    try:
        state = env.reset()
        for command in walkthrough:
            if state["won"] or command not in state["admissible_commands"]:
                return False
            state, _, _ = env.step(command)
        return bool(state["won"])
    finally:
        env.close()


def plan_task(game_file: str | Path) -> list[str]:
    """A winning command list for a task from its initial state, by the PDDL planner,
    checked by playing it (:func:`verify_task`); ``[]`` when no winning plan is found.

    Example:
        >>> import tempfile, pytest
        >>> from pathlib import Path
        >>> _ = pytest.importorskip("alfworld")
        >>> from agent_envs.textgames.alfworld_generator import generate_task, write_task
        >>> folder = Path(tempfile.mkdtemp())
        >>> write_task(generate_task("pick_and_place_simple", 0), folder)
        >>> plan = plan_task(folder / "game.tw-pddl")
        >>> plan[-1].startswith("move "), verify_task(folder / "game.tw-pddl", plan)
        (True, True)
    """
    env = open_alfworld_game(game_file, policy_commands=True)
    try:
        plan = [str(command) for command in env.reset().get("policy_commands") or ()]
    finally:
        env.close()
    return plan if plan and verify_task(game_file, plan) else []
