"""The program that runs inside the sandbox: a persistent Python session.

It is started as ``python -I -S -u -c <this source> CMD_FD FRAME_FD`` (standard library
only; it never imports the project). The first command frame (``setup``) carries the
limits, the uid, the import path and the descriptors to use. Before any untrusted code
runs the worker joins the session's cgroups, applies the resource limits, drops to the
sandbox's unprivileged uid, sets ``no_new_privs``, and reports the isolation facts it
observes (uid, pid namespace, network interfaces, seccomp mode) so the parent checks
them instead of assuming them.

It then becomes a *zygote*: a pristine interpreter that never runs user code and, on
each ``spawn`` on its control pipe, forks the session process that does. ``recycle``
kills the session and everything it started, empties the session's directories and
acknowledges, so the parent can spawn a fresh session in the same namespaces in a few
milliseconds instead of starting a new sandbox.

Protocol: length-prefixed JSON frames. Commands arrive on ``CMD_FD``; results leave on
``FRAME_FD``, a pipe separate from the program's stdout/stderr (which the parent reads
as plain text and never parses); each result carries the per-session token and the
cell's sequence number. Everything the session uses after user code has run (``bool``,
``json``, ``os.write``, ...) is bound to private names before it runs.

Example:
    >>> encode_frame({"op": "exec"})[:4]
    b'\\x00\\x00\\x00\\x0e'
"""

from __future__ import annotations

import ast
import builtins
import json
import os
import resource
import select
import signal
import socket
import struct
import sys
import traceback
import types

__all__ = ["encode_frame", "main"]

_HEADER = struct.Struct(">I")
MAX_FRAME = 16 * 1024 * 1024


def encode_frame(obj: object) -> bytes:
    """Serialize one protocol frame (4-byte big-endian length, then UTF-8 JSON)."""
    data = json.dumps(obj).encode()
    return _HEADER.pack(len(data)) + data


class CellTimeout(BaseException):
    """Raised inside a cell when its wall-clock time is up (not catchable as Exception)."""


def _reader(fd: int):
    """A frame reader for ``fd`` bound to private references (never ``json.loads``)."""
    read, unpack, join = os.read, _HEADER.unpack, b"".join
    scan = json.decoder.JSONDecoder().scan_once  # the C scanner: no builtins looked up

    def loads(data: bytes) -> dict:
        return scan(data.decode("utf-8"), 0)[0]

    def read_exact(n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = read(fd, left)
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return join(chunks)

    def recv() -> dict:
        (size,) = unpack(read_exact(4))
        return loads(read_exact(size))

    return recv


def _private_dumps():
    """A JSON encoder for flat frames (str, int, bool, None values) on private references.

    ``json.dumps`` looks up ``isinstance`` and friends in ``builtins`` on every call, so a
    program that replaced them could break or forge the frames it sends afterwards.
    """
    escape = json.encoder.encode_basestring_ascii
    type_, str_, int_, int_repr, repr_ = type, str, int, int.__repr__, repr

    def dumps(obj: dict) -> str:
        parts = []
        for key, value in obj.items():
            if value is None:
                text = "null"
            elif value is True or value is False:
                text = "true" if value else "false"
            elif type_(value) is int_:
                text = int_repr(value)
            elif type_(value) is str_:
                text = escape(value)
            else:
                text = escape(repr_(value))
            parts.append(escape(key) + ":" + text)
        return "{" + ",".join(parts) + "}"

    return dumps


def _writer(fd: int):
    """A frame writer for ``fd`` bound to private references."""
    write, dumps, pack = os.write, _private_dumps(), _HEADER.pack

    def send(obj: dict) -> None:
        data = dumps(obj).encode()
        data = pack(len(data)) + data
        while data:
            data = data[write(fd, data) :]

    return send


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
            try:  # noqa: SIM105 - e.g. RLIMIT_AS on macOS
                resource.setrlimit(res, (value, hard))
            except (ValueError, OSError):
                pass


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
        "python_readable": os.access(os.path.dirname(os.__file__), os.R_OK | os.X_OK),
        "pid_ns": _ns("pid"),
        "net_ns": _ns("net"),
    }


def _ns(kind: str) -> str:
    try:
        return os.readlink(f"/proc/self/ns/{kind}")
    except OSError:
        return ""


def _descendants(pid: int) -> list[int]:
    """Live descendants of ``pid`` (via /proc/PID/task/*/children), parents first."""
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        try:
            tasks = os.listdir(f"/proc/{current}/task")
        except OSError:
            continue
        for tid in tasks:
            try:
                with open(f"/proc/{current}/task/{tid}/children") as f:
                    kids = [int(p) for p in f.read().split()]
            except (OSError, ValueError):
                continue
            found += kids
            frontier += kids
    return found


