"""``TextEnv``: the base class every agent-envs environment derives from."""

from __future__ import annotations

import contextlib
import copy
from typing import Any, SupportsFloat

import gymnasium as gym
import numpy as np

from agent_envs.core.info import TurnOutcome
from agent_envs.core.spaces import UnicodeText, truncate_text

__all__ = ["TextEnv", "DEFAULT_MAX_OBSERVATION_LENGTH", "DEFAULT_MAX_ACTION_LENGTH"]

DEFAULT_MAX_OBSERVATION_LENGTH = 16_384
DEFAULT_MAX_ACTION_LENGTH = 32_768


def _restore_env(cls: type, ctor_args: tuple, snapshot: dict | None) -> TextEnv:
    """Rebuild an environment from its constructor arguments and replay its episode."""
    args, kwargs = ctor_args
    env = cls(*args, **kwargs)
    if snapshot is not None:
        env._replay(snapshot)
    return env


class TextEnv(gym.Env[str, str]):
    """Base class for text environments: the observation and the action are strings.

    Subclasses implement :meth:`_reset_episode` and :meth:`_play_turn`; this class
    keeps the contract of ``docs/contract.md``: Unicode text spaces, observations
    truncated with a visible marker, the standard ``info`` keys (``turn``, ``score``,
    ``best_score``, ``success``, ``action_valid``, ``action_error``, ``metrics``,
    ``cost``), a ``step`` that never raises on any string, ``fork()`` and pickling by
    deterministic replay of the episode (subclasses may override :meth:`fork` with a
    native snapshot), and an idempotent ``close``.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env = GuessNumberEnv()
        >>> obs, info = env.reset(seed=3)
        >>> "system_prompt" in info
        True
        >>> obs, reward, terminated, truncated, info = env.step("50")
        >>> sorted(k for k in info if k in ("turn", "score", "best_score", "action_valid"))
        ['action_valid', 'best_score', 'score', 'turn']
        >>> twin = env.fork()
        >>> _ = twin.step("1")
        >>> env.unwrapped.turn, twin.turn
        (1, 2)
    """

    metadata: dict[str, Any] = {"render_modes": ["ansi", "human"], "render_fps": 4}

    #: Reward returned for an action the environment cannot use (subclasses document theirs).
    invalid_action_reward: float = 0.0

    def __new__(cls, *args: Any, **kwargs: Any) -> TextEnv:
        # Capture constructor arguments for fork() and pickling, whatever the subclass does.
        self = super().__new__(cls)
        self._ctor_args = (args, kwargs)
        return self

    def __init__(
        self,
        *,
        max_observation_length: int = DEFAULT_MAX_OBSERVATION_LENGTH,
        max_action_length: int = DEFAULT_MAX_ACTION_LENGTH,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}"
            )
        self.observation_space = UnicodeText(max_observation_length)
        self.action_space = UnicodeText(max_action_length)
        self.render_mode = render_mode
        self._episode_start: dict | None = None
        self._actions: list[Any] = []
        self._turn = 0
        self._best_score: float | None = None
        self._success = False
        self._cost: dict[str, float] = {}
        self._done: tuple[bool, bool] | None = None
        self._last_observation = ""
        self._closed = False

    # ----------------------------------------------------------------- to implement
    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        """Start a new task using ``self.np_random``; return the task text and info.

        The info must hold ``system_prompt``.
        """
        raise NotImplementedError

    def _play_turn(self, action: str) -> TurnOutcome:
        """Play one turn with the agent's whole reply; must not raise on any string."""
        raise NotImplementedError

    def _budget_spent(self) -> bool:
        """Whether the episode's budget is used up after the current turn.

        Used to truncate on replies the base class rejects itself (not a str, too long).
        """
        return False

    def _close_resources(self) -> None:
        """Release external processes and temp files; called once by :meth:`close`."""

    # ------------------------------------------------------------------ public API
    @property
    def turn(self) -> int:
        """Number of turns played in the current episode."""
        return self._turn

    @property
    def best_score(self) -> float | None:
        """Best turn score of the current episode (None before the first scored turn)."""
        return self._best_score

    @property
    def actions(self) -> list[str]:
        """The agent's replies in the current episode, in order."""
        return list(self._actions)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Start a new episode; the same ``seed`` gives the same task."""
        super().reset(seed=seed)
        self._episode_start = {
            "rng_state": copy.deepcopy(self.np_random.bit_generator.state),
            "seed": self._np_random_seed,
            "options": copy.deepcopy(options),
        }
        return self._start_episode(options)

    def _start_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        self._actions = []
        self._turn = 0
        self._best_score = None
        self._success = False
        self._cost = {}
        self._done = None
        observation, info = self._reset_episode(options)
        if "system_prompt" not in info:
            raise RuntimeError(f"{type(self).__name__}._reset_episode must return a system_prompt")
        info.setdefault("turn", 0)
        info.setdefault("best_score", None)
        info.setdefault("success", False)
        info.setdefault("cost", {})
        observation = self._clip(observation)
        self._last_observation = observation
        self._maybe_render_human()
        return observation, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        """Play one turn; any string is accepted (bad ones get an explanatory observation)."""
        if self._episode_start is None:
            raise gym.error.ResetNeeded("Call reset() before step().")
        if self._done is not None:
            observation = "The episode is over. Call reset() to start a new one."
            return (
                observation,
                0.0,
                self._done[0],
                self._done[1],
                self._info(
                    TurnOutcome(observation, action_valid=False, action_error="episode is over")
                ),
            )
        self._actions.append(action)
        self._turn += 1
        if not isinstance(action, str):
            outcome = self.invalid_action(
                f"the action must be a str, got {type(action).__name__}",
                truncated=self._budget_spent(),
            )
        elif len(action) > self.action_space.max_length:
            outcome = self.invalid_action(
                f"the reply has {len(action)} characters; the limit is {self.action_space.max_length}",
                truncated=self._budget_spent(),
            )
        else:
            outcome = self._play_turn(action)
        for key, value in outcome.cost.items():
            self._cost[key] = self._cost.get(key, 0) + value
        if outcome.score is not None and outcome.action_valid:
            score = float(outcome.score)
            if self._best_score is None or score > self._best_score:
                self._best_score = score
        self._success = self._success or outcome.success
        if outcome.terminated or outcome.truncated:
            self._done = (outcome.terminated, outcome.truncated)
        observation = self._clip(outcome.observation)
        self._last_observation = observation
        self._maybe_render_human()
        return (
            observation,
            float(outcome.reward),
            bool(outcome.terminated),
            bool(outcome.truncated),
            self._info(outcome),
        )

    def invalid_action(self, error: str, observation: str | None = None, **kw: Any) -> TurnOutcome:
        """Build the outcome for a reply the environment cannot use.

        Subclasses may pass ``truncated=True`` when the turn budget is spent.
        """
        text = observation if observation is not None else f"Invalid reply: {error}"
        return TurnOutcome(
            text,
            reward=self.invalid_action_reward,
            score=None,
            action_valid=False,
            action_error=error,
            **kw,
        )

    def fork(self) -> TextEnv:
        """Return an independent copy of this environment in the same state.

        Same task, same history, same random state; acting in the fork never changes
        this environment. The default replays the episode's actions in a new instance.
        """
        return _restore_env(type(self), self._ctor_args, self._snapshot())

    def render(self) -> str | None:
        """Return (``ansi``) or print (``human``) the last observation."""
        if self.render_mode == "ansi":
            return self._last_observation
        return None

    def close(self) -> None:
        """Release every external resource; calling it twice is fine."""
        if not getattr(self, "_closed", True):
            self._closed = True
            self._close_resources()
        super().close()

    def __reduce__(self) -> tuple:
        # Pickle as "constructor arguments + episode replay": process handles never travel.
        return (_restore_env, (type(self), self._ctor_args, self._snapshot()))

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # never raise from a finalizer
            self.close()

    # ------------------------------------------------------------------ internals
    def _snapshot(self) -> dict | None:
        if self._episode_start is None:
            return None
        return {**copy.deepcopy(self._episode_start), "actions": list(self._actions)}

    def _replay(self, snapshot: dict) -> None:
        self._episode_start = copy.deepcopy(
            {k: snapshot[k] for k in ("rng_state", "seed", "options")}
        )
        self._np_random = np.random.Generator(np.random.PCG64())
        self._np_random.bit_generator.state = copy.deepcopy(snapshot["rng_state"])
        self._np_random_seed = snapshot["seed"]
        self._start_episode(copy.deepcopy(snapshot["options"]))
        for action in snapshot["actions"]:
            self.step(action)

    def _clip(self, text: str) -> str:
        return truncate_text(text, self.observation_space.max_length)

    def _info(self, outcome: TurnOutcome) -> dict[str, Any]:
        info = {
            "turn": self._turn,
            "score": None if outcome.score is None else float(outcome.score),
            "best_score": self._best_score,
            "success": self._success,
            "action_valid": outcome.action_valid,
            "action_error": outcome.action_error,
            "metrics": dict(outcome.metrics),
            "cost": dict(self._cost),
        }
        info.update(outcome.extra)
        return info

    def _maybe_render_human(self) -> None:
        if self.render_mode == "human":
            print(self._last_observation)
