"""Faults outside the design are the environment's: retried once on a fresh worker, then
reported in ``info["env_error"]`` without spending the budget; design failures are
still charged; an orphaned worker exits as soon as its parent dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from agent_envs.circuits.backends import ResidentBackend
from agent_envs.circuits.env import ACSEnv


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _every_new_worker_gets(monkeypatch, sig: signal.Signals) -> list[int]:
    """Send ``sig`` to each worker right after it starts (a real process, a real signal)."""
    started: list[int] = []
    real_start = ResidentBackend._start

    def start(self):
        real_start(self)
        started.append(self._child.pid)
        os.kill(self._child.pid, sig)

    monkeypatch.setattr(ResidentBackend, "_start", start)
    return started


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")


def test_a_worker_killed_twice_is_an_environment_error_that_costs_nothing(monkeypatch):
    env = ACSEnv(budget=3)
    try:
        env.reset(seed=0)
        started = _every_new_worker_gets(monkeypatch, signal.SIGKILL)
        obs, reward, terminated, truncated, info = env.step("cc = 2p")
        assert "killed (SIGKILL)" in info["env_error"] and "retried on a fresh worker" in obs
        assert reward == 0.0 and info["score"] is None and info["sim_error"] == ""
        assert info["cost"]["simulations"] == 0 and env.simulations == 0
        assert info["action_valid"] and not (terminated or truncated)
        assert len(started) >= 2 and not any(_alive(pid) for pid in started)
        monkeypatch.undo()
        info = env.step("cc = 2p")[4]  # the same design now simulates, charged once
        assert info["env_error"] == "" and info["metrics"]["gain"] > 0
        assert info["cost"]["simulations"] == 1 and info["cost"]["cache_hits"] == 0
    finally:
        env.close()


def test_a_crash_inside_the_simulator_twice_is_charged_to_the_design(monkeypatch):
    """SIGSEGV is how a simulator crash ends a worker, which a design can cause: after
    the retry crashes too, the turn is a failed simulation (charged, -1)."""
    env = ACSEnv(budget=3)
    try:
        env.reset(seed=0)
        _every_new_worker_gets(monkeypatch, signal.SIGSEGV)
        obs, reward, *_, info = env.step("cc = 2p")
        assert "crashed (SIGSEGV)" in info["sim_error"] and "twice" in info["sim_error"]
        assert info["env_error"] == "" and reward == env.failure_reward
        assert info["cost"]["simulations"] == 1
    finally:
        env.close()


def test_a_design_that_uses_its_cpu_time_is_a_charged_timeout():
    env = ACSEnv(budget=3, sim_timeout=0.002)  # every run needs more CPU than this
    try:
        env.reset(seed=0)
        obs, reward, *_, info = env.step("cc = 2p")
        assert "timeout" in info["sim_error"] and "CPU" in info["sim_error"]
        assert reward == env.failure_reward and info["env_error"] == ""
        assert info["cost"]["simulations"] == 1 and env.unwrapped._backend.faults == 0
    finally:
        env.close()


_ORPHAN = """
import sys, time
from agent_envs.circuits.backends import ResidentBackend
from agent_envs.circuits.circuit import Circuit
backend = ResidentBackend(Circuit.load("opamp"), sys.argv[1], remove_workdir_if_orphaned=True)
backend._start()
print(backend.pid, flush=True)
time.sleep(300)
"""


def test_an_orphaned_worker_exits_with_its_parent_and_removes_its_workdir(tmp_path):
    """The worker's watcher wakes on the parent's exit (pidfd, hang-up of the channel,
    the parent-death signal): it goes within seconds, taking the directory made for it."""
    workdir = tmp_path / "acs-owned"
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    parent = subprocess.Popen(
        [sys.executable, "-c", _ORPHAN, str(workdir)], stdout=subprocess.PIPE, env=env
    )
    try:
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        parent.kill()
        parent.wait(timeout=10)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.05)
        assert not _alive(worker), "the orphan did not exit"
        assert not workdir.exists(), "the orphan did not remove its working directory"
    finally:
        parent.kill()
        if "worker" in locals() and _alive(worker):
            os.kill(worker, signal.SIGKILL)


@pytest.mark.parametrize(
    ("script", "infrastructure", "message"),
    [
        ("kill -KILL $$", True, "ngspice was killed (SIGKILL); retried: ngspice was killed"),
        ("exit 3", False, "ngspice exited with status 3"),
    ],
)
def test_subprocess_backend_tells_a_killed_ngspice_from_a_failing_one(
    tmp_path, script, infrastructure, message
):
    from agent_envs.circuits.backends import SubprocessBackend
    from agent_envs.circuits.circuit import Circuit
    from agent_envs.circuits.netlist import render_decks

    program = tmp_path / "ngspice"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(0o755)
    c = Circuit.load("opamp")
    sim = SubprocessBackend(c, tmp_path, timeout=30)
    sim.executable = str(program)
    result = sim.simulate(render_decks(c, c.defaults()))
    assert result.metrics is None and result.infrastructure is infrastructure
    assert message in result.error
