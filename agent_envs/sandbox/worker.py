"""The program that runs inside the sandbox: a persistent Python session.

It is started as ``python -I -u -c <this source> CMD_FD FRAME_FD`` (standard library
only; it never imports the project). Before any untrusted code runs it applies the
resource limits, drops to the sandbox's unprivileged uid, sets ``no_new_privs``, and
reports the isolation facts it observes (uid, pid namespace, network interfaces,
seccomp mode) so the parent checks them instead of assuming them.

Protocol: length-prefixed JSON frames. Commands arrive on ``CMD_FD``; results leave on
``FRAME_FD``, a pipe separate from the program's stdout/stderr (which the parent reads
as plain text and never parses), and each result carries the per-session token and the
cell's sequence number.

Example:
    >>> encode_frame({"op": "exec"})[:4]
    b'\\x00\\x00\\x00\\x0e'
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import os
import resource
import signal
import socket
import struct
import sys
import traceback

__all__ = ["encode_frame", "main"]

_HEADER = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024


def encode_frame(obj: object) -> bytes:
    """Serialize one protocol frame (4-byte big-endian length, then UTF-8 JSON)."""
    data = json.dumps(obj).encode()
    return _HEADER.pack(len(data)) + data


class CellTimeout(BaseException):
    """Raised inside a cell when its wall-clock time is up (not catchable as Exception)."""


def _read_exact(fd: int, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = os.read(fd, left)
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _status_fields() -> dict[str, str]:
    fields = {}
    try:
        with open("/proc/self/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
    except OSError:
        pass
    return fields


def _apply_limits(limits: dict, uid: int | None) -> None:
    mb = 1024 * 1024
    wanted = {
        "RLIMIT_AS": limits["memory_mb"] * mb,
        "RLIMIT_CPU": limits["cpu_time"],
        "RLIMIT_FSIZE": limits["file_size_mb"] * mb,
        "RLIMIT_NOFILE": limits["open_files"],
        "RLIMIT_CORE": 0,
    }
    if uid is not None or os.getuid() != 0:  # root ignores RLIMIT_NPROC
        wanted["RLIMIT_NPROC"] = limits["nproc"]
    for name, value in wanted.items():
        res = getattr(resource, name, None)
        if res is None:
            continue
        _soft, hard = resource.getrlimit(res)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(res, (value, value))
        except (ValueError, OSError):
            with contextlib.suppress(ValueError, OSError):  # e.g. RLIMIT_AS on macOS
                resource.setrlimit(res, (value, hard))


def _load_libc():
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return None


def _prctl(libc, option: int, arg: int) -> bool:
    try:
        return libc is not None and libc.prctl(option, arg, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _facts() -> dict:
    status = _status_fields()
    try:
        interfaces = sorted(name for _, name in socket.if_nameindex())
    except OSError:
        interfaces = []
    try:
        with open("/etc/shadow", "rb"):
            shadow = True
    except OSError:
        shadow = False
    return {
        "uid": os.getuid(),
        "euid": os.geteuid(),
        "pid": os.getpid(),
        "sid": os.getsid(0),
        "interfaces": interfaces,
        "seccomp": status.get("Seccomp", ""),
        "no_new_privs": status.get("NoNewPrivs", ""),
        "can_read_shadow": shadow,
        "cwd": os.getcwd(),
        "nproc_limit": resource.getrlimit(resource.RLIMIT_NPROC)[0],
    }


def _live_children() -> int:
    """How many live child processes the worker has (0 where /proc cannot tell)."""
    count = 0
    try:
        for tid in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{tid}/children") as f:
                for pid in f.read().split():
                    with contextlib.suppress(OSError), open(f"/proc/{pid}/stat") as stat:
                        text = stat.read()
                        if text[text.rindex(")") + 2] not in "ZX":
                            count += 1
    except (OSError, ValueError):
        pass
    return count


def _on_alarm(signum, frame):  # noqa: ARG001
    raise CellTimeout


def _run_cell(code: str, seq: int, namespace: dict) -> str | None:
    """Execute one cell like a notebook (the last expression's value is printed)."""
    filename = f"<cell {seq}>"
    try:
        tree = ast.parse(code, filename, "exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, filename, "exec"), namespace)
        if last is not None:
            value = eval(compile(last, filename, "eval"), namespace)
            if value is not None:
                print(repr(value))
        return None
    except CellTimeout:
        return "TimeoutError: the cell ran past its time limit and was interrupted"
    except BaseException as exc:  # the program's error, reported to the agent
        tb = exc.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != filename:
            tb = tb.tb_next
        lines = traceback.format_exception(type(exc), exc, tb)
        return "".join(lines)[-8000:]


def main(cmd_fd: int, frame_fd: int) -> None:
    """Serve cells until the command pipe closes."""
    write, dumps, getpid = os.write, json.dumps, os.getpid
    pack = _HEADER.pack

    def recv() -> dict:
        (size,) = _HEADER.unpack(_read_exact(cmd_fd, 4))
        return json.loads(_read_exact(cmd_fd, size))

    def send(obj: dict) -> None:
        data = dumps(obj).encode()
        data = pack(len(data)) + data
        while data:
            data = data[write(frame_fd, data) :]

    hello = recv()
    token, limits, uid = hello["token"], hello["limits"], hello.get("uid")
    os.chdir(hello["workdir"])
    libc = _load_libc()  # before dropping privileges (the stdlib may be unreadable after)
    _apply_limits(limits, uid)
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _prctl(libc, 38, 1)  # PR_SET_NO_NEW_PRIVS: setuid binaries cannot raise privileges
    if hello.get("subreaper"):  # levels without bubblewrap's pid namespace
        _prctl(libc, 36, 1)  # PR_SET_CHILD_SUBREAPER: orphans stay in our tree for the sweep
        _prctl(libc, 1, signal.SIGKILL)  # PR_SET_PDEATHSIG (after setuid, which clears it)
    facts = _facts()
    facts["python_readable"] = os.access(os.path.dirname(os.__file__), os.R_OK | os.X_OK)
    send({"token": token, "kind": "hello", "facts": facts})

    signal.signal(signal.SIGALRM, _on_alarm)
    main_pid = getpid()
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    wall = float(limits["wall_time"])
    while True:
        try:
            msg = recv()
        except (EOFError, OSError):
            os._exit(0)
        seq = msg.get("seq", 0)
        signal.setitimer(signal.ITIMER_REAL, float(msg.get("wall", wall)))
        try:
            error = _run_cell(msg.get("code", ""), seq, namespace)
        except CellTimeout:  # the alarm fired while the error was being formatted
            error = "TimeoutError: the cell ran past its time limit and was interrupted"
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if getpid() != main_pid:  # a fork made by the cell must not act as the worker
            os._exit(0)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(BaseException):  # the program may have broken it
                stream.flush()
        timed_out = bool(error) and error.startswith("TimeoutError: the cell ran past")
        children = _live_children() if timed_out else 0
        send({"token": token, "kind": "result", "seq": seq, "error": error, "children": children})


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
