"""Attack tests of issue 12: fail closed, per-session limits, framing, hijacking, cleanup.

Each test asserts containment on the machine it runs on (CI: root, Debian, bubblewrap).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import agent_envs.sandbox.process as process_module
import agent_envs.sandbox.sandbox as sandbox_module
from agent_envs.sandbox import (
    SAFE_LEVELS,
    InsecureSandboxWarning,
    IsolationError,
    Sandbox,
    SandboxLimits,
)
from agent_envs.sandbox.process import FrameBuffer
from agent_envs.sandbox.workdirs import remove_tree, sweep_stale_workdirs

from helpers.sandbox import (
    SMALL_LIMITS,
    leftover_processes,
    start_or_skip,
)

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture
def box():
    sandbox = start_or_skip()
    yield sandbox
    uid = sandbox.worker_uid
    sandbox.close()
    assert leftover_processes([uid] if uid is not None else []) == []


def _still_works(box: Sandbox) -> None:
    result = box.run("1 + 1")
    assert result.ok and result.output == "2\n", result


# ------------------------------------------------------------------ fail closed
def test_default_is_a_safe_level_or_a_refusal():
    try:
        with Sandbox(SMALL_LIMITS) as box:
            assert box.isolation in SAFE_LEVELS
    except IsolationError as exc:  # a host without bubblewrap: refused, with the fix
        assert "apt-get install bubblewrap" in str(exc) and "min_isolation" in str(exc)


def test_without_bubblewrap_it_refuses_then_warns_once_on_opt_in(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")  # a container without bwrap
    monkeypatch.setattr(sandbox_module, "_UNAVAILABLE", {})
    monkeypatch.setattr(sandbox_module, "_WORKING", set())
    monkeypatch.setattr(sandbox_module, "_WARNED", set())
    with pytest.raises(IsolationError) as refused:
        Sandbox(SMALL_LIMITS).start()
    text = str(refused.value)
    assert "apt-get install bubblewrap" in text and "min_isolation='rlimits'" in text
    assert leftover_processes([]) == []  # nothing ran
    with pytest.warns(InsecureSandboxWarning, match="NOT isolate"):
        first = Sandbox(SMALL_LIMITS, min_isolation="watchdog").start()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second one would raise here
        second = Sandbox(SMALL_LIMITS, isolation="watchdog").start()
    assert first.isolation == second.isolation == "watchdog"
    assert first.run("6 * 7").output == "42\n"
    first.close()
    second.close()


# ---------------------------------------------------------------------- framing
@settings(max_examples=60, deadline=None)
@given(
    depth=st.integers(min_value=0, max_value=200_000),
    opener=st.sampled_from(["[", '{"a":', "[{}, ", '{"a":[']),
    tail=st.binary(max_size=64),
    declared=st.one_of(st.none(), st.integers(min_value=0, max_value=2**32 - 1)),
)
def test_frame_buffer_only_raises_value_error(depth, opener, tail, declared):
    body = opener.encode() * depth + tail
    size = len(body) if declared is None else declared
    try:
        frames = FrameBuffer().feed(struct.pack(">I", size) + body)
    except ValueError:
        return
    assert all(isinstance(f, dict) for f in frames)


@pytest.mark.parametrize(
    "payload",
    [
        "b'[' * 200_000",  # deep nesting: RecursionError in json
        "b'\\xff\\xfe\\xfd'",  # not UTF-8
        "b'[1, 2, 3]'",  # not an object
        "b'{\"token\": ' + b'{' * 50_000",  # nested and unterminated
    ],
)
def test_malformed_frames_restart_the_session(box, payload):
    code = (
        "import os, struct, sys, time\n"
        f"body = {payload}\n"
        "os.write(int(sys.argv[2]), struct.pack('>I', len(body)) + body)\n"
        "time.sleep(0.5)\n"
    )
    result = box.run(code)  # must not raise
    assert result.restarted and "protocol" in (result.error or ""), result
    _still_works(box)


def test_oversized_and_truncated_frames(box):
    result = box.run(
        "import os, sys\nos.write(int(sys.argv[2]), b'\\xff\\xff\\xff\\xff')\nimport time\ntime.sleep(0.5)"
    )
    assert result.restarted
    result = box.run(
        "import os, sys\nos.write(int(sys.argv[2]), b'\\x00\\x00\\x10\\x00{')\nos._exit(0)"
    )
    assert result.restarted and not result.ok
    _still_works(box)


# ------------------------------------------------------------------- hijacking
@pytest.mark.parametrize(
    "patch",
    [
        "import builtins\nbuiltins.bool = lambda *a: False",
        "import builtins\nbuiltins.isinstance = lambda *a: False\nbuiltins.repr = lambda o: 'forged'",
        "import builtins\nbuiltins.compile = None\nbuiltins.str = None",
        "import json\njson.loads = lambda *a, **k: {'op': 'exec', 'seq': 0, 'code': 'print(\"hijacked\")'}",
        "import json\njson.dumps = lambda *a, **k: 'forged'",
        "import os\nos.read = lambda *a: b''\nos.write = lambda *a: 0\nos._exit = None",
        "import ast, traceback\nast.parse = None\ntraceback.format_exception = None",
        "import __main__\n__main__.__dict__.clear()",
        "import sys\nsys.modules['__main__'] = None",
    ],
)
def test_patched_builtins_and_modules_do_not_reach_later_cells(box, patch):
    assert box.run(patch).ok
    result = box.run("6 * 7")
    assert result.output == "42\n" and result.ok and not result.restarted, result
    failing = box.run("1 / 0")
    assert "ZeroDivisionError" in (failing.error or ""), failing


# ---------------------------------------------------------------- exit statuses
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("import os\nos._exit(3)", "exit status 3"),
        ("import ctypes\nctypes.string_at(0)", "SIGSEGV"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "SIGKILL"),
    ],
)
def test_exit_statuses_are_readable(box, code, expected):
    result = box.run(code)
    assert result.restarted and expected in (result.error or ""), result
    assert "None" not in (result.error or "")
    _still_works(box)


# ------------------------------------------------------------ per-session limits
@pytest.mark.parametrize("mechanism", ["cgroup where available", "watchdog"])
@pytest.mark.usefixtures("safe_host")
def test_memory_is_limited_for_the_whole_session(monkeypatch, mechanism):
    if mechanism == "watchdog":  # as on a host that cannot create cgroups
        monkeypatch.setattr(process_module, "create_session_cgroup", lambda *a: None)
    limits = SandboxLimits(wall_time=20, memory_mb=300, nproc=32)
    with Sandbox(limits) as box:
        if mechanism == "watchdog":
            assert "watchdog" in box.enforced_limits["memory"]
        code = (
            "import multiprocessing as mp\n"
            "def hold(q):\n"
            "    block = bytearray(150 * 1024 * 1024)\n"
            "    block[::4096] = b'x' * len(block[::4096])\n"  # touch every page
            "    q.put('done')\n"
            "    import time; time.sleep(3)\n"
            "q = mp.Queue()\n"
            "ps = [mp.Process(target=hold, args=(q,)) for _ in range(4)]\n"
            "[p.start() for p in ps]\n"
            "[p.join() for p in ps]\n"
            "print('codes', [p.exitcode for p in ps])\n"
        )
        result = box.run(code)
        held = result.output.count("done")
        # four processes under the per-process cap would hold 600 MiB together
        assert not (result.ok and "codes [0, 0, 0, 0]" in result.output), result
        assert held * 150 <= 300 + 150, result  # never all of them at once
        _still_works(box)


def test_disk_is_limited_for_the_whole_session(box):
    code = (
        "import os\n"
        "written = 0\n"
        "for d in ('.', '/tmp', '/dev/shm'):\n"
        "    for i in range(40):\n"
        "        try:\n"
        "            with open(os.path.join(d, f'f{i}'), 'wb') as f:\n"
        "                f.write(b'0' * 7 * 1024 * 1024)\n"
        "            written += 7\n"
        "        except OSError as e:\n"
        "            print(d, type(e).__name__, e.errno)\n"
        "            break\n"
        "print('MiB', written)\n"
    )
    result = box.run(code)
    written = int(result.output.split("MiB")[-1])
    cap = box.limits.disk_mb + 2 * box.limits.tmpfs_mb
    assert written <= cap, result.output
    assert result.output.count("OSError 28") == 3, result.output  # ENOSPC in each
    _still_works(box)


def test_process_count_is_limited_for_the_whole_session(box):
    code = (
        "import subprocess\n"
        "started, refused = [], ''\n"
        "for _ in range(200):\n"
        "    try:\n"
        "        started.append(subprocess.Popen(['sleep', '30']))\n"
        "    except OSError as e:\n"
        "        refused = type(e).__name__\n"
        "        break\n"
        "print(len(started), refused)\n"
    )
    count, refused = box.run(code).output.split()
    assert int(count) < box.limits.nproc and refused == "BlockingIOError", (count, refused)
    _still_works(box)


def test_leftover_processes_end_with_their_cell(box):
    start = (
        "import subprocess, os\n"
        "subprocess.Popen(['sleep', '1000'])\n"
        "w = subprocess.Popen(['sh', '-c', 'while :; do echo x >> grow.txt; done'])\n"
        "import time; time.sleep(0.2)\n"
    )
    assert box.run(start).ok
    check = (
        "import os, time\n"
        "size = os.path.getsize('grow.txt')\n"
        "time.sleep(0.3)\n"
        "names = []\n"
        "for p in os.listdir('/proc'):\n"
        "    try:\n"
        "        names.append(open(f'/proc/{p}/comm').read().strip())\n"
        "    except OSError:\n"
        "        pass\n"
        "print(os.path.getsize('grow.txt') == size, 'sleep' in names, 'sh' in names)\n"
    )
    assert box.run(check).output == "True False False\n"


def test_processes_may_be_kept_when_asked():
    with start_or_skip(end_leftovers=False) as box:
        box.run("import subprocess\np = subprocess.Popen(['sleep', '1000'])")
        assert box.run("p.poll()").output == ""  # still running: None is not echoed
        box.reset()  # a new session ends everything
        listing = "import os\nprint(sum(open(f'/proc/{p}/comm').read().strip() == 'sleep' for p in os.listdir('/proc') if p.isdigit()))"
        assert box.run(listing).output == "0\n"


def test_enforced_limits_are_reported(box):
    report = box.enforced_limits
    assert set(report) == {"memory", "processes", "cpu", "wall_time", "disk"}
    assert "tmpfs" in report["disk"]


# -------------------------------------------------------------- recycled sessions
def test_reset_recycles_the_sandbox_instead_of_starting_one(box):
    worker = box._worker
    box.run("x = 1")
    box.reset()
    assert box._worker is worker and box.run("'x' in dir()").output == "False\n"


def test_reset_leaves_nothing_of_the_last_session(box):
    # what a fresh session sees: empty, but for the parents of the interpreter's bind
    # mount when it lives under /tmp (a checkout under /tmp, as in CI)
    fresh = box.run("import os; print(os.listdir('.'), sorted(os.listdir('/tmp')))").output
    skeleton = [name for name in os.listdir("/tmp") if sys.executable.startswith(f"/tmp/{name}/")]
    assert fresh == f"[] {sorted(skeleton)}\n"
    box.run(
        "import os, subprocess\n"
        "secret = 1\n"
        "open('a', 'w').write('x')\n"
        "open('/tmp/b', 'w').write('x')\n"
        "os.mkdir('locked'); open('locked/c', 'w').write('x'); os.chmod('locked', 0)\n"
        "[open(f'/tmp/{n}/planted', 'w').write('x') for n in os.listdir('/tmp') if n != 'b']\n"
    )
    box.reset()
    code = (
        "import os\n"
        "print(os.listdir('.'), sorted(os.listdir('/tmp')), 'secret' in dir())\n"
        "print(sorted(os.listdir('/proc/self/fd')))\n"
        "print([p for n in os.listdir('/tmp') for p in os.listdir(f'/tmp/{n}') if p == 'planted'])\n"
    )
    lines = box.run(code).output.splitlines()
    assert lines[0] == f"[] {sorted(skeleton)} False"
    assert lines[2] == "[]"  # files planted inside the kept skeleton are gone too
    fds = json.loads(lines[1].replace("'", '"'))
    assert len(fds) <= 6, fds  # stdin/out/err, commands, results (+ the listing's own)


def test_the_session_cannot_touch_its_zygote(box):
    code = (
        "import os\n"
        "for path in (f'/proc/{os.getppid()}/mem', f'/proc/{os.getppid()}/environ'):\n"
        "    try:\n"
        "        open(path, 'rb').read(16)\n"
        "        print('read', path)\n"
        "    except OSError as e:\n"
        "        print('refused', type(e).__name__)\n"
    )
    result = box.run(code)
    assert result.output.count("refused") == 2, result.output


def test_sysv_ipc_is_refused_under_seccomp(box):
    if box.isolation != "bwrap+seccomp":
        pytest.skip(f"no seccomp filter at level {box.isolation}")
    code = "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\nprint(libc.shmget(0, 4096, 0o1666), ctypes.get_errno())"
    assert box.run(code).output.split() == ["-1", "1"]


# ---------------------------------------------------------------- what is exposed
def test_shipped_answers_are_not_readable(box):
    data = PROJECT / "agent_envs" / "math" / "data" / "sample_problems.jsonl"
    assert data.exists()
    code = (
        "import os, sys\n"
        f"for p in [{str(data)!r}] + [os.path.join(e, 'agent_envs') for e in sys.path]:\n"
        "    try:\n"
        "        print(p, os.listdir(p) if os.path.isdir(p) else open(p).read()[:20])\n"
        "    except OSError as e:\n"
        "        pass\n"
        "try:\n"
        "    import agent_envs\n"
        "    print('imported', agent_envs.__path__)\n"
        "except ImportError:\n"
        "    print('no agent_envs')\n"
    )
    result = box.run(code)
    assert "no agent_envs" in result.output and "answer" not in result.output, result.output
    assert "[]" not in result.output or "agent_envs []" in result.output


@pytest.mark.slow
@pytest.mark.usefixtures("safe_host")
def test_an_installed_copy_of_the_package_is_masked(tmp_path):
    """A normal (non-editable) install puts the data in site-packages, which is bound."""
    site = tmp_path / "venv" / "lib" / "site-packages"
    shutil.copytree(
        PROJECT / "agent_envs", site / "agent_envs", ignore=shutil.ignore_patterns("__pycache__")
    )
    data = site / "agent_envs" / "math" / "data" / "sample_problems.jsonl"
    probe = f"print(open({str(data)!r}).read()[:40])"
    script = (
        "from agent_envs.sandbox import Sandbox, SandboxLimits\n"
        "import agent_envs\n"
        f"assert agent_envs.__file__.startswith({str(site)!r}), agent_envs.__file__\n"
        "with Sandbox(SandboxLimits(wall_time=10)) as box:\n"
        "    print(box.isolation)\n"
        f"    print(box.run({probe!r}).error is not None)\n"
        "    print(box.run('import sympy; print(sympy.Integer(6) * 7)').output.strip())\n"
    )
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(site)}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    level, refused, sympy_ok = done.stdout.split("\n")[:3]
    assert level in SAFE_LEVELS, level  # the default, fail-closed level
    assert refused == "True" and sympy_ok == "42"  # the data is hidden, the packages are not


# ---------------------------------------------------------------------- cleanup
def test_close_never_follows_symlinks(tmp_path):
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    victim = victim_dir / "file"
    victim.write_text("keep")
    victim.chmod(0o400)
    victim_dir.chmod(0o500)
    tree = tmp_path / "work"
    (tree / "ro").mkdir(parents=True)
    os.symlink(victim, tree / "ro" / "to_file")
    os.symlink(victim_dir, tree / "ro" / "to_dir")
    os.symlink(victim_dir, tree / "to_dir")
    (tree / "ro").chmod(0o500)
    tree.chmod(0o500)
    remove_tree(str(tree))
    assert not tree.exists()
    assert stat.S_IMODE(victim.stat().st_mode) == 0o400 and victim.read_text() == "keep"
    assert stat.S_IMODE(victim_dir.stat().st_mode) == 0o500
    victim_dir.chmod(0o700)


def test_stale_workdirs_of_dead_processes_are_swept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    ticks = 12345
    stale = tmp_path / f"agent-envs-sandbox-{dead.pid}-{ticks}-abc"
    (stale / "sub").mkdir(parents=True)
    os.symlink("/etc/passwd", stale / "sub" / "link")
    mine = tmp_path / f"agent-envs-sandbox-{os.getpid()}-{_ticks(os.getpid())}-def"
    mine.mkdir()
    removed = sweep_stale_workdirs(str(tmp_path))
    assert removed == [str(stale)] and mine.exists() and os.path.exists("/etc/passwd")


def _ticks(pid: int) -> int:
    text = Path(f"/proc/{pid}/stat").read_text()
    return int(text[text.rindex(")") + 2 :].split()[19])


@pytest.mark.parametrize("level", ["default", "watchdog"])
@pytest.mark.usefixtures("safe_host")
def test_sigkilled_owner_leaves_no_processes_or_dirs(level):
    kwargs = "end_leftovers=False" + ("" if level == "default" else ", isolation='watchdog'")
    script = (
        "import os, threading, time\n"
        "from agent_envs.sandbox import Sandbox, SandboxLimits\n"
        "boxes = []\n"
        f"start = lambda: boxes.append(Sandbox(SandboxLimits(wall_time=5), {kwargs}).start())\n"
        "t = threading.Thread(target=start)\n"
        "t.start(); t.join()\n"  # the starting thread is gone
        "box = boxes[0]\n"
        'code = \'import subprocess; subprocess.Popen(["sleep", "%d.25"], start_new_session=True)\'\n'
        "r = box.run(code % os.getpid())\n"
        "r = box.run(\"'alive'\")\n"
        "print(r.output.strip(), r.restarted, box.worker_uid, box.isolation, flush=True)\n"
        "time.sleep(1000)\n"
    )
    env = {"PYTHONPATH": str(PROJECT), "PATH": os.environ.get("PATH", "")}
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, env=env)
    try:
        line = parent.stdout.readline().decode().split()
        daemon = f"sleep\0{parent.pid}.25"
        assert _processes_with_cmdline(daemon), "the daemon should run while its owner lives"
    finally:
        parent.send_signal(signal.SIGKILL)  # no close(), no finalizer
        parent.wait()
        parent.stdout.close()
    assert line[:2] == ["'alive'", "False"], line  # survived its starting thread
    uid = None if line[2] == "None" else int(line[2])
    assert leftover_processes([uid] if uid is not None else []) == []
    deadline = time.monotonic() + 3
    while _processes_with_cmdline(daemon) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _processes_with_cmdline(daemon) == []  # the setsid daemon died with its owner
    pattern = os.path.join(tempfile.gettempdir(), f"agent-envs-sandbox-{parent.pid}-*")
    if line[3] in SAFE_LEVELS:  # its workdir was a tmpfs: nothing of it on the host
        assert glob.glob(pattern) == []
    else:  # a host directory, left behind; the next sweep removes it
        assert len(glob.glob(pattern)) == 1
        sweep_stale_workdirs()
        assert glob.glob(pattern) == []


def _processes_with_cmdline(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().decode(errors="replace")
                state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if cmdline.rstrip("\0") == text and state not in "ZX":
                found.append(int(entry))
    return found


@pytest.mark.usefixtures("safe_host")
def test_session_started_in_a_thread_outlives_the_thread():
    boxes = []
    worker = threading.Thread(target=lambda: boxes.append(Sandbox(SMALL_LIMITS).start()))
    worker.start()
    worker.join()
    time.sleep(0.3)  # the parent-death signal would have fired by now
    box = boxes[0]
    result = box.run("6 * 7")
    assert result.output == "42\n" and not result.restarted
    box.close()
