"""The child side of :class:`~agent_envs.core.child_process.ChildProcess`.

:func:`serve` reads requests (``[op, *arguments]`` frames, :mod:`agent_envs.core.frames`)
from its channel, one end of a Unix socket pair, and answers each with ``{"ok": value}``
or ``{"error": text}``. The handler object decides what the ops do
(``handler.handle(request, notify)``; ``notify(value)`` sends a ``{"note": value}``
frame before the answer). Two ops belong to the server itself:

- ``["fork"]``, followed by a socket passed over the channel (``SCM_RIGHTS``): the server
  calls ``os.fork()``; the copy serves that socket with the handler exactly as it was
  (the interpreter's memory, an engine's C state included), in a process group of its
  own (set by both sides before the pid is reported, so the owner never kills it by
  killing its parent). The answer is the copy's pid.
- ``["preload", [module, ...]]``: import modules and adopt orphaned descendants, making
  this child a warm template to fork copies from; the answer is the modules imported.

A server exits by itself when its channel is hung up or when the process that owns it
(the one that started the first child, not necessarily the parent of a copy) exits: a
watcher thread (:class:`OwnerWatch`) waits for either, woken also by Linux's parent-death
signal (``PR_SET_PDEATHSIG``), so a server stuck in a C call still goes at once. An
orphaned server may remove its working directory first (the owner could not).

Run as a program: ``python -m agent_envs.core.child_server FD OWNER module:factory
[--remove-cwd-if-orphaned]`` (what ``ChildProcess`` starts).
"""

from __future__ import annotations

import _thread
import contextlib
import ctypes
import functools
import importlib
import os
import select
import shutil
import signal
import socket
import sys
from collections.abc import Callable
from typing import Any

from agent_envs.core.frames import read_frame, write_frame

__all__ = ["serve", "OwnerWatch", "preload", "load_object", "EchoHandler"]

#: Copies this server forked, reaped as they exit (never other children: ``subprocess``
#: waits for its own).
_forked: set[int] = set()
#: A template reaps every child: it adopts orphaned copies (it is their subreaper) and
#: never runs ``subprocess`` itself.
_reap_any = False
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_DEATH_SIGNAL = signal.SIGUSR1


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


