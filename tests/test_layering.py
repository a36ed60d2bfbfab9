"""The package's layers point one way, and ``import agent_envs`` stays light.

The layers (docs/contract.md, "Layers"): ``core`` imports nothing of the project; the
sandbox sits on core; environments on both; ``wrappers`` and ``rl`` on core; the id
registry and the front door on those; the package itself (``agent_envs/__init__.py``)
and the baselines next; then the trainer, the bench and the framework adapters; the
command line last. A module may import its own package and
any lower layer, never a layer of its own rank (environments do not import each other)
or above. Every import statement counts, including those inside functions.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "agent_envs"
#: Rank of each top-level part of the package (a module or a subpackage).
LAYER = {
    "core": 0,
    "sandbox": 1,
    "circuits": 2,
    "math": 2,
    "textgames": 2,
    "toy": 2,
    "wrappers": 3,
    "rl": 3,
    "registration": 4,
    "front_door": 4,
    "__init__": 5,  # the package itself: registers ids, exports the front door
    "baselines": 5,
    "train": 6,
    "bench": 6,
    "integrations": 6,
    "cli": 7,
    "__main__": 8,
}
#: Heavy third-party packages only the modules that need them import.
HEAVY = ("torch", "transformers", "textworld", "alfworld", "ray", "optuna", "matplotlib")


def _part(module: str) -> str | None:
    """The top-level part of ``agent_envs`` that ``module`` names (None: not ours)."""
    names = module.split(".")
    if names[0] != "agent_envs":
        return None
    return names[1] if len(names) > 1 else "__init__"


def project_imports(path: Path, package: Path) -> list[tuple[int, str]]:
    """(line, module) of every absolute ``agent_envs`` import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module != "agent_envs":
                found.append((node.lineno, node.module))
                continue
            for alias in node.names:  # `from agent_envs import rl` imports the subpackage
                part = package / alias.name
                ours = part.is_dir() or part.with_suffix(".py").exists()
                found.append((node.lineno, f"agent_envs.{alias.name}" if ours else "agent_envs"))
    return [(line, name) for line, name in found if _part(name) is not None]


def upward_imports(package: Path) -> list[str]:
    """Every import in ``package`` of a layer not below the importing module's."""
    wrong = []
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package)
        source = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        for line, name in project_imports(path, package):
            target = _part(name)
            if target == source:
                continue
            if target not in LAYER or LAYER[target] >= LAYER[source]:
                wrong.append(f"agent_envs/{relative}:{line} ({source}) imports {name}")
    return wrong


def test_every_part_of_the_package_has_a_layer():
    parts = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()}
    parts = {p for p in parts if not p.startswith(".") and p not in ("__pycache__", "data")}
    missing = {p for p in parts if (PACKAGE / p).is_dir() or (PACKAGE / f"{p}.py").exists()}
    assert missing - set(LAYER) == set()


def test_imports_point_down_the_layers():
    assert upward_imports(PACKAGE) == []


def test_the_check_sees_an_upward_import(tmp_path):
    # the checker itself: an import from core up to rl, inside a function, is reported
    fake = tmp_path / "agent_envs"
    (fake / "core").mkdir(parents=True)
    (fake / "core" / "bad.py").write_text("def f():\n    from agent_envs.rl import Policy\n")
    (fake / "rl").mkdir()
    (fake / "rl" / "ok.py").write_text("import agent_envs.core.bad\nfrom agent_envs import train\n")
    (fake / "train").mkdir()
    assert upward_imports(fake) == [
        "agent_envs/core/bad.py:2 (core) imports agent_envs.rl",
        "agent_envs/rl/ok.py:2 (rl) imports agent_envs.train",
    ]


@pytest.mark.parametrize("module", ["agent_envs", "agent_envs.rl", "agent_envs.wrappers"])
def test_importing_the_package_loads_no_heavy_library(module):
    code = f"import sys, {module}; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PACKAGE.parent,
        check=True,
    )
    assert result.stdout.strip() == "[]"
