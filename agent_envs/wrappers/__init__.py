"""Gymnasium wrappers: reward schemes, chat formatting and episode recording."""

from agent_envs.wrappers.best_turn import BestTurnReward
from agent_envs.wrappers.chat_messages import ROLES, ChatMessages, MessageList
from agent_envs.wrappers.driver_truncation import DriverTruncation
from agent_envs.wrappers.normalized_dense import NormalizedDenseReward
from agent_envs.wrappers.record_trajectories import (
    RecordTrajectories,
    read_recorded_episodes,
    read_recorded_trajectories,
    to_jsonable,
)
from agent_envs.wrappers.reward_keys import NATIVE_REWARD, keep_reward_before
from agent_envs.wrappers.reward_schemes import REWARD_SCHEMES, wrap_reward
from agent_envs.wrappers.reward_sparsity import SPARSITY_MODES, RewardSparsity
from agent_envs.wrappers.turn_penalty import TurnPenalty

__all__ = [
    "BestTurnReward",
    "ChatMessages",
    "MessageList",
    "ROLES",
    "RecordTrajectories",
    "read_recorded_episodes",
    "read_recorded_trajectories",
    "to_jsonable",
    "RewardSparsity",
    "SPARSITY_MODES",
    "TurnPenalty",
    "DriverTruncation",
    "NormalizedDenseReward",
    "REWARD_SCHEMES",
    "wrap_reward",
    "NATIVE_REWARD",
    "keep_reward_before",
]
