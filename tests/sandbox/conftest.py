"""Fixtures of the sandbox tests: each test records its process baseline; ``safe_host``."""

from __future__ import annotations

import pytest

from helpers.sandbox import probe_safe_level

__all__ = ["safe_host"]


@pytest.fixture(autouse=True)
def _record_process_baseline(process_baseline: None) -> None:
    """Every sandbox test records this process's children first (see ``leftover_processes``)."""


@pytest.fixture(scope="session")
def _safe_level() -> str:
    """The safe isolation level this host offers, probed once per session."""
    return probe_safe_level()


@pytest.fixture
def safe_host(_safe_level: str) -> str:
    """The safe level this host offers; skips the test where there is none."""
    if _safe_level.startswith("none"):
        pytest.skip(f"host offers no safe isolation level ({_safe_level})")
    return _safe_level
