"""``TextGameEnv``: the turn logic shared by the TextWorld and ALFWorld environments."""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path
from typing import Any

from agent_envs.core.info import TurnOutcome
from agent_envs.core.text_env import TextEnv
from agent_envs.textgames.commands import ACTION_PROTOCOL, extract_command

__all__ = ["TextGameEnv", "require_extra"]


def require_extra(*modules: str) -> None:
    """Raise a clear ``ImportError`` when a module of the ``textworld`` extra is missing.

    Example:
        >>> require_extra("json")
    """
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(
            f"{', '.join(missing)} not installed; the text games need the 'textworld' extra: "
            "pip install 'agent-envs[textworld]'"
        )


class TextGameEnv(TextEnv):
    """Plays a game through a ``textworld`` engine; subclasses choose and open the games.

    The reply is parsed by :func:`~agent_envs.textgames.commands.extract_command`; the
    native reward is the increase of the game's score; the episode terminates when the
    game is won or lost and is truncated after ``max_turns`` turns (invalid replies count).
    ``info["score"]`` is the fraction of the maximum score reached so far (0..1).
    Subclasses implement :meth:`_select_game`, :meth:`_open_engine` and :meth:`_clean`.

    Example:
        >>> from agent_envs.textgames import ALFWorldEnv  # a concrete subclass
        >>> issubclass(ALFWorldEnv, TextGameEnv)
        True
    """

    #: An unusable reply earns nothing (the native reward is score increments only).
    invalid_action_reward = 0.0
    #: Commands refused before reaching the engine (they would break determinism).
    blocked_commands: frozenset[str] = frozenset()
    game_title = "a text game"
    #: Extra sentences for the system prompt (e.g. the game's command forms).
    command_help = ""

    def __init__(
        self,
        *,
        max_turns: int,
        show_admissible_commands: bool,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1:
            raise ValueError(f"max_turns must be a positive int, got {max_turns!r}")
        super().__init__(
            max_observation_length=8192, max_action_length=16384, render_mode=render_mode
        )
        self.max_turns = max_turns
        self.show_admissible_commands = bool(show_admissible_commands)
        self._engine: Any = None
        self._engine_path: Path | None = None
        self._state: Any = None
        self._points = 0
        self._commands: list[str] = []
        self._game_info: dict[str, Any] = {}

    # ------------------------------------------------------------- for subclasses
    def _select_game(self, options: dict[str, Any] | None) -> tuple[Path, dict[str, Any]]:
        """Choose this episode's game with ``self.np_random``; return its file and facts."""
        raise NotImplementedError

    def _open_engine(self, path: Path) -> Any:
        """Start a ``textworld`` environment playing ``path`` (not yet reset)."""
        raise NotImplementedError

    def _clean(self, text: str) -> str:
        """Remove engine noise (banners, prompts, status lines) from a feedback text."""
        return text.strip()

    def _extra_sections(self, state: Any) -> list[str]:
        """Optional sections appended to each observation (room, inventory...)."""
        return []

    # ----------------------------------------------------------------- contract
    def _budget_spent(self) -> bool:
        return self.turn >= self.max_turns

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        path, self._game_info = self._select_game(options)
        if self._engine is None or self._engine_path != path:
            self._close_resources()
            self._engine = self._open_engine(path)
            self._engine_path = path
        self._state = self._engine.reset()
        self._points = int(self._state.get("score") or 0)
        self._commands = []
        observation = self._compose(self._state)
        info = {
            "system_prompt": self._system_prompt(),
            **self._game_info,
            **self._state_info(self._state),
        }
        return observation, info

    def _play_turn(self, action: str) -> TurnOutcome:
        out_of_turns = self._budget_spent()
        command, error = extract_command(action)
        if command is not None and command in self.blocked_commands:
            command, error = None, f"'{command}' is a game-system command and is not allowed"
        if command is None:
            return self.invalid_action(
                error,
                observation=f"Invalid reply: {error}.\n\n{ACTION_PROTOCOL}",
                truncated=out_of_turns,
                extra=self._invalid_info(),
            )
        admissible = command in (self._state.get("admissible_commands") or ())
        try:
            state, _, _ = self._engine.step(command)
        except Exception as exc:  # an engine failure must not end the run: restart it
            try:
                self._restart_engine()
            except Exception as again:  # cannot recover this episode: end it, reset reopens
                self._close_resources()
                return self.invalid_action(
                    f"the game engine failed on {command!r} ({type(exc).__name__}) and could "
                    f"not be restarted ({type(again).__name__}); call reset()",
                    truncated=True,
                    extra=self._invalid_info(),
                )
            return self.invalid_action(
                f"the game engine failed on {command!r} ({type(exc).__name__}); it was restarted",
                truncated=out_of_turns,
                extra=self._invalid_info(),
            )
        self._state = state
        self._commands.append(command)
        points = int(state.get("score") or 0)
        reward, self._points = points - self._points, points
        won, lost = bool(state.get("won")), bool(state.get("lost"))
        info = self._state_info(state)
        info.update(command=command, command_admissible=admissible)
        return TurnOutcome(
            self._compose(state),
            reward=float(reward),
            score=info["game_score"] / max(info["max_score"], 1),
            success=won,
            terminated=won or lost,
            truncated=out_of_turns and not (won or lost),
            metrics={"game_score": points, "moves": len(self._commands)},
            cost={"commands": 1},
            extra=info,
        )

    def _close_resources(self) -> None:
        if self._engine is not None:
            engine, self._engine, self._engine_path = self._engine, None, None
            with contextlib.suppress(Exception):  # closing a broken engine must not raise
                engine.close()

    # ----------------------------------------------------------------- helpers
    def _restart_engine(self) -> None:
        path = self._engine_path
        self._close_resources()
        if path is None:
            return
        self._engine = self._open_engine(path)
        self._engine_path = path
        self._state = self._engine.reset()
        for command in self._commands:
            self._state, _, _ = self._engine.step(command)

    def _system_prompt(self) -> str:
        return (
            f"You are playing {self.game_title}. {ACTION_PROTOCOL} {self.command_help}"
            f"You have {self.max_turns} turns; the episode ends when the game is won or lost."
        )

    def _state_info(self, state: Any) -> dict[str, Any]:
        return {
            "admissible_commands": list(state.get("admissible_commands") or []),
            "game_score": int(state.get("score") or 0),
            "max_score": int(state.get("max_score") or 1),
            "won": bool(state.get("won")),
            "lost": bool(state.get("lost")),
        }

    def _invalid_info(self) -> dict[str, Any]:
        return {**self._state_info(self._state), "command": None, "command_admissible": False}

    def _compose(self, state: Any) -> str:
        parts = [self._clean(state.feedback or "")]
        parts += self._extra_sections(state)
        if self.show_admissible_commands:
            commands = state.get("admissible_commands") or []
            parts.append("Admissible commands: " + ", ".join(commands))
        return "\n\n".join(part for part in parts if part)
