"""The op-amp testbench against textbook hand analysis (square law, gm/gds)."""

from __future__ import annotations

import json
import math

import pytest

from agent_envs.circuits.backends import SubprocessBackend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.netlist import render_decks

EPS_OX = 3.9 * 8.854e-12
C_LOAD = 2e-12


def hand_analysis(c: Circuit, d: dict) -> dict:
    """Two-stage op-amp first-order formulas (e.g. Allen & Holberg ch. 6, Razavi ch. 10)."""
    proc = c.process

    def kp(kind):
        return proc[kind]["uo"] * 1e-4 * EPS_OX / proc[kind]["tox"]

    def lam(kind, length):
        return proc[kind]["lambda"] * proc["reference_length"] / length

    def leff(kind, length):
        return length - 2 * proc[kind]["ld"]

    i1, i7 = d["ibias"] / 2, d["ibias"] * d["w7"] / d["w5"]
    vov1 = math.sqrt(2 * i1 / (kp("nmos") * d["w1"] / leff("nmos", d["l1"])))
    vdsat5 = math.sqrt(2 * d["ibias"] / (kp("nmos") * d["w5"] / leff("nmos", d["l5"])))
    # the buffer's low input level (1.2 V) must leave the tail source saturated;
    # 0.9 V is VT0 plus a typical body-effect shift for a source near 0.3-0.5 V
    icmr_ok = 1.2 - (0.9 + vov1) >= vdsat5
    gm1 = math.sqrt(2 * kp("nmos") * d["w1"] / leff("nmos", d["l1"]) * i1)
    gm6 = math.sqrt(2 * kp("pmos") * d["w6"] / leff("pmos", d["l6"]) * i7)
    a1 = gm1 / ((lam("nmos", d["l1"]) + lam("pmos", d["l3"])) * i1)
    a2 = gm6 / ((lam("pmos", d["l6"]) + lam("nmos", d["l5"])) * i7)
    return {
        "gain": 20 * math.log10(a1 * a2),
        "ugbw": gm1 / (2 * math.pi * d["cc"]),
        "power": 3.0 * (2 * d["ibias"] + i7),
        "slew": min(d["ibias"] / d["cc"], i7 / (C_LOAD + d["cc"])) * 1e-6,
        "icmr_ok": icmr_ok,
    }


def designs(c: Circuit, n: int = 4) -> list[dict]:
    entries = json.loads((c.folder / "specs_test.json").read_text())["entries"]
    return [c.defaults()] + [e["design"] for e in entries[:n]]


@pytest.mark.parametrize("index", range(5))
def test_simulation_agrees_with_hand_analysis(tmp_path, index):
    c = Circuit.load("opamp")
    design = designs(c)[index]
    sim = SubprocessBackend(c, tmp_path, timeout=30).simulate(render_decks(c, design))
    hand = hand_analysis(c, design)
    m = sim.metrics
    assert abs(m["gain"] - hand["gain"]) < 5.0, (m["gain"], hand["gain"])
    assert m["power"] == pytest.approx(hand["power"], rel=0.2)
    # gm1/Cc holds when the non-dominant poles are well above the UGB
    if m["pm"] >= 70:
        assert m["ugbw"] == pytest.approx(hand["ugbw"], rel=0.25)
    # I/C slewing holds while the input pair stays inside its common-mode range
    if hand["icmr_ok"]:
        assert m["slew"] == pytest.approx(hand["slew"], rel=0.35)
