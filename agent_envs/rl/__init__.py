"""Trajectories, advantage estimators, rollout helpers and reward shaping (numpy only)."""

from agent_envs.rl.advantages import (
    discounted_returns,
    gae_advantages,
    grpo_advantages,
    gtpo_advantages,
    rloo_advantages,
    tl_grpo_advantages,
)
from agent_envs.rl.forking import end_after_next_step, fork_env, wrapper_layers
from agent_envs.rl.gigpo import gigpo_advantages
from agent_envs.rl.policy import AsyncPolicy, BatchPolicy, Policy, async_policy, batch_policy
from agent_envs.rl.rollout import (
    TurnCandidate,
    choose_candidate,
    run_episode,
    run_group,
    run_turn_level_episode,
    sample_turn_group,
    turn_is_grouped,
)
from agent_envs.rl.shaping import (
    code_similarity,
    code_tokens,
    densify_failed_rewards,
    replies_code,
    shape_group_rewards,
    trajectory_code,
)
from agent_envs.rl.stepper import EpisodeStepper, observation_text, settle_turn_rewards
from agent_envs.rl.trajectory import (
    Trajectory,
    Turn,
    chat_message,
    read_jsonl,
    trajectories_from_events,
    write_jsonl,
)

__all__ = [
    "discounted_returns",
    "gae_advantages",
    "gigpo_advantages",
    "end_after_next_step",
    "fork_env",
    "wrapper_layers",
    "turn_is_grouped",
    "grpo_advantages",
    "gtpo_advantages",
    "rloo_advantages",
    "tl_grpo_advantages",
    "EpisodeStepper",
    "observation_text",
    "Policy",
    "AsyncPolicy",
    "BatchPolicy",
    "async_policy",
    "batch_policy",
    "TurnCandidate",
    "choose_candidate",
    "run_episode",
    "run_group",
    "run_turn_level_episode",
    "sample_turn_group",
    "code_similarity",
    "code_tokens",
    "densify_failed_rewards",
    "replies_code",
    "settle_turn_rewards",
    "shape_group_rewards",
    "trajectory_code",
    "Trajectory",
    "Turn",
    "chat_message",
    "read_jsonl",
    "trajectories_from_events",
    "write_jsonl",
]
