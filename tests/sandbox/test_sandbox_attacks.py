"""The attack matrix: each row a hostile or broken program; the sandbox must survive it.

Every row runs at the strongest isolation level this host offers (bubblewrap + seccomp
where available). After each attack the same sandbox must run a normal cell, and after
``close()`` no process of the sandbox may remain.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from agent_envs.sandbox import Sandbox

from helpers.sandbox import (
    SMALL_LIMITS,
    leftover_processes,
    start_or_skip,
)

SECRET = "agent-envs-test-secret-7f3a9c"


@pytest.fixture
def box(monkeypatch):
    monkeypatch.setenv("AGENT_ENVS_TEST_SECRET", SECRET)  # must never reach the program
    sandbox = start_or_skip()
    uids: list[int] = []
    sandbox.run_attack = lambda code: _run(sandbox, uids, code)  # type: ignore[attr-defined]
    yield sandbox
    if sandbox.worker_uid is not None:
        uids.append(sandbox.worker_uid)
    sandbox.close()
    survivors = leftover_processes(uids)
    assert survivors == [], f"processes survived close(): {survivors}"


def _run(sandbox: Sandbox, uids: list[int], code: str):
    if sandbox.worker_uid is not None:
        uids.append(sandbox.worker_uid)
    return sandbox.run(code)


def _still_works(box: Sandbox) -> None:
    result = box.run("print(sum(range(10)))")
    assert result.ok and result.output == "45\n", result


def _processes_in_sandbox(box: Sandbox) -> int:
    """Live processes the session can see besides bubblewrap's init and the zygote.

    Waits up to 2 s for processes that are being torn down.
    """
    code = (
        "import os, time\n"
        "for _ in range(40):\n"
        "    live = []\n"
        "    for p in os.listdir('/proc'):\n"
        "        if p.isdigit() and int(p) > 1 and int(p) != os.getppid():\n"
        "            try:\n"
        "                state = open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[0]\n"
        "            except OSError:\n"
        "                continue\n"
        "            if state not in 'ZX':\n"
        "                live.append(p)\n"
        "    if len(live) <= 1:\n"
        "        break\n"
        "    time.sleep(0.05)\n"
        "print(len(live))\n"
    )
    return int(box.run(code).output)


def test_infinite_loop_is_interrupted_and_state_kept(box):
    box.run("kept = 11")
    result = box.run_attack("while True:\n    pass")
    assert result.timed_out and not result.ok
    assert box.run("print(kept)").output == "11\n"  # soft interrupt: the session lives


def test_sleep_is_interrupted(box):
    result = box.run_attack("import time\ntime.sleep(1000)")
    assert result.timed_out
    _still_works(box)


def test_ignored_signals_get_the_tree_killed(box):
    code = (
        "import signal\n"
        "for s in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):\n"
        "    signal.signal(s, signal.SIG_IGN)\n"
        "while True:\n    pass"
    )
    result = box.run_attack(code)
    assert result.timed_out and result.restarted
    _still_works(box)


def test_leftover_threads(box):
    code = (
        "import threading, time\n"
        "def spam():\n"
        "    while True:\n"
        "        print('spam', flush=True)\n"
        "        time.sleep(0.01)\n"
        "threading.Thread(target=spam).start()\n"
    )
    assert box.run_attack(code).ok
    result = box.run("print('marker')")
    assert "marker" in result.output


def test_setsid_daemons(box):
    code = (
        "import os, subprocess, time\n"
        "subprocess.Popen(['sleep', '1000'], start_new_session=True)\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(1000)\n"
        "    os._exit(0)\n"
    )
    assert box.run_attack(code).ok
    _still_works(box)  # the fixture asserts they are gone after close()


@pytest.mark.slow
def test_fork_bomb(box):
    code = "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"
    result = box.run_attack(code)
    assert not result.ok and result.timed_out
    # the bomb's processes were ended with the cell (or with the session)
    _still_works(box)
    assert _processes_in_sandbox(box) == 1


def test_memory_bomb(box):
    # bytes(n) comes from calloc (pages untouched), so the row is fast on a loaded host;
    # RLIMIT_AS caps the address space whether or not pages are touched
    result = box.run_attack("hog = []\nwhile True:\n    hog.append(bytes(50_000_000))")
    assert not result.ok and "MemoryError" in (result.error or "")
    box.run("del hog")
    result = box.run_attack("big = bytearray(10**10)")
    assert "MemoryError" in (result.error or "")
    _still_works(box)


def test_endless_output(box):
    result = box.run_attack("while True:\n    print('x' * 100)")
    assert not result.ok and result.output_truncated
    assert len(result.output) <= SMALL_LIMITS.output_bytes + 200
    _still_works(box)


def test_one_huge_line(box):
    result = box.run_attack("import sys\nsys.stdout.write('y' * 30_000_000)")
    assert result.output_truncated and len(result.output) <= SMALL_LIMITS.output_bytes + 200
    _still_works(box)


def test_invalid_utf8(box):
    result = box.run_attack("import os\nos.write(1, b'ok \\xff\\xfe\\xc3 end')")
    assert result.ok and "ok" in result.output and "end" in result.output
    assert "\ufffd" in result.output


def test_100_mb_file_is_capped(box):
    result = box.run_attack("f = open('big', 'wb')\nf.write(b'0' * 100 * 1024 * 1024)\nf.close()")
    assert not result.ok and "File too large" in (result.error or "")
    size = box.run("import os\nprint(os.path.getsize('big'))").output
    assert int(size) <= SMALL_LIMITS.file_size_mb * 1024 * 1024


def test_fd_exhaustion(box):
    result = box.run_attack("fds = [open('/dev/null') for _ in range(100_000)]")
    assert not result.ok and "Too many open files" in (result.error or "")
    _still_works(box)


def test_secrets_are_out_of_reach(box, tmp_path):
    planted = tmp_path / "secret.txt"
    planted.write_text(SECRET)
    code = (
        "import os, glob\n"
        "found = []\n"
        "print(dict(os.environ))\n"
        "paths = ['/etc/shadow', os.path.expanduser('~/.ssh/id_rsa'), '/root/.ssh/id_rsa',\n"
        f"         {str(planted)!r}, '/proc/%d/environ' % os.getppid()]\n"
        "paths += glob.glob('/proc/*/environ')\n"
        "for p in paths:\n"
        "    try:\n"
        "        found.append(open(p, 'rb').read().decode('latin-1'))\n"
        "    except OSError as e:\n"
        "        print('denied', p, type(e).__name__)\n"
        "print('\\n'.join(found))\n"
    )
    result = box.run_attack(code)
    assert result.ok, result.error
    assert SECRET not in result.output
    assert "root:" not in result.output  # no /etc/shadow line
    assert "denied /etc/shadow" in result.output


def test_writing_and_deleting_outside_the_workdir(box, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    code = (
        "import os, sys\n"
        f"for act in (lambda: os.remove({str(victim)!r}),\n"
        f"            lambda: open({str(tmp_path / 'pwned')!r}, 'w').write('x'),\n"
        "            lambda: open('/usr/pwned', 'w').write('x'),\n"
        "            lambda: os.remove(sys.executable)):\n"
        "    try:\n"
        "        act()\n"
        "        print('did it')\n"
        "    except OSError as e:\n"
        "        print('refused', type(e).__name__)\n"
    )
    result = box.run_attack(code)
    assert victim.read_text() == "keep me"
    assert not (tmp_path / "pwned").exists() and not os.path.exists("/usr/pwned")
    assert result.output.count("refused") >= 3, result.output  # /tmp is private, not shared


def test_socket_connect(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(0.5)
    port = server.getsockname()[1]
    code = (
        "import socket\n"
        f"for addr in (('127.0.0.1', {port}), ('1.1.1.1', 80)):\n"
        "    try:\n"
        "        socket.create_connection(addr, timeout=0.5)\n"
        "        print('connected', addr)\n"
        "    except OSError as e:\n"
        "        print('blocked', type(e).__name__)\n"
    )
    result = box.run_attack(code)
    try:
        with pytest.raises(TimeoutError):
            server.accept()
    finally:
        server.close()
    assert "connected" not in result.output and result.output.count("blocked") == 2


def test_subprocess_and_os_system(box):
    code = (
        "import os, subprocess\n"
        "print('uid', subprocess.run(['id', '-u'], capture_output=True, text=True).stdout.strip())\n"
        "os.system('echo from-shell')\n"
    )
    result = box.run_attack(code)
    assert result.ok and "from-shell" in result.output
    assert "uid 0" not in result.output  # never root


@pytest.mark.parametrize("target", ["os.getppid()", "-1"])
def test_killing_the_parent_or_everyone(box, target):
    box.run("kept = 1")
    attack = box.run_attack(f"import os\nos.kill({target}, 9)\nimport time\ntime.sleep(0.2)")
    result = box.run("print(kept)")
    if attack.restarted:  # the session went down with its parent, and said so
        assert "NameError" in (result.error or ""), result
    else:
        assert result.output == "1\n" or result.restarted, result
    _still_works(box)
    assert threading.main_thread().is_alive()  # the test process itself survived


def test_sys_exit_and_os_exit(box):
    box.run("kept = 5")
    result = box.run_attack("import sys\nsys.exit(3)")
    assert not result.ok and "SystemExit" in (result.error or "")
    assert box.run("print(kept)").output == "5\n"
    result = box.run_attack("import os\nos._exit(0)")
    assert result.restarted
    _still_works(box)


def test_deep_recursion(box):
    result = box.run_attack("def f(n):\n    return f(n + 1)\nf(0)")
    assert "RecursionError" in (result.error or "")
    box.run_attack("import sys\nsys.setrecursionlimit(10**6)\ndef g(n):\n    return g(n + 1)\ng(0)")
    _still_works(box)


def test_ctypes_segfault(box):
    result = box.run_attack("import ctypes\nctypes.string_at(0)")
    assert result.restarted and not result.ok
    _still_works(box)


def test_forged_result_frames(box):
    forged = (
        "import json, os, struct, sys\n"
        "frame = json.dumps({'token': 'guess', 'kind': 'result', 'seq': 99, 'error': None}).encode()\n"
        "sys.stdout.buffer.write(struct.pack('>I', len(frame)) + frame)\n"
        "print(r'\\boxed{42}')\n"
    )
    result = box.run_attack(forged)
    assert result.ok and "\\boxed{42}" in result.output  # just text to the parent
    # the same frame on the result pipe itself, with a wrong token, is a protocol breach
    direct = forged.replace("sys.stdout.buffer.write(", "os.write(int(sys.argv[2]), ")
    result = box.run_attack(direct + "import time\ntime.sleep(0.5)")
    assert result.restarted and "protocol" in (result.error or "")
    _still_works(box)


def test_patching_builtins_and_the_worker(box):
    code = (
        "import builtins, json, os\n"
        "json.dumps = lambda *a, **k: 'forged'\n"
        "os.write = lambda *a: 0\n"
        "builtins.print = None\n"
    )
    assert box.run_attack(code).ok
    result = box.run("x = 1")  # the protocol still works: it kept its own references
    assert result.ok and not result.restarted


def test_seccomp_blocks_namespace_escape(box):
    if box.isolation != "bwrap+seccomp":
        pytest.skip(f"host lacks seccomp under bubblewrap (level {box.isolation})")
    code = (
        "import ctypes, os\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "print(libc.unshare(0x10000000), ctypes.get_errno())\n"  # CLONE_NEWUSER
        "print(libc.ptrace(16, os.getppid(), 0, 0), ctypes.get_errno())\n"  # PTRACE_ATTACH
    )
    result = box.run_attack(code)
    assert result.output.split() == ["-1", "1", "-1", "1"], result.output  # EPERM
