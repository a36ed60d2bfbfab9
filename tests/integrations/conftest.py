"""Fixtures of the framework-integration tests: ``no_open_episodes``."""

from __future__ import annotations

import pytest

from agent_envs.core.text_env import TextEnv

from helpers.frameworks import child_pids

__all__ = ["no_open_episodes"]


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
