"""OpenRLHF agent API (``--agent_func_path``): an agent-envs episode per sample.

OpenRLHF 0.11 loads the Python file given as ``--agent_func_path`` and instantiates its
``AgentExecutor`` class with no arguments; the class must inherit from
``openrlhf.utils.agent.AgentExecutorBase``. Its ``MultiTurnAgentExecutor`` builds one
agent instance per sample (no arguments, a subclass of ``AgentInstanceBase``) and calls
``reset(states)`` then ``step(states)`` until ``done`` or the token budget is spent.
:func:`make_agent_executor` returns such an ``AgentExecutor`` for any id;
:class:`OpenRLHFAgent` is the instance logic (also usable without OpenRLHF).

Rewards: each step returns ``rewards`` (that turn's reward) and ``scores`` (the episode
return so far). OpenRLHF sums ``rewards`` into the sample's ``reward`` and keeps the last
``scores``, so both end equal to the episode return; ``scores`` is what its dynamic
filtering reads.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import math
from typing import Any

from agent_envs.rl.stepper import EpisodeStepper

__all__ = ["OpenRLHFAgent", "make_agent_executor"]


class OpenRLHFAgent:
    """One environment episode per OpenRLHF sample, stepped with the model's text turns.

    The sample's ``label`` is a JSON object (or dict) with ``seed`` and optionally
    ``env_id``, ``env_kwargs`` and ``max_turns``, overriding this instance's defaults.
    The prompt OpenRLHF shows the model is the dataset's (build it with
    :func:`~agent_envs.integrations.trl_rewards.prompt_rows` so it is the env's task).
    ``feedback_template`` wraps the env's answer into the text appended to the context:
    put your chat template's end-of-turn and user/assistant headers there. With
    ``tensors=True`` (OpenRLHF's expectation) ``rewards`` and ``scores`` are 0-d torch
    tensors; with ``False`` plain floats.

    Example:
        >>> import asyncio
        >>> agent = OpenRLHFAgent("Toy-GuessNumber-v0", tensors=False,
        ...                       feedback_template="\\nuser: {observation}\\nassistant: ")
        >>> async def play():
        ...     await agent.reset({"observation": "Guess.", "label": '{"seed": 0}'})
        ...     return await agent.step({"observation_text": "Guess.", "action_text": "50",
        ...                              "label": '{"seed": 0}'})
        >>> out = asyncio.run(play())
        >>> out["environment_feedback"], out["done"], out["rewards"] == out["scores"]
        ('\\nuser: Guess 50: higher.\\nassistant: ', False, True)
        >>> agent.close()
    """

    def __init__(
        self,
        env_id: str | None = None,
        *,
        env_kwargs: dict[str, Any] | None = None,
        max_turns: int | None = None,
        feedback_template: str = "{observation}",
        tensors: bool = True,
    ) -> None:
        if "{observation}" not in feedback_template:
            raise ValueError("feedback_template must contain '{observation}'")
        self.defaults = {"env_id": env_id, "env_kwargs": env_kwargs or {}, "max_turns": max_turns}
        self.feedback_template = feedback_template
        self.tensors = tensors
        self._stepper: EpisodeStepper | None = None

    async def reset(self, states: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Build and reset the env for this sample; the prompt text passes through."""
        label = states.get("label")
        if isinstance(label, str):
            try:
                label = json.loads(label)
            except ValueError as e:
                raise ValueError(
                    f"the label must be a JSON object with a seed, got {label!r}"
                ) from e
        settings = {**self.defaults, **(label if isinstance(label, dict) else {})}
        if not isinstance(settings.get("env_id"), str):
            raise ValueError("no env_id: pass one to OpenRLHFAgent or put it in the label")

        def build() -> EpisodeStepper:
            from agent_envs import make

            env = make(settings["env_id"], **dict(settings.get("env_kwargs") or {}))
            stepper = EpisodeStepper(env, max_turns=settings.get("max_turns"))
            stepper.reset(seed=settings.get("seed"))
            return stepper

        if self._stepper is not None:
            self._stepper.env.close()
        self._stepper = await asyncio.to_thread(build)
        return {"observation": states.get("observation")}

    async def step(self, states: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Play ``action_text``; return OpenRLHF's step dict."""
        if self._stepper is None:
            raise RuntimeError("reset() must be called before step()")
        stepper = self._stepper
        if stepper.done:
            reward, feedback, info = 0.0, "", {"action_valid": False}
        else:
            await asyncio.to_thread(stepper.step, str(states.get("action_text", "")))
            turn = stepper.trajectory.turns[-1]
            reward, info = turn.reward, turn.info
            feedback = (
                "" if stepper.done else self.feedback_template.format(observation=turn.observation)
            )
        if stepper.done:
            await asyncio.to_thread(stepper.env.close)
        episode_return = math.fsum(
            t.reward for t in stepper.trajectory.turns if math.isfinite(t.reward)
        )
        value: Any = float(reward)
        score: Any = episode_return
        if self.tensors:
            import torch

            value, score = torch.tensor(value), torch.tensor(score)
        logs = {
            "turn": len(stepper.trajectory.turns),
            "action_valid": float(bool(info.get("action_valid"))),
        }
        if info.get("best_score") is not None:
            logs["best_score"] = float(info["best_score"])
        return {
            "rewards": value,
            "scores": score,
            "environment_feedback": feedback,
            "done": stepper.done,
            "sampling_params": states.get("sampling_params"),
            "extra_logs": logs,
        }

    def close(self) -> None:
        """Close the sample's environment (twice is fine)."""
        if self._stepper is not None:
            self._stepper.env.close()

    @property
    def trajectory(self) -> Any:
        """The episode as a :class:`~agent_envs.rl.Trajectory`."""
        if self._stepper is None:
            raise RuntimeError("reset() must be called first")
        return self._stepper.trajectory


_SAMPLE_AGENTS: contextvars.ContextVar[list[OpenRLHFAgent] | None] = contextvars.ContextVar(
    "agent_envs_openrlhf_sample_agents", default=None
)


def make_agent_executor(
    env_id: str | None = None,
    *,
    env_kwargs: dict[str, Any] | None = None,
    max_turns: int | None = None,
    feedback_template: str = "{observation}",
    agent_module: Any = None,
) -> type:
    """OpenRLHF's ``AgentExecutor`` class for ``env_id`` (put it in your agent file).

    ``agent_module`` is ``openrlhf.utils.agent`` (imported when not given). The executor
    is OpenRLHF's ``MultiTurnAgentExecutor`` over an ``AgentInstance`` that subclasses
    its ``AgentInstanceBase`` and :class:`OpenRLHFAgent`; ``execute`` closes every env
    the sample opened when the sample ends, also when the token budget runs out first.

    Example (the agent file passed as ``--agent_func_path``)::

        from agent_envs.integrations.openrlhf_agent import make_agent_executor

        AgentExecutor = make_agent_executor(
            "Toy-GuessNumber-v0",
            feedback_template="<|im_end|>\\n<|im_start|>user\\n{observation}<|im_end|>\\n"
            "<|im_start|>assistant\\n",
        )
    """
    if agent_module is None:
        import importlib

        agent_module = importlib.import_module("openrlhf.utils.agent")
    settings = {
        "env_kwargs": env_kwargs,
        "max_turns": max_turns,
        "feedback_template": feedback_template,
    }
    OpenRLHFAgent(env_id, **settings)  # validate the settings now, not per sample

    class AgentInstance(OpenRLHFAgent, agent_module.AgentInstanceBase):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            OpenRLHFAgent.__init__(self, env_id, **settings)
            opened = _SAMPLE_AGENTS.get()
            if opened is not None:
                opened.append(self)

    class AgentExecutor(agent_module.MultiTurnAgentExecutor):
        def __init__(self) -> None:
            super().__init__(AgentInstance)

        async def execute(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            opened: list[OpenRLHFAgent] = []
            token = _SAMPLE_AGENTS.set(opened)
            try:
                return await super().execute(*args, **kwargs)
            finally:
                _SAMPLE_AGENTS.reset(token)
                for agent in opened:
                    await asyncio.to_thread(agent.close)

    AgentInstance.__qualname__ = AgentInstance.__name__ = "AgentInstance"
    AgentExecutor.__qualname__ = AgentExecutor.__name__ = "AgentExecutor"
    return AgentExecutor
