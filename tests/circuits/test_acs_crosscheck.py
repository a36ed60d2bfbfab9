"""Cross-check the ACS amplifier measurements against independent ngspice testbenches.

For every op-amp circuit and at least six designs (the default, a low dominant pole, a
ringing or lowest-margin design, a dead one, an unstable one where the design space has
one, and the first test-split reference) this file writes its *own* decks: its own
testbench text around the circuit's subcircuit, its own ``.model`` cards and junction
geometry from the circuit's data, a loop broken by a bigger inductor, a sweep ten times
denser that starts a decade lower, a transient with a ten times smaller time step, and
ngspice's own ``meas`` cards for every number. None of the project's rendering or
measurement code runs on this side. The environment's numbers (``render_decks`` +
the simulator backend, the path every ``step()`` takes) must agree: gain within 0.1 dB,
unity-gain frequency within 0.5 %, phase margin within 1 degree, slew rate within 5 %, and
"not found" exactly where the independent bench finds nothing.

A closed-loop check runs each design as a unity-gain follower with the loop closed (DC
and AC) and a small signal in series with its feedback path: the output's response there
is ``|L / (1 + L)|``, which at the unity-gain frequency is ``1 / (2 sin(PM / 2))``. It must
order the designs as their phase margins do, and imply the same margin within 3 degrees
where the input pair's gate capacitance is small against the load (see that test).

The frozen designs in ``tests/circuits/data/acs_crosscheck_designs.json`` were found by sampling
each design space for the cases above; a single-stage OTA has no unstable design in its
ranges, so its lowest-margin design stands in, and the five-transistor OTA, whose
inverting path keeps some gain in every corner of its ranges, has a "stuck" design (its
output cannot follow the step: no slew rate) in place of a dead one.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from agent_envs.circuits.backends import SubprocessBackend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.netlist import render_decks

pytestmark = pytest.mark.slow

DESIGNS = json.loads((Path(__file__).parent / "data" / "acs_crosscheck_designs.json").read_text())
ROOT = Path(__file__).resolve().parents[2] / "agent_envs" / "circuits"

#: circuit -> (buffer input step low, high) in V, as stated in docs/envs/acs-circuits.md
STEPS = {
    "opamp": (1.2, 2.2),
    "ota5": (1.25, 1.75),
    "foldedcascode": (1.25, 1.75),
    "telescopic": (1.35, 1.65),
    "threestage": (1.25, 1.75),
}
RISE_AT, FALL_AT = 0.1e-6, 2.105e-6  # PULSE(lo hi 0.1u 5n 5n 2u 4u)


def _cases() -> list[tuple[str, str]]:
    out = []
    for name in STEPS:
        out += [(name, "default"), (name, "test_reference")]
        out += [(name, kind) for kind in DESIGNS[name]]
    return out


def _design(name: str, kind: str) -> tuple[dict[str, float], dict[str, float]]:
    """(design, conditions) straight from the data files."""
    meta = json.loads((ROOT / name / "circuit.json").read_text())
    conditions = {c["name"]: float(c["default"]) for c in meta.get("conditions", [])}
    if kind == "default":
        return {v["name"]: float(v["default"]) for v in meta["variables"]}, conditions
    if kind == "test_reference":
        entry = json.loads((ROOT / name / "specs_test.json").read_text())["entries"][0]
        return dict(entry["design"]), {**conditions, **entry.get("conditions", {})}
    return dict(DESIGNS[name][kind]), conditions


# ---------------------------------------------------------------- the independent side


def _subcircuit(name: str, design: dict[str, float]) -> tuple[str, str, str]:
    """(.model cards, subcircuit text with numbers, subcircuit name) from the raw files."""
    meta = json.loads((ROOT / name / "circuit.json").read_text())
    process = json.loads((ROOT / "models" / f"{meta['process']}.json").read_text())
    cards = []
    for use in meta["models"]:
        params = dict(process[use["type"]])
        params["lambda"] = params["lambda"] * process["reference_length"] / design[use["length"]]
        body = " ".join(f"{k}={v:.10g}" for k, v in params.items())
        cards.append(f".model {use['name']} {use['type']} ({body})")
    ld = meta["diffusion_length"]
    values = dict(design)
    for key, w in design.items():
        values[f"ad_{key}"] = w * ld
        values[f"pd_{key}"] = 2 * (w + ld)
    text = (ROOT / name / meta["subcircuit"]).read_text()
    text = re.sub(r"\{([a-z0-9_]+)\}", lambda m: f"{values[m.group(1)]:.10g}", text)
    sub = re.search(r"^\.subckt (\S+)", text, re.M).group(1)
    return "\n".join(cards), text, sub


def _nodeset(name: str, template: str, node: str) -> str:
    """The project's initial guess for this testbench copy (a hint, not a measurement)."""
    for line in (ROOT / name / template).read_text().splitlines():
        if line.startswith(f".nodeset v({node})"):
            return line
    return ""


