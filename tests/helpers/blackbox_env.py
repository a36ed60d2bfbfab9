"""A test-only black-box environment with the ACS API (design space, text replies, budget).

It stands in for a circuit where a test needs thousands of cheap evaluations: the
"simulation" is a smooth function of the design (a Gaussian bump around a hidden optimum
drawn from the seed, in the unit cube where log variables are log-mapped), and designs
with ``w1`` in the top 3% of its range "fail to simulate" (valid reply, no score).
Importing this module registers ``Test-BlackBox-v0``; workers in other processes reach
it as ``helpers.blackbox_env:Test-BlackBox-v0`` (``tests/`` is on ``sys.path`` under pytest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from agent_envs.core import TextEnv, TurnOutcome, parse_assignments, parse_si_number

__all__ = ["Variable", "BlackBoxTestEnv", "ENV_ID"]

ENV_ID = "Test-BlackBox-v0"


@dataclass(frozen=True)
class Variable:
    """One design variable, with the same fields as the ACS ``Variable``."""

    name: str
    unit: str
    low: float
    high: float
    log: bool
    default: float
    description: str = ""


_SPACE = (
    Variable("w1", "m", 1e-6, 1e-4, True, 1e-5, "a width"),
    Variable("l1", "m", 1e-7, 1e-5, True, 1e-6, "a length"),
    Variable("ib", "A", 1e-6, 1e-3, True, 1e-5, "a bias current"),
    Variable("vb", "V", 0.0, 1.8, False, 0.9, "a bias voltage"),
)


def _unit(var: Variable, value: float) -> float:
    if var.log:
        return (math.log(value) - math.log(var.low)) / (math.log(var.high) - math.log(var.low))
    return (value - var.low) / (var.high - var.low)


class BlackBoxTestEnv(TextEnv):
    """Maximize a smooth hidden score of ``dims`` (at most four) design variables within ``budget`` replies.

    Score: ``exp(-width * |u - u*|^2)`` in ``(0, 1]``; success when it reaches
    ``target``. Invalid replies (missing/unparsable/out-of-range values) cost a turn,
    not a simulation, and get reward -0.1.
    """

    invalid_action_reward = -0.1

    def __init__(
        self, budget: int = 20, width: float = 8.0, target: float = 0.9, dims: int = 4
    ) -> None:
        if not isinstance(budget, int) or budget < 1:
            raise ValueError(f"budget must be a positive int, got {budget!r}")
        if dims not in range(1, len(_SPACE) + 1):
            raise ValueError(f"dims must be 1..{len(_SPACE)}, got {dims!r}")
        super().__init__(max_observation_length=4096, max_action_length=4096)
        self.budget, self.width, self.target = budget, width, target
        self.design_space = _SPACE[:dims]
        self.specs = {"score": f">= {target}"}
        self._optimum = [0.5] * len(_SPACE)

    def format_action(self, values: dict[str, float]) -> str:
        """Write a reply this environment accepts."""
        return "\n".join(f"{v.name} = {values[v.name]:.6g}" for v in self.design_space)

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        self._optimum = self.np_random.uniform(0.15, 0.85, len(self.design_space)).tolist()
        names = ", ".join(
            f"{v.name} in [{v.low:g}, {v.high:g}] {v.unit}" for v in self.design_space
        )
        prompt = f"Propose {names} as 'name = value' lines. Budget: {self.budget} simulations."
        return f"Find a design with score >= {self.target:.2f}.", {"system_prompt": prompt}

    def _budget_spent(self) -> bool:
        return self.turn >= self.budget

    def _play_turn(self, action: str) -> TurnOutcome:
        spent = self._budget_spent()
        raw = parse_assignments(action, {v.name for v in self.design_space}).values
        units = []
        for var in self.design_space:
            value = parse_si_number(raw.get(var.name))
            if value is None or not var.low <= value <= var.high:
                return self.invalid_action(f"{var.name}: need a number in range", truncated=spent)
            units.append(_unit(var, value))
        cost = {"simulations": 1}
        if units[0] > 0.97:
            return TurnOutcome("Simulation failed.", reward=0.0, truncated=spent, cost=cost)
        dist2 = sum((u - o) ** 2 for u, o in zip(units, self._optimum, strict=True))
        score = math.exp(-self.width * dist2)
        success = score >= self.target
        return TurnOutcome(
            f"score = {score:.4f}",
            reward=score,
            score=score,
            success=success,
            terminated=success,
            truncated=spent and not success,
            metrics={"distance": math.sqrt(dist2)},
            cost=cost,
        )


if ENV_ID not in gym.registry:
    gym.register(ENV_ID, entry_point=f"{__name__}:BlackBoxTestEnv")
