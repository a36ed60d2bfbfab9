"""``TextGameEnv``: the turn logic shared by the TextWorld and ALFWorld environments."""

from __future__ import annotations

import copy
import importlib.util
import math
import warnings
from pathlib import Path
from typing import Any

from agent_envs.core.info import TurnOutcome
from agent_envs.core.text_env import TextEnv
from agent_envs.textgames.commands import ACTION_PROTOCOL, command_key, extract_command
from agent_envs.textgames.engine_process import EngineFailure, EngineProcess
from agent_envs.textgames.engine_templates import ENGINE_PRELOAD

__all__ = [
    "TextGameEnv",
    "require_extra",
    "renamed_engine_timeout",
    "ENGINE_START_TIMEOUT_S",
    "GAMES_PER_ENGINE_PROCESS",
]

#: Time limit for starting the engine process, opening a game and resetting it.
ENGINE_START_TIMEOUT_S = 300.0
#: Games an engine process opens before it is replaced (bounds the engines' leaks).
GAMES_PER_ENGINE_PROCESS = 32


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


def renamed_engine_timeout(engine_timeout: float, engine_timeout_s: float | None) -> float:
    """The engine time limit, from ``engine_timeout`` or its old name ``engine_timeout_s``.

    Every family names its time limits ``*_timeout`` (seconds); the old keyword still
    works, with a ``DeprecationWarning``.

    Example:
        >>> renamed_engine_timeout(30.0, None)
        30.0
    """
    if engine_timeout_s is None:
        return engine_timeout
    warnings.warn(
        "engine_timeout_s is now engine_timeout (seconds, like sim_timeout and cell_timeout)",
        DeprecationWarning,
        stacklevel=3,
    )
    return engine_timeout_s


