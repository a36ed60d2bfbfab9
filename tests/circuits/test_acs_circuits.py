"""Every ACS circuit folder on real ngspice: loads, simulates, meets its own specs, keeps the contract."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.circuits.backends import SubprocessBackend
from agent_envs.circuits.catalog import discover_circuits
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.env import ACSEnv
from agent_envs.circuits.netlist import render_decks
from agent_envs.core import check_text_env

# folder -> two sensible replies (valid, in range) for the contract check
ACTIONS = {
    "ota5": ["w1 = 20u\nibias = 30u", '{"l3": "2u"}'],
    "foldedcascode": ["isrc = 40u\nvcp = 1.2", '{"w1": "40u"}'],
    "telescopic": ["vcn = 2.2\nitail = 30u", '{"w5": "30u"}'],
    "threestage": ["cm1 = 5p\ncm2 = 2p", '{"w7": "300u"}'],
    "ldo": ["cc = 10p\nwp = 3m", '{"ibias": "30u"}'],
    "bandgap": ["r2 = 48k\nn = 8", '{"ibias": "8u"}'],
    "comparator": ["win = 20u\nwt = 15u", '{"wp": "8u"}'],
}
IDS = {
    "ota5": "ACS-FiveTransistorOTA-v0",
    "foldedcascode": "ACS-FoldedCascode-v0",
    "telescopic": "ACS-Telescopic-v0",
    "threestage": "ACS-ThreeStage-v0",
    "ldo": "ACS-LDO-v0",
    "bandgap": "ACS-Bandgap-v0",
    "comparator": "ACS-Comparator-v0",
}


def test_every_folder_is_registered_under_its_id():
    found = {folder: env_id for env_id, folder, _ in discover_circuits()}
    for folder, env_id in IDS.items():
        assert found.get(folder) == env_id
        assert env_id in gym.registry


@pytest.mark.parametrize("folder", sorted(IDS))
def test_defaults_simulate_and_every_metric_is_measured(folder, tmp_path):
    c = Circuit.load(folder)
    result = SubprocessBackend(c, tmp_path, timeout=30).simulate(render_decks(c, c.defaults()))
    assert result.error is None, result.error
    assert set(result.metrics) == {m.name for m in c.measurements}
    missing = [k for k, v in result.metrics.items() if v is None]
    assert not missing, f"{folder}: not measured at the defaults: {missing}"


@pytest.mark.parametrize("folder", sorted(IDS))
def test_spec_sets_are_disjoint_and_name_real_metrics(folder):
    c = Circuit.load(folder)
    sets = {s: json.loads((c.folder / f).read_text()) for s, f in c.spec_sets.items()}
    designs = {
        s: {json.dumps(e["design"], sort_keys=True) for e in d["entries"]} for s, d in sets.items()
    }
    assert not designs["train"] & designs["test"]
    metrics = {m.name for m in c.measurements}
    always = {r.metric for r in c.spec_rules if r.always}
    for data in sets.values():
        assert set(data["easy"]) == metrics
        for entry in data["entries"]:
            assert always <= set(entry["specs"]) <= metrics
            assert all(c.variable(k).contains(v) for k, v in entry["design"].items())


@pytest.mark.parametrize("folder", sorted(IDS))
def test_reference_design_meets_a_hard_spec_from_its_set(folder):
    """Draw a test-split entry at difficulty 1; its design, simulated afresh, meets every spec."""
    env = ACSEnv(circuit=folder, difficulty=1.0, split="test", backend="subprocess")
    try:
        env.reset(seed=11)
        entry = env.spec_set["entries"][env._spec_index]
        assert env.specs, "the drawn spec set is empty"
        _, reward, terminated, _, info = env.step(env.format_action(entry["design"]))
        assert info["sim_error"] == "" and info["success"] and terminated, info["metrics"]
        assert reward == pytest.approx(env.success_bonus)
        for name, value in entry["reference"].items():
            assert info["metrics"][name] == pytest.approx(value, rel=1e-3, abs=1e-9), name
    finally:
        env.close()


@pytest.mark.parametrize("folder", sorted(IDS))
def test_default_design_does_not_trivially_meet_hard_specs(folder):
    """The task is not free: over a few seeds, the default design fails some spec at difficulty 1."""
    env = ACSEnv(circuit=folder, difficulty=1.0, backend="subprocess", budget=1)
    try:
        failures = 0
        for seed in range(4):
            env.reset(seed=seed)
            info = env.step(env.format_action(env.circuit.defaults()))[4]
            failures += not info["success"]
        assert failures > 0
    finally:
        env.close()


@pytest.mark.parametrize("folder", sorted(IDS))
def test_check_text_env(folder):
    check_text_env(lambda: gym.make(IDS[folder]), ACTIONS[folder], seed=3)


def test_task_conditions_vary_per_entry_and_reach_the_deck_but_not_the_agent():
    """Conditions (load, supply) come from the spec entry, are shown, rendered, and fixed."""
    env = ACSEnv(circuit="ota5", backend="subprocess")
    try:
        seen = set()
        for seed in range(6):
            obs, info = env.reset(seed=seed)
            entry = env.spec_set["entries"][env._spec_index]
            assert info["conditions"] == entry["conditions"]
            assert "Operating conditions of this task" in obs and "cl " in obs
            seen.add(info["conditions"]["cl"])
        assert len(seen) > 1, "different entries should carry different loads"
        info = env.step("w1 = 20u")[4]
        assert info["action_valid"]
        cl = render_decks(env.circuit, env.params, env.unwrapped._conditions)[0]
        assert f"CL_dm out_dm 0 {env.unwrapped._conditions['cl']:.6e}" in cl
        info = env.step("cl = 1p")[4]  # a condition is not a design variable
        assert not info["action_valid"] and "unknown parameter" in info["action_error"]
    finally:
        env.close()


def test_conditions_are_range_checked_like_variables(tmp_path):
    from agent_envs.circuits.netlist import UnsafeDeckError

    c = Circuit.load("ota5")
    for bad in ({"cl": 1.0, "vdd": 3.0}, {"cl": 1e-12}, {"cl": float("nan"), "vdd": 3.0}):
        with pytest.raises(UnsafeDeckError):
            render_decks(c, c.defaults(), bad)
    loads = [
        SubprocessBackend(c, tmp_path, timeout=30).simulate(
            render_decks(c, c.defaults(), {"cl": cl, "vdd": 3.0})
        )
        for cl in (1e-12, 4e-12)
    ]
    # a single-stage OTA: four times the load, about a quarter of the bandwidth
    ratio = loads[0].metrics["ugbw"] / loads[1].metrics["ugbw"]
    assert 3.0 < ratio < 4.5
