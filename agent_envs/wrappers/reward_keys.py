"""Where the reward wrappers keep the rewards they replaced, so that stacks compose.

Two kinds of key, one convention for every wrapper that changes the reward:

* ``info["native_reward"]`` (:data:`NATIVE_REWARD`): the environment's own reward of the
  step, set once, by the innermost reward wrapper; the wrappers above leave it alone.
* ``info["reward_before_<wrapper>"]``: the reward that this wrapper received (what the
  wrapper below it paid), one key per wrapper class: ``reward_before_best_turn``,
  ``reward_before_sparsity``, ``reward_before_normalized_dense``,
  ``reward_before_turn_penalty`` (each class's ``reward_before_key``). A class stacked
  twice keeps the outer one's input.

The old keys stay one version as aliases with their old meaning (the wrapper's input):
``dense_reward`` (:class:`RewardSparsity`, :class:`NormalizedDenseReward`) and
``unpenalized_reward`` (:class:`TurnPenalty`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["NATIVE_REWARD", "reward_before_key", "keep_reward_before"]

#: The environment's own step reward, whatever reward wrappers sit above it.
NATIVE_REWARD = "native_reward"


def reward_before_key(wrapper: str) -> str:
    """The ``info`` key of the reward a wrapper received (``wrapper`` in snake case).

    Example:
        >>> reward_before_key("turn_penalty")
        'reward_before_turn_penalty'
    """
    return f"reward_before_{wrapper}"


def keep_reward_before(
    info: dict[str, Any], key: str, reward: float, alias: str | None = None
) -> dict[str, Any]:
    """A copy of ``info`` that records ``reward`` as a wrapper's input under ``key``.

    ``native_reward`` is set only when no wrapper below has set it; ``alias`` is the
    wrapper's old key, kept for one version.

    Example:
        >>> inner = keep_reward_before({"score": 0.5}, "reward_before_turn_penalty", 0.5)
        >>> outer = keep_reward_before(inner, "reward_before_sparsity", 0.49)
        >>> outer["native_reward"], outer["reward_before_turn_penalty"], outer["reward_before_sparsity"]
        (0.5, 0.5, 0.49)
    """
    info = dict(info)
    info.setdefault(NATIVE_REWARD, reward)
    info[key] = reward
    if alias is not None:
        info[alias] = reward
    return info