def _run_meas(deck: str) -> dict[str, float]:
    """Run a deck with its own .control block; every ``xc_*`` meas result that exists."""
    with tempfile.TemporaryDirectory(prefix="acs-xc-") as d:
        (Path(d) / "x.cir").write_text(deck)
        out = subprocess.run(
            ["ngspice", "-b", "x.cir"], cwd=d, capture_output=True, text=True, timeout=120
        ).stdout
    found = {}
    for m in re.finditer(r"^(xc_\w+)\s*=\s*([-+0-9.eE]+)", out, re.M):
        found[m.group(1)] = float(m.group(2))
    return found


def _bench(name: str, design: dict[str, float], cond: dict[str, float]) -> dict:
    cards, sub, subname = _subcircuit(name, design)
    vdd, cl = cond.get("vdd", 3.0), cond.get("cl", 2e-12)
    ac = f"""independent open-loop bench
{cards}
{sub}
Vdd vdd_dm 0 DC {vdd}
Vin inp_dm 0 DC 1.5
Xdm inp_dm inn_dm out_dm vdd_dm {subname}
Lopen out_dm inn_dm 1e21
Cinj inn_dm drive 1e9
Vdrive drive 0 DC 0 AC 1
Cload out_dm 0 {cl}
{_nodeset(name, "ac.cir", "out_dm")}
.control
ac dec 200 0.1u 10g
let mag = vdb(out_dm)
let ph = 180 / pi * cph(out_dm)
meas ac xc_gain find mag at=1e-7
meas ac xc_g1hz find mag at=1
meas ac xc_ph0 find ph at=1e-7
meas ac xc_ugf when mag=0 fall=1
meas ac xc_phu find ph when mag=0 fall=1
.endc
.end
"""
    lo, hi = STEPS[name]
    step = hi - lo
    tran = f"""independent slew bench
{cards}
{sub}
Vdd vdd_sr 0 DC {vdd}
Vin inp_sr 0 PULSE({lo} {hi} 0.1u 5n 5n 2u 4u)
Xsr inp_sr out_sr out_sr vdd_sr {subname}
Cload out_sr 0 {cl}
{_nodeset(name, "slew.cir", "out_sr")}
.control
tran 0.1n 4u 0 0.1n
meas tran xc_r10 when v(out_sr)={lo + 0.1 * step} rise=1 td={RISE_AT}
meas tran xc_r90 when v(out_sr)={lo + 0.9 * step} rise=1 td={RISE_AT}
meas tran xc_f10 when v(out_sr)={hi - 0.1 * step} fall=1 td={FALL_AT}
meas tran xc_f90 when v(out_sr)={hi - 0.9 * step} fall=1 td={FALL_AT}
.endc
.end
"""
    a = _run_meas(ac)
    at = f"meas ac xc_tu find vdb(out_dm) at={a['xc_ugf']}" if "xc_ugf" in a else ""
    follower = f"""independent follower bench
{cards}
{sub}
Vdd vdd_dm 0 DC {vdd}
Vin inp_dm 0 DC 1.5
Xdm inp_dm inn_dm out_dm vdd_dm {subname}
Vloop inn_dm out_dm DC 0 AC 1
Cload out_dm 0 {cl}
{_nodeset(name, "ac.cir", "out_dm")}
.control
ac dec 100 1k 10g
meas ac xc_peak max vdb(out_dm)
{at}
.endc
.end
"""
    t, f = _run_meas(tran), _run_meas(follower)
    out: dict = {
        "gain": a.get("xc_gain"),
        "gain_1hz": a.get("xc_g1hz"),
        "ugbw": a.get("xc_ugf"),
        "pm": None,
        "slew": None,
    }
    if "xc_ugf" in a and "xc_phu" in a and a["xc_gain"] >= 0:
        dc = 180.0 * round(a["xc_ph0"] / 180.0)  # a DC gain is real: 0 or 180 degrees
        out["pm"] = (180.0 + a["xc_phu"] - dc + 180.0) % 360.0 - 180.0
    else:
        out["ugbw"] = None
    edges = [t.get(k) for k in ("xc_r10", "xc_r90", "xc_f10", "xc_f90")]
    if None not in edges and edges[1] < FALL_AT:
        rise, fall = edges[1] - edges[0], edges[3] - edges[2]
        if rise > 0 and fall > 0:
            out["slew"] = 0.8 * step / max(rise, fall) * 1e-6
    out["peak"] = f.get("xc_peak")
    # the closed follower loop, driven in series with its feedback path: v(out) / v(loop) =
    # -L / (1 + L), at the open-loop UGF |L| = 1, so |T| = 1 / (2 sin(PM / 2))
    out["follower_at_ugf"] = None if "xc_tu" not in f else 10 ** (f["xc_tu"] / 20)
    return out


