"""Trajectories, advantage estimators and rollout helpers for multi-turn RL (numpy only)."""

from agent_envs.rl.advantages import (
    discounted_returns,
    gae_advantages,
    grpo_advantages,
    gtpo_advantages,
    rloo_advantages,
    tl_grpo_advantages,
)

__all__ = [
    "discounted_returns",
    "gae_advantages",
    "grpo_advantages",
    "gtpo_advantages",
    "rloo_advantages",
    "tl_grpo_advantages",
]
