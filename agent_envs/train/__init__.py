"""The reference trainer: GRPO, TL-GRPO, GTPO, RLOO, PPO and GiGPO for LLM policies on any id.

Needs the ``train`` extra (torch, transformers); importing this package does not import
torch, which loads when a trainer or policy is built. See ``docs/train/``.

Example:
    >>> from agent_envs.train import ALGORITHMS, TrainConfig
    >>> sorted(ALGORITHMS)
    ['gigpo', 'grpo', 'gtpo', 'ppo', 'rloo', 'tl-grpo']
"""

from agent_envs.train.chat import ChatFormat, Conversation
from agent_envs.train.config import ALGORITHMS, TrainConfig
from agent_envs.train.policy import load_policy, resolve_device, smollm2_gguf_path
from agent_envs.train.sampler import Sampler
from agent_envs.train.sampling import Sample
from agent_envs.train.trainer import Trainer

__all__ = [
    "ALGORITHMS",
    "ChatFormat",
    "Conversation",
    "Sample",
    "Sampler",
    "TrainConfig",
    "Trainer",
    "load_policy",
    "resolve_device",
    "smollm2_gguf_path",
]