# ---------------------------------------------------------------------- the env side


def _env(name: str, design: dict[str, float], cond: dict[str, float]) -> dict:
    circuit = Circuit.load(name)
    conditions = {c.name: cond[c.name] for c in circuit.conditions}
    with tempfile.TemporaryDirectory(prefix="acs-xc-env-") as d:
        result = SubprocessBackend(circuit, d, timeout=60).simulate(
            render_decks(circuit, design, conditions or None)
        )
    assert result.error is None, result.error
    return result.metrics


_CACHE: dict[tuple[str, str], tuple[dict, dict]] = {}


def _both(name: str, kind: str) -> tuple[dict, dict]:
    if (name, kind) not in _CACHE:
        design, cond = _design(name, kind)
        _CACHE[name, kind] = (_env(name, design, cond), _bench(name, design, cond))
    return _CACHE[name, kind]


@pytest.mark.parametrize(("name", "kind"), _cases())
def test_env_agrees_with_independent_bench(name: str, kind: str) -> None:
    env, ref = _both(name, kind)
    assert ref["gain"] is not None
    if ref["gain"] < -100.0:  # no DC path at all (|H| ~ f^n at the bottom): both "none"
        assert env["gain"] < -100.0
    else:
        assert env["gain"] == pytest.approx(ref["gain"], abs=0.1)
    for metric, rel in (("ugbw", 0.005), ("slew", 0.05)):
        assert (env[metric] is None) == (ref[metric] is None), (metric, env, ref)
        if ref[metric] is not None:
            assert env[metric] == pytest.approx(ref[metric], rel=rel), metric
    assert (env["pm"] is None) == (ref["pm"] is None), (env, ref)
    if ref["pm"] is not None:
        assert -180.0 < env["pm"] <= 180.0
        diff = (env["pm"] - ref["pm"] + 180.0) % 360.0 - 180.0
        assert abs(diff) <= 1.0, (env["pm"], ref["pm"])


def test_the_cases_cover_what_they_claim() -> None:
    """Each amplifier has >= 6 designs; dead/stuck/unstable/ringing designs are what they say."""
    for name in STEPS:
        kinds = [k for n, k in _cases() if n == name]
        assert len(set(kinds)) >= 6, name
        if "dead" in kinds:
            assert _both(name, "dead")[1]["ugbw"] is None
        if "unstable" in kinds:
            assert _both(name, "unstable")[1]["pm"] < 0
        if "ringing" in kinds:
            assert 0 < _both(name, "ringing")[1]["pm"] < 40
        if "stuck" in kinds:
            assert _both(name, "stuck")[1]["slew"] is None


#: circuit -> compensation variants of the default design: (variables, conditions) to change
FAMILIES = {
    "opamp": [
        ({"cc": 0.3e-12}, {}),
        ({"cc": 0.6e-12}, {}),
        ({"cc": 2e-12}, {}),
        ({"cc": 5e-12}, {}),
    ],
    "ota5": [({}, {"cl": 0.5e-12}), ({}, {"cl": 2e-12}), ({}, {"cl": 5e-12})],
    "foldedcascode": [({}, {"cl": 0.5e-12}), ({}, {"cl": 1e-12}), ({}, {"cl": 1e-11})],
    "telescopic": [({}, {"cl": 0.5e-12}), ({}, {"cl": 2e-12}), ({}, {"cl": 5e-12})],
    "threestage": [({}, {"cl": 2e-12}), ({}, {"cl": 20e-12}), ({}, {"cl": 50e-12})],
}


