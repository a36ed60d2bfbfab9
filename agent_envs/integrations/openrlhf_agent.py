"""``OpenRLHFAgent``: an agent-envs episode behind OpenRLHF's agent ``reset``/``step`` shape.

OpenRLHF's multi-turn agent training (``--agent_func_path``) loads a Python file whose
agent instance has two coroutines: ``reset(states)`` with the sample's prompt text and
label, and ``step(states)`` with ``observation_text`` (the context so far) and
``action_text`` (the model's new turn), returning ``rewards``, ``scores``,
``environment_feedback`` (text appended to the context), ``done``, ``sampling_params``
and ``extra_logs``. This class has those coroutines (duck-typed, OpenRLHF is not
imported); subclass it as the ``AgentInstance`` of your agent file.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import gymnasium as gym

from agent_envs.rl.stepper import EpisodeStepper

__all__ = ["OpenRLHFAgent"]


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
            import agent_envs  # noqa: F401  (registers the ids)

            env = gym.make(settings["env_id"], **dict(settings.get("env_kwargs") or {}))
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
        value: Any = reward
        if self.tensors:
            import torch

            value = torch.tensor(reward)
        logs = {
            "turn": len(stepper.trajectory.turns),
            "action_valid": float(bool(info.get("action_valid"))),
        }
        if info.get("best_score") is not None:
            logs["best_score"] = float(info["best_score"])
        return {
            "rewards": value,
            "scores": value,
            "environment_feedback": feedback,
            "done": stepper.done,
            "sampling_params": states.get("sampling_params"),
            "extra_logs": logs,
        }

    @property
    def trajectory(self) -> Any:
        """The episode as a :class:`~agent_envs.rl.Trajectory`."""
        if self._stepper is None:
            raise RuntimeError("reset() must be called first")
        return self._stepper.trajectory
