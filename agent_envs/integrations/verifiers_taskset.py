"""verifiers 0.4 (``verifiers.v1``): a taskset + env for any agent-envs id.

verifiers resolves a taskset id as a module exporting (via ``__all__``) one ``Taskset``
subclass, optionally one ``Env`` and one ``Harness`` subclass. This module is such a
taskset: ``vf-eval agent_envs.integrations.verifiers_taskset
--env.taskset.env-id ACS-OpAmp-v0 ...``. :class:`AgentEnvsTaskset` yields one task per
seed (the env's own opening as prompt), :class:`AgentEnvsEnv` plays the episode with the
env as the user (each model reply is stepped, the env's answer is the next user turn,
the episode's end ends the exchange) and records the return as the ``episode_return``
reward, and :class:`ChatHarness` is an in-process chat loop (verifiers allows a harness
to run its loop in-process as long as model calls go through the interception endpoint),
so no ``uv``-built program or container is needed.

This module imports ``verifiers``.
"""

from __future__ import annotations

import asyncio
import math
import sys
from collections.abc import Iterator
from typing import Any

import verifiers.v1 as vf
from verifiers.v1.runtimes import ProgramResult, SubprocessConfig

from agent_envs.rl.stepper import EpisodeStepper
from agent_envs.rl.trajectory import chat_message

#: The taskset id verifiers resolves to this module (its loader imports plugin ids as
#: top-level module names; a dotted id fails in its namespace lookup).
TASKSET_ID = "agent_envs_verifiers"
sys.modules.setdefault(TASKSET_ID, sys.modules[__name__])

__all__ = [
    "AgentEnvsTasksetConfig",
    "AgentEnvsTaskset",
    "AgentEnvsEnvConfig",
    "AgentEnvsEnv",
    "ChatHarnessConfig",
    "ChatHarness",
]


class AgentEnvsTasksetConfig(vf.TasksetConfig):
    """Which agent-envs id, which seeds, which constructor arguments."""

    env_id: str = "Toy-GuessNumber-v0"
    seeds: list[int] = [0, 1, 2, 3]
    env_kwargs: dict[str, Any] = {}
    max_turns: int | None = None


class AgentEnvsData(vf.TaskData):
    """A task: the seed and id the env reproduces the episode from."""

    info: dict


class AgentEnvsTask(vf.Task[AgentEnvsData, vf.State, vf.TaskConfig]):
    """One seed of one agent-envs id."""


class AgentEnvsTaskset(vf.Taskset[AgentEnvsTask, AgentEnvsTasksetConfig]):
    """One task per seed; the prompt is the env's own opening for that seed."""

    def load(self) -> Iterator[AgentEnvsTask]:
        from agent_envs.integrations.trl_rewards import prompt_rows

        cfg = self.config
        for row in prompt_rows(cfg.env_id, cfg.seeds, env_kwargs=cfg.env_kwargs):
            system = next((m["content"] for m in row["prompt"] if m["role"] == "system"), None)
            user = next(m["content"] for m in row["prompt"] if m["role"] == "user")
            info = {
                "env_id": cfg.env_id,
                "seed": row["seed"],
                "env_kwargs": cfg.env_kwargs,
                "max_turns": cfg.max_turns,
            }
            yield AgentEnvsTask(
                AgentEnvsData(
                    name=f"{cfg.env_id}#{row['seed']}", prompt=user, system_prompt=system, info=info
                ),
                cfg.task,
            )


class AgentEnvsEnvConfig(vf.EnvConfig):
    """The env's one agent role: the player (a local runtime: :class:`ChatHarness` runs
    in-process and executes nothing, so no sandbox and no tunnel are needed)."""

    player: vf.AgentConfig = vf.AgentConfig(runtime=SubprocessConfig())


class AgentEnvsEnv(vf.Env[AgentEnvsEnvConfig]):
    """The agent-envs environment plays the user; its return is the episode reward."""

    async def run(self, task: AgentEnvsTask, agents: Any) -> None:
        info = task.data.info

        def build() -> EpisodeStepper:
            from agent_envs import make

            env = make(info["env_id"], **dict(info.get("env_kwargs") or {}))
            stepper = EpisodeStepper(env, max_turns=info.get("max_turns"))
            stepper.reset(seed=info["seed"])
            return stepper

        stepper = await asyncio.to_thread(build)
        try:
            async with agents.player.interaction(task) as interaction:
                segment = await interaction.turn()
                while not segment.terminated:
                    await asyncio.to_thread(stepper.step, segment.last_reply or "")
                    if stepper.done:
                        break
                    observation = stepper.trajectory.turns[-1].observation
                    segment = await interaction.turn(observation)
            turns = stepper.trajectory.turns
            trace = interaction.trace
            total = math.fsum(t.reward for t in turns if math.isfinite(t.reward))
            trace.record_reward("episode_return", total, 1.0)
            trace.info["turns"] = len(turns)
            trace.info["turn_rewards"] = [t.reward for t in turns]
            if turns and turns[-1].info.get("best_score") is not None:
                trace.info["best_score"] = float(turns[-1].info["best_score"])
        finally:
            await asyncio.to_thread(stepper.env.close)


class ChatHarnessConfig(vf.HarnessConfig):
    """No settings: the model's sampling comes from the run's ``--sampling``."""


class ChatHarness(vf.Harness[ChatHarnessConfig]):
    """A plain chat loop run in-process: one chat completion per segment, no tools."""

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_RESUME = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(self, ctx, trace, runtime, endpoint, secret, mcp_urls, data, **kwargs):
        import httpx

        system, prompt = self.resolve_prompt(data)
        messages: list[dict[str, Any]] = [chat_message("system", system)] if system else []
        if isinstance(prompt, str):
            messages.append(chat_message("user", prompt))
        else:
            for m in prompt or []:
                m = m.model_dump(exclude_none=True) if hasattr(m, "model_dump") else dict(m)
                messages.append(chat_message(m["role"], m.get("content") or ""))
        sampling = getattr(ctx, "sampling", None)
        sampling = sampling.model_dump(exclude_none=True) if sampling is not None else {}
        keep = ("max_tokens", "temperature", "top_p", "seed", "stop")
        body = {"model": ctx.model, "messages": messages}
        body.update({k: v for k, v in sampling.items() if k in keep})
        async with httpx.AsyncClient(timeout=600) as client:
            response = await client.post(
                endpoint.rstrip("/") + "/chat/completions",
                json=body,
                headers={"Authorization": f"Bearer {secret}"},
            )
        if response.status_code != 200:
            return ProgramResult(exit_code=1, stdout="", stderr=response.text)
        return ProgramResult(exit_code=0, stdout="", stderr="")
