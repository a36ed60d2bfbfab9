"""Policies to benchmark against: black-box optimizers and LLMs, one reply per turn.

Black-box baselines (``random``, ``sobol``, ``bo``, ``cmaes``) propose one design per
turn through the environment's own text protocol (``format_action``), so they face the
same parser and budget as an LLM. ``make_policy(name)`` builds any registered policy.
"""

from agent_envs.baselines.base import Policy
from agent_envs.baselines.registry import POLICIES, make_policy, policy_class

__all__ = ["Policy", "POLICIES", "make_policy", "policy_class"]
