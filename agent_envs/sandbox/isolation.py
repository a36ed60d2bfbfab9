"""Isolation levels: how a worker is launched at each, and how its facts are checked."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence

__all__ = [
    "ISOLATION_LEVELS",
    "isolation_rank",
    "worker_argv",
    "check_facts",
    "SANDBOX_HOME",
    "scrubbed_env",
    "python_world_readable",
]

#: From strongest to weakest.
#:  * ``bwrap+seccomp``: bubblewrap (new pid/net/ipc/uts/mount namespaces, read-only
#:    system, private /tmp and workdir, dies with the parent) plus a seccomp deny list,
#:    an unprivileged uid and rlimits.
#:  * ``bwrap``: the same without seccomp.
#:  * ``rlimits``: rlimits, an unprivileged uid when started as root, a new session
#:    (process group) and a descendant sweep; shares the host's network and filesystem.
#:  * ``watchdog``: rlimits where the OS has them and the parent's wall-clock watchdog
#:    (macOS, or hosts where nothing above works).
ISOLATION_LEVELS: tuple[str, ...] = ("bwrap+seccomp", "bwrap", "rlimits", "watchdog")

#: Where the workdir appears inside the bubblewrap levels (also ``HOME``).
SANDBOX_HOME = "/sandbox"


def isolation_rank(level: str) -> int:
    """Strength of a level: higher is stronger.

    Example:
        >>> isolation_rank("bwrap+seccomp") > isolation_rank("rlimits")
        True
        >>> isolation_rank("chroot")
        Traceback (most recent call last):
        ...
        ValueError: unknown isolation level 'chroot'; known: bwrap+seccomp, bwrap, rlimits, watchdog
    """
    if level not in ISOLATION_LEVELS:
        raise ValueError(f"unknown isolation level {level!r}; known: {', '.join(ISOLATION_LEVELS)}")
    return len(ISOLATION_LEVELS) - ISOLATION_LEVELS.index(level)


def _python_roots() -> list[str]:
    """Directories the interpreter and its packages live in (bound read-only)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    for entry in sys.path:
        if entry and "site-packages" in entry and os.path.isdir(entry):
            roots.add(entry)
    return sorted(r for r in roots if r and r != "/")


def python_world_readable() -> bool:
    """Whether any uid can run this interpreter and import its packages.

    Checked on the directories themselves (the mode bits), not by trying.

    Example:
        >>> isinstance(python_world_readable(), bool)
        True
    """
    for root in _python_roots():
        path = root
        while True:
            try:
                mode = os.stat(path).st_mode
            except OSError:
                return False
            if not mode & 0o001:  # others may not traverse it
                return False
            parent = os.path.dirname(path)
            if parent == path:
                break
            path = parent
    return True


def worker_argv(
    level: str, python_args: Sequence[str], workdir: str, seccomp_fd: int | None, tmpfs_mb: int
) -> list[str]:
    """The command that starts a worker at ``level``.

    Example:
        >>> argv = worker_argv("rlimits", ["python", "-c", "pass"], "/tmp/w", None, 64)
        >>> argv
        ['python', '-c', 'pass']
        >>> argv = worker_argv("bwrap", ["python"], "/tmp/w", None, 64)
        >>> argv[0].endswith("bwrap"), "--unshare-net" in argv, "--die-with-parent" in argv
        (True, True, True)
    """
    if not level.startswith("bwrap"):
        return list(python_args)
    bwrap = shutil.which("bwrap") or "bwrap"
    argv = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    argv += ["--unshare-cgroup-try", "--die-with-parent", "--new-session"]
    argv += ["--hostname", "sandbox", "--clearenv"]
    if os.getuid() != 0:  # unprivileged bubblewrap needs a user namespace
        argv += ["--unshare-user", "--uid", "65534", "--gid", "65534", "--disable-userns"]
    system = ("/usr", "/bin", "/lib", "/lib64", "/lib32", "/sbin")
    for path in system:
        argv += ["--ro-bind-try", path, path]
    for path in ("/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives"):
        argv += ["--ro-bind-try", path, path]
    # the private /tmp comes before the interpreter's binds: a venv under /tmp (a CI
    # checkout, say) would otherwise be hidden by the tmpfs mounted over it
    argv += ["--proc", "/proc", "--dev", "/dev"]  # before /dev/shm, which lives on it
    size = str(tmpfs_mb * 1024 * 1024)
    argv += ["--perms", "1777", "--size", size, "--tmpfs", "/tmp"]
    argv += ["--perms", "1777", "--size", size, "--tmpfs", "/dev/shm"]  # multiprocessing
    made: set[str] = set()
    for root in _python_roots():
        if any(root == s or root.startswith(s + "/") for s in system):
            continue
        # bubblewrap run as root creates missing parents 0700: make them traversable
        parts = root.strip("/").split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/" + "/".join(parts[:i])
            if parent not in made and parent not in ("/tmp", "/dev/shm"):
                made.add(parent)
                argv += ["--perms", "0755", "--dir", parent]
        argv += ["--ro-bind-try", root, root]
    argv += ["--bind", workdir, SANDBOX_HOME, "--chdir", SANDBOX_HOME]
    for key, value in _sandbox_env().items():
        argv += ["--setenv", key, value]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    return argv + ["--", *python_args]


def _sandbox_env() -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": SANDBOX_HOME,
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
    }


def scrubbed_env(workdir: str) -> dict[str, str]:
    """The whole environment of a worker at the rlimits/watchdog levels (no secrets).

    Example:
        >>> sorted(scrubbed_env("/tmp/w"))[:2]
        ['HOME', 'LANG']
    """
    return {**_sandbox_env(), "HOME": workdir, "TMPDIR": workdir}


def check_facts(level: str, facts: dict, dropped_uid: int | None) -> str:
    """Return "" when the worker's observed facts match ``level``, else what is missing.

    Example:
        >>> good = {"uid": 65534, "pid": 2, "interfaces": ["lo"], "seccomp": "2",
        ...         "no_new_privs": "1", "can_read_shadow": False, "python_readable": True}
        >>> check_facts("bwrap+seccomp", good, 65534)
        ''
        >>> check_facts("bwrap+seccomp", {**good, "seccomp": "0"}, 65534)
        'seccomp filter not active'
    """
    problems = []
    if level.startswith("bwrap"):
        if facts.get("uid") == 0:
            problems.append("running as root")
        if facts.get("pid", 99) > 5:
            problems.append("no private pid namespace")
        if [i for i in facts.get("interfaces", []) if i != "lo"]:
            problems.append("network interfaces visible")
        if facts.get("can_read_shadow"):
            problems.append("/etc/shadow readable")
    if level == "bwrap+seccomp" and facts.get("seccomp") != "2":
        problems.append("seccomp filter not active")
    if level == "rlimits" and dropped_uid is not None and facts.get("uid") != dropped_uid:
        problems.append("could not drop to an unprivileged uid")
    if level != "watchdog" and not facts.get("python_readable", True):
        problems.append("the interpreter is unreadable by the unprivileged uid")
    return "; ".join(problems)
