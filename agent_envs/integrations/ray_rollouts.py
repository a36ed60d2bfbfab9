"""Distributed rollouts on Ray: a pool of actors, each holding its own environments.

Two ways to drive the pool:

* :meth:`RayRolloutPool.run_episodes` / :meth:`~RayRolloutPool.run_groups` ship a
  picklable policy ``messages -> reply`` to the actors, which play whole episodes;
* :meth:`RayRolloutPool.run_batched` keeps the policy on the driver (a model on this
  GPU, or an inference endpoint): each turn, the prompts of every running episode on
  every actor come back, the policy answers them in one batch, the replies go out.

Both return :class:`agent_envs.rl.Trajectory` objects in the order of the seeds, equal
to what :func:`agent_envs.rl.run_episode` gives locally with the same seeds and replies.
``ray`` is imported only when a pool is built (extra ``agent-envs[ray]``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from typing import Any

from agent_envs.integrations.ray_worker import EnvWorker
from agent_envs.rl.policy import BatchPolicy, Policy
from agent_envs.rl.trajectory import Trajectory

__all__ = ["RayRolloutPool", "RolloutError", "BatchPolicy"]

#: ``BatchPolicy`` is :data:`agent_envs.rl.BatchPolicy` (``rl.batch_policy`` makes one of
#: any policy), re-exported here.


class RolloutError(RuntimeError):
    """An episode could not be played: its actor died more often than ``max_retries``."""


class RayRolloutPool:
    """A pool of Ray actors that play episodes of one environment id.

    Each actor builds ``agent_envs.make(env_id, **env_kwargs)`` (then applies ``wrappers``, a
    list of picklable ``env -> env`` callables such as ``ChatMessages``). Seeds decide
    the tasks, so results do not depend on which actor played what. When an actor dies
    (a crash, an OOM kill, a lost node) its episodes are replayed from their seeds on a
    fresh actor, up to ``max_retries`` times per episode; past that :class:`RolloutError`
    names the seed. ``ray.init(**ray_init_kwargs)`` is called only if Ray is not running,
    and :meth:`close` shuts Ray down only if the pool started it.

    Example:
        >>> RayRolloutPool("Toy-GuessNumber-v0", num_workers=0)  # checked before Ray starts
        Traceback (most recent call last):
        ...
        ValueError: num_workers must be a positive int, got 0

        Starting Ray takes seconds, so the rest is not run as a doctest (the tests do):

        >>> pool = RayRolloutPool("Toy-GuessNumber-v0", num_workers=1,
        ...                       ray_init_kwargs={"num_cpus": 1})  # doctest: +SKIP
        >>> [t.seed for t in pool.run_episodes(lambda m: "50", seeds=[0, 1])]  # doctest: +SKIP
        [0, 1]
        >>> pool.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: dict[str, Any] | None = None,
        *,
        num_workers: int = 2,
        wrappers: Sequence[Callable] = (),
        max_retries: int = 1,
        num_cpus_per_worker: float = 1.0,
        ray_init_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if not isinstance(env_id, str) or not env_id:
            raise TypeError(f"env_id must be a non-empty str, got {env_id!r}")
        if not isinstance(num_workers, int) or num_workers < 1:
            raise ValueError(f"num_workers must be a positive int, got {num_workers!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ValueError(f"max_retries must be a non-negative int, got {max_retries!r}")
        import gymnasium as gym

        from agent_envs.registration import register_all

        register_all()  # the ids, for the check below (the actors build with agent_envs.make)
        try:  # an unknown id fails here, not as a dead actor later
            gym.spec(env_id)
        except gym.error.Error as e:
            raise ValueError(f"unknown environment id {env_id!r}: {e}") from e
        import ray

        self._ray = ray
        self._owns_ray = not ray.is_initialized()
        if self._owns_ray:
            kwargs = {"include_dashboard": False, "log_to_driver": False}
            kwargs.update(ray_init_kwargs or {})
            ray.init(**kwargs)
        self._spec = (env_id, dict(env_kwargs or {}), list(wrappers))
        self.env_id = env_id
        self.max_retries = max_retries
        self._remote_cls = ray.remote(num_cpus=num_cpus_per_worker, max_restarts=0)(EnvWorker)
        self._workers = [self._spawn() for _ in range(num_workers)]
        self._closed = False
        #: How many times an actor was replaced after dying (for logs and tests).
        self.restarts = 0

    @property
    def workers(self) -> list[Any]:
        """The actor handles (e.g. to ``ray.kill`` one in a test)."""
        return list(self._workers)

    def _spawn(self) -> Any:
        return self._remote_cls.remote(*self._spec)

    def _replace(self, index: int) -> None:
        self._ray.kill(self._workers[index], no_restart=True)
        self._workers[index] = self._spawn()
        self.restarts += 1

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("the pool is closed")

    # ----------------------------------------------------------- policy on the actors
    def run_episodes(
        self,
        policy: Policy,
        seeds: Sequence[int | None],
        *,
        max_turns: int | None = None,
    ) -> list[Trajectory]:
        """Play one episode per seed with ``policy`` shipped to the actors (pickled once).

        Returns the trajectories in the order of ``seeds``.
        """
        self._check_open()
        seeds = list(seeds)
        policy_ref = self._ray.put(policy)
        results: list[Trajectory | None] = [None] * len(seeds)
        attempts = [0] * len(seeds)
        queue = list(range(len(seeds)))
        running: dict[Any, tuple[int, int]] = {}  # ref -> (job, worker)
        idle = list(range(len(self._workers)))
        while queue or running:
            while queue and idle:
                job, worker = queue.pop(0), idle.pop(0)
                ref = self._workers[worker].run_episode.remote(policy_ref, seeds[job], max_turns)
                running[ref] = (job, worker)
            ready, _ = self._ray.wait(list(running), num_returns=1)
            job, worker = running.pop(ready[0])
            try:
                results[job] = self._ray.get(ready[0])
            except (self._ray.exceptions.RayActorError, self._ray.exceptions.ActorDiedError) as e:
                self._retry(job, seeds[job], attempts, e)
                self._replace(worker)
                queue.insert(0, job)
            idle.append(worker)
        return results  # type: ignore[return-value]

    def run_groups(
        self,
        policy: Policy,
        seeds: Sequence[int | None],
        group_size: int,
        *,
        max_turns: int | None = None,
    ) -> list[list[Trajectory]]:
        """GRPO groups: ``group_size`` episodes per seed, spread over the actors."""
        if not isinstance(group_size, int) or group_size < 1:
            raise ValueError(f"group_size must be a positive int, got {group_size!r}")
        flat = [s for s in seeds for _ in range(group_size)]
        played = self.run_episodes(policy, flat, max_turns=max_turns)
        return [played[i : i + group_size] for i in range(0, len(played), group_size)]

    # ----------------------------------------------------------- policy on the driver
    def run_batched(
        self,
        policy: BatchPolicy,
        seeds: Sequence[int | None],
        *,
        max_turns: int | None = None,
    ) -> list[Trajectory]:
        """Play one episode per seed with a driver-side ``policy`` called once per turn.

        Episodes are spread round-robin over the actors; every round, the prompts of all
        running episodes go to ``policy`` in one list (in seed order) and each actor gets
        its replies back in one call. If an actor dies, its unfinished episodes restart
        from their seeds on a fresh actor (the policy is asked again for their turns).
        """
        self._check_open()
        seeds = list(seeds)
        results: list[Trajectory | None] = [None] * len(seeds)
        attempts = [0] * len(seeds)
        owner = {job: job % len(self._workers) for job in range(len(seeds))}
        prompts: dict[int, list[dict[str, str]]] = {}
        dead = (self._ray.exceptions.RayActorError, self._ray.exceptions.ActorDiedError)
        calls = {
            w: self._workers[w].start.remote(
                [(j, seeds[j]) for j in owner if owner[j] == w], max_turns
            )
            for w in set(owner.values())
        }
        try:
            while calls:
                for worker, ref in calls.items():
                    while True:
                        try:
                            out = self._ray.get(ref)
                            break
                        except dead as e:  # replay this actor's unfinished episodes
                            jobs = [j for j in owner if owner[j] == worker and results[j] is None]
                            for job in jobs:
                                self._retry(job, seeds[job], attempts, e)
                                prompts.pop(job, None)
                            self._replace(worker)
                            ref = self._workers[worker].start.remote(
                                [(j, seeds[j]) for j in jobs], max_turns
                            )
                    prompts.update(out["prompts"])
                    for job, traj in out["finished"].items():
                        results[job] = traj
                        prompts.pop(job, None)
                if not prompts:
                    break
                order = sorted(prompts)
                replies = policy([prompts[j] for j in order])
                if not isinstance(replies, (list, tuple)) or len(replies) != len(order):
                    size = len(replies) if hasattr(replies, "__len__") else "?"
                    raise ValueError(
                        f"the batch policy must return one reply per prompt ({len(order)}), "
                        f"got {type(replies).__name__} of length {size}"
                    )
                by_worker: dict[int, dict[int, str]] = {}
                for job, reply in zip(order, replies, strict=True):
                    by_worker.setdefault(owner[job], {})[job] = reply
                prompts.clear()
                calls = {w: self._workers[w].step.remote(r) for w, r in by_worker.items()}
        except BaseException:
            # Give the unfinished episodes' environments back to their actors' idle lists.
            for worker in self._workers:
                with contextlib.suppress(Exception):
                    self._ray.get(worker.abandon.remote(), timeout=30)
            raise
        return results  # type: ignore[return-value]

    # ------------------------------------------------------------------- lifecycle
    def _retry(self, job: int, seed: int | None, attempts: list[int], error: Exception) -> None:
        attempts[job] += 1
        if attempts[job] > self.max_retries:
            raise RolloutError(
                f"episode with seed {seed!r} of {self.env_id} failed: its Ray actor died "
                f"{attempts[job]} time(s) (max_retries={self.max_retries}): {error}"
            ) from error

    def close(self) -> None:
        """Close the actors' environments, kill the actors, and stop Ray if we started it."""
        if getattr(self, "_closed", True):
            return
        self._closed = True
        ray = self._ray
        for worker in self._workers:
            with contextlib.suppress(Exception):  # a dead actor has nothing left to close
                ray.get(worker.close.remote(), timeout=30)
            ray.kill(worker, no_restart=True)
        self._workers = []
        if self._owns_ray and ray.is_initialized():
            ray.shutdown()

    def __enter__(self) -> RayRolloutPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<RayRolloutPool {self.env_id} workers={len(self._workers)}>"
