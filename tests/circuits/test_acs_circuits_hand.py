"""The new ACS circuits against first-order hand analysis (square law, gm/gds, diode law).

Each check uses the level-1 parameters of the circuit's process file: ``kp = uo Cox``,
``Leff = L - 2 LD``, ``lambda(L) = lambda_ref L_ref / L``, ``gm = sqrt(2 kp W/Leff I)``,
``gds = lambda I``. Designs: the defaults and two variants per circuit, chosen by hand (before simulating)
so that every device stays saturated, the regime the formulas describe; random designs
from the spec sets often leave a cascode in triode, where no square-law formula applies.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from agent_envs.circuits.backends import SubprocessBackend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.netlist import render_decks

EPS_OX = 3.9 * 8.854e-12
VT_27C = 1.380649e-23 * 300.15 / 1.602176634e-19


class Level1:
    """Square-law small-signal numbers for one process file."""

    def __init__(self, process: dict) -> None:
        self.p = process

    def kp(self, kind: str) -> float:
        return self.p[kind]["uo"] * 1e-4 * EPS_OX / self.p[kind]["tox"]

    def gm(self, kind: str, w: float, length: float, current: float) -> float:
        leff = length - 2 * self.p[kind]["ld"]
        return math.sqrt(2 * self.kp(kind) * w / leff * current)

    def cgs(self, kind: str, w: float, length: float) -> float:
        """Saturation gate-source capacitance, 2/3 Cox W Leff."""
        leff = length - 2 * self.p[kind]["ld"]
        return 2 / 3 * EPS_OX / self.p[kind]["tox"] * w * leff

    def gds(self, kind: str, length: float, current: float) -> float:
        return self.p[kind]["lambda"] * self.p["reference_length"] / length * current


def simulate(c: Circuit, design: dict, tmp_path) -> dict:
    result = SubprocessBackend(c, tmp_path, timeout=30).simulate(render_decks(c, design))
    assert result.error is None, result.error
    return result.metrics


# hand-picked variants (overrides of the defaults), all devices saturated by construction
VARIANTS = {
    "ota5": [
        {"ibias": 50e-6, "w1": 40e-6, "l1": 2e-6, "w3": 20e-6, "l3": 2e-6},
        {"ibias": 5e-6, "w1": 5e-6, "w3": 4e-6, "l3": 1.5e-6, "w5": 4e-6, "l5": 2e-6},
    ],
    "foldedcascode": [
        {
            "itail": 40e-6,
            "isrc": 50e-6,
            "w1": 40e-6,
            "l1": 1.5e-6,
            "w3": 40e-6,
            "w5": 40e-6,
            "vcp": 1.5,
        },
        {"itail": 10e-6, "isrc": 15e-6, "l3": 2e-6, "ln": 2e-6, "w7": 5e-6, "w9": 5e-6, "vcp": 1.6},
    ],
    "telescopic": [
        {"itail": 40e-6, "w1": 40e-6, "w3": 40e-6, "w5": 40e-6, "w7": 40e-6},
        {"itail": 10e-6, "l1": 2e-6, "ln": 2e-6, "lp": 2e-6},
    ],
    "threestage": [
        {"ibias": 20e-6, "w6": 200e-6},
        {"l1": 2e-6, "l3": 2e-6, "w1": 20e-6, "w21": 20e-6, "w3": 20e-6, "w23": 20e-6},
    ],
    "ldo": [
        {"ibias": 40e-6, "wp": 4e-3, "rfb": 20e3, "cc": 10e-12},
        {"l1": 2e-6, "l3": 2e-6, "lp": 1e-6, "wp": 5e-3},
    ],
    "bandgap": [
        {"n": 4, "r1": 3e3, "r2": 40e3},
        {"n": 16, "r1": 10e3, "r2": 45e3, "wm": 40e-6},
    ],
    "comparator": [
        {"win": 20e-6, "wt": 20e-6},
        {"wn": 10e-6, "wp": 10e-6, "wr": 4e-6, "ln": 1e-6, "lp": 1e-6},
    ],
}


def designs(c: Circuit) -> list[dict]:
    return [c.defaults()] + [{**c.defaults(), **v} for v in VARIANTS[c.name]]


def db(x: float) -> float:
    return 20 * math.log10(x)


def parallel(*r: float) -> float:
    return 1.0 / sum(1.0 / x for x in r)


def hand_ota5(d: dict, p: Level1, m: dict) -> dict:
    i = d["ibias"] / 2
    gm1 = p.gm("nmos", d["w1"], d["l1"], i)
    out = {
        "gain": db(gm1 / (p.gds("nmos", d["l1"], i) + p.gds("pmos", d["l3"], i))),
        "power": 3.0 * 2 * d["ibias"],
    }
    # one dominant pole at the output: UGB = gm1 / (2 pi CL), if the mirror pole is far above
    ugbw = gm1 / (2 * math.pi * 1e-12)
    mirror = p.gm("pmos", d["w3"], d["l3"], i) / (2 * math.pi * 2 * p.cgs("pmos", d["w3"], d["l3"]))
    if mirror > 3 * ugbw:
        out["ugbw"] = ugbw
    return out


def hand_foldedcascode(d: dict, p: Level1, m: dict) -> dict:
    i1, i4 = d["itail"] / 2, d["isrc"]
    ic = i4 - i1  # each cascode branch
    gm1 = p.gm("nmos", d["w1"], d["l1"], i1)
    r_up = p.gm("pmos", d["w5"], d["l3"], ic) / p.gds("pmos", d["l3"], ic)
    r_up *= parallel(1 / p.gds("pmos", d["l3"], i4), 1 / p.gds("nmos", d["l1"], i1))
    r_dn = p.gm("nmos", d["w7"], d["ln"], ic) / p.gds("nmos", d["ln"], ic) ** 2
    out = {"gain": db(gm1 * parallel(r_up, r_dn)), "power": 3.0 * (d["itail"] + 3 * d["isrc"])}
    if m["pm"] >= 70:
        out["ugbw"] = gm1 / (2 * math.pi * 2e-12)
    return out


def hand_telescopic(d: dict, p: Level1, m: dict) -> dict:
    i = d["itail"] / 2
    gm1 = p.gm("nmos", d["w1"], d["l1"], i)
    r_dn = p.gm("nmos", d["w3"], d["ln"], i) / (
        p.gds("nmos", d["ln"], i) * p.gds("nmos", d["l1"], i)
    )
    r_up = p.gm("pmos", d["w5"], d["lp"], i) / p.gds("pmos", d["lp"], i) ** 2
    out = {"gain": db(gm1 * parallel(r_up, r_dn)), "power": 3.0 * 2 * d["itail"]}
    if m["pm"] >= 70:
        out["ugbw"] = gm1 / (2 * math.pi * 1e-12)
    return out


def hand_threestage(d: dict, p: Level1, m: dict) -> dict:
    i1 = d["ibias"] / 2
    i2 = d["ibias"] * d["w25"] / d["w5"] / 2
    i3 = d["ibias"] * d["w7"] / d["w5"]
    gm1 = p.gm("nmos", d["w1"], d["l1"], i1)
    a1 = gm1 / (p.gds("nmos", d["l1"], i1) + p.gds("pmos", d["l3"], i1))
    a2 = p.gm("nmos", d["w21"], d["l1"], i2) / (
        p.gds("nmos", d["l1"], i2) + p.gds("pmos", d["l3"], i2)
    )
    a3 = p.gm("pmos", d["w6"], d["l6"], i3) / (
        p.gds("pmos", d["l6"], i3) + p.gds("nmos", d["l5"], i3)
    )
    out = {"gain": db(a1 * a2 * a3), "power": 3.0 * (2 * d["ibias"] + 2 * i2 + i3)}
    if m["pm"] >= 60:  # the outer Miller loop sets the UGB: gm1 / (2 pi cm1)
        out["ugbw"] = gm1 / (2 * math.pi * d["cm1"])
    return out


def hand_ldo(d: dict, p: Level1, m: dict) -> dict:
    i = d["ibias"] / 2
    a_ea = p.gm("nmos", d["w1"], d["l1"], i) / (
        p.gds("nmos", d["l1"], i) + p.gds("pmos", d["l3"], i)
    )
    ip = 5e-3 + 1.8 / (3 * d["rfb"])  # load plus divider current through the pass device
    a_pass = p.gm("pmos", d["wp"], d["lp"], ip) / (p.gds("pmos", d["lp"], ip) + 1 / (3 * d["rfb"]))
    return {
        "vout": 1.8,  # 1.5 x the 1.2 V reference
        "iq": 2 * d["ibias"] + 1.8 / (3 * d["rfb"]),
        # error-amp gain x pass-device gain into (divider || ro) x divider ratio 2/3
        "loop_gain": db(a_ea * a_pass * 2 / 3),
        # line regulation is the DC supply gain: 1000 mV/V x 10^(-PSRR/20)
        "line_reg": 1e3 * 10 ** (-m["psrr"] / 20),
    }


def hand_bandgap(d: dict, p: Level1, m: dict) -> dict:
    # vref = VBE(I) + (r2/r1) VT ln n, I = VT ln n / r1, diode law with Is = 1e-16 A
    current = VT_27C * math.log(d["n"]) / d["r1"]
    vref = VT_27C * math.log(current / 1e-16) + d["r2"] / d["r1"] * VT_27C * math.log(d["n"])
    return {"vref": vref, "power": 3.0 * (3 * current + 3 * d["ibias"])}


def hand_comparator(d: dict, p: Level1, m: dict) -> dict:
    # a symmetric latch decides both polarities equally fast
    return {"delay_n": m["delay_p"]}


HAND = {
    "ota5": hand_ota5,
    "foldedcascode": hand_foldedcascode,
    "telescopic": hand_telescopic,
    "threestage": hand_threestage,
    "ldo": hand_ldo,
    "bandgap": hand_bandgap,
    "comparator": hand_comparator,
}
# metric -> (kind, tolerance): "abs" in the metric's unit, "rel" as a fraction
TOLERANCE = {
    "gain": ("abs", 5.0),  # level 1 divides gds by (1 + lambda Vds): the formula reads ~3 dB low
    "loop_gain": ("abs", 5.0),
    "power": ("rel", 0.1),
    "ugbw": ("rel", 0.2),
    "vout": ("abs", 0.01),
    "iq": ("rel", 0.05),
    "line_reg": ("rel", 0.1),
    "vref": ("rel", 0.02),
    "delay_n": ("rel", 0.02),
}


def agreement(folder: str, tmp_path) -> list[tuple[int, str, float, float]]:
    """(design index, metric, simulated, hand) for every hand-analysed metric."""
    c = Circuit.load(folder)
    rows = []
    for k, d in enumerate(designs(c)):
        m = simulate(c, d, tmp_path)
        for name, hand in HAND[folder](d, Level1(c.process), m).items():
            rows.append((k, name, m[name], hand))
    return rows


@pytest.mark.parametrize("folder", sorted(HAND))
def test_simulation_agrees_with_hand_analysis(folder, tmp_path):
    rows = agreement(folder, tmp_path)
    assert rows
    for k, name, sim, hand in rows:
        kind, tol = TOLERANCE[name]
        expected = pytest.approx(hand, abs=tol) if kind == "abs" else pytest.approx(hand, rel=tol)
        assert sim == expected, (folder, k, name, sim, hand)


def test_comparator_energy_exceeds_the_charge_it_must_move(tmp_path):
    """Energy per comparison >= VDD^2 x the capacitance charged each cycle (output load and
    the gates of one output inverter and of the losing latch side), and not far above it."""
    c = Circuit.load("comparator")
    cox = EPS_OX / c.process["nmos"]["tox"]
    for d in designs(c):
        m = simulate(c, d, tmp_path)
        gate = cox * (2e-6 * d["ln"] + 4e-6 * d["lp"] + d["wn"] * d["ln"] + d["wp"] * d["lp"])
        floor = 9.0 * (20e-15 + gate)
        assert floor < m["energy"] < 20 * floor


def test_bandgap_zero_tc_point_is_near_the_bandgap_voltage(tmp_path):
    """Sweeping r2, the lowest drift sits where vref = Eg + (XTI - 1) VT = 1.16 V at 27 C."""
    c = Circuit.load("bandgap")
    sim = SubprocessBackend(c, tmp_path, timeout=30)
    points = []
    for r2 in np.linspace(44e3, 56e3, 7):
        result = sim.simulate(render_decks(c, {**c.defaults(), "r2": float(r2)}))
        assert result.error is None
        points.append((result.metrics["tc"], result.metrics["vref"]))
    tc, vref = min(points)
    assert tc < 50
    assert vref == pytest.approx(1.11 + 2 * VT_27C, abs=0.04)


if __name__ == "__main__":  # print the agreement table of docs/envs/acs-circuits.md
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        print("| circuit | design | metric | simulated | hand | error |")
        print("| --- | --- | --- | --- | --- | --- |")
        for folder in HAND:
            for k, name, sim, hand in agreement(folder, tmp):
                kind, _ = TOLERANCE[name]
                err = (
                    f"{sim - hand:+.1f} dB"
                    if kind == "abs" and "gain" in name
                    else (f"{sim - hand:+.3g}" if kind == "abs" else f"{(sim - hand) / hand:+.0%}")
                )
                print(f"| {folder} | {k} | {name} | {sim:.4g} | {hand:.4g} | {err} |")
