"""``VerlInteraction``: an agent-envs id as a verl multi-turn *interaction*.

verl's multi-turn rollout (``verl.interactions.base.BaseInteraction``) asks an
interaction object for the "user" side of the conversation: after each assistant turn
it awaits ``generate_response(instance_id, messages, **interaction_kwargs)`` and gets
``(should_terminate_sequence, response_content, current_turn_score, additional_data)``.
This class has that interface (duck-typed: verl is not imported) and plays the reply
in an agent-envs environment, in a worker thread so the rollout's event loop stays free.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from agent_envs.core.jsonable import to_jsonable
from agent_envs.integrations.messages_env import assistant_text
from agent_envs.rl.stepper import EpisodeStepper

__all__ = ["VerlInteraction"]


class VerlInteraction:
    """verl ``BaseInteraction``-shaped adapter: one environment episode per instance id.

    ``config`` is the interaction's config from verl's interaction YAML; its
    ``env_id``, ``env_kwargs`` and ``max_turns`` are defaults that the dataset row's
    ``interaction_kwargs`` may override, and the row's ``seed`` picks the task (build
    the prompts with :func:`~agent_envs.integrations.trl_rewards.prompt_rows` so they
    match). Each ``generate_response`` plays the latest assistant message;
    ``current_turn_score`` is that turn's reward; ``additional_data`` holds the step's
    ``info``. :meth:`calculate_score` returns the episode's return (sum of turn rewards).

    Example:
        >>> import asyncio
        >>> async def rollout():
        ...     inter = VerlInteraction({"name": "guess", "env_id": "Toy-GuessNumber-v0"})
        ...     iid = await inter.start_interaction(seed=0)
        ...     messages = [{"role": "assistant", "content": "50"}]
        ...     done, text, score, extra = await inter.generate_response(iid, messages)
        ...     total = await inter.calculate_score(iid)
        ...     await inter.finalize_interaction(iid)
        ...     return done, text, score == total, extra["info"]["action_valid"]
        >>> asyncio.run(rollout())
        (False, 'Guess 50: higher.', True, True)
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = dict(config or {})
        self.name: str = self.config.get("name", "agent_envs")
        self._episodes: dict[str, EpisodeStepper] = {}

    async def start_interaction(self, instance_id: str | None = None, **kwargs: Any) -> str:
        """Build and reset the environment for one sample; return its instance id."""
        settings = {**self.config, **kwargs}
        env_id = settings.get("env_id")
        if not isinstance(env_id, str):
            raise ValueError(
                f"the interaction config or kwargs must name an env_id, got {env_id!r}"
            )
        instance_id = instance_id or str(uuid.uuid4())

        def build() -> EpisodeStepper:
            from agent_envs import make

            env = make(env_id, **dict(settings.get("env_kwargs") or {}))
            stepper = EpisodeStepper(env, max_turns=settings.get("max_turns"))
            stepper.reset(seed=settings.get("seed"))
            return stepper

        self._episodes[instance_id] = await asyncio.to_thread(build)
        return instance_id

    async def generate_response(
        self, instance_id: str, messages: list[dict[str, Any]], **kwargs: Any
    ) -> tuple[bool, str, float, dict[str, Any]]:
        """Play the last assistant message; return (done, env reply, turn reward, extra)."""
        stepper = self._episodes[instance_id]
        if stepper.done:
            return True, "The episode is over.", 0.0, {"info": {"action_valid": False}}
        reply = next(
            (m for m in reversed(messages) if isinstance(m, dict) and m.get("role") == "assistant"),
            None,
        )
        await asyncio.to_thread(stepper.step, assistant_text(reply) if reply is not None else "")
        turn = stepper.trajectory.turns[-1]
        extra = {"info": to_jsonable(turn.info), "turn": len(stepper.trajectory.turns)}
        return stepper.done, turn.observation, turn.reward, extra

    async def calculate_score(self, instance_id: str, **kwargs: Any) -> float:
        """The episode's return so far (sum of the turn rewards)."""
        return self._episodes[instance_id].trajectory.total_reward

    async def finalize_interaction(self, instance_id: str, **kwargs: Any) -> None:
        """Close the instance's environment and forget it."""
        stepper = self._episodes.pop(instance_id, None)
        if stepper is not None:
            await asyncio.to_thread(stepper.env.close)

    def trajectory(self, instance_id: str) -> Any:
        """The instance's episode as a :class:`~agent_envs.rl.Trajectory` (before finalize)."""
        return self._episodes[instance_id].trajectory
