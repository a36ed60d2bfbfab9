"""TRL ``GRPOTrainer(environment_factory=...)``: one agent-envs episode per rollout.

TRL 1.x plays multi-turn episodes through an *environment factory*: a callable that
returns an object with ``reset(**row)`` (called with the dataset row before each
rollout), public methods the model may call as tools, and optionally ``get_reward()``
(called once per finished rollout). TRL keeps the instances in a pool and reuses them
(``reset`` again), and never closes them: :class:`EnvironmentFactory` remembers the
instances it made so ``factory.close()`` (or ``with factory:``) closes every env.

Nothing here imports TRL; the shapes are the ones ``trl==1.16`` calls.
"""

from __future__ import annotations

import math
import threading
from typing import Any

import gymnasium as gym

from agent_envs.rl.stepper import EpisodeStepper

__all__ = ["EnvironmentFactory", "TRLEnvironment"]

_REWARDS = ("return", "best_score", "last")


class TRLEnvironment:
    """An agent-envs episode behind TRL's environment interface (one instance per rollout).

    ``reset(seed=..., **row)`` starts the episode from the row's ``seed`` (the column
    :func:`~agent_envs.integrations.trl_rewards.prompt_rows` writes; the other columns are
    ignored). When the row has a ``prompt`` (the env's own opening, from ``prompt_rows``)
    nothing is appended to it; without one the env's opening text is returned for TRL to
    append. The model plays turns by calling the tool :meth:`act`; :meth:`get_reward` is
    the episode return (``reward="return"``), the env's ``info["best_score"]``
    (``"best_score"``, ``missing_score`` before any valid design) or the last turn's reward.

    Every public method is offered to the model as a tool, so closing is private: use
    the instance as a context manager, or let :class:`EnvironmentFactory` close it.

    Example:
        >>> with TRLEnvironment("Toy-GuessNumber-v0") as env:
        ...     env.reset(seed=0, prompt=[{"role": "user", "content": "..."}]) is None
        ...     env.act("50")
        ...     round(env.get_reward(), 3)
        True
        'Guess 50: higher.'
        0.636
    """

    def __init__(
        self,
        env_id: str,
        *,
        env_kwargs: dict[str, Any] | None = None,
        max_turns: int | None = None,
        reward: str = "return",
        missing_score: float = 0.0,
    ) -> None:
        if reward not in _REWARDS:
            raise ValueError(f"reward must be one of {_REWARDS}, got {reward!r}")
        from agent_envs import make

        self._env: gym.Env = make(env_id, **dict(env_kwargs or {}))
        self._stepper = EpisodeStepper(self._env, max_turns=max_turns)
        self._reward = reward
        self._missing_score = float(missing_score)
        self._started = False

    def reset(self, seed: int | None = None, prompt: Any = None, **row: Any) -> str | None:
        """Start an episode from the row's ``seed``; the env's opening if the row has no prompt."""
        messages = self._stepper.reset(seed=None if seed is None else int(seed))
        self._started = True
        if prompt is not None:
            return None
        return "\n\n".join(m["content"] for m in messages)

    def act(self, reply: str) -> str:
        """Send your answer for this turn to the environment and read its feedback.

        Args:
            reply: Your full answer for this turn, in the format the task asks for.

        Returns:
            The environment's feedback on the answer (or a note that the episode is over).
        """
        if not self._started:
            return "No episode is running."
        if self._stepper.done:
            return "The episode is over; no further answers are scored."
        self._stepper.step(str(reply))
        return self._stepper.trajectory.turns[-1].observation

    def get_reward(self) -> float:
        """The rollout's reward: episode return, best score or last reward (see the class)."""
        turns = self._stepper.trajectory.turns if self._started else []
        if self._reward == "return":
            return math.fsum(t.reward for t in turns if math.isfinite(t.reward))
        if self._reward == "last":
            return float(turns[-1].reward) if turns else 0.0
        best = turns[-1].info.get("best_score") if turns else None
        return self._missing_score if best is None else float(best)

    @property
    def trajectory(self) -> Any:
        """The current episode as a :class:`~agent_envs.rl.Trajectory`."""
        return self._stepper.trajectory

    def _close(self) -> None:
        # private: TRL offers every public function except reset/get_reward as a tool
        self._env.close()

    def __enter__(self) -> TRLEnvironment:
        return self

    def __exit__(self, *exc: Any) -> None:
        self._close()


class EnvironmentFactory:
    """``environment_factory=`` for ``GRPOTrainer``: builds :class:`TRLEnvironment` s, closes them.

    Call :meth:`close` after training (or use the factory as a context manager): TRL keeps
    its pooled environments alive and never closes them.

    Example:
        >>> with EnvironmentFactory("Toy-GuessNumber-v0", max_turns=3) as factory:
        ...     env = factory()
        ...     _ = env.reset(seed=1)
        ...     reply = env.act("no number here")
        ...     len(factory.instances)
        1
        >>> factory.open_instances()
        0
    """

    def __init__(
        self,
        env_id: str,
        *,
        env_kwargs: dict[str, Any] | None = None,
        max_turns: int | None = None,
        reward: str = "return",
        missing_score: float = 0.0,
    ) -> None:
        if reward not in _REWARDS:
            raise ValueError(f"reward must be one of {_REWARDS}, got {reward!r}")
        self.settings = {
            "env_kwargs": dict(env_kwargs or {}),
            "max_turns": max_turns,
            "reward": reward,
            "missing_score": missing_score,
        }
        self.env_id = env_id
        self.instances: list[TRLEnvironment] = []
        self._lock = threading.Lock()

    def __call__(self) -> TRLEnvironment:
        """A new environment (TRL calls this once per pooled rollout slot)."""
        env = TRLEnvironment(self.env_id, **self.settings)
        with self._lock:
            self.instances.append(env)
        return env

    def open_instances(self) -> int:
        """How many of the environments made are still open."""
        return sum(not getattr(e._env.unwrapped, "_closed", False) for e in self.instances)

    def close(self) -> None:
        """Close every environment this factory made."""
        with self._lock:
            instances, self.instances = self.instances, []
        for env in instances:
            env._close()

    def __enter__(self) -> EnvironmentFactory:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