def _end_descendants(pid: int) -> int:
    """SIGKILL every descendant of ``pid`` until none is left; reap ours; return how many."""
    killed: set[int] = set()
    for _ in range(200):
        pids = _descendants(pid)
        for child in pids:
            try:
                os.kill(child, signal.SIGKILL)
                killed.add(child)
            except OSError:
                pass
        _reap()
        if not pids:
            break
    return len(killed)


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _skeleton(path: str) -> set:
    """The entries under ``path`` before any session ran, down to the mount points.

    At the bubblewrap levels a bind mount (the interpreter, when it lives under /tmp)
    leaves its parent directories in the private /tmp; a reset keeps them and never
    descends into a mount point.
    """
    keep = set()
    try:
        device = os.stat(path).st_dev
        stack = [path]
        while stack:
            for entry in os.scandir(stack.pop()):
                keep.add(entry.path)
                same_device = entry.stat(follow_symlinks=False).st_dev == device
                if entry.is_dir(follow_symlinks=False) and same_device:
                    stack.append(entry.path)
    except OSError:
        pass
    return keep


def _empty_dir(path: str, keep: set = frozenset()) -> None:
    """Remove everything inside ``path`` (never following links) but ``keep``'s entries."""
    try:
        entries = list(os.scandir(path))
        device = os.stat(path).st_dev
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                if entry.stat(follow_symlinks=False).st_dev != device:
                    continue  # a mount point: never ours to empty
                if entry.path not in keep:
                    os.chmod(entry.path, 0o700)
                _empty_dir(entry.path, keep)
                if entry.path not in keep:
                    os.rmdir(entry.path)
            elif entry.path not in keep:
                os.unlink(entry.path)
        except OSError:
            pass


def _left_over(path: str, keep: set) -> bool:
    """Whether ``path`` holds anything that is not in ``keep``."""
    try:
        return any(e.path not in keep for e in os.scandir(path))
    except OSError:
        return False


def _on_alarm(signum, frame):  # noqa: ARG001
    raise CellTimeout


def _session(setup: dict, token: str, cmd_fd: int, frame_fd: int) -> None:
    """Serve cells until the command pipe closes (runs in the session process)."""
    # Private references, taken before any user code runs: a cell that replaces
    # builtins or patches these modules cannot break or rewrite later cells.
    recv, send = _reader(cmd_fd), _writer(frame_fd)
    only_ast, expr_node, expression_node = ast.PyCF_ONLY_AST, ast.Expr, ast.Expression
    compile_, exec_, eval_, repr_, isinstance_ = compile, exec, eval, repr, isinstance
    str_, float_, len_, type_, sys_ = str, float, len, type, sys
    get_name = type.__dict__["__name__"].__get__

    def type_name(exc: BaseException) -> str:
        return get_name(type_(exc))

    format_exception, setitimer = traceback.format_exception, signal.setitimer
    itimer_real, getpid, exit_ = signal.ITIMER_REAL, os.getpid, os._exit
    end_descendants, descendants = _end_descendants, _descendants
    timeout_text = "TimeoutError: the cell ran past its time limit and was interrupted"
    wall_default = float(setup["limits"]["wall_time"])
    end_leftovers = bool(setup.get("end_leftovers", True))
    main_pid = getpid()

    # the program's own __main__ (the worker's module stays out of its reach)
    user_main = types.ModuleType("__main__")
    user_main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = user_main
    namespace = user_main.__dict__
    signal.signal(signal.SIGALRM, _on_alarm)
    hello = json.dumps({"token": token, "kind": "hello", "facts": _facts()}).encode()
    os.write(frame_fd, _HEADER.pack(len(hello)) + hello)  # before any user code runs

    def run_cell(code: str, seq: int) -> str | None:
        filename = f"<cell {seq}>"
        try:
            tree = compile_(code, filename, "exec", only_ast)
            last = None
            if tree.body and isinstance_(tree.body[-1], expr_node):
                last = expression_node(tree.body.pop().value)
            exec_(compile_(tree, filename, "exec"), namespace)
            if last is not None:
                value = eval_(compile_(last, filename, "eval"), namespace)
                if value is not None:
                    sys_.stdout.write(repr_(value) + "\n")
            return None
        except CellTimeout:
            return timeout_text
        except BaseException as exc:  # the program's error, reported to the agent
            tb = exc.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != filename:
                tb = tb.tb_next
            try:
                return "".join(format_exception(type_(exc), exc, tb))[-8000:]
            except BaseException:  # the program broke what tracebacks are made of
                return type_name(exc) + " (its traceback could not be formatted)"

    while True:
        try:
            msg = recv()
        except (EOFError, OSError):
            exit_(0)
        seq = msg.get("seq", 0)
        setitimer(itimer_real, float_(msg.get("wall", wall_default)))
        try:
            try:
                error = run_cell(str_(msg.get("code", "")), seq)
            finally:
                setitimer(itimer_real, 0)
        except CellTimeout:  # the alarm fired while the error was being formatted
            error = timeout_text
        except BaseException:  # e.g. the program broke str() of its own exception
            error = "the cell's error could not be formatted"
        if getpid() != main_pid:  # a fork made by the cell must not act as the worker
            exit_(0)
        for stream in (sys_.stdout, sys_.stderr):
            try:  # noqa: SIM105 - contextlib.suppress is the program's to patch
                stream.flush()
            except BaseException:
                pass
        ended = end_descendants(main_pid) if end_leftovers else 0
        if not isinstance_(error, str_):
            error = None
        timed_out = error is not None and error[: len_(timeout_text)] == timeout_text
        result = {"token": token, "kind": "result", "seq": seq, "error": error}
        result["ended_processes"] = ended
        if timed_out and not end_leftovers:
            result["children"] = len_(descendants(main_pid))
        send(result)


