"""Specs: targets on measured metrics, how they are drawn from a spec set, how they score.

A spec set (``specs_<split>.json`` in a circuit folder, made by ``make_specs.py``) holds
reference points: metrics a real design achieved, and which specs to keep. Targets are
drawn between an *easy* value (the median random design) and the reference's own value:
``target = easy + difficulty * (reference - easy)`` (only where the reference is better
than easy), so every drawn spec set is met by the reference design: feasible by
construction at any difficulty in ``[0, 1]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from agent_envs.circuits.circuit import Circuit

__all__ = ["Spec", "load_spec_set", "draw_specs", "score_specs", "relax_round"]


@dataclass(frozen=True)
class Spec:
    """One target: ``metric direction target`` (``direction`` is ``">="`` or ``"<="``).

    Example:
        >>> s = Spec("gain", 60.0, ">=", "dB")
        >>> s.met(65.0), s.met(50.0), s.score(60.0), round(s.score(50.0), 3)
        (True, False, 0.0, -0.091)
        >>> s.score(None)
        -1.0
    """

    name: str
    target: float
    direction: str
    unit: str

    def met(self, value: float | None) -> bool:
        """Whether a measured value satisfies the spec (``None`` never does)."""
        if value is None:
            return False
        return value >= self.target if self.direction == ">=" else value <= self.target

    def score(self, value: float | None) -> float:
        """``min(0, +-(m - t) / (|m| + |t|))`` in ``[-1, 0]``; -1 when not measurable."""
        if value is None or not math.isfinite(value):
            return -1.0
        scale = abs(value) + abs(self.target)
        if scale == 0.0:
            return 0.0
        gap = (value - self.target) if self.direction == ">=" else (self.target - value)
        return float(min(0.0, gap / scale))


def load_spec_set(circuit: Circuit, split: str) -> dict[str, Any]:
    """Read the circuit's spec set for ``split`` (``train`` or ``test``).

    Example:
        >>> len(load_spec_set(Circuit.load("opamp"), "test")["entries"])
        50
    """
    if split not in circuit.spec_sets:
        raise ValueError(f"split must be one of {sorted(circuit.spec_sets)}, got {split!r}")
    data = json.loads((circuit.folder / circuit.spec_sets[split]).read_text())
    if not data.get("entries"):
        raise ValueError(f"spec set {split!r} of {circuit.name} has no entries")
    return data


def relax_round(value: float, direction: str, digits: int = 3) -> float:
    """Round to ``digits`` significant digits, towards the easier side of the spec.

    Example:
        >>> relax_round(61.237, ">="), relax_round(1.2341e-4, "<=")
        (61.2, 0.000124)
    """
    if value == 0 or not math.isfinite(value):
        return float(value)
    exponent = math.floor(math.log10(abs(value))) - (digits - 1)
    step = 10.0**exponent
    rounded = (math.floor if direction == ">=" else math.ceil)(value / step) * step
    return float(f"{rounded:.{digits}g}")


def draw_specs(
    circuit: Circuit, spec_set: Mapping[str, Any], difficulty: float, rng: np.random.Generator
) -> tuple[tuple[Spec, ...], int]:
    """Draw one entry of the spec set; return its specs at ``difficulty`` and its index.

    Example:
        >>> c = Circuit.load("opamp")
        >>> specs, i = draw_specs(c, load_spec_set(c, "train"), 0.5, np.random.default_rng(0))
        >>> [s.name for s in specs][:3]
        ['gain', 'ugbw', 'pm']
    """
    entries: Sequence[dict[str, Any]] = spec_set["entries"]
    index = int(rng.integers(len(entries)))
    entry, easy = entries[index], spec_set["easy"]
    units = {m.name: m.unit for m in circuit.measurements}
    specs = []
    for rule in circuit.spec_rules:
        if rule.metric not in entry["specs"]:
            continue
        ref, base = float(entry["reference"][rule.metric]), float(easy[rule.metric])
        better = ref > base if rule.direction == ">=" else ref < base
        target = base + difficulty * (ref - base) if better else ref
        if rule.limit is not None:  # a relaxation: still met by the reference design
            target = min(target, rule.limit) if rule.direction == ">=" else max(target, rule.limit)
        specs.append(
            Spec(
                rule.metric, relax_round(target, rule.direction), rule.direction, units[rule.metric]
            )
        )
    return tuple(specs), index


def score_specs(specs: Sequence[Spec], metrics: Mapping[str, float | None]) -> tuple[float, bool]:
    """Mean spec score in ``[-1, 0]`` and whether every spec is met.

    Example:
        >>> specs = (Spec("gain", 60.0, ">=", "dB"), Spec("power", 1e-3, "<=", "W"))
        >>> score_specs(specs, {"gain": 70.0, "power": 5e-4})
        (0.0, True)
        >>> score_specs(specs, {"gain": 70.0, "power": None})
        (-0.5, False)
    """
    if not specs:
        return 0.0, True
    scores = [s.score(metrics.get(s.name)) for s in specs]
    return float(np.mean(scores)), all(s.met(metrics.get(s.name)) for s in specs)
