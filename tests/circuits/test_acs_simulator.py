"""The ngspice backends on their own: failures, memory, and a circuit folder made here."""

from __future__ import annotations

import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_envs.circuits.backends import ResidentBackend, SubprocessBackend
from agent_envs.circuits.circuit import CIRCUITS_DIR, Circuit
from agent_envs.circuits.netlist import render_decks
from agent_envs.circuits.protocol import parse_action


def _broken_circuit(tmp_path):
    """A copy of the op-amp whose AC testbench has two fighting voltage sources."""
    folder = tmp_path / "broken"
    shutil.copytree(CIRCUITS_DIR / "opamp", folder)
    deck = (folder / "ac.cir").read_text()
    deck = deck.replace("Vdd_dm vdd_dm 0 DC 3\n", "Vdd_dm vdd_dm 0 DC 3\nVfight vdd_dm 0 DC 1\n")
    (folder / "ac.cir").write_text(deck)
    meta = json.loads((folder / "circuit.json").read_text())
    meta["id"] = "ACS-Broken-v0"
    (folder / "circuit.json").write_text(json.dumps(meta))
    return Circuit.load(folder)


@pytest.mark.parametrize("backend_cls", [ResidentBackend, SubprocessBackend])
def test_failed_run_is_reported_and_the_next_run_works(tmp_path, backend_cls):
    broken, good = _broken_circuit(tmp_path), Circuit.load("opamp")
    work = tmp_path / "work"
    work.mkdir()
    sim = backend_cls(broken, work, timeout=30)
    try:
        result = sim.simulate(render_decks(broken, broken.defaults()))
        assert result.metrics is None and result.error, result
        sim.circuit = good
        again = sim.simulate(render_decks(good, good.defaults()))
        assert again.error is None and again.metrics["gain"] > 40
    finally:
        sim.close()


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.slow
def test_resident_memory_stays_flat(tmp_path):
    c = Circuit.load("opamp")
    sim = ResidentBackend(c, tmp_path, timeout=30)
    try:
        designs = [{**c.defaults(), "cc": 1e-12 * (1 + i / 400)} for i in range(400)]
        for d in designs[:100]:
            assert sim.simulate(render_decks(c, d)).error is None
        before = _rss_kb(sim.pid)
        for d in designs[100:]:
            sim.simulate(render_decks(c, d))
        growth = _rss_kb(sim.pid) - before
        # without destroy + remcirc this grows by ~50 KB per run (15 MB here)
        assert growth < 3000, f"worker grew by {growth} KB over 300 runs"
    finally:
        sim.close()


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_parse_action_never_raises(text):
    c = Circuit.load("opamp")
    values, problems = parse_action(text, c.variables)
    assert bool(values) != bool(problems)
    for name, value in values.items():
        assert c.variable(name).contains(value)


def test_worker_dies_with_its_parent(tmp_path):
    """A worker whose supervisor is SIGKILLed (no close()) exits by itself.

    An idle worker sees EOF on its stdin; a busy one is ended by its parent watchdog;
    either way it removes the environment's temp dir, which the killed parent could not.
    """
    import os
    import subprocess
    import sys
    import time

    script = (
        "import sys\n"
        "from agent_envs.circuits.env import ACSEnv\n"
        "env = ACSEnv(); env.reset(seed=0); env.step('cc = 2p')\n"
        "print(env.worker_pid, env._workdir, flush=True)\n"
        "import time; time.sleep(60)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        pid_text, workdir = parent.stdout.readline().split()
        pid = int(pid_text)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        assert not _alive(pid), "the ngspice worker outlived its parent"
        assert not os.path.exists(workdir), "the killed environment's temp dir was left"
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_missing_ngspice_program_is_a_failed_simulation_not_a_crash(tmp_path):
    c = Circuit.load("opamp")
    sim = SubprocessBackend(c, tmp_path, timeout=5)
    sim.executable = str(tmp_path / "no-such-ngspice")
    result = sim.simulate(render_decks(c, c.defaults()))
    assert result.metrics is None and "could not run" in result.error


def test_worker_that_cannot_start_is_a_failed_simulation(tmp_path, monkeypatch):
    c = Circuit.load("opamp")
    sim = ResidentBackend(c, tmp_path, timeout=5)
    monkeypatch.setattr("sys.executable", "/bin/false")  # exits at once, says nothing
    try:
        result = sim.simulate(render_decks(c, c.defaults()))
    finally:
        sim.close()
    assert result.metrics is None and "did not start" in result.error
