"""Play a policy through :class:`~agent_envs.rl.EpisodeStepper`; ``Episode`` views the result.

There is one episode loop (:class:`agent_envs.rl.EpisodeStepper`) and one record
(:class:`agent_envs.rl.Trajectory`). :func:`play_stepper` drives the stepper with a
policy, calling the optional :class:`~agent_envs.baselines.Policy` hooks (``reset``,
``act`` with ``info``) and noting each turn's :attr:`~agent_envs.baselines.Policy.last_error`
in ``trajectory.metadata["policy_errors"]``. :class:`Episode` is a read-only view of
such a trajectory (plus the ``reset`` info); the benchmark's JSONL row is another
(:func:`agent_envs.bench.task.episode_record`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agent_envs.baselines.base import Message, Policy
from agent_envs.rl.stepper import EpisodeStepper
from agent_envs.rl.trajectory import Trajectory

__all__ = ["Episode", "play_episode", "play_stepper", "policy_errors", "POLICY_ERRORS"]

#: The ``Trajectory.metadata`` key holding, per turn, the policy's ``last_error``.
POLICY_ERRORS = "policy_errors"


@dataclass(frozen=True)
class Episode:
    """What happened in one episode, as a view of its :class:`~agent_envs.rl.Trajectory`.

    ``infos[0]`` is the ``reset`` info; ``infos[t]`` the info after turn ``t``.
    ``policy_errors`` lists, per turn, the policy's :attr:`~Policy.last_error`
    (``None`` when the policy produced a real reply). :attr:`trajectory` is the record
    itself, ready for :func:`agent_envs.rl.write_jsonl` and the advantage estimators.

    Example:
        >>> from agent_envs.rl import Trajectory, Turn
        >>> traj = Trajectory("Toy-GuessNumber-v0", 0, "Guess.", "1..100?",
        ...                   [Turn("lower.", "50", -0.1, {"best_score": 0.2})])
        >>> episode = Episode(traj, reset_info={"turn": 0})
        >>> episode.turns, episode.rewards, episode.best_score, episode.policy_errors
        (1, [-0.1], 0.2, [None])
        >>> [m["role"] for m in episode.messages]
        ['system', 'user', 'assistant', 'user']
    """

    trajectory: Trajectory
    reset_info: dict[str, Any] = field(default_factory=dict)

    @property
    def seed(self) -> int | None:
        """The seed given to ``env.reset``."""
        return self.trajectory.seed

    @property
    def messages(self) -> list[Message]:
        """The whole chat: system prompt, task, then assistant/user per turn."""
        return self.trajectory.to_messages()

    @property
    def rewards(self) -> list[float]:
        """The per-turn rewards, in order."""
        return self.trajectory.rewards

    @property
    def infos(self) -> list[dict[str, Any]]:
        """The ``reset`` info, then each turn's ``step`` info."""
        return [self.reset_info] + [turn.info for turn in self.trajectory.turns]

    @property
    def policy_errors(self) -> list[str | None]:
        """Per turn, why the policy could not produce a real reply (``None`` if it did)."""
        return policy_errors(self.trajectory)

    @property
    def terminated(self) -> bool:
        """Whether the last turn terminated the episode."""
        return bool(self.trajectory.turns and self.trajectory.turns[-1].terminated)

    @property
    def truncated(self) -> bool:
        """Whether the environment truncated the episode (its own limit, e.g. a budget).

        A stop at :func:`play_episode`'s ``max_turns`` is not a truncation here: it shows
        as ``trajectory.metadata["stopped"] == "max_turns"``.
        """
        turns, metadata = self.trajectory.turns, self.trajectory.metadata
        return bool(turns and turns[-1].truncated and metadata.get("stopped") != "max_turns")

    @property
    def turns(self) -> int:
        """Number of turns played."""
        return len(self.trajectory.turns)

    @property
    def best_score(self) -> float | None:
        """The environment's ``best_score`` at the end of the episode."""
        return self.infos[-1].get("best_score")

    @property
    def success(self) -> bool:
        """Whether the environment reported success."""
        return bool(self.infos[-1].get("success", False))


