"""The ``agent-envs`` command reaches every job: its own subcommands and the module CLIs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agent_envs.cli import PASSTHROUGH, SUBCOMMANDS, main


def test_help_lists_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    for name in ["list", *PASSTHROUGH, *SUBCOMMANDS]:
        assert name in out


@pytest.mark.parametrize("name", sorted(PASSTHROUGH))
def test_passthrough_reaches_the_module_parser(name: str) -> None:
    # the module's own --help (its own options), not the top-level parser's
    done = subprocess.run(
        [sys.executable, "-m", "agent_envs", name, "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    assert "{list," not in done.stdout  # not the top-level usage line


def test_make_specs_rejects_an_unknown_circuit() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent_envs", "make-specs", "no-such-circuit", "--samples", "2"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
