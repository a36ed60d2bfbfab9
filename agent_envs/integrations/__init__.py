"""Thin adapters to external RL frameworks, and distributed rollouts on Ray.

Nothing here imports a framework: the adapters have the shapes those frameworks call
into (``docs/integrations.md`` lists the versions each targets), and ``ray`` is imported
only by :mod:`agent_envs.integrations.ray_rollouts` when a pool is built.

* :class:`EpisodeStepper`: ``run_episode`` one turn at a time (the env waits for replies);
* :class:`AsyncTextEnv`, :class:`EnvPool`: ``await reset/step`` in a thread pool;
* :class:`MessagesEnv`: OpenAI messages in/out, SkyRL ``BaseTextEnv`` shape;
* :class:`VerlInteraction`: verl's multi-turn ``BaseInteraction`` shape;
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
