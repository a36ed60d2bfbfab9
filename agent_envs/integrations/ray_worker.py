"""The Ray actor body of ``RayRolloutPool`` (plain Python: Ray is not imported here)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from agent_envs.rl.trajectory import Trajectory

__all__ = ["EnvWorker"]


def _make_env(env_id: str, env_kwargs: dict[str, Any], wrappers: Sequence[Callable]) -> Any:
    from agent_envs import make

    env = make(env_id, **env_kwargs)
    for wrap in wrappers:
        env = wrap(env)
    return env


class EnvWorker:
    """The body of a :class:`~agent_envs.integrations.ray_rollouts.RayRolloutPool` actor.

    It holds one env for whole episodes (:meth:`run_episode`) and, for driver-side
    policies, one :class:`EpisodeStepper` per running episode (:meth:`start`,
    :meth:`step`); finished episodes give their env back to an idle list, so simulators
    are not restarted per episode. It is a plain class (Ray wraps it), usable locally.

    Example:
        >>> worker = EnvWorker("Toy-GuessNumber-v0", {"max_turns": 2}, [])
        >>> out = worker.start([(0, 5)], max_turns=None)
        >>> out = worker.step({0: "50"})
        >>> out = worker.step({0: "25"})
        >>> list(out["finished"]), out["finished"][0].seed
        ([0], 5)
        >>> worker.close()
    """

    def __init__(self, env_id: str, env_kwargs: dict, wrappers: Sequence[Callable]) -> None:
        self._spec = (env_id, dict(env_kwargs), list(wrappers))
        self._env = _make_env(*self._spec)
        self._slots: dict[int, Any] = {}
        self._idle: list[Any] = [self._env]  # envs reused by stepped episodes (simulators stay up)

    def ping(self) -> bool:
        return True

    def run_episode(self, policy: Callable, seed: int | None, max_turns: int | None) -> Trajectory:
        from agent_envs.rl.rollout import run_episode

        return run_episode(self._env, policy, seed=seed, max_turns=max_turns)

    def start(self, jobs: list[tuple[int, int | None]], max_turns: int | None) -> dict:
        from agent_envs.rl.stepper import EpisodeStepper

        prompts = {}
        for key, seed in jobs:
            env = self._idle.pop() if self._idle else _make_env(*self._spec)
            stepper = EpisodeStepper(env, max_turns=max_turns)
            prompts[key] = stepper.reset(seed=seed)
            self._slots[key] = stepper
        return self._collect(list(prompts))

    def step(self, replies: dict[int, str]) -> dict:
        for key, reply in replies.items():
            self._slots[key].step(reply)
        return self._collect(list(replies))

    def _collect(self, keys: list[int]) -> dict:
        """Prompts of the episodes still running, trajectories of those that ended."""
        out: dict[str, dict] = {"prompts": {}, "finished": {}}
        for key in keys:
            stepper = self._slots[key]
            if stepper.done:
                out["finished"][key] = stepper.trajectory
                self._idle.append(stepper.env)
                del self._slots[key]
            else:
                out["prompts"][key] = stepper.prompt
        return out

    def abandon(self) -> None:
        """Drop the stepped episodes in progress; their envs become idle (reset on reuse)."""
        self._idle.extend(stepper.env for stepper in self._slots.values())
        self._slots.clear()

    def close(self) -> None:
        envs = {id(e): e for e in [self._env, *self._idle, *(s.env for s in self._slots.values())]}
        for env in envs.values():
            env.close()
        self._slots.clear()
        self._idle.clear()