def _gate_to_load(name: str, design: dict[str, float], cond: dict[str, float]) -> float:
    """The input device's gate capacitance ``2/3 W1 L1 Cox`` over the load capacitance."""
    meta = json.loads((ROOT / name / "circuit.json").read_text())
    tox = json.loads((ROOT / "models" / f"{meta['process']}.json").read_text())["nmos"]["tox"]
    cox = 3.9 * 8.854e-12 / tox
    return 2.0 / 3.0 * design["w1"] * design["l1"] * cox / cond.get("cl", 2e-12)


def _low_pole(name: str) -> tuple[dict[str, float], dict[str, float]]:
    """The issue's low-dominant-pole construction: every length 5 um, bias currents a tenth
    of the default (ibias 2 uA for the op-amp), cc 5 pF."""
    design, cond = _design(name, "default")
    for key in design:
        if key.startswith("l"):
            design[key] = 5e-6
        if key.startswith("i"):
            design[key] /= 10.0
    if "cc" in design:
        design["cc"] = 5e-12
    return design, cond


@pytest.mark.parametrize("name", list(STEPS))
def test_follower_orders_designs_as_phase_margin(name: str) -> None:
    """Closed loop: the unity-gain follower's loop response ``|L / (1 + L)|`` at the
    unity-gain frequency is ``1 / (2 sin(PM / 2))``, so it must rise as the environment's
    phase margin falls, over every design of this file (random corner cases, the default,
    the low-pole design, compensation variants), and the margin it implies agrees within 3
    deg. The open-loop margin is the standard one: its bench drives the inverting input's
    gate from an ideal source, so the input pair's gate capacitance does not load the output
    as it does in the closed loop. Where that capacitance is a sizeable part of the load
    (single-stage OTAs with large input pairs) the follower is more stable than the
    open-loop margin says (found here: 15-25 deg, and more for a gate twice the load), so
    the check takes the designs whose input gate is under 6 % of the load. The follower's AC peaking from its input does not order designs
    this way in general (a three-stage design peaks 17.8 dB at 45 deg, another 10.7 dB at
    34 deg): peaking also depends on the gain margin and on zeros of the input path.
    """
    default, cond = _design(name, "default")
    points = [(kind, *_design(name, kind)) for n, kind in _cases() if n == name]
    points.append(("low_pole", *_low_pole(name)))
    for i, (changes, cond_changes) in enumerate(FAMILIES[name]):
        points.append((f"variant{i}", {**default, **changes}, {**cond, **cond_changes}))
    stable = []
    for kind, design, conditions in points:
        if _gate_to_load(name, design, conditions) > 0.06:
            continue
        if kind in DESIGNS[name] or kind in ("default", "test_reference"):
            env, ref = _both(name, kind)
        else:
            env, ref = _env(name, design, conditions), _bench(name, design, conditions)
        if env["pm"] is not None and env["pm"] > 0 and ref["follower_at_ugf"] is not None:
            stable.append((env["pm"], ref["follower_at_ugf"], ref["peak"], kind))
            implied = math.degrees(2 * math.asin(min(1.0, 1 / (2 * ref["follower_at_ugf"]))))
            assert implied == pytest.approx(env["pm"], abs=3.0), (kind, implied, env["pm"])
    stable.sort()
    assert len(stable) >= 4, stable
    for (pm_a, t_a, _, a), (pm_b, t_b, _, b) in zip(stable, stable[1:], strict=False):
        if pm_b - pm_a > 2.0:
            assert t_a > t_b, (a, pm_a, t_a, b, pm_b, t_b)


def test_low_pole_margin_is_referenced_to_dc() -> None:
    """The issue's example (every length 5 um, ibias 2 uA, cc 5 pF): the dominant pole is
    near 1 Hz, so the gain at 1 Hz is not the DC gain and the phase there is not the DC
    phase; the environment's numbers are the DC-referenced ones of the independent bench."""
    low, cond = _low_pole("opamp")
    env, ref = _env("opamp", low, cond), _bench("opamp", low, cond)
    assert ref["gain"] - ref["gain_1hz"] > 0.5
    assert env["gain"] == pytest.approx(ref["gain"], abs=0.1)
    assert env["pm"] == pytest.approx(ref["pm"], abs=1.0)