class TextGameEnv(TextEnv):
    """Plays a game through a ``textworld`` engine; subclasses choose and open the games.

    The reply is parsed by :func:`~agent_envs.textgames.commands.extract_command`; the
    native reward is the increase of the game's score; the episode terminates when the
    game is won or lost and is truncated after ``max_turns`` turns (invalid replies count).
    ``info["score"]`` is the fraction of the maximum score reached so far (0..1).
    The engine runs in a supervised child process (:class:`EngineProcess`): a step
    that takes longer than ``engine_timeout`` seconds, or a crash, kills it; a fresh
    one replays the episode and the turn is answered as invalid, with the reason (such a
    turn is marked, so a fork or an unpickled copy replays it as not applied, too).
    :meth:`fork` copies the engine process itself (``os.fork`` in the child: same game,
    same engine state, nothing replayed). A ``reset`` that raises leaves the environment
    as it was. Subclasses implement :meth:`_select_game`, :meth:`_engine_opener` and
    :meth:`_clean`.

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
        engine_timeout: float = 30.0,
        render_mode: str | None = None,
    ) -> None:
        if not isinstance(max_turns, int) or isinstance(max_turns, bool) or max_turns < 1:
            raise ValueError(f"max_turns must be a positive int, got {max_turns!r}")
        if (
            not isinstance(engine_timeout, int | float)
            or isinstance(engine_timeout, bool)
            or not math.isfinite(engine_timeout)
            or engine_timeout <= 0
        ):
            raise ValueError(f"engine_timeout must be a positive number, got {engine_timeout!r}")
        super().__init__(
            max_observation_length=8192, max_action_length=16384, render_mode=render_mode
        )
        self.max_turns = max_turns
        self.show_admissible_commands = bool(show_admissible_commands)
        self.engine_timeout = float(engine_timeout)
        self._engine: EngineProcess | None = None
        self._engine_path: Path | None = None
        self._state: dict[str, Any] = {}
        self._points = 0
        self._commands: list[str] = []
        self._game_info: dict[str, Any] = {}
        #: Turns whose command the engine did not apply (turn -> how they were answered).
        self._not_applied: dict[int, dict[str, Any]] = {}
        self._replay_not_applied: dict[int, dict[str, Any]] = {}

    #: The keys ``reset(options=...)`` accepts (each subclass names its own).
    reset_options: tuple[str, ...] = ()

    # ------------------------------------------------------------- for subclasses
    def _select_game(self, options: dict[str, Any] | None) -> tuple[Path, dict[str, Any]]:
        """Choose this episode's game with ``self.np_random``; return its file and facts."""
        raise NotImplementedError

    def _engine_opener(self, path: Path) -> tuple[str, dict[str, Any]]:
        """``("module:function", kwargs)``: the call, made in the engine process, that
        returns a ``textworld`` environment playing ``path`` (not yet reset)."""
        raise NotImplementedError

    def _clean(self, text: str) -> str:
        """Remove engine noise (banners, prompts, status lines) from a feedback text."""
        return text.strip()

    def _extra_sections(self, state: dict[str, Any]) -> list[str]:
        """Optional sections appended to each observation (room, inventory...)."""
        return []

    # ----------------------------------------------------------------- public API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start a new episode; if it raises, the environment is left as it was."""
        if options is not None and not isinstance(options, dict):
            raise TypeError(f"options must be a dict or None, got {type(options).__name__}")
        unknown = sorted(set(options or ()) - set(self.reset_options))
        if unknown:  # a misspelt key would silently play a random game instead
            known = ", ".join(self.reset_options) or "none"
            raise ValueError(f"unknown reset option(s) {unknown}; this env takes: {known}")
        saved = dict(self.__dict__)
        rng = self.__dict__.get("_np_random")
        rng_state = copy.deepcopy(rng.bit_generator.state) if rng is not None else None
        engine, calls = self._engine, self._engine_calls()
        try:
            return super().reset(seed=seed, options=options)
        except BaseException:
            if self._engine is not engine or self._engine_calls() != calls:
                # the engine has moved on (or was replaced): restart it lazily, replaying
                # the old episode, at the next step
                if self._engine is not None and self._engine is not engine:
                    self._engine.close()
                if engine is not None:
                    engine.close()
                saved["_engine"] = engine
            self.__dict__.clear()
            self.__dict__.update(saved)
            if rng is not None:
                rng.bit_generator.state = rng_state
            raise

    def fork(self) -> TextGameEnv:
        """An independent copy in the same state; its engine process is an ``os.fork`` copy.

        Where that is impossible (no engine of this process, or it does not answer), the
        copy starts a fresh engine at its first step and replays the commands that were
        applied. Acting in the copy never changes this environment.
        """
        twin = self._copy_without_engine()
        engine = self._engine
        if engine is not None and engine.owned and engine.running and self._engine_path:
            try:
                twin._engine = engine.fork(self.engine_timeout)
            except EngineFailure:  # both restart (and replay) at their next step
                twin._engine = None
        return twin

    # ----------------------------------------------------------------- contract
    def _budget_spent(self) -> bool:
        return self.turn >= self.max_turns

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        path, self._game_info = self._select_game(options)
        try:
            self._state = self._start_game(path)
        except EngineFailure:  # one retry in a fresh process (a hang or crash may be rare)
            self._close_resources()
            try:
                self._state = self._start_game(path)
            except EngineFailure as exc:
                self._close_resources()
                raise RuntimeError(f"the game engine could not start {path}: {exc}") from None
        self._points = int(self._state.get("score") or 0)
        self._commands = []
        self._not_applied = {}
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
        admissible = command_key(command) in map(
            command_key, self._state.get("admissible_commands") or ()
        )  # the command is lower-case; the games' lists keep their names' capitals
        replayed = self._replay_not_applied.get(self.turn)
        if replayed is not None:  # replaying a turn the engine did not apply
            return self._not_applied_turn(**replayed)
        try:
            engine = self._engine
            if engine is None or not engine.owned or not engine.running:
                self._restart_engine()  # a forked copy, or an engine lost since last turn
                engine = self._engine
            assert engine is not None  # _restart_engine raises when it cannot start one
            state = engine.call(("step", command), self.engine_timeout)
        except EngineFailure as exc:  # an engine failure must not end the run: restart it
            what = {
                "timeout": f"did not answer {command!r} within {self.engine_timeout:g} s",
                "crash": f"stopped while playing {command!r}",
            }.get(exc.kind, f"failed on {command!r} ({exc})")
            try:
                self._restart_engine()
            except EngineFailure as again:  # cannot recover this episode: end it
                self._close_resources()
                error = f"the game engine {what} and could not be restarted ({again}); call reset()"
                return self._not_applied_turn(error, None, True)
            error = f"the game engine {what}; it was restarted and the command was not applied"
            observation = (
                f"Engine problem: {error}. The game is where it was before this command: "
                "send a command again."
            )
            return self._not_applied_turn(error, observation, out_of_turns)
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
        engine, self._engine, self._engine_path = self._engine, None, None
        if engine is not None:
            engine.close()

    def _not_applied_turn(
        self, error: str, observation: str | None, truncated: bool
    ) -> TurnOutcome:
        """Answer a turn whose command the engine did not apply, and mark it for replays."""
        self._not_applied[self.turn] = {
            "error": error,
            "observation": observation,
            "truncated": truncated,
        }
        return self.invalid_action(
            error, observation=observation, truncated=truncated, extra=self._invalid_info()
        )

    def _snapshot(self) -> dict | None:
        snapshot = super()._snapshot()
        if snapshot is not None:
            snapshot["not_applied"] = copy.deepcopy(self._not_applied)
        return snapshot

    def _replay(self, snapshot: dict) -> None:
        self._replay_not_applied = dict(snapshot.get("not_applied") or {})
        try:
            super()._replay(snapshot)
        finally:
            self._replay_not_applied = {}

    # ----------------------------------------------------------------- helpers
    def _copy_without_engine(self) -> TextGameEnv:
        """A copy of this environment's Python state (deep), with no engine process yet."""
        cls = type(self)
        args, kwargs = self._ctor_args
        twin = cls.__new__(cls, *args, **kwargs)
        state = {key: value for key, value in self.__dict__.items() if key != "_engine"}
        twin.__dict__.update(copy.deepcopy(state))
        twin._engine = None
        return twin

    def _engine_calls(self) -> tuple[int | None, int]:
        """Identifies the engine's state: its child and the requests it has served."""
        engine = self._engine
        return (None, 0) if engine is None else (engine.pid, engine.requests)

    def _start_game(self, path: Path) -> dict[str, Any]:
        """Open ``path`` in the engine process (starting or recycling it) and reset it."""
        engine = self._engine
        if (
            engine is not None
            and self._engine_path != path
            and engine.opens >= GAMES_PER_ENGINE_PROCESS
        ):
            self._close_resources()
        self._engine_process()
        assert self._engine is not None
        if self._engine_path != path:
            self._engine_path = None
            function, kwargs = self._engine_opener(path)
            self._engine.call(("open", function, kwargs), ENGINE_START_TIMEOUT_S)
            self._engine_path = path
        return self._engine.call(("reset",), ENGINE_START_TIMEOUT_S)

    def _engine_process(self) -> EngineProcess:
        """The engine process (created on first use; its child starts on the first call)."""
        if self._engine is not None and not self._engine.owned:
            self._close_resources()  # forked: leave the parent's child alone, start ours
        if self._engine is None:  # a copy of the warm template that imported textworld
            self._engine = EngineProcess(preload=ENGINE_PRELOAD)
        return self._engine

    def _restart_engine(self) -> None:
        """Start a fresh engine process and replay the episode's commands in it."""
        path = self._engine_path
        self._close_resources()
        if path is None:
            raise EngineFailure("no game is loaded (call reset())", "crash")
        state = self._start_game(path)
        assert self._engine is not None
        for command in self._commands:
            state = self._engine.call(("step", command), self.engine_timeout)
        self._state = state

    def _system_prompt(self) -> str:
        return (
            f"You are playing {self.game_title}. {ACTION_PROTOCOL} {self.command_help}"
            f"You have {self.max_turns} turns; the episode ends when the game is won or lost."
        )

    def _state_info(self, state: dict[str, Any]) -> dict[str, Any]:
        return {
            "admissible_commands": list(state.get("admissible_commands") or []),
            "game_score": int(state.get("score") or 0),
            "max_score": int(state.get("max_score") or 1),
            "won": bool(state.get("won")),
            "lost": bool(state.get("lost")),
        }

    def _invalid_info(self) -> dict[str, Any]:
        return {**self._state_info(self._state), "command": None, "command_admissible": False}

    def _compose(self, state: dict[str, Any]) -> str:
        parts = [self._clean(state.get("feedback") or "")]
        parts += self._extra_sections(state)
        if self.show_admissible_commands:
            commands = state.get("admissible_commands") or []
            parts.append("Admissible commands: " + ", ".join(commands))
        return "\n\n".join(part for part in parts if part)
