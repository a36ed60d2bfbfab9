"""Fixtures shared by more than one test folder.

Layout: one folder per ``agent_envs`` subpackage (``circuits/``, ``sandbox/``, ``math/``, ...), a
``conftest.py`` per folder for the fixtures only that folder uses, plain helper code in the
``helpers`` package (importable as ``helpers.<module>`` because ``pyproject.toml`` puts ``tests/``
on ``sys.path``). Test file names are unique across folders, so both import modes collect them.
"""

from __future__ import annotations

import pytest

__all__ = ["process_baseline"]


@pytest.fixture
def process_baseline() -> None:
    """Record this process's children before the test: ``leftover_processes`` ignores them.

    The sandbox and math folders make it autouse (their code starts sandboxed children).
    """
    from helpers.sandbox import record_process_baseline

    record_process_baseline()
