"""The supervised child layer: framed calls with deadlines, failures by kind, fork,
process-group kill, exit with the owner, and the sandbox worker speaking the same frames.

The hangs come from a test-only handler (``tests.core.child_handlers``) that the child
imports by name; production children carry no test hooks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent_envs.core.child_process import ChildFailure, ChildProcess, kill_process_group
from agent_envs.core.frames import FrameBuffer, encode_frame, read_frame, write_frame
from agent_envs.sandbox import worker

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses /proc")
_SLEEPY = "tests.core.child_handlers:SleepHandler"
_ROOT = str(Path(__file__).resolve().parents[2])


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(") ", 1)[1][:1] in ("Z", "X")
    except FileNotFoundError:
        return True


def _wait_gone(pid: int, seconds: float = 30.0) -> bool:
    deadline = time.monotonic() + seconds
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _gone(pid)


def test_calls_errors_notes_timeouts_and_crashes():
    child = ChildProcess(_SLEEPY)
    try:
        assert child.call(["echo", {"a": [1, 2.5, None]}], 60) == {"a": [1, 2.5, None]}
        assert child.call(["notes", 3], 10) == "done"  # notes are skipped by call
        with pytest.raises(ChildFailure) as failure:
            child.call(["no such op"], 10)
        assert failure.value.kind == "error" and child.alive  # the handler raised: kept
        with pytest.raises(ChildFailure) as failure:
            child.call(["unjsonable"], 10)
        assert failure.value.kind == "error" and "TypeError" in str(failure.value)
        pid = child.pid
        with pytest.raises(ChildFailure) as failure:
            child.call(["sleep", 600], 0.5)
        assert failure.value.kind == "timeout" and not child.alive and _gone(pid)
        assert child.call(["echo", 1], 60) == 1 and child.pid != pid  # a fresh child
        with pytest.raises(ChildFailure) as failure:
            child.call(["exit", 3], 10)
        assert failure.value.kind == "crash" and "exit code 3" in str(failure.value)
    finally:
        child.close()
        child.close()


def test_receive_lets_a_caller_poll_and_read_the_exit_status():
    child = ChildProcess(_SLEEPY)
    try:
        child.send(["notes", 2])
        frames = [child.receive(30) for _ in range(3)]
        assert frames == [{"note": {"i": 0}}, {"note": {"i": 1}}, {"ok": "done"}]
        child.send(["sleep", 600])
        assert child.receive(0.2) is None and child.alive  # nothing yet: still running
        assert child.cpu_seconds() is not None
        os.kill(child.pid, signal.SIGTERM)
        with pytest.raises(ChildFailure):
            child.receive(30)
        assert child.exit_status(10) == -signal.SIGTERM
    finally:
        child.close()


def test_fork_copies_state_in_a_group_of_its_own_and_close_removes_the_workdir():
    child = ChildProcess(_SLEEPY)
    cwd = child.call(["cwd"], 60)
    assert os.path.isdir(cwd) and os.path.realpath(cwd) != os.path.realpath(os.getcwd())
    twin = child.fork(30)
    assert os.getpgid(twin.pid) == twin.pid != os.getpgid(child.pid)
    assert twin.call(["echo", "copy"], 10) == "copy" and twin.call(["cwd"], 10) == cwd
    twin_pid = twin.pid
    twin.close()
    assert _gone(twin_pid) and child.call(["echo", "still"], 10) == "still"
    pid = child.pid
    child.close()
    assert _gone(pid) and not os.path.exists(cwd)


def test_kill_process_group_ends_the_grandchildren_too():
    proc = subprocess.Popen(
        ["sh", "-c", "sleep 300 & echo $!; wait"], stdout=subprocess.PIPE, start_new_session=True
    )
    grandchild = int(proc.stdout.readline())
    kill_process_group(proc.pid, proc)
    proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL and _wait_gone(grandchild, 10)


def test_a_child_started_by_a_thread_that_ends_lives_on():
    """Linux sends the parent-death signal when the *thread* that started the child ends
    (a thread pool's worker, say); the child checks its owner, finds it alive, serves on."""
    import threading

    started: list[ChildProcess] = []
    thread = threading.Thread(target=lambda: started.append(_started(_SLEEPY)))
    thread.start()
    thread.join()
    child = started[0]
    try:
        time.sleep(0.5)  # time for the signal to arrive and be looked at
        assert child.alive and child.call(["echo", "still here"], 30) == "still here"
    finally:
        child.close()


def _started(handler: str) -> ChildProcess:
    child = ChildProcess(handler)
    child.call(["echo", 0], 60)
    return child


_OWNER = """
import sys
from agent_envs.core.child_process import ChildProcess
child = ChildProcess(sys.argv[1], cwd=sys.argv[2], remove_cwd_if_orphaned=True)
child.call(["echo", 0], 60)
child.send(["sleep", 600])  # the child is inside a blocking call when its owner dies
print(child.pid, flush=True)
import time; time.sleep(600)
"""


def test_a_child_in_a_hung_call_exits_with_its_owner_and_removes_its_workdir(tmp_path):
    workdir = tmp_path / "owned"
    workdir.mkdir()
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, _SLEEPY, str(workdir)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": _ROOT},
    )
    try:
        child = int(owner.stdout.readline())
        assert not _gone(child)
        owner.kill()
        owner.wait(timeout=10)
        assert _wait_gone(child, 20), "the orphan did not exit"
        assert not workdir.exists(), "the orphan did not remove its working directory"
    finally:
        owner.kill()
        owner.stdout.close()


_MESSAGES = st.dictionaries(
    st.text(max_size=8),
    st.one_of(st.none(), st.booleans(), st.integers(-(2**62), 2**62), st.text(max_size=40)),
    max_size=6,
)


@settings(max_examples=60, deadline=None)
@given(_MESSAGES)
def test_the_sandbox_workers_own_framing_and_the_shared_one_interoperate(message):
    assert FrameBuffer().feed(encode_frame(message)) == [message]
    r, w = os.pipe()
    try:
        worker._writer(w)(message)  # the worker's private writer -> the shared reader
        assert read_frame(r, time.monotonic() + 5) == message
        write_frame(w, message)  # the shared writer -> the worker's private reader
        assert worker._reader(r)() == message
        assert FrameBuffer().feed(worker.encode_frame(message)) == [message]
    finally:
        os.close(r)
        os.close(w)


_IN_PROCESS = """
import os, socket, time
from agent_envs.core.child_server import EchoHandler, serve
from agent_envs.core.frames import read_frame, write_frame
a, b = socket.socketpair()
fd = b.detach()
write_frame(a.fileno(), ["echo", 1])
a.shutdown(socket.SHUT_WR)
serve(fd, os.getpid(), EchoHandler())
assert read_frame(a.fileno()) == {"ok": 1}
a.close()
time.sleep(2.0)  # a watcher left behind would have ended the process by now
print("alive", flush=True)
"""


def test_serve_called_in_process_leaves_no_watcher_behind():
    """After ``serve`` returns, its watcher is gone: the channel's end must not end the
    calling process (a doctest of ``serve`` runs inside pytest)."""
    out = subprocess.run(
        [sys.executable, "-c", _IN_PROCESS],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": _ROOT},
    )
    assert out.stdout.strip() == "alive", out.stderr
