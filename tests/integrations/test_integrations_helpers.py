"""Shared checks for the framework-integration tests (no tests of its own).

* ``no_open_episodes`` (fixture): fails a test that leaves an agent-envs environment
  open (every env built is recorded, not by any adapter's bookkeeping) or a child
  process alive;
* :func:`require`: import a framework, skipping when absent unless the CI says the
  framework environments were built (``AGENT_ENVS_FRAMEWORKS=1``), then failing.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest

from agent_envs.core.text_env import TextEnv

ROOT = Path(__file__).resolve().parents[1]


def child_pids() -> list[int]:
    """Live (non-zombie) descendants of this process, read from /proc."""
    me, found = os.getpid(), []
    parents = {me}
    for _ in range(4):  # grandchildren of grandchildren are enough here
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) in found:
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) in parents and fields[0] != "Z":
                found.append(int(entry.name))
        parents |= set(found)
    return found


@pytest.fixture
def no_open_episodes(monkeypatch):
    """Fail the test if an environment it created is not closed, or a child process lives.

    Every agent-envs environment built during the test is kept (so an unclosed one
    cannot be garbage-collected away unseen) and must be closed at the end.
    """
    created: list[TextEnv] = []
    original_init = TextEnv.__init__

    def recording_init(self, *args, **kwargs):
        created.append(self)
        original_init(self, *args, **kwargs)

    monkeypatch.setattr(TextEnv, "__init__", recording_init)
    pids_before = set(child_pids())
    yield created
    monkeypatch.setattr(TextEnv, "__init__", original_init)
    left = {
        "open_envs": [type(e).__name__ for e in created if not getattr(e, "_closed", True)],
        "children": sorted(set(child_pids()) - pids_before),
    }
    created.clear()
    assert left == {"open_envs": [], "children": []}, left


def require(module: str) -> Any:
    """Import ``module``; skip when it is missing, fail when CI built it."""
    try:
        return importlib.import_module(module)
    except ImportError as e:
        if os.environ.get("AGENT_ENVS_FRAMEWORKS") == "1":
            raise
        pytest.skip(
            f"{module} is not installed here ({e}); scripts/install_frameworks.sh builds it",
            allow_module_level=True,
        )
