"""Policies to benchmark against, all behind one protocol (:class:`Policy`).

:class:`Policy` is the base class of the baselines; every one is also a plain callable
``messages -> reply`` (the :data:`agent_envs.rl.Policy` protocol), with batched and async
forms (:func:`batch_policy`, :func:`async_policy`). Episodes are played by
:class:`agent_envs.rl.EpisodeStepper` (:func:`play_episode`, :func:`play_stepper`) and
recorded as :class:`agent_envs.rl.Trajectory` (``Episode.trajectory``).

Black-box baselines (:class:`RandomSearch`, :class:`SobolSearch`,
:class:`BayesOptPolicy`, :class:`CMAESPolicy`) propose one design per turn through the
environment's own text protocol (``format_action``), so they face the same parser and
budget as an LLM. :func:`make_policy` builds any policy by its registered name
(``random``, ``sobol``, ``bo``, ``cmaes``, ``llm``, ``hf``, ``smollm2``).

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

from agent_envs.baselines.base import (
    Message,
    Policy,
    async_policy,
    batch_policy,
    extend_messages,
    start_messages,
    turn_seed,
)
from agent_envs.baselines.bayes_opt import BayesOptPolicy
from agent_envs.baselines.blackbox import BlackBoxPolicy
from agent_envs.baselines.chat_model import (
    ChatModel,
    Completion,
    ContextLengthError,
    GenerationParams,
    TransformersChatModel,
)
from agent_envs.baselines.chat_policy import ChatPolicy
from agent_envs.baselines.cma_es import CMAESPolicy
from agent_envs.baselines.hf_local import HFLocalPolicy
from agent_envs.baselines.models import SMOLLM2_GGUF, load_smollm2, smollm2_path
from agent_envs.baselines.openai_chat import EndpointError, OpenAIChatPolicy
from agent_envs.baselines.play import Episode, play_episode, play_stepper
from agent_envs.baselines.random_search import RandomSearch, SobolSearch
from agent_envs.baselines.registry import POLICIES, make_policy, policy_class
from agent_envs.baselines.serve import ChatCompletionServer

__all__ = [
    "Policy",
    "Message",
    "batch_policy",
    "async_policy",
    "start_messages",
    "extend_messages",
    "turn_seed",
    "Episode",
    "play_episode",
    "play_stepper",
    "ChatPolicy",
    "BlackBoxPolicy",
    "RandomSearch",
    "SobolSearch",
    "BayesOptPolicy",
    "CMAESPolicy",
    "POLICIES",
    "make_policy",
    "policy_class",
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
