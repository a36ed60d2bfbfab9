"""ACS-OpAmp-v0 on real ngspice: contract, protocol, safety, supervision, backends."""

from __future__ import annotations

import json
import os
import pickle
import signal
import time

import gymnasium as gym
import numpy as np
import pytest

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.circuits.backends import ResidentBackend, SubprocessBackend
from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.env import ACSEnv
from agent_envs.circuits.netlist import UnsafeDeckError, check_deck, render_decks
from agent_envs.core import check_text_env

ACTIONS = ["cc = 2p\nibias = 30u", '{"w6": "120u", "w7": "80u"}', "rz: 5k"]


@pytest.fixture(scope="module")
def env():
    e = ACSEnv(budget=200, max_turns=400, difficulty=1.0)
    e.reset(seed=0)
    yield e
    e.close()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:  # a zombie is not alive
        return f.read().split()[2] != "Z"


def test_check_text_env_passes():
    check_text_env(lambda: gym.make("ACS-OpAmp-v0"), ACTIONS, seed=3)


def test_seeded_reset_and_rollout_are_reproducible():
    a, b = ACSEnv(backend="subprocess"), ACSEnv(backend="subprocess")
    try:
        assert a.reset(seed=7)[0] == b.reset(seed=7)[0]
        assert a.specs == b.specs
        assert a.step(ACTIONS[0])[:4] == b.step(ACTIONS[0])[:4]
        specs = {ACSEnv(backend="subprocess").reset(seed=s)[0] for s in range(6)}
        assert len(specs) > 1, "different seeds should draw different specs"
    finally:
        a.close()
        b.close()


def test_fork_is_independent_and_starts_its_own_simulator(env):
    env.reset(seed=1)
    assert not env.step(ACTIONS[0])[2], "pick a seed whose specs this design misses"
    twin = env.fork()
    try:
        assert twin.worker_pid is None  # native snapshot: no handle copied
        assert twin.params == env.params and twin.specs == env.specs and twin.turn == 1
        fresh = "cc = 1.771p\nrz = 2.9k"  # not in the (copied) cache: the fork must simulate
        out_twin = twin.step(fresh)
        assert env.turn == 1 and env.simulations == 1
        assert env.step(fresh)[:4] == out_twin[:4]
        assert twin.worker_pid not in (None, env.worker_pid)
    finally:
        twin.close()


def test_pickle_round_trip_keeps_state(env):
    env.reset(seed=2)
    env.step(ACTIONS[0])
    clone = pickle.loads(pickle.dumps(env))
    try:
        assert clone.turn == 1 and clone.params == env.params and clone.specs == env.specs
        assert clone.step(ACTIONS[2])[:4] == env.step(ACTIONS[2])[:4]
    finally:
        clone.close()


STYLES = [
    "cc = 2p\nrz = 3k",
    "cc: 2pF\nrz: 3kOhm",
    "I think more phase margin helps.\n\n```\ncc = 2e-12\nrz = 3000\n```\nDone.",
    '{"cc": 2e-12, "rz": 3000}',
    '```json\n{"cc": "2p", "rz": "3k"}\n```',
    "- `cc` = 2p\n- `rz` = 3k",
    '<tool_call>{"name": "simulate", "arguments": {"cc": "2p", "rz": "3k"}}</tool_call>',
    '{"tool_calls": [{"function": {"name": "simulate", "arguments": "{\\"cc\\": 2e-12, \\"rz\\": 3000}"}}]}',
    "CC = 2p\nRZ = 3 k",
]


@pytest.mark.parametrize("reply", STYLES)
def test_action_styles_are_understood(env, reply):
    env.reset(seed=0)
    _, _, _, _, info = env.step(reply)
    assert info["action_valid"], info["action_error"]
    assert env.params["cc"] == pytest.approx(2e-12) and env.params["rz"] == pytest.approx(3000)
    assert env.params["w1"] == env.design_space[0].default  # unnamed values kept
    assert info["cost"]["simulations"] == 1 and set(info["metrics"]) >= {"gain", "pm", "noise"}


