"""Policies to benchmark against, all behind one protocol (:class:`Policy`).

LLM policies: :class:`OpenAIChatPolicy` (any OpenAI-compatible endpoint) and
:class:`HFLocalPolicy` (a transformers model in-process); :mod:`.serve` puts a local
model behind an OpenAI-compatible endpoint. Torch and transformers are imported only
when a local model is loaded.

Example:
    >>> import gymnasium as gym
    >>> import agent_envs
    >>> from agent_envs.baselines import Policy, play_episode
    >>> class Fifty(Policy):
    ...     name = "fifty"
    ...     def act(self, messages, info):
    ...         return "50"
    >>> episode = play_episode(gym.make("Toy-GuessNumber-v0", max_turns=3), Fifty(), seed=1)
    >>> episode.turns
    3
"""

from agent_envs.baselines.base import Message, Policy, extend_messages, start_messages, turn_seed
from agent_envs.baselines.chat_model import (
    ChatModel,
    Completion,
    ContextLengthError,
    GenerationParams,
    TransformersChatModel,
)
from agent_envs.baselines.chat_policy import ChatPolicy
from agent_envs.baselines.episode import Episode, play_episode
from agent_envs.baselines.hf_local import HFLocalPolicy
from agent_envs.baselines.models import SMOLLM2_GGUF, load_smollm2, smollm2_path
from agent_envs.baselines.openai_chat import EndpointError, OpenAIChatPolicy
from agent_envs.baselines.serve import ChatCompletionServer

__all__ = [
    "Policy",
    "Message",
    "start_messages",
    "extend_messages",
    "turn_seed",
    "Episode",
    "play_episode",
    "ChatPolicy",
    "OpenAIChatPolicy",
    "EndpointError",
    "HFLocalPolicy",
    "ChatModel",
    "Completion",
    "ContextLengthError",
    "GenerationParams",
    "TransformersChatModel",
    "ChatCompletionServer",
    "SMOLLM2_GGUF",
    "smollm2_path",
    "load_smollm2",
]
