"""Thin adapters to external RL frameworks, and distributed rollouts on Ray.

Importing this package imports no framework. One module per framework, each importing
its framework (``docs/integrations.md`` lists the versions tested):
:mod:`~agent_envs.integrations.trl_env` (TRL ``environment_factory``; TRL not imported),
:mod:`~agent_envs.integrations.skyrl` (skyrl-gym), :mod:`~agent_envs.integrations.verl_agent_loop`
(verl agent loop), :mod:`~agent_envs.integrations.openrlhf_agent` (OpenRLHF agent executor),
:mod:`~agent_envs.integrations.verifiers_taskset` (verifiers taskset),
:mod:`~agent_envs.integrations.ray_rollouts` (Ray, imported when a pool is built).

* :class:`EpisodeStepper`: ``run_episode`` one turn at a time (the env waits for replies);
* :class:`AsyncTextEnv`, :class:`EnvPool`: ``await reset/step`` in a thread pool;
* :class:`MessagesEnv`: OpenAI messages in/out, SkyRL ``BaseTextEnv`` shape;
* :class:`VerlInteraction`: verl's multi-turn ``BaseInteraction`` shape (verl <= 0.7);
* :class:`OpenRLHFAgent`: OpenRLHF's agent ``reset``/``step`` shape;
* :class:`EnvReward`, :func:`prompt_rows`: TRL ``GRPOTrainer`` reward functions;
* ``ray_rollouts.RayRolloutPool``: distributed rollouts (import it from its module).
"""

from agent_envs.integrations.async_env import AsyncPolicy, AsyncTextEnv, EnvPool, StepResult
from agent_envs.integrations.messages_env import MessagesEnv, assistant_text
from agent_envs.integrations.openrlhf_agent import OpenRLHFAgent
from agent_envs.integrations.trl_rewards import EnvReward, completion_replies, prompt_rows
from agent_envs.integrations.verl_interaction import VerlInteraction
from agent_envs.rl.stepper import EpisodeStepper

__all__ = [
    "EpisodeStepper",
    "AsyncPolicy",
    "AsyncTextEnv",
    "EnvPool",
    "StepResult",
    "MessagesEnv",
    "assistant_text",
    "VerlInteraction",
    "OpenRLHFAgent",
    "EnvReward",
    "completion_replies",
    "prompt_rows",
]