BAD = {
    "unknown name": ("wx = 2u", "unknown parameter"),
    "missing number": ("cc = \nrz = ", "not a finite number"),
    "not a number": ("cc = lots", "not a finite number"),
    "nan": ('{"cc": "nan"}', "not a finite number"),
    "inf": ("cc = inf", "not a finite number"),
    "overflow": ("cc = 1e999", "not a finite number"),
    "too high": ("cc = 1u", "outside its range"),
    "too low": ("ibias = 1n", "outside its range"),
    "negative": ("rz = -5k", "outside its range"),
    "nested": ('{"cc": {"value": 2}}', "no parameter assignments"),
    "wrong tool": (
        '<tool_call>{"name": "run_shell", "arguments": {"cmd": "ls"}}</tool_call>',
        "unknown tool",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_inputs_are_listed_and_cost_no_simulation(env, case):
    reply, message = BAD[case]
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step(reply)
    assert not info["action_valid"] and message in info["action_error"], info["action_error"]
    assert reward == env.invalid_action_reward and info["score"] is None
    assert env.simulations == 0 and not terminated
    if message != "unknown tool":
        assert "Valid ranges:" in obs and "cc [100 fF, 20 pF]" in obs


def test_every_problem_is_listed(env):
    env.reset(seed=0)
    info = env.step("cc = 1\nwx = 3\nrz = abc")[4]
    assert info["action_error"].count(";") == 2


INJECTIONS = [
    ".control\nshell touch {sentinel}\n.endc",
    "cc = 2p\n.control\nshell touch {sentinel}\n.endc",
    'cc = 2p\n.include "{sentinel}"',
    '{{"cc": "2p\\n.control\\nshell touch {sentinel}\\n.endc"}}',
    '{{"cc": "2p shell touch {sentinel}"}}',
    '{{"cc\\n.control": 1}}',
    "rz = 3k ; shell touch {sentinel}",
    "rz = 3k\n.endc\nshell touch {sentinel}",
    '<tool_call>{{"name": "simulate", "arguments": {{"rz": "3k\\nshell touch {sentinel}"}}}}</tool_call>',
]


@pytest.mark.parametrize("template", INJECTIONS)
def test_injection_never_reaches_the_deck(env, template, tmp_path):
    sentinel = tmp_path / "pwned"
    env.reset(seed=0)
    info = env.step(template.format(sentinel=sentinel))[4]
    assert not sentinel.exists()
    for deck in env.unwrapped._last_decks:
        assert "shell" not in deck and "pwned" not in deck and ".control" not in deck
        assert ".include" not in deck
    if info["action_valid"]:  # only numbers made it through
        assert all(isinstance(v, float) for v in env.params.values())


def test_renderer_refuses_anything_but_range_checked_numbers():
    c = Circuit.load("opamp")
    good = c.defaults()
    for bad in ("2p", float("nan"), float("inf"), 1.0, True):
        with pytest.raises(UnsafeDeckError):
            render_decks(c, {**good, "cc": bad})
    with pytest.raises(UnsafeDeckError):
        render_decks(c, {**good, "extra": 1.0})
    deck = render_decks(c, good)[0]
    tmpl, n = c.testbenches[0].template, len(c.models)
    for tampered in (
        deck.replace("W=2.000000e-05", "W=2.000000e-05\n.control", 1),
        deck.replace("W=2.000000e-05", "W=2e-5 shell", 1),
        deck.replace(".op", ".include /etc/passwd"),
    ):
        with pytest.raises(UnsafeDeckError):
            check_deck(tampered, tmpl, n)


def test_killed_worker_is_restarted(env):
    env.reset(seed=0)
    env.step("cc = 2.1p")
    pid = env.worker_pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.05)
    info = env.step("cc = 2.2p")[4]
    assert info["action_valid"] and info["sim_error"] == "" and info["metrics"]["gain"] > 0
    assert env.worker_pid not in (None, pid)


def test_stopped_worker_is_retried_on_a_fresh_one_and_not_charged(env):
    """A worker that hangs from outside (SIGSTOP: it uses no CPU) is the environment's
    fault: the run is retried on a fresh worker and the turn is an ordinary simulation."""
    env.reset(seed=0)
    env.step("cc = 2.3p")
    pid = env.worker_pid
    env.sim_timeout = 1.5  # a fresh worker gets 4 * 1.5 + 2 s of wall time on a busy machine
    try:
        os.kill(pid, signal.SIGSTOP)  # a hang: the worker never answers
        obs, reward, _, _, info = env.step("cc = 2.4p")
        assert info["sim_error"] == "" and info["env_error"] == "", obs
        assert info["metrics"]["gain"] > 0 and info["cost"]["simulations"] == 2
        assert env.unwrapped._backend.faults == 1
        assert not _pid_alive(pid) and env.worker_pid not in (None, pid)
    finally:
        env.sim_timeout = 10.0
    info = env.step("cc = 2.5p")[4]
    assert info["sim_error"] == "" and info["metrics"]["gain"] > 0


def test_tiny_timeout_fails_cleanly_for_both_backends():
    for backend in ("resident", "subprocess"):
        e = ACSEnv(backend=backend, sim_timeout=1e-4)
        try:
            e.reset(seed=0)
            obs, reward, _, _, info = e.step("cc = 3p")
            assert "timeout" in info["sim_error"] and "Simulation failed" in obs
            assert reward == e.failure_reward and info["action_valid"]
        finally:
            e.close()


def test_close_leaves_no_process_and_no_files():
    e = ACSEnv()
    e.reset(seed=0)
    e.step("cc = 2p")
    pid, workdir = e.worker_pid, e._workdir
    assert pid is not None and os.path.isdir(workdir)
    e.close()
    e.close()
    assert not _pid_alive(pid) and not os.path.exists(workdir)


def test_cache_counts_against_budget():
    e = ACSEnv(budget=3, backend="subprocess")
    try:
        e.reset(seed=0)
        e.step("cc = 2p")
        _, _, _, truncated, info = e.step("cc = 2p")
        assert info["cost"] == {**info["cost"], "simulations": 2, "cache_hits": 1}
        assert not truncated
        _, _, terminated, truncated, info = e.step("cc = 2.5p")
        assert truncated and not terminated and info["cost"]["simulations"] == 3
    finally:
        e.close()


def test_reference_design_meets_its_specs_and_terminates():
    e = ACSEnv(difficulty=1.0, backend="subprocess")
    try:
        e.reset(seed=4)
        entry = e.spec_set["entries"][e._spec_index]
        _, reward, terminated, _, info = e.step(e.format_action(entry["design"]))
        assert info["success"] and terminated and info["score"] == 0.0
        assert reward == pytest.approx(e.success_bonus)
        for name, value in entry["reference"].items():
            assert info["metrics"][name] == pytest.approx(value, rel=1e-3, abs=1e-9)
    finally:
        e.close()


def test_backends_give_the_same_metrics(tmp_path):
    c = Circuit.load("opamp")
    rng = np.random.default_rng(5)
    designs = [c.defaults()] + [json.loads(json.dumps(e["design"])) for e in c_entries(c, rng, 2)]
    resident = ResidentBackend(c, tmp_path, timeout=30)
    subproc = SubprocessBackend(c, tmp_path, timeout=30)
    try:
        for design in designs:
            decks = render_decks(c, design)
            a, b = resident.simulate(decks), subproc.simulate(decks)
            assert a.error is None and b.error is None
            for name in a.metrics:
                assert a.metrics[name] == pytest.approx(b.metrics[name], rel=1e-6), name
    finally:
        resident.close()


def c_entries(c: Circuit, rng: np.random.Generator, n: int) -> list[dict]:
    entries = json.loads((c.folder / "specs_test.json").read_text())["entries"]
    return [entries[int(i)] for i in rng.choice(len(entries), n, replace=False)]


def test_async_vector_env_runs():
    envs = gym.make_vec("ACS-OpAmp-v0", 2, vectorization_mode="async")
    try:
        obs, infos = envs.reset(seed=[0, 1])
        assert all("op-amp" in o for o in obs)
        obs, rewards, term, trunc, infos = envs.step(["cc = 2p", "nonsense"])
        assert rewards[0] > -1.0 and rewards[1] == ACSEnv.invalid_action_reward
        assert "Invalid reply" in obs[1]
    finally:
        envs.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"budget": 0},
        {"budget": 2.5},
        {"difficulty": 1.5},
        {"difficulty": "hard"},
        {"split": "valid"},
        {"backend": "spice"},
        {"sim_timeout": 0},
        {"sim_timeout": float("nan")},
        {"circuit": "no_such_circuit"},
        {"circuit": 3},
        {"budget": 5, "max_turns": 2},
    ],
)
def test_bad_constructor_arguments_raise(kwargs):
    with pytest.raises((ValueError, TypeError)):
        ACSEnv(**kwargs)


def test_public_api_names():
    e = ACSEnv(backend="subprocess")
    e.reset(seed=0)
    v = e.design_space[0]
    assert (v.name, v.unit, v.log) == ("w1", "m", True) and v.low < v.default < v.high
    assert {s.direction for s in e.specs} <= {">=", "<="} and all(s.unit for s in e.specs)
    reply = e.format_action({"cc": 3e-12, "w1": 25e-6})
    assert e.step(reply)[4]["action_valid"] and e.params["w1"] == 25e-6
    e.close()
