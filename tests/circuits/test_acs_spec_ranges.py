"""Every shipped ACS spec set holds only physical values.

A spec entry's ``reference`` holds the measured metrics of a real design; the ``easy``
values are medians of such metrics. Each must lie in the range its unit allows: a phase
margin in (-180, 180] deg (and at least the generator's ``min_pm``), a unity-gain frequency
inside the swept band, a slew rate below twice the input step's own 5 ns ramp, a
positive power below what the supply could deliver, finite everything. Designs and
conditions lie inside their variables' ranges.
"""

from __future__ import annotations

import json
import math

import pytest

from agent_envs.circuits.circuit import CIRCUITS_DIR, Circuit

CIRCUITS = sorted(p.parent.name for p in CIRCUITS_DIR.glob("*/circuit.json"))
INPUT_EDGE_S = 5e-9  # every buffer's input step rises in 5 ns


def _in_range(m, value: float) -> bool:
    if not math.isfinite(value):
        return False
    if m.unit == "deg":
        return -180.0 < value <= 180.0
    if m.unit == "Hz":
        return 0.0 < value <= 10e9  # the AC sweeps end at 10 GHz
    if m.unit == "V/us":
        # the output follows a 5 ns input edge; an underdamped buffer may cross its 10-90 %
        # levels a little faster than the input ramp, never twice as fast
        ramp = (m.options["high"] - m.options["low"]) / INPUT_EDGE_S * 1e-6
        return 0.0 < value <= 2.0 * ramp
    if m.unit == "W":
        return 0.0 < value < 1.0
    if m.unit == "dB":
        return -400.0 < value < 400.0
    if m.unit in ("nV/rtHz", "s", "J", "ppm/K", "A"):
        return value >= 0.0
    return True


@pytest.mark.parametrize("name", CIRCUITS)
@pytest.mark.parametrize("split", ["train", "test"])
def test_spec_set_values_are_physical(name: str, split: str) -> None:
    circuit = Circuit.load(name)
    data = json.loads((circuit.folder / circuit.spec_sets[split]).read_text())
    min_pm = data["generator"].get("min_pm", -180.0)
    assert data["entries"]
    for metric, value in data["easy"].items():
        assert _in_range(circuit.measurement(metric), value), (metric, value)
    for k, entry in enumerate(data["entries"]):
        for var in circuit.variables:
            assert var.contains(entry["design"][var.name]), (k, var.name)
        for cond in circuit.conditions:
            assert cond.contains(entry.get("conditions", {}).get(cond.name, cond.default))
        for m in circuit.measurements:
            value = entry["reference"][m.name]
            assert value is not None and _in_range(m, value), (k, m.name, value)
            if m.kind == "phase_margin":
                assert value >= min_pm, (k, value)
        assert set(entry["specs"]) <= {r.metric for r in circuit.spec_rules}


def test_the_range_check_can_fail() -> None:
    pm = Circuit.load("threestage").measurement("pm")
    slew = Circuit.load("opamp").measurement("slew")
    assert not _in_range(pm, 350.0) and _in_range(pm, 60.0)
    assert not _in_range(slew, 500.0) and _in_range(slew, 50.0)  # 1 V in 5 ns: 200 V/us
