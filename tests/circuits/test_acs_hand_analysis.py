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
    # Miller zero with the nulling resistor: far from the UGB, gm1/Cc gives the UGB
    zero_gap = abs(1 / gm6 - d["rz"]) * d["cc"]
    far_zero = zero_gap == 0 or 1 / (2 * math.pi * zero_gap) > 3 * gm1 / (2 * math.pi * d["cc"])
    return {
        "far_zero": far_zero,
        "gain": 20 * math.log10(a1 * a2),
        "ugbw": gm1 / (2 * math.pi * d["cc"]),
        "power": 3.0 * (2 * d["ibias"] + i7),
        "slew": min(d["ibias"] / d["cc"], i7 / (C_LOAD + d["cc"])) * 1e-6,
        "icmr_ok": icmr_ok,
        # I5/Cc is the textbook slew rate when the second stage has current to spare,
        # and the 2 us half-period testbench can see it when the 0.8 V edge fits in it
        "first_stage_slew": i7 / (C_LOAD + d["cc"]) >= 2 * d["ibias"] / d["cc"]
        and d["ibias"] / d["cc"] * 1e-6 >= 0.6,
    }


def designs(c: Circuit, n: int = 50) -> list[dict]:
    entries = json.loads((c.folder / "specs_test.json").read_text())["entries"]
    return [c.defaults()] + [e["design"] for e in entries[:n]]


def test_simulation_agrees_with_hand_analysis(tmp_path):
    c = Circuit.load("opamp")
    sim = SubprocessBackend(c, tmp_path, timeout=30)
    compared = {"gain": 0, "ugbw": 0, "slew": 0}
    for design in designs(c):
        m = sim.simulate(render_decks(c, design)).metrics
        hand = hand_analysis(c, design)
        if not hand["icmr_ok"]:  # a device leaves saturation: the formulas do not apply
            continue
        compared["gain"] += 1
        assert abs(m["gain"] - hand["gain"]) < 4.5, (m["gain"], hand["gain"])
        assert m["power"] == pytest.approx(hand["power"], rel=0.1)
        # gm1/Cc holds when the non-dominant poles and the zero are far from the UGB
        if m["pm"] >= 60 and hand["far_zero"]:
            compared["ugbw"] += 1
            assert m["ugbw"] == pytest.approx(hand["ugbw"], rel=0.35)
        if hand["first_stage_slew"]:
            compared["slew"] += 1
            assert m["slew"] == pytest.approx(hand["slew"], rel=0.5)
    assert compared["gain"] >= 15 and min(compared.values()) >= 3, compared
