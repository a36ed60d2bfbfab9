"""Pages that ``mkdocs build`` generates (through the mkdocs-gen-files plugin).

* ``reference/<package>.md``: the API reference of each subpackage, rendered by
  mkdocstrings from the docstrings;
* ``envs/ids/<id>.md``: one page per registered id, its registration (entry point,
  default keywords) and the env class's own docstring page;
* ``gallery.md``: every benchmark plot under ``docs/results/``.

Generated from the code at build time, so a renamed class or a broken docstring
reference fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from agent_envs.registration import ENTRIES  # noqa: E402  (after the path insert)

#: subpackage -> one line on what it holds (the reference index's table)
PACKAGES = {
    "core": "TextEnv base class, text spaces, parsing, the contract check, child processes",
    "circuits": "analog circuit sizing: circuits as data, ngspice backends, the ACS env",
    "math": "tool-integrated math: problem sources, answer checking, the env",
    "sandbox": "isolated code execution",
    "textgames": "TextWorld and ALFWorld environments",
    "toy": "the toy environments used in tests and CPU demos",
    "wrappers": "reward schemes, sparsity, chat formatting, recording",
    "rl": "trajectories, the episode loop, advantage estimators",
    "train": "the reference trainer (extra `train`)",
    "baselines": "policies to benchmark against",
    "bench": "the `agent-envs bench` command",
    "integrations": "adapters to external RL frameworks, Ray rollouts",
}


def _reference() -> None:
    rows = ["# API reference", "", "| package | what it holds |", "| --- | --- |"]
    for name, summary in PACKAGES.items():
        rows.append(f"| [`agent_envs.{name}`]({name}.md) | {summary} |")
        with mkdocs_gen_files.open(f"reference/{name}.md", "w") as page:
            page.write(f"# agent_envs.{name}\n\n::: agent_envs.{name}\n")
            modules = sorted(p.stem for p in (ROOT / "agent_envs" / name).glob("[!_]*.py"))
            for module in modules:
                page.write(f"\n::: agent_envs.{name}.{module}\n")
    with mkdocs_gen_files.open("reference/index.md", "w") as page:
        page.write("\n".join(rows) + "\n")


def _env_pages() -> None:
    rows = ["# Every environment id", "", "| id | what the agent does |", "| --- | --- |"]
    for entry in ENTRIES:
        rows.append(f"| [`{entry.id}`]({entry.id}.md) | {entry.description} |")
        module, cls = entry.entry_point.split(":")
        kwargs = ", ".join(f"`{k}={v!r}`" for k, v in entry.kwargs.items()) or "none"
        with mkdocs_gen_files.open(f"envs/ids/{entry.id}.md", "w") as page:
            page.write(
                f"# {entry.id}\n\n{entry.description}\n\n"
                f'```python\nimport agent_envs\n\nenv = agent_envs.make("{entry.id}")\n```\n\n'
                f"Entry point `{entry.entry_point}`; registered keywords: {kwargs}.\n\n"
                f"::: {module}.{cls}\n    options:\n      show_root_heading: false\n"
                "      members: false\n"
            )
    with mkdocs_gen_files.open("envs/ids/index.md", "w") as page:
        page.write("\n".join(rows) + "\n")


def _gallery() -> None:
    lines = [
        "# Gallery",
        "",
        "Plots written by `agent-envs bench` (see [results](results.md)).",
        "",
    ]
    for png in sorted((ROOT / "docs" / "results").glob("*.png")):
        title = png.stem.replace("_", " ")
        lines += [f"## {title}", "", f"![{title}](results/{png.name})", ""]
    for png in sorted((ROOT / "docs" / "train" / "img").glob("*.png")):
        title = "training: " + png.stem.replace("_", " ")
        lines += [f"## {title}", "", f"![{title}](train/img/{png.name})", ""]
    with mkdocs_gen_files.open("gallery.md", "w") as page:
        page.write("\n".join(lines))


_reference()
_env_pages()
_gallery()
