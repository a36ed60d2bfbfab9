"""verl 0.9 agent loop: an agent-envs episode per sample, turn by turn with verl's server.

verl runs rollouts through *agent loops*: ``AgentLoopBase`` subclasses registered
under a name with ``@register(name)`` (or listed in ``agent_loop_config_path``) and
picked per sample by the dataset's ``agent_name`` column. :class:`AgentEnvsAgentLoop`
(registered as ``"agent_envs"`` when this module is imported) resets the env named in
the row's ``extra_info`` (``env_id``, ``seed``, optional ``env_kwargs``,
``max_turns``), then alternates ``server_manager.generate`` and ``env.step`` until the
episode ends or ``rollout.response_length`` is spent. Tokens go through verl's
Continuous Token builder (assistant tokens masked 1, env replies 0). The episode return
is the output's ``reward_score`` (verl puts it on the last response token and skips
its reward function for the sample); ``extra_fields["turn_scores"]`` holds the
per-turn rewards. The env is closed when the sample ends, whatever ends it.

:func:`verl_rows` writes dataset rows with the columns verl reads. This module imports
``verl`` (the class must inherit from its ``AgentLoopBase``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any
from uuid import uuid4

from verl.experimental.agent_loop.agent_loop import AgentLoopBase, AgentLoopOutput, register

from agent_envs.integrations.trl_rewards import prompt_rows
from agent_envs.rl.stepper import EpisodeStepper

__all__ = ["AgentEnvsAgentLoop", "verl_rows", "AGENT_NAME"]

#: The ``agent_name`` this loop is registered under.
AGENT_NAME = "agent_envs"


def verl_rows(
    env_id: str,
    seeds: Sequence[int],
    *,
    env_kwargs: dict[str, Any] | None = None,
    max_turns: int | None = None,
) -> list[dict[str, Any]]:
    """Dataset rows for verl: ``prompt``, ``agent_name``, ``data_source``, ``extra_info``.

    Example:
        >>> row = verl_rows("Toy-GuessNumber-v0", [4])[0]
        >>> row["agent_name"], row["extra_info"]["seed"], row["data_source"]
        ('agent_envs', 4, 'Toy-GuessNumber-v0')
    """
    rows = []
    for row in prompt_rows(env_id, seeds, env_kwargs=env_kwargs):
        extra = {"env_id": env_id, "seed": row["seed"], "env_kwargs": dict(env_kwargs or {})}
        if max_turns is not None:
            extra["max_turns"] = int(max_turns)
        rows.append(
            {
                "prompt": row["prompt"],
                "agent_name": AGENT_NAME,
                "data_source": env_id,
                "reward_model": {"style": "rule", "ground_truth": ""},
                "extra_info": extra,
            }
        )
    return rows


@register(AGENT_NAME)
class AgentEnvsAgentLoop(AgentLoopBase):
    """Play one agent-envs episode per sample with verl's LLM server (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.response_length = int(self.rollout_config.response_length)

    async def run(self, sampling_params: dict[str, Any], **kwargs: Any) -> AgentLoopOutput:
        """Reset the row's env, alternate generation and env steps, close the env."""
        extra = dict(kwargs.get("extra_info") or {})
        env_id = extra.get("env_id")
        if not isinstance(env_id, str):
            raise ValueError(f"extra_info must name an env_id (see verl_rows), got {env_id!r}")

        def build() -> EpisodeStepper:
            from agent_envs import make

            env = make(env_id, **dict(extra.get("env_kwargs") or {}))
            return EpisodeStepper(env, max_turns=extra.get("max_turns"))

        stepper = await self.loop.run_in_executor(None, build)
        try:
            return await self._play(stepper, extra.get("seed"), sampling_params)
        finally:
            await self.loop.run_in_executor(None, stepper.env.close)

    async def _play(
        self, stepper: EpisodeStepper, seed: Any, sampling_params: dict[str, Any]
    ) -> AgentLoopOutput:
        seed = None if seed is None else int(seed)
        messages = await self.loop.run_in_executor(None, lambda: stepper.reset(seed=seed))
        messages = [dict(m) for m in messages]
        tokens = await self.ct_build_initial_tokens(messages)
        prompt_length = len(tokens)
        mask: list[int] = []
        logprobs: list[float] | None = None
        request_id = uuid4().hex
        metrics: dict[str, Any] = {}
        while not stepper.done and len(mask) < self.response_length:
            output = await self.server_manager.generate(
                request_id=request_id, prompt_ids=tokens, sampling_params=sampling_params
            )
            if metrics.get("num_preempted") is None:
                preempted = output.num_preempted
                metrics["num_preempted"] = -1 if preempted is None else preempted
            merged, mask, logprobs = await self.ct_merge_assistant_token(
                tokens,
                output.token_ids,
                mask,
                logprobs if logprobs is not None else ([] if output.log_probs else None),
                assistant_logprobs=output.log_probs or None,
            )
            tokens = merged.token_ids
            reply = self.tokenizer.decode(output.token_ids, skip_special_tokens=True)
            await self.loop.run_in_executor(None, stepper.step, reply)
            answer, observation = stepper.trajectory.turns[-1].to_messages()
            messages.append(answer)
            if stepper.done or len(mask) >= self.response_length:
                break
            previous = list(messages)
            messages.append(observation)
            merged, mask, logprobs = await self.ct_merge_context_msg(
                previous, messages, tokens, mask, logprobs
            )
            tokens = merged.token_ids
        return self._output(stepper, tokens, prompt_length, mask, logprobs, metrics)

    def _output(
        self,
        stepper: EpisodeStepper,
        tokens: list[int],
        prompt_length: int,
        mask: list[int],
        logprobs: list[float] | None,
        metrics: dict[str, Any],
    ) -> AgentLoopOutput:
        n = len(mask)
        prompt_ids = tokens[: len(tokens) - n] if n else tokens[:prompt_length]
        response_ids = tokens[len(tokens) - n :] if n else []
        turns = stepper.trajectory.turns
        rewards = [t.reward for t in turns]
        extra: dict[str, Any] = {
            "turn_scores": rewards,
            "tool_rewards": [],
            "episode_return": math.fsum(r for r in rewards if math.isfinite(r)),
            "episode_done": stepper.done,
        }
        best = turns[-1].info.get("best_score") if turns else None
        if best is not None:
            extra["best_score"] = float(best)
        return AgentLoopOutput(
            prompt_ids=prompt_ids,
            response_ids=response_ids[: self.response_length],
            response_mask=mask[: self.response_length],
            response_logprobs=logprobs[: self.response_length] if logprobs else None,
            reward_score=extra["episode_return"],
            num_turns=1 + 2 * len(turns),
            metrics=metrics,
            extra_fields=extra,
        )
