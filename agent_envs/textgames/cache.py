"""A directory cache of generated games, safe against concurrent writers and corruption.

Each entry is a folder ``<root>/<key>/`` holding the game files and a ``MANIFEST.json``
with their SHA-256 digests. An entry is built in a private temporary folder and moved
into place with one atomic ``rename``, under a per-key file lock, so two processes asking
for the same game never see (or leave) a half-written one. An entry whose files do not
match their manifest is treated as missing and rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = ["GameCache", "default_cache_dir", "CACHE_ENV_VAR"]

#: Environment variable that overrides the cache root of every text game.
CACHE_ENV_VAR = "AGENT_ENVS_CACHE"
_MANIFEST = "MANIFEST.json"
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


def default_cache_dir(family: str) -> Path:
    """The cache folder for a family of games (``$AGENT_ENVS_CACHE/<family>``).

    Without the variable: ``$XDG_CACHE_HOME/agent-envs/<family>`` or
    ``~/.cache/agent-envs/<family>``.

    Example:
        >>> default_cache_dir("textworld").name
        'textworld'
    """
    root = os.environ.get(CACHE_ENV_VAR)
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "agent-envs")
    return Path(root) / family


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``path`` (a no-op where ``fcntl`` is missing)."""
    try:
        import fcntl
    except ImportError:  # Windows: the atomic rename still keeps entries whole
        yield
        return
    with open(path, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class GameCache:
    """Build-once storage of game folders keyed by a name such as ``custom-w2o3q4-s17``.

    Example:
        >>> import tempfile
        >>> cache = GameCache(tempfile.mkdtemp())
        >>> def build(folder):
        ...     (folder / "game.txt").write_text("a tiny game")
        >>> entry = cache.get("demo-1", build)
        >>> (entry / "game.txt").read_text(), cache.is_valid("demo-1")
        ('a tiny game', True)
        >>> (entry / "game.txt").write_text("garbage")  # corrupt it: it is rebuilt
        7
        >>> (cache.get("demo-1", build) / "game.txt").read_text()
        'a tiny game'
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        """The folder of an entry (it may not exist yet)."""
        if not isinstance(key, str) or not _KEY_RE.match(key):
            raise ValueError(f"invalid cache key {key!r}")
        return self.root / key

    def is_valid(self, key: str) -> bool:
        """Whether the entry exists and every file matches its manifest."""
        folder = self.path(key)
        try:
            manifest = json.loads((folder / _MANIFEST).read_text())
            files = manifest["files"]
            if not isinstance(files, dict) or not files:
                return False
            return all(_digest(folder / name) == digest for name, digest in files.items())
        except (OSError, ValueError, KeyError, TypeError):
            return False

    def get(self, key: str, build: Callable[[Path], None]) -> Path:
        """Return the entry's folder, calling ``build(tmp_folder)`` first if it is missing.

        ``build`` writes the game files into the folder it is given; an exception from it
        leaves the cache unchanged and propagates.
        """
        folder = self.path(key)
        if self.is_valid(key):
            return folder
        self.root.mkdir(parents=True, exist_ok=True)
        with _file_lock(self.root / f".{key}.lock"):
            if self.is_valid(key):  # another process built it while we waited
                return folder
            # "-" before the random part: textworld picks a game's engine by searching the
            # whole path for ".z[1-8]", so a random ".z7..." folder made a PDDL game Z-code
            tmp = Path(tempfile.mkdtemp(prefix=f".{key}.build-", dir=self.root))
            try:
                build(tmp)
                files = {p.name: _digest(p) for p in sorted(tmp.iterdir()) if p.is_file()}
                if not files:
                    raise RuntimeError(f"building cache entry {key!r} produced no files")
                (tmp / _MANIFEST).write_text(json.dumps({"key": key, "files": files}))
                if folder.exists():  # a corrupted entry: move it aside, then drop it
                    stale = Path(tempfile.mkdtemp(prefix=f".{key}.stale-", dir=self.root))
                    os.replace(folder, stale / "old")
                    shutil.rmtree(stale, ignore_errors=True)
                os.replace(tmp, folder)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return folder
