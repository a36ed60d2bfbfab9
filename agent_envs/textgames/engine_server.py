"""The child side of :class:`~agent_envs.textgames.engine_process.EngineProcess`.

A server reads framed requests from its channel (one end of a Unix socket pair), runs
them against the one engine it hosts, and writes the answers back. On ``("fork",)`` it
receives a fresh socket over the channel (``SCM_RIGHTS``) and calls ``os.fork()``: the copy
serves that socket with the engine exactly as it was (the interpreter's memory, the
Z-machine or PDDL state included), in a process group of its own so it can be killed
alone (set by both sides before the pid is reported, so the owner never kills it by
killing its parent).

A server exits by itself when its channel is hung up or when the process that owns it
(the environment's process, not necessarily its parent) exits; a watcher thread waits for
either, so a server stuck in an engine call still goes. The watcher is stopped around
``os.fork()`` so the fork never copies a process with a second thread.

Run as a program: ``python -m agent_envs.textgames.engine_server <channel fd>``.
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import importlib
import os
import select
import signal
import socket
import sys
import time
from typing import Any

from agent_envs.textgames.engine_process import STATE_KEYS, read_message, write_message

__all__ = ["serve", "OwnerWatch", "preload"]

#: Copies this server forked, reaped as they exit (never other children: ``subprocess``
#: waits for its own).
_forked: set[int] = set()
#: A template reaps every child: it adopts orphaned copies (it is their subreaper) and
#: never runs ``subprocess`` itself.
_reap_any = False
_PR_SET_CHILD_SUBREAPER = 36


def _reap(signum: int, frame: Any) -> None:
    if _reap_any:
        with contextlib.suppress(ChildProcessError):
            while os.waitpid(-1, os.WNOHANG)[0]:
                pass
        return
    for pid in list(_forked):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _forked.discard(pid)


def _become_subreaper() -> None:
    """Adopt orphaned descendants (Linux), so a copy whose parent died is still reaped."""
    global _reap_any
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0:
            _reap_any = True
    except (OSError, AttributeError):  # not Linux: orphans go to init as usual
        pass


def preload(modules: list[str]) -> list[str]:
    """Import ``modules`` (a warm template's work); returns those imported.

    Example:
        >>> preload(["json", "no_such_module_here"])
        ['json']
    """
    done = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ImportError:
            continue
        done.append(module)
    return done


def _plain(state: Any) -> dict[str, Any]:
    return {key: state.get(key) for key in STATE_KEYS if state.get(key) is not None}


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class OwnerWatch:
    """A thread that ends the process when ``channel`` hangs up or ``owner`` exits.

    Example:
        >>> a, b = socket.socketpair()
        >>> watch = OwnerWatch(a.fileno(), os.getpid())
        >>> watch.start(); watch.stop()  # stopped before it ever fires
        >>> a.close(); b.close()
    """

    def __init__(self, channel: int, owner: int) -> None:
        self.channel, self.owner = channel, owner
        self._owner_fd: int | None = None
        self._running: _thread.LockType | None = None  # held by the watcher while it runs
        self._stop: tuple[int, int] | None = None

    def start(self) -> None:
        """Start watching, in a thread (without waiting for it to be scheduled)."""
        if self._running is not None:
            return
        self._owner_fd = None
        if hasattr(os, "pidfd_open"):
            try:
                self._owner_fd = os.pidfd_open(self.owner)
            except OSError:  # already gone, or no pidfd support in this kernel
                self._owner_fd = None
        self._stop = os.pipe()
        # the low-level thread API: threading.Thread.start() waits until the new thread
        # runs, which costs 10-15 ms on a loaded machine, at every fork
        self._running = _thread.allocate_lock()
        self._running.acquire()
        _thread.start_new_thread(self._watch, (self._stop[0], self._running))

    def stop(self) -> None:
        """Stop watching and wait for the thread to end (before ``os.fork``)."""
        if self._running is None or self._stop is None:
            return
        os.write(self._stop[1], b"x")
        self._running.acquire()  # released by the watcher as it returns
        for fd in self._stop:
            os.close(fd)
        if self._owner_fd is not None:
            os.close(self._owner_fd)
        self._running = self._stop = self._owner_fd = None

    def _watch(self, stop_fd: int, running: _thread.LockType) -> None:
        try:
            poller = select.poll()
            poller.register(self.channel, 0)  # only POLLHUP/POLLERR: the peer closed
            poller.register(stop_fd, select.POLLIN)
            owner_fd = self._owner_fd
            if owner_fd is not None:
                poller.register(owner_fd, select.POLLIN)  # readable once the owner exits
            while True:
                events = dict(poller.poll(None if owner_fd is not None else 1000))
                if stop_fd in events:
                    return
                if self.channel in events or (owner_fd is not None and owner_fd in events):
                    os._exit(0)
                if owner_fd is None and not _pid_exists(self.owner):
                    os._exit(0)
        finally:
            running.release()


def _fork(channel: socket.socket, watch: OwnerWatch) -> tuple[socket.socket | None, int]:
    """Fork this server; returns (the child's channel, 0) in the child, (None, pid) here."""
    _, fds, _, _ = socket.recv_fds(channel, 1, 1)
    if len(fds) != 1:
        raise ValueError("a fork request must carry one socket")
    watch.stop()
    try:
        pid = os.fork()
    except OSError:
        os.close(fds[0])
        watch.start()
        raise
    if pid == 0:
        global _reap_any
        os.setpgid(0, 0)  # a group of its own: killing it never touches this server
        _forked.clear()
        _reap_any = False  # (the subreaper flag is not inherited either)
        channel.close()
        return socket.socket(fileno=fds[0]), 0
    with contextlib.suppress(OSError):  # (also here: done before the owner hears the pid)
        os.setpgid(pid, pid)
    os.close(fds[0])
    _forked.add(pid)
    _reap(signal.SIGCHLD, None)  # in case it exited before it was added
    return None, pid


def serve(channel_fd: int, owner: int) -> None:
    """Serve engine requests on ``channel_fd`` until it is closed (the child's main loop)."""
    signal.signal(signal.SIGCHLD, _reap)
    channel = socket.socket(fileno=channel_fd)
    watch = OwnerWatch(channel.fileno(), owner)
    watch.start()
    engine: Any = None
    hang: dict[str, float] = {}  # test hook: request kind -> seconds its next request hangs
    while True:
        try:
            request = read_message(channel.fileno())
        except (EOFError, OSError):
            return
        op = request[0]
        if op in hang:  # like a stuck engine (the watcher still ends it when orphaned)
            time.sleep(hang.pop(op))
        try:
            payload: Any = None
            if op == "fork":
                child_channel, pid = _fork(channel, watch)
                if child_channel is not None:  # the copy: serve the new channel from here on
                    channel = child_channel
                    watch = OwnerWatch(channel.fileno(), owner)
                    watch.start()
                    continue
                watch.start()
                payload = pid
            elif op == "template":  # become a warm template: import, adopt orphans
                _become_subreaper()
                payload = preload(list(request[1]))
            elif op == "open":
                if engine is not None:
                    engine.close()
                    engine = None
                module, _, name = request[1].partition(":")
                engine = getattr(importlib.import_module(module), name)(**request[2])
            elif op == "reset":
                payload = _plain(engine.reset())
            elif op == "step":
                payload = _plain(engine.step(request[1])[0])
            elif op == "run":  # any other engine work, e.g. checking a generated game
                module, _, name = request[1].partition(":")
                payload = getattr(importlib.import_module(module), name)(**request[2])
            elif op == "hang_next":  # test hook: ("hang_next", "reset", 600.0)
                hang[str(request[1])] = float(request[2])
            elif op == "hang_next_step":
                hang["step"] = float(request[1])
            else:
                raise ValueError(f"unknown request {op!r}")
            reply = ("ok", payload)
        except Exception as exc:  # the engine raised: report it, keep serving
            reply = ("error", f"{type(exc).__name__}: {exc}")
        write_message(channel.fileno(), reply)


def _main() -> None:
    os.dup2(2, 1)  # whatever the engines print must not mix with the replies
    serve(int(sys.argv[1]), os.getppid())


if __name__ == "__main__":
    _main()
