"""The design space of a black-box environment, seen as the unit cube.

Black-box optimizers work in ``[0, 1]^d``; coordinates map to each variable's range,
through its logarithm when the variable is declared ``log``. Any object with ``name``,
``low``, ``high`` and ``log`` attributes is a variable (the ACS ``Variable`` is one).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["design_space_of", "from_unit", "to_unit"]


def design_space_of(env: Any) -> tuple[Any, ...]:
    """Return ``env.unwrapped.design_space``; raise ``TypeError`` if the env has none.

    A black-box policy needs the variables (``design_space``) and a way to write a
    reply the env accepts (``format_action``).

    Example:
        >>> import gymnasium as gym, agent_envs
        >>> design_space_of(gym.make("Toy-GuessNumber-v0"))
        Traceback (most recent call last):
        ...
        TypeError: Toy-GuessNumber-v0 has no design_space/format_action: black-box policies ...
    """
    base = getattr(env, "unwrapped", env)
    space = getattr(base, "design_space", None)
    if not space or not callable(getattr(base, "format_action", None)):
        spec = getattr(base, "spec", None)
        label = spec.id if spec is not None else type(base).__name__
        raise TypeError(
            f"{label} has no design_space/format_action: black-box policies (random, sobol, "
            "bo, cmaes) only apply to environments with a design space, such as ACS-* ids; "
            "use an LLM policy instead"
        )
    for var in space:
        if var.log and var.low <= 0:
            raise ValueError(f"variable {var.name} is log-scaled but its low bound is {var.low}")
        if not var.high > var.low:
            raise ValueError(f"variable {var.name} has an empty range [{var.low}, {var.high}]")
    return tuple(space)


def from_unit(unit: Sequence[float], space: Sequence[Any]) -> dict[str, float]:
    """Map a point of ``[0, 1]^d`` to variable values (clipped to each range).

    Example:
        >>> from types import SimpleNamespace as V
        >>> space = [V(name="w", low=1e-6, high=1e-4, log=True), V(name="v", low=0, high=2, log=False)]
        >>> from_unit([0.5, 0.25], space)
        {'w': 1e-05, 'v': 0.5}
    """
    values = {}
    for u, var in zip(unit, space, strict=True):
        u = min(1.0, max(0.0, float(u)))
        if var.log:
            lo, hi = math.log(var.low), math.log(var.high)
            value = math.exp(lo + u * (hi - lo))
        else:
            value = var.low + u * (var.high - var.low)
        values[var.name] = float(min(var.high, max(var.low, float(f"{value:.12g}"))))
    return values


def to_unit(values: dict[str, float], space: Sequence[Any]) -> list[float]:
    """Map variable values to ``[0, 1]^d`` (the inverse of :func:`from_unit`).

    Example:
        >>> from types import SimpleNamespace as V
        >>> to_unit({"w": 1e-5}, [V(name="w", low=1e-6, high=1e-4, log=True)])
        [0.5]
    """
    unit = []
    for var in space:
        value = float(values[var.name])
        if var.log:
            lo, hi = math.log(var.low), math.log(var.high)
            u = (math.log(max(value, var.low)) - lo) / (hi - lo)
        else:
            u = (value - var.low) / (var.high - var.low)
        unit.append(round(min(1.0, max(0.0, u)), 12))
    return unit
