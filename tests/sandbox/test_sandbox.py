"""The sandbox outside the attack matrix: levels, fail-closed, limits, pool, cleanup."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import threading

import pytest

import agent_envs.sandbox.sandbox as sandbox_module
from agent_envs.sandbox import (
    ISOLATION_LEVELS,
    IsolationError,
    Sandbox,
    SandboxLimits,
    SandboxPool,
    isolation_rank,
)

from helpers.sandbox import (
    SMALL_LIMITS,
    leftover_processes,
    level_or_skip_reason,
    start_or_skip,
)


def test_strongest_level_is_reported_from_probed_facts():
    with start_or_skip() as box:
        assert box.isolation in ISOLATION_LEVELS
        facts = box.facts
        assert facts["uid"] != 0 or box.isolation == "watchdog"
        if box.isolation.startswith("bwrap"):
            assert facts["interfaces"] == ["lo"] and facts["pid"] <= 5
        if box.isolation == "bwrap+seccomp":
            assert facts["seccomp"] == "2" and facts["no_new_privs"] == "1"


@pytest.mark.parametrize("level", ["bwrap", "rlimits", "watchdog"])
def test_weaker_levels_contain_loops_and_daemons(level):
    reason = level_or_skip_reason(level)
    if reason:
        pytest.skip(reason)
    box = Sandbox(SMALL_LIMITS, isolation=level).start()
    uids = [box.worker_uid] if box.worker_uid is not None else []
    code = (
        "import os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(1000)\n"
        "    os._exit(0)\n"
        "signal_ignored = __import__('signal').signal(14, 1)\n"
        "while True:\n    pass\n"
    )
    result = box.run(code)
    assert result.timed_out and result.restarted
    assert box.run("print(2 + 2)").output == "4\n"
    uids += [box.worker_uid] if box.worker_uid is not None else []
    box.close()
    assert leftover_processes(uids) == []


def test_min_isolation_fails_closed(monkeypatch):
    # a host without bubblewrap: empty PATH, and forget what this process already probed
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr(sandbox_module, "_UNAVAILABLE", {})
    monkeypatch.setattr(sandbox_module, "_WORKING", set())
    with pytest.raises(IsolationError, match="bwrap"):
        Sandbox(SMALL_LIMITS, min_isolation="bwrap").start()
    assert leftover_processes([]) == []


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        Sandbox(isolation="chroot")
    with pytest.raises(ValueError):
        Sandbox(isolation="rlimits", min_isolation="bwrap")
    with pytest.raises(TypeError):
        Sandbox(limits={"wall_time": 1})
    with pytest.raises(ValueError):
        SandboxLimits(memory_mb=-1)
    assert isolation_rank("bwrap") > isolation_rank("rlimits")


def test_state_persists_and_sessions_are_separate():
    with start_or_skip() as first, start_or_skip() as second:
        first.run("secret_value = 123")
        assert first.run("secret_value").output == "123\n"
        result = second.run("secret_value")
        assert "NameError" in (result.error or "")
        first.run("open('f.txt', 'w').write('mine')")
        assert "FileNotFoundError" in (second.run("open('f.txt').read()").error or "")


def test_scrubbed_environment(monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "do-not-leak")
    with start_or_skip() as box:
        output = box.run("import os\nprint(sorted(os.environ))").output
    assert "AWS_SECRET_ACCESS_KEY" not in output and "PATH" in output


@pytest.mark.usefixtures("safe_host")
def test_cpu_time_limit_ends_the_session():
    limits = SandboxLimits(wall_time=10, cpu_time=1, kill_grace=1)
    with Sandbox(limits) as box:
        result = box.run("while True:\n    pass")
        # ended by RLIMIT_CPU (the process dies), not by the 10 s wall-clock limit
        assert result.restarted and not result.ok and not result.timed_out
        assert box.run("print('again')").output == "again\n"


@pytest.mark.usefixtures("safe_host")
def test_pool_hands_out_fresh_started_sandboxes():
    with SandboxPool(1, limits=SMALL_LIMITS) as pool:
        first = pool.acquire()
        first.run("x = 1")
        second = pool.acquire()
        assert second is not first and second.isolation is not None
        assert "NameError" in (second.run("x").error or "")
        first.close()
        second.close()
    assert leftover_processes([]) == []


@pytest.mark.usefixtures("safe_host")
def test_run_from_threads():
    results = []

    def work():
        with Sandbox(SMALL_LIMITS) as box:
            results.append(box.run("print(6 * 7)").output)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["42\n", "42\n"]


def test_close_twice_and_run_after_close():
    box = start_or_skip()
    box.close()
    box.close()
    with pytest.raises(Exception, match="closed"):
        box.run("1")


@pytest.mark.usefixtures("safe_host")
def test_sandbox_dies_with_its_parent():
    script = (
        "import time\n"
        "from agent_envs.sandbox import Sandbox, SandboxLimits\n"
        "box = Sandbox(SandboxLimits(wall_time=5)).start()\n"
        "box.run(\"import subprocess; subprocess.Popen(['sleep', '1000'], start_new_session=True)\")\n"
        "print(box.worker_uid, box.isolation, flush=True)\n"
        "time.sleep(1000)\n"
    )
    env = {"PYTHONPATH": os.getcwd(), "PATH": os.environ.get("PATH", "")}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        uid, level = parent.stdout.readline().decode().split()
    finally:
        parent.kill()  # SIGKILL: no close(), no finalizer runs
        parent.wait()
        parent.stdout.close()
    if uid == "None" or not level.startswith("bwrap"):
        pytest.skip(f"host lacks a per-sandbox uid or bubblewrap (level {level}) to check this")
    assert leftover_processes([int(uid)]) == []
    # a SIGKILLed parent cannot remove its workdir: do it here (it is the uid's)
    for path in glob.glob(os.path.join(tempfile.gettempdir(), "agent-envs-sandbox-*")):
        if os.stat(path).st_uid == int(uid):
            shutil.rmtree(path)


@pytest.mark.usefixtures("safe_host")
def test_ordinary_programs_work():
    limits = SandboxLimits(wall_time=20)
    with Sandbox(limits) as box:
        code = (
            "import multiprocessing, os, tempfile\n"
            "with multiprocessing.Pool(2) as pool:\n"
            "    print(pool.map(abs, [-1, -2]))\n"
            "with tempfile.NamedTemporaryFile('w', dir='/tmp') as f:\n"
            "    f.write('scratch')\n"
            "print(open(os.path.join(os.getcwd(), 'w.txt'), 'w').write('ok'))\n"
        )
        result = box.run(code)
        assert result.ok, result.error
        assert result.output == "[1, 2]\n2\n"
