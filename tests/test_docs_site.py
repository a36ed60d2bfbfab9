"""The documentation site builds with ``mkdocs build --strict``.

Strict mode turns every warning into a failure: a broken link between pages, a
docstring cross-reference to a name that no longer exists, a page missing from the
navigation's targets, an env class whose docstring page cannot be generated.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", DISABLE_MKDOCS_2_WARNING="true")
    site = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # every registered id got its page, and the API reference rendered docstrings
    from agent_envs.registration import ENTRIES

    for entry in ENTRIES:
        assert (site / "envs" / "ids" / entry.id / "index.html").exists(), entry.id
    reference = (site / "reference" / "core" / "index.html").read_text()
    assert "check_text_env" in reference
    assert (site / "gallery" / "index.html").exists()
