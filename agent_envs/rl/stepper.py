"""``EpisodeStepper``: one episode played a turn at a time, building its ``Trajectory``.

:func:`~agent_envs.rl.run_episode` drives it with a policy callable. Frameworks that own
the model (a vLLM engine, a batched driver, an async agent loop) drive it themselves:
the env side hands out the next prompt and waits for the reply. Both paths are the same
code, so they give identical :class:`~agent_envs.rl.Trajectory` objects.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from agent_envs.core.trajectory import Trajectory, Turn, _is_chat, observation_text
from agent_envs.rl.forking import end_after_next_step

if TYPE_CHECKING:
    from agent_envs.rl.rollout import TurnCandidate

__all__ = ["EpisodeStepper", "observation_text", "settle_turn_rewards"]


def settle_turn_rewards(traj: Trajectory) -> bool:
    """Write the last turn's ``info["episode_rewards"]`` onto the turns, if it fits.

    A reward wrapper that can settle the turn rewards only at the end of an episode
    (:class:`~agent_envs.wrappers.NormalizedDenseReward`) puts one reward per turn there;
    each turn keeps the reward it was paid in ``info["step_reward"]``. Returns whether
    the rewards were replaced.

    Example:
        >>> traj = Trajectory("x", 0, None, "task")
        >>> traj.turns = [Turn("o1", "a", 0.5, {}), Turn("o2", "b", 0.5, {"episode_rewards": [1.0, 0.0]})]
        >>> settle_turn_rewards(traj), [t.reward for t in traj.turns]
        (True, [1.0, 0.0])
    """
    if not traj.turns:
        return False
    settled = traj.turns[-1].info.get("episode_rewards")
    if not isinstance(settled, (list, tuple)) or len(settled) != len(traj.turns):
        return False
    for turn, reward in zip(traj.turns, settled, strict=True):
        turn.info = dict(turn.info)
        turn.info.setdefault("step_reward", turn.reward)
        turn.reward = float(reward)
    return True


class EpisodeStepper:
    """Play one episode of ``env`` a turn at a time, building its :class:`Trajectory`.

    :meth:`reset` starts the episode and returns the first prompt (OpenAI-style messages;
    the observation itself when the env is wrapped in
    :class:`~agent_envs.wrappers.ChatMessages`); :meth:`step` plays one reply and returns
    the next prompt. The turns, prompts and metadata match
    :func:`agent_envs.rl.run_episode` exactly.

    ``max_turns`` ends the episode *through* the env: before the last allowed turn the
    stepper calls :func:`~agent_envs.rl.end_after_next_step`, so the reward wrappers see
    that step as truncated and pay what they still hold; that turn is recorded with
    ``truncated=True`` and ``metadata["stopped"] = "max_turns"``. When the last step's
    ``info`` carries ``episode_rewards`` (one settled reward per turn, as
    :class:`~agent_envs.wrappers.NormalizedDenseReward` gives), the turns' rewards are
    replaced by it (the step rewards stay in ``info["step_reward"]``). ``system_prompt``
    replaces the env's ``info["system_prompt"]`` (a trainer's own instruction).

    Turn-level groups (TL-GRPO) go through the same loop: sample a group from
    :attr:`env` with :func:`~agent_envs.rl.sample_turn_group` and hand the member to go on
    with to :meth:`continue_with`; the stepper then plays on in that member's fork.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> from agent_envs.rl import run_episode
        >>> stepper = EpisodeStepper(GuessNumberEnv(max_turns=3))
        >>> prompt = stepper.reset(seed=0)
        >>> while not stepper.done:
        ...     prompt = stepper.step("50")
        >>> stepper.trajectory == run_episode(GuessNumberEnv(max_turns=3), lambda m: "50", seed=0)
        True
    """

    def __init__(
        self, env: gym.Env, *, max_turns: int | None = None, system_prompt: str | None = None
    ) -> None:
        if max_turns is not None and (not isinstance(max_turns, int) or max_turns < 0):
            raise ValueError(f"max_turns must be a non-negative int or None, got {max_turns!r}")
        if system_prompt is not None and not isinstance(system_prompt, str):
            raise TypeError(f"system_prompt must be a str or None, got {system_prompt!r}")
        #: The env the next turn is played in (a fork after :meth:`continue_with`).
        self.env = env
        self.max_turns = max_turns
        self.system_prompt = system_prompt
        self._original = env
        self._trajectory: Trajectory | None = None
        self._observation: Any = None
        self._messages: list[dict[str, str]] = []
        self._finished = False
        #: The ``info`` returned by the last ``env.reset`` (tool schemas, conditions...).
        self.reset_info: dict[str, Any] = {}

    @property
    def trajectory(self) -> Trajectory:
        """The episode so far (raises before :meth:`reset`)."""
        if self._trajectory is None:
            raise RuntimeError("call reset() first")
        return self._trajectory

    @property
    def done(self) -> bool:
        """Whether the episode ended (terminated, truncated, or ``max_turns`` reached)."""
        return self._finished

    @property
    def prompt(self) -> list[dict[str, str]]:
        """The messages the policy should answer next.

        A new list each call, equal to ``trajectory.to_messages()``; the message dicts
        in it are shared with the earlier turns' prompts (kept on each ``Turn``), so a
        long episode costs linear, not quadratic, time: treat them as read-only.
        """
        if _is_chat(self._observation):
            return copy.deepcopy(self._observation)
        if self._trajectory is None:
            raise RuntimeError("call reset() first")
        return list(self._messages)

    def reset(self, *, seed: int | None = None) -> list[dict[str, str]]:
        """Reset the env with ``seed``; return the first prompt."""
        self.close_forks()
        observation, info = self.env.reset(seed=seed)
        spec = getattr(self.env, "spec", None)
        system = info.get("system_prompt") if isinstance(info, dict) else None
        if self.system_prompt is not None:
            system = self.system_prompt
        self._trajectory = Trajectory(
            spec.id if spec is not None else None,
            seed,
            system,
            observation_text(observation),
            env_version=spec.version if spec is not None else None,
        )
        self._observation = observation
        self._messages = self._trajectory.to_messages()  # extended turn by turn
        self.reset_info = dict(info) if isinstance(info, dict) else {}
        self._finished = False
        self._check_budget()
        return self.prompt

    def step(self, action: str) -> list[dict[str, str]]:
        """Play ``action`` as the next turn; return the next prompt.

        Calling it after the episode ended raises ``RuntimeError`` (a driver bug, not
        an agent mistake: the env itself never raises on any string).
        """
        self._require_playing()
        prompt = self.prompt
        capped = self.next_turn_is_last
        if capped:
            end_after_next_step(self.env)
        observation, reward, terminated, truncated, info = self.env.step(action)
        self._record(prompt, action, observation, reward, terminated, truncated, info, capped)
        return self.prompt

    def continue_with(self, candidate: TurnCandidate) -> list[dict[str, str]]:
        """Record ``candidate`` as the next turn and play on in its fork; return the next prompt.

        ``candidate`` comes from :func:`~agent_envs.rl.sample_turn_group` on :attr:`env`
        with ``last_turn=True`` when this is the last turn ``max_turns`` allows. The fork
        the stepper played in before (not the env it was built with) is closed; call
        :meth:`close_forks` when done with the episode.

        Example:
            >>> from agent_envs.toy import GuessNumberEnv
            >>> from agent_envs.rl import sample_turn_group, choose_candidate
            >>> stepper = EpisodeStepper(GuessNumberEnv(max_turns=3))
            >>> prompt = stepper.reset(seed=0)
            >>> replies = iter(["10", "50"])
            >>> group = sample_turn_group(stepper.env, lambda m: next(replies), prompt, 2)
            >>> _ = stepper.continue_with(choose_candidate(group, "first"))
            >>> stepper.trajectory.actions, stepper.env is group[0].env
            (['10'], True)
            >>> stepper.close_forks()
        """
        self._require_playing()
        prompt, capped = self.prompt, self.next_turn_is_last
        if self.env is not self._original:
            self.env.close()
        self.env = candidate.env
        self._record(
            prompt,
            candidate.action,
            candidate.observation,
            candidate.reward,
            candidate.terminated,
            candidate.truncated,
            candidate.info,
            capped,
        )
        return self.prompt

    def close_forks(self) -> None:
        """Close the fork :meth:`continue_with` left the stepper in; go back to its own env."""
        if self.env is not self._original:
            self.env.close()
            self.env = self._original

    @property
    def next_turn_is_last(self) -> bool:
        """Whether the next turn is the last one ``max_turns`` allows (its step is truncated)."""
        return self.max_turns is not None and len(self.trajectory.turns) + 1 >= self.max_turns

    def _record(
        self,
        prompt: list[dict[str, str]],
        action: Any,
        observation: Any,
        reward: Any,
        terminated: Any,
        truncated: Any,
        info: Any,
        capped: bool,
    ) -> None:
        traj = self.trajectory
        if capped and not terminated:
            truncated = True  # the driver's cap, seen by the wrappers as truncation
        traj.turns.append(
            Turn(
                action=action if isinstance(action, str) else repr(action),
                observation=observation_text(observation),
                reward=float(reward),
                terminated=bool(terminated),
                truncated=bool(truncated),
                info=dict(info),
                prompt=prompt,
            )
        )
        self._observation = observation
        self._messages += traj.turns[-1].to_messages()
        self._finished = bool(terminated or truncated)
        if self._finished:
            settle_turn_rewards(traj)
        if capped and not terminated:
            traj.metadata["stopped"] = "max_turns"
        self._check_budget()

    def _require_playing(self) -> None:
        if self._trajectory is None:
            raise RuntimeError("call reset() first")
        if self._finished:
            raise RuntimeError("the episode is over; call reset()")

    def _check_budget(self) -> None:
        traj = self._trajectory
        if not self._finished and self.max_turns is not None and len(traj.turns) >= self.max_turns:
            traj.metadata["stopped"] = "max_turns"
            self._finished = True