def main(cmd_fd: int, frame_fd: int) -> None:
    """Set up, then serve sessions (as a zygote) or one session until the pipes close."""
    setup = _reader(cmd_fd)()
    for fd in setup.get("cgroup_fds", []):  # join the session's cgroups first
        try:  # noqa: SIM105 - the worker avoids importing contextlib
            os.write(fd, b"0")
        except OSError:
            pass
        os.close(fd)
    sys.path[:] = [p for p in sys.path if p] + list(setup.get("path", []))
    uid = setup.get("uid")
    os.chdir(setup["workdir"])
    libc = _load_libc()  # before dropping privileges (the stdlib may be unreadable after)
    _apply_limits(setup["limits"], uid)
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    _prctl(libc, 38, 1)  # PR_SET_NO_NEW_PRIVS: setuid binaries cannot raise privileges
    _prctl(libc, 36, 1)  # PR_SET_CHILD_SUBREAPER: orphans stay in our tree for the sweeps
    if setup.get("pdeathsig"):  # levels without bubblewrap's --die-with-parent
        # SIGTERM, not SIGKILL: the zygote first ends every descendant (daemons that
        # left the session's process group included: we are their subreaper)
        me_at_start = os.getpid()

        def _parent_died(signum, frame):  # noqa: ARG001
            _end_descendants(me_at_start)
            os._exit(0)

        signal.signal(signal.SIGTERM, _parent_died)
        _prctl(libc, 1, signal.SIGTERM)  # PR_SET_PDEATHSIG (after setuid, which clears it)
    ctl_fd, ack_fd = setup.get("ctl_fd", -1), setup.get("ack_fd", -1)
    if ctl_fd < 0:
        _session(setup, setup["token"], cmd_fd, frame_fd)
        return
    _prctl(libc, 4, 0)  # PR_SET_DUMPABLE=0: sessions (same uid) cannot read our memory
    recv_ctl, send_ack = _reader(ctl_fd), _writer(ack_fd)
    dirs = list(setup.get("wipe", []))
    keep = set().union(*[_skeleton(p) for p in dirs]) if dirs else set()
    me, session = os.getpid(), 0
    poller = select.poll()
    poller.register(ctl_fd, select.POLLIN)
    while True:
        pidfd = -1
        if session:
            try:
                pidfd = os.pidfd_open(session)
                poller.register(pidfd, select.POLLIN)
            except (AttributeError, OSError):
                pidfd = -1
        events = poller.poll(None if pidfd >= 0 or not session else 50)
        if pidfd >= 0:
            poller.unregister(pidfd)
            os.close(pidfd)
        if session and not any(fd == ctl_fd for fd, _ in events):
            try:
                pid, status = os.waitpid(session, os.WNOHANG)
            except ChildProcessError:
                pid, status = session, 0
            if pid:  # the session ended by itself: tell the parent how
                session = 0
                code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
                send_ack({"kind": "ended", "status": code})
            continue
        try:
            msg = recv_ctl()
        except (EOFError, OSError):
            _end_descendants(me)
            os._exit(0)
        if msg.get("op") == "spawn":
            os.set_blocking(cmd_fd, False)
            try:  # commands the last session never read are not the next one's
                while os.read(cmd_fd, 65536):
                    pass
            except OSError:
                pass
            os.set_blocking(cmd_fd, True)
            session = os.fork()
            if session == 0:
                os.close(ctl_fd)
                os.close(ack_fd)
                _prctl(libc, 4, 1)
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                _prctl(libc, 1, signal.SIGKILL)  # dies with the zygote
                try:
                    _session(setup, msg["token"], cmd_fd, frame_fd)
                finally:
                    os._exit(0)
        elif msg.get("op") == "recycle":
            session = 0
            ended = _end_descendants(me)
            for path in dirs:
                _empty_dir(path, keep)
            left = [p for p in dirs if os.path.isdir(p) and _left_over(p, keep)]
            send_ack({"kind": "clean", "ended": ended, "left": ",".join(left)})


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
