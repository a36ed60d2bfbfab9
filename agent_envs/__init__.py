"""agent-envs: Gymnasium environments for training and benchmarking LLM agents.

``import agent_envs`` registers every id with Gymnasium; ``gym.make("agent_envs:ID")``
works without a prior import, and ``agent_envs.make(ID, reward=..., record=..., chat=...)``
builds an id with its experiment wrappers in one call.

Example:
    >>> import gymnasium as gym
    >>> import agent_envs
    >>> env = gym.make("Toy-GuessNumber-v0")
    >>> obs, info = env.reset(seed=0)
    >>> isinstance(obs, str), "system_prompt" in info
    (True, True)
"""

from agent_envs.core import TextEnv, TurnOutcome, UnicodeText
from agent_envs.front_door import make
from agent_envs.registration import list_ids, register_all

__version__ = "0.1.0"
__all__ = ["TextEnv", "TurnOutcome", "UnicodeText", "list_ids", "make", "__version__"]

register_all()
