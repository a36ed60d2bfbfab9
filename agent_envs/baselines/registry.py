"""Policies by name: the names ``agent-envs bench --policy`` accepts.

Classes are imported only when asked for, so listing names stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["POLICIES", "policy_class", "make_policy"]

#: name -> "module:Class" of a :class:`~agent_envs.baselines.base.Policy`.
POLICIES: dict[str, str] = {
    "random": "agent_envs.baselines.random_search:RandomSearch",
    "sobol": "agent_envs.baselines.random_search:SobolSearch",
    "bo": "agent_envs.baselines.bayes_opt:BayesOptPolicy",
    "cmaes": "agent_envs.baselines.cma_es:CMAESPolicy",
}


def policy_class(name: str) -> type:
    """Return the policy class registered under ``name``, or named ``"module:Class"``.

    Example:
        >>> policy_class("random").__name__
        'RandomSearch'
        >>> policy_class("agent_envs.baselines.random_search:SobolSearch").name
        'sobol'
        >>> policy_class("nope")
        Traceback (most recent call last):
        ...
        ValueError: unknown policy 'nope'; known: random, sobol, bo, cmaes (or give module:Class)
    """
    target = POLICIES.get(name, name)
    if ":" not in target:
        known = ", ".join(POLICIES)
        raise ValueError(f"unknown policy {name!r}; known: {known} (or give module:Class)")
    module_name, class_name = target.split(":", 1)
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot load policy {name!r} from {target!r}: {exc}") from exc


def make_policy(name: str, **kwargs: Any) -> Any:
    """Build the policy registered under ``name`` with constructor keywords ``kwargs``.

    Example:
        >>> make_policy("bo", n_startup_trials=3).n_startup_trials
        3
    """
    return policy_class(name)(**kwargs)
