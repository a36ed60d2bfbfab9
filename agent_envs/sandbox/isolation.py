"""Isolation levels: how a worker is launched at each, and how its facts are checked."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "ISOLATION_LEVELS",
    "SAFE_LEVELS",
    "DEFAULT_MIN_ISOLATION",
    "INSTALL_HINT",
    "isolation_rank",
    "worker_argv",
    "worker_sys_path",
    "hidden_dirs",
    "check_facts",
    "SANDBOX_HOME",
    "scrubbed_env",
    "python_world_readable",
]

#: From strongest to weakest.
#:  * ``bwrap+seccomp``: bubblewrap (new pid/net/ipc/uts/mount namespaces, read-only
#:    system, private size-capped /tmp and workdir, dies with the parent) plus a seccomp
#:    deny list, an unprivileged uid and rlimits.
#:  * ``bwrap``: the same without seccomp.
#:  * ``rlimits``: rlimits, an unprivileged uid when started as root, a new session
#:    (process group) and a process sweep; shares the host's network and filesystem.
#:  * ``watchdog``: rlimits where the OS has them and the parent's wall-clock watchdog
#:    (macOS, or hosts where nothing above works).
ISOLATION_LEVELS: tuple[str, ...] = ("bwrap+seccomp", "bwrap", "rlimits", "watchdog")

#: Levels that separate users, pids, network and files: the only ones safe for
#: untrusted code. Anything weaker must be asked for by name.
SAFE_LEVELS: tuple[str, ...] = ("bwrap+seccomp", "bwrap")

#: The floor when the caller names none: fail closed below it.
DEFAULT_MIN_ISOLATION = "bwrap"

#: What an :class:`~agent_envs.sandbox.IsolationError` tells the user to do.
INSTALL_HINT = (
    "Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: "
    "`dnf install bubblewrap`; Arch: `pacman -S bubblewrap`; conda: `conda install -c "
    "conda-forge bubblewrap`) and make sure `bwrap` is on PATH and user namespaces are "
    "allowed, or opt into a weaker, UNSAFE level explicitly: min_isolation='rlimits' "
    "(or 'watchdog'), or isolation='rlimits' / 'watchdog'. The weaker levels share the "
    "host's files, network and (watchdog) user: never use them for untrusted code."
)

#: Where the workdir appears inside the bubblewrap levels (also ``HOME``).
SANDBOX_HOME = "/sandbox"

_PROJECT_DIR = str(Path(__file__).resolve().parent.parent)  # the agent_envs package


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


def worker_sys_path() -> list[str]:
    """The import path of a worker: this interpreter's, minus source checkouts and the cwd.

    The worker starts with ``-S`` (no ``site``: faster, and no ``.pth`` hook can import
    the project); it gets these directories instead, so ``numpy``/``sympy`` import. A
    directory that holds this project's package and is not a ``*-packages`` directory
    (a checkout on ``PYTHONPATH``) is left out; in an installed ``site-packages`` the
    package is masked instead (:func:`hidden_dirs`).

    Example:
        >>> any(p.endswith("agent_envs") or p == "" for p in worker_sys_path())
        False
    """
    project_root = os.path.dirname(_PROJECT_DIR)
    paths = []
    for entry in sys.path:
        if not entry or not os.path.isabs(entry) or not os.path.isdir(entry):
            continue  # "" (the cwd) and import hooks such as editable-install finders
        real = os.path.realpath(entry)
        checkout = real == project_root and not real.endswith("-packages")
        if checkout or real == _PROJECT_DIR or real.startswith(_PROJECT_DIR + os.sep):
            continue
        if entry not in paths:
            paths.append(entry)
    return paths


def _python_roots() -> list[str]:
    """Directories the interpreter and its packages live in (bound read-only)."""
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    for entry in worker_sys_path():
        if "-packages" in entry:
            roots.add(entry)
    return sorted(r for r in roots if r and r != "/")


def hidden_dirs() -> list[str]:
    """Directories masked with an empty read-only tmpfs inside the sandbox.

    The project's own package (its data files hold the answers of the shipped sample
    problems), wherever it is installed.

    Example:
        >>> hidden_dirs()[0].endswith("agent_envs")
        True
    """
    dirs = {_PROJECT_DIR}
    try:
        import importlib.util

        spec = importlib.util.find_spec("agent_envs")
        for location in (spec.submodule_search_locations or []) if spec else []:
            dirs.add(os.path.realpath(location))
    except (ImportError, ValueError):
        pass
    return sorted(dirs)


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
    level: str,
    python_args: Sequence[str],
    seccomp_fd: int | None,
    tmpfs_mb: int,
    disk_mb: int = 64,
) -> list[str]:
    """The command that starts a worker at ``level``.

    At the bubblewrap levels the workdir is a size-capped tmpfs at ``/sandbox`` (a disk
    quota for the session that vanishes with it); nothing of the host is writable.

    Example:
        >>> argv = worker_argv("rlimits", ["python", "-c", "pass"], None, 64)
        >>> argv
        ['python', '-c', 'pass']
        >>> argv = worker_argv("bwrap", ["python"], None, 64)
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
    bound = [*system, *_python_roots()]
    for hidden in hidden_dirs():  # mounted over, after the binds that contain it
        if any(hidden == b or hidden.startswith(b.rstrip("/") + "/") for b in bound):
            argv += ["--perms", "0555", "--size", "4096", "--tmpfs", hidden]
            argv += ["--remount-ro", hidden]
    argv += ["--perms", "0777", "--size", str(disk_mb * 1024 * 1024), "--tmpfs", SANDBOX_HOME]
    argv += ["--chdir", SANDBOX_HOME]
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


def _own_ns(kind: str) -> str:
    try:
        return os.readlink(f"/proc/self/ns/{kind}")
    except OSError:
        return ""


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
        own_pid_ns = _own_ns("pid")
        if facts.get("pid_ns") and own_pid_ns:  # compare the namespaces themselves
            shared_pids = facts["pid_ns"] == own_pid_ns
        else:
            shared_pids = facts.get("pid", 99) > 5
        if shared_pids:
            problems.append("no private pid namespace")
        if facts.get("net_ns") and facts["net_ns"] == _own_ns("net"):
            problems.append("no private network namespace")
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
