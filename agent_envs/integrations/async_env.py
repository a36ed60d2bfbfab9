"""Async multi-turn environments: ``await env.reset()`` / ``await env.step(reply)``.

Async RL frameworks (verl's agent loop, SkyRL's generator, OpenRLHF's agent functions)
run many episodes in one event loop while the model generates. Environment steps here
are blocking (ngspice, a sandbox, a game engine), so :class:`AsyncTextEnv` runs them in
a thread pool and the event loop stays free. :class:`EnvPool` keeps a fixed set of
environments and plays whole episodes concurrently with an async policy.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agent_envs.rl.policy import AsyncPolicy
from agent_envs.rl.stepper import EpisodeStepper
from agent_envs.rl.trajectory import Trajectory

__all__ = ["AsyncTextEnv", "EnvPool", "StepResult", "AsyncPolicy"]

#: ``AsyncPolicy`` is :data:`agent_envs.rl.AsyncPolicy` (``rl.async_policy`` makes one of
#: any policy), re-exported here.


@dataclass
class StepResult:
    """What :meth:`AsyncTextEnv.step` returns: the next prompt and this turn's outcome."""

    messages: list[dict[str, str]]
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether the episode ended (including a ``max_turns`` stop)."""
        return self.terminated or self.truncated


class AsyncTextEnv:
    """One environment behind coroutines; blocking work runs in ``executor`` threads.

    ``env`` is an environment or an id for :func:`agent_envs.make` (with ``env_kwargs``). The
    episode is recorded exactly like :func:`agent_envs.rl.run_episode` records it
    (:attr:`trajectory`). Calls on one instance must not overlap (await each one), as
    with any Gymnasium env; run many instances for concurrency.

    Example:
        >>> import asyncio
        >>> async def play():
        ...     env = AsyncTextEnv("Toy-GuessNumber-v0", env_kwargs={"max_turns": 2})
        ...     messages = await env.reset(seed=0)
        ...     result = await env.step("50")
        ...     result = await env.step("25")
        ...     await env.close()
        ...     return messages[0]["role"], result.done, len(env.trajectory.turns)
        >>> asyncio.run(play())
        ('system', True, 2)
    """

    def __init__(
        self,
        env: gym.Env | str,
        *,
        env_kwargs: dict[str, Any] | None = None,
        max_turns: int | None = None,
        executor: Executor | None = None,
    ) -> None:
        if isinstance(env, str):
            from agent_envs import make

            env = make(env, **(env_kwargs or {}))
        elif env_kwargs:
            raise TypeError("env_kwargs only apply when env is an id")
        self.env = env
        self._stepper = EpisodeStepper(env, max_turns=max_turns)
        self._executor = executor

    async def _run(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    @property
    def trajectory(self) -> Trajectory:
        """The current episode as a :class:`~agent_envs.rl.Trajectory`."""
        return self._stepper.trajectory

    @property
    def done(self) -> bool:
        """Whether the current episode ended."""
        return self._stepper.done

    async def reset(self, *, seed: int | None = None) -> list[dict[str, str]]:
        """Start an episode; return the opening messages (system prompt, task)."""
        return await self._run(self._stepper.reset, seed=seed)

    async def step(self, reply: str) -> StepResult:
        """Play ``reply``; return the next messages and the turn's reward and info."""
        messages = await self._run(self._stepper.step, reply)
        turn = self._stepper.trajectory.turns[-1]
        stopped = self._stepper.done and not (turn.terminated or turn.truncated)
        return StepResult(
            messages,
            turn.observation,
            turn.reward,
            turn.terminated,
            turn.truncated or stopped,
            turn.info,
        )

    async def close(self) -> None:
        """Close the environment (in a thread: closing may stop a subprocess)."""
        await self._run(self.env.close)


class EnvPool:
    """A fixed set of :class:`AsyncTextEnv` sharing a thread pool; plays episodes concurrently.

    ``size`` environments of ``env_id`` are built once and reused; at most ``size``
    episodes run at a time (the others wait for a free environment). :meth:`run_episodes`
    plays one episode per seed with an async policy and returns the trajectories in seed
    order. Use :meth:`acquire` to drive an environment yourself from a framework's loop.

    Example:
        >>> import asyncio
        >>> async def policy(messages):
        ...     await asyncio.sleep(0)  # e.g. await an inference server
        ...     return "50"
        >>> async def main():
        ...     async with EnvPool("Toy-GuessNumber-v0", size=2, env_kwargs={"max_turns": 2}) as pool:
        ...         return await pool.run_episodes(policy, seeds=[0, 1, 2])
        >>> [t.seed for t in asyncio.run(main())]
        [0, 1, 2]
    """

    def __init__(
        self,
        env_id: str,
        size: int,
        *,
        env_kwargs: dict[str, Any] | None = None,
        wrappers: Sequence[Callable[[gym.Env], gym.Env]] = (),
        max_turns: int | None = None,
    ) -> None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, got {size!r}")
        from agent_envs import make

        self._executor = ThreadPoolExecutor(max_workers=size, thread_name_prefix="agent-envs")
        self._envs = []
        for _ in range(size):
            env = make(env_id, **(env_kwargs or {}))
            for wrap in wrappers:
                env = wrap(env)
            self._envs.append(AsyncTextEnv(env, max_turns=max_turns, executor=self._executor))
        self._free: asyncio.Queue | None = None
        self._closed = False

    @property
    def size(self) -> int:
        """How many environments the pool holds."""
        return len(self._envs)

    def _queue(self) -> asyncio.Queue:
        if self._free is None:  # created lazily: it binds to the running event loop
            self._free = asyncio.Queue()
            for env in self._envs:
                self._free.put_nowait(env)
        return self._free

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[AsyncTextEnv]:
        """Borrow a free environment for one episode (waits while all are busy)."""
        if self._closed:
            raise RuntimeError("the pool is closed")
        queue = self._queue()
        env = await queue.get()
        try:
            yield env
        finally:
            queue.put_nowait(env)

    async def run_episode(self, policy: AsyncPolicy, *, seed: int | None = None) -> Trajectory:
        """Play one episode on a free environment with the async ``policy``."""
        async with self.acquire() as env:
            messages = await env.reset(seed=seed)
            while not env.done:
                result = await env.step(await policy(messages))
                messages = result.messages
            return env.trajectory

    async def run_episodes(
        self, policy: AsyncPolicy, seeds: Sequence[int | None]
    ) -> list[Trajectory]:
        """Play one episode per seed concurrently (up to :attr:`size` at once)."""
        return list(await asyncio.gather(*(self.run_episode(policy, seed=s) for s in seeds)))

    def close(self) -> None:
        """Close every environment and the thread pool; calling it twice is fine."""
        if self._closed:
            return
        self._closed = True
        for env in self._envs:
            env.env.close()
        self._executor.shutdown(wait=True)

    async def __aenter__(self) -> EnvPool:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()
