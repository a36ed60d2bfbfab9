"""Shared code of the framework-integration tests.

* :func:`require`: import a framework, skipping when absent unless the CI says the
  framework environments were built (``AGENT_ENVS_FRAMEWORKS=1``), then failing;
* :func:`child_pids`: this process's live descendants (``no_open_episodes`` in
  ``tests/integrations/conftest.py`` checks that none is left);
* ``ROOT``: the project's root folder.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ROOT", "child_pids", "require"]

ROOT = Path(__file__).resolve().parents[2]


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
