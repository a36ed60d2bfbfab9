"""The standard ``info`` keys every environment reports on every step."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["STEP_INFO_KEYS", "RESET_INFO_KEYS", "TurnOutcome"]

#: Keys present in ``info`` after every ``step``; see ``docs/contract.md``.
STEP_INFO_KEYS: tuple[str, ...] = (
    "turn",  # 1-based index of the turn just played
    "score",  # verifiable quality of this turn (env-defined scale, documented per env)
    "best_score",  # best score so far in the episode
    "success",  # whether the task is solved (at this turn or earlier)
    "action_valid",  # whether the reply could be used
    "action_error",  # what was wrong with it ("" when valid)
    "metrics",  # env-specific numbers measured this turn
    "cost",  # resources used so far: simulations, executions, seconds, ...
)

#: Keys present in ``info`` after every ``reset``.
RESET_INFO_KEYS: tuple[str, ...] = ("system_prompt", "turn", "best_score", "success", "cost")


@dataclass
class TurnOutcome:
    """What an environment's turn logic returns to :class:`~agent_envs.core.TextEnv`.

    The base class adds ``turn``, ``best_score`` and the running ``cost`` and turns it
    into Gymnasium's five-tuple.

    Example:
        >>> out = TurnOutcome("Too low.", reward=0.2, score=0.2)
        >>> out.action_valid, out.terminated
        (True, False)
    """

    observation: str
    reward: float = 0.0
    score: float | None = None
    success: bool = False
    terminated: bool = False
    truncated: bool = False
    action_valid: bool = True
    action_error: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)
    cost: dict[str, float] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
