"""Fixtures of the math tests: each test records its process baseline (grading runs sandboxed)."""

from __future__ import annotations

import pytest

__all__: list[str] = []  # fixtures only


@pytest.fixture(autouse=True)
def _record_process_baseline(process_baseline: None) -> None:
    """Every math test records this process's children first (see ``leftover_processes``)."""