def policy_errors(trajectory: Trajectory) -> list[str | None]:
    """The per-turn policy errors a trajectory carries (``None`` for turns without one).

    Example:
        >>> from agent_envs.rl import Trajectory, Turn
        >>> traj = Trajectory(None, 0, None, "task", [Turn("o", "a"), Turn("o", "")])
        >>> traj.metadata["policy_errors"] = [None, "EndpointError: down"]
        >>> policy_errors(traj)
        [None, 'EndpointError: down']
    """
    errors = list(trajectory.metadata.get(POLICY_ERRORS) or [])[: len(trajectory.turns)]
    return errors + [None] * (len(trajectory.turns) - len(errors))


def play_stepper(
    stepper: EpisodeStepper, policy: Policy | Any, *, seed: int | None = None
) -> Trajectory:
    """Reset ``stepper`` with ``seed`` and let ``policy`` play until the episode ends.

    ``policy`` is a :class:`~agent_envs.baselines.Policy` or any callable
    ``messages -> reply``: its ``reset(env, seed=seed)`` is called (if it has one) right
    after ``env.reset``, and each turn it gets the stepper's prompt and, if it has
    ``act``, the ``info`` of the last ``reset``/``step``. Each turn's ``last_error`` goes
    to ``trajectory.metadata["policy_errors"]``. If the env or the policy raises, the
    exception propagates and ``stepper.trajectory`` holds the turns played until then.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> from agent_envs.rl import run_episode
        >>> traj = play_stepper(EpisodeStepper(GuessNumberEnv(max_turns=3)), lambda m: "50", seed=0)
        >>> traj.turns == run_episode(GuessNumberEnv(max_turns=3), lambda m: "50", seed=0).turns
        True
        >>> traj.metadata["policy_errors"]
        [None, None, None]
    """
    prompt = stepper.reset(seed=seed)
    reset = getattr(policy, "reset", None)
    if callable(reset):
        reset(stepper.env, seed=seed)
    trajectory = stepper.trajectory
    errors: list[str | None] = trajectory.metadata.setdefault(POLICY_ERRORS, [])
    act = getattr(policy, "act", None)
    tracks_errors = hasattr(policy, "last_error")
    while not stepper.done:
        if tracks_errors:
            policy.last_error = None
        if callable(act):
            info = trajectory.turns[-1].info if trajectory.turns else stepper.reset_info
            reply = act(prompt, info)
        else:
            reply = policy(prompt)
        error = getattr(policy, "last_error", None)
        prompt = stepper.step(reply)
        errors.append(error)
    return trajectory


def play_episode(
    env: gym.Env, policy: Policy, *, seed: int | None = None, max_turns: int | None = None
) -> Episode:
    """Play one episode: ``env.reset(seed)``, ``policy.reset``, then act until it ends.

    Stops when the environment terminates or truncates, or after ``max_turns`` turns
    (a safety cap for environments without a budget; ``None`` means no cap; the
    trajectory's ``metadata["stopped"]`` is then ``"max_turns"``). The policy is not
    closed. The loop is :class:`~agent_envs.rl.EpisodeStepper` (see :func:`play_stepper`),
    so ``episode.trajectory`` is what :func:`agent_envs.rl.run_episode` would record,
    plus the policy errors.

    Example:
        >>> import gymnasium as gym
        >>> import agent_envs
        >>> from agent_envs.baselines import Policy
        >>> class Bisect(Policy):
        ...     name = "bisect"
        ...     def reset(self, env, *, seed=None):
        ...         self.low, self.high = env.unwrapped.low, env.unwrapped.high
        ...     def act(self, messages, info):
        ...         if info.get("action_valid"):
        ...             guess = info["metrics"]["guess"]
        ...             if "higher" in messages[-1]["content"]:
        ...                 self.low = guess + 1
        ...             else:
        ...                 self.high = guess - 1
        ...         return str((self.low + self.high) // 2)
        >>> episode = play_episode(gym.make("Toy-GuessNumber-v0"), Bisect(), seed=0)
        >>> episode.success, episode.turns <= 7, episode.messages[0]["role"]
        (True, True, 'system')
        >>> episode.trajectory.env_id, episode.trajectory.rewards == episode.rewards
        ('Toy-GuessNumber-v0', True)
    """
    if max_turns is not None and (not isinstance(max_turns, int) or max_turns < 1):
        raise ValueError(f"max_turns must be a positive int or None, got {max_turns!r}")
    stepper = EpisodeStepper(env, max_turns=max_turns)
    trajectory = play_stepper(stepper, policy, seed=seed)
    return Episode(trajectory, reset_info=stepper.reset_info)