def _prctl(option: int, value: int) -> bool:
    """Linux ``prctl(option, value)``; False where it is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def load_object(name: str) -> Any:
    """The object ``"module:attribute"`` names (the module is imported).

    Example:
        >>> load_object("os.path:join")("a", "b")
        'a/b'
    """
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


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


def _gone(pid: int) -> bool:
    """Whether ``pid`` has exited (a zombie counts: it is only waiting to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(") ", 1)[1][:1] in ("Z", "X")
    except FileNotFoundError:
        return True
    except OSError:  # no /proc: ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False


class OwnerWatch:
    """A thread that ends the process when ``channel`` hangs up or ``owner`` exits.

    ``wake``: a file descriptor that becomes readable on a hint (the parent-death
    signal's wakeup pipe); the owner is then checked. ``remove_on_orphan``: a directory
    to delete when the owner is gone.

    Example:
        >>> a, b = socket.socketpair()
        >>> watch = OwnerWatch(a.fileno(), os.getpid())
        >>> watch.start(); watch.stop()  # stopped before it ever fires
        >>> a.close(); b.close()
    """

    def __init__(
        self, channel: int, owner: int, wake: int | None = None, remove_on_orphan: str | None = None
    ) -> None:
        self.channel, self.owner, self.wake = channel, owner, wake
        self.remove_on_orphan = remove_on_orphan
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

    def _exit(self, orphaned: bool) -> None:
        if orphaned and self.remove_on_orphan:
            shutil.rmtree(self.remove_on_orphan, ignore_errors=True)
        os._exit(0)

    def _owner_gone(self, wait_s: float) -> bool:
        if self._owner_fd is not None:  # readable once the owner has exited
            return bool(select.select([self._owner_fd], [], [], wait_s)[0])
        return _gone(self.owner)

    def _watch(self, stop_fd: int, running: _thread.LockType) -> None:
        try:
            poller = select.poll()
            poller.register(self.channel, 0)  # only POLLHUP/POLLERR: the peer closed
            poller.register(stop_fd, select.POLLIN)
            if self._owner_fd is not None:
                poller.register(self._owner_fd, select.POLLIN)
            if self.wake is not None:
                poller.register(self.wake, select.POLLIN)
            while True:
                events = dict(poller.poll(None if self._owner_fd is not None else 1000))
                if stop_fd in events:
                    return
                if self.wake is not None and self.wake in events:
                    with contextlib.suppress(OSError):
                        os.read(self.wake, 512)
                if events.get(self.channel, 0) & select.POLLNVAL:  # closed here: not ours
                    return
                if self.channel in events:  # hung up: the owner dying, or done with us
                    self._exit(self._owner_gone(1.0))
                if self._owner_gone(0.0):
                    self._exit(True)
        finally:
            running.release()


def _fork(channel: socket.socket, watch: OwnerWatch) -> tuple[socket.socket | None, int]:
    """Fork this server; returns (the copy's channel, 0) in the copy, (None, pid) here."""
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


def _note(fd: int, value: Any) -> None:
    write_frame(fd, {"note": value})


def serve(channel_fd: int, owner: int, handler: Any, watch: OwnerWatch | None = None) -> None:
    """Serve requests on ``channel_fd`` with ``handler`` until the channel is closed.

    ``handler`` is an object with ``handle(request, notify)``, or a ``"module:factory"``
    name whose factory is called (after the watcher started) to make it.

    Example:
        >>> a, b = socket.socketpair()
        >>> write_frame(a.fileno(), ["echo", "hi"]); write_frame(a.fileno(), ["nope"])
        >>> a.shutdown(socket.SHUT_WR)  # no more requests: serve returns
        >>> serve(b.detach(), os.getpid(), EchoHandler())
        >>> read_frame(a.fileno()), read_frame(a.fileno())
        ({'ok': 'hi'}, {'error': "ValueError: unknown request 'nope'"})
        >>> a.close()
    """
    previous = signal.signal(signal.SIGCHLD, _reap)
    channel = socket.socket(fileno=channel_fd)
    watch = watch or OwnerWatch(channel.fileno(), owner)
    watch.start()
    try:
        _serve(channel, owner, handler, watch)
    finally:  # (returning: the channel was closed; a program then exits)
        signal.signal(signal.SIGCHLD, previous)
        channel.close()


def _serve(channel: socket.socket, owner: int, handler: Any, watch: OwnerWatch) -> None:
    if isinstance(handler, str):
        handler = load_object(handler)()
    while True:
        try:
            request = read_frame(channel.fileno())
        except (EOFError, OSError, ValueError):  # hung up: done, or the owner died
            if watch.remove_on_orphan and watch._owner_gone(1.0):
                watch._exit(True)
            watch.stop()
            return
        fd = channel.fileno()
        try:
            op = request[0] if isinstance(request, list) and request else None
            if op == "fork":
                copy_channel, pid = _fork(channel, watch)
                if copy_channel is not None:  # the copy: serve the new channel from here on
                    channel = copy_channel
                    with contextlib.suppress(ValueError, OSError):
                        signal.set_wakeup_fd(-1)  # the parent-death pipe is the server's
                    watch = OwnerWatch(channel.fileno(), owner, None, watch.remove_on_orphan)
                    watch.start()
                    continue
                watch.start()
                reply: dict[str, Any] = {"ok": pid}
            elif op == "preload":  # become a warm template: import, adopt orphans
                global _reap_any
                _reap_any = _reap_any or _prctl(_PR_SET_CHILD_SUBREAPER, 1)
                reply = {"ok": preload(list(request[1]))}
            else:
                reply = {"ok": handler.handle(request, functools.partial(_note, fd))}
        except Exception as exc:  # the handler raised: report it, keep serving
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        try:
            write_frame(fd, reply)
        except (TypeError, ValueError, RecursionError) as exc:  # a value JSON cannot carry
            write_frame(fd, {"error": f"{type(exc).__name__}: {exc}"})


class EchoHandler:
    """A handler for examples and tests of the plumbing: ``["echo", value]`` answers value.

    Example:
        >>> EchoHandler().handle(["echo", [1, 2]], print)
        [1, 2]
    """

    def handle(self, request: list, notify: Callable[[Any], None]) -> Any:
        """Answer ``["echo", value]`` with ``value``; anything else is an error."""
        if request[0] != "echo":
            raise ValueError(f"unknown request {request[0]!r}")
        return request[1]


def _main(argv: list[str]) -> None:
    channel, owner, handler = int(argv[0]), int(argv[1]), argv[2]
    workdir = os.getcwd() if "--remove-cwd-if-orphaned" in argv[3:] else None
    os.dup2(2, 1)  # whatever the handler's libraries print must not reach the channel
    wake = None
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.signal(_DEATH_SIGNAL, lambda *_: None)  # Python's C handler fills the pipe
    signal.set_wakeup_fd(write_end)
    if _prctl(_PR_SET_PDEATHSIG, int(_DEATH_SIGNAL)):
        wake = read_end
    watch = OwnerWatch(channel, owner, wake, workdir)
    if _gone(owner):  # gone before the signal was asked for
        watch._exit(True)
    serve(channel, owner, handler, watch)


if __name__ == "__main__":
    _main(sys.argv[1:])
