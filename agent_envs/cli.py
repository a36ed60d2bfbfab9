"""The ``agent-envs`` command: ``list`` and the subcommands that later modules add.

Subcommands live in their own modules and are imported only when used, so
``agent-envs list`` stays fast and needs no optional extra.
"""

from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main", "SUBCOMMANDS", "PASSTHROUGH"]

#: name -> (module exposing ``add_arguments(parser)`` and ``run(args) -> int``, help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "bench": ("agent_envs.bench.cli", "run policies on an id; write a summary table and plots"),
    "train": (
        "agent_envs.train.command",
        "train an LLM policy on an id (GRPO, TL-GRPO, GTPO, RLOO, PPO, GiGPO)",
    ),
    "sft": (
        "agent_envs.train.sft_command",
        "expert episodes -> chat JSONL -> supervised fine-tuning (agent tokens only)",
    ),
}

#: name -> (module whose ``main(argv) -> int`` parses its own arguments, help)
PASSTHROUGH: dict[str, tuple[str, str]] = {
    "serve": (
        "agent_envs.baselines.serve",
        "serve a chat model over an OpenAI-compatible HTTP API (extra llm)",
    ),
    "make-specs": (
        "agent_envs.circuits.make_specs",
        "regenerate a circuit folder's train/test spec sets",
    ),
    "prefetch": (
        "agent_envs.textgames.prefetch",
        "generate a text-game preset's pool of games ahead of time (extra textworld)",
    ),
}


def _list(args: argparse.Namespace) -> int:
    from agent_envs.registration import list_ids

    rows = list_ids()
    width = max(len(env_id) for env_id, _ in rows)
    for env_id, description in rows:
        print(f"{env_id:<{width}}  {description}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status.

    Example:
        >>> main(["list"])  # doctest: +ELLIPSIS
        Toy-GuessNumber-v0 ...
        0
    """
    argv = sys.argv[1:] if argv is None else argv
    chosen = argv[0] if argv else None
    if chosen in PASSTHROUGH:  # the module's own parser reads the rest
        module = importlib.import_module(PASSTHROUGH[chosen][0])
        return int(module.main(argv[1:]) or 0)
    parser = argparse.ArgumentParser(prog="agent-envs", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="print every environment id with a one-line description")
    for name, (_, help_text) in PASSTHROUGH.items():
        sub.add_parser(name, help=help_text, add_help=False)
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=help_text)
        if name == chosen:  # import only the module that will run
            importlib.import_module(module_name).add_arguments(p)
    args = parser.parse_args(argv)
    if args.command == "list":
        return _list(args)
    return int(importlib.import_module(SUBCOMMANDS[args.command][0]).run(args) or 0)
