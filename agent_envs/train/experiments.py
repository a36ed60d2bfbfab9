"""The seed experiments of ``docs/train/``: each a list of ``agent-envs train`` runs.

``python -m agent_envs.train.experiments NAME --out DIR [--scale cpu|gpu]`` runs the
runs of experiment ``NAME`` one after the other (``DIR/<label>/``), then writes
``DIR/curves.png`` (training return per step with 95 % intervals, and held-out
evaluation before/after with 95 % intervals) and ``DIR/results.md`` (the table on the
experiment's page). ``--scale cpu`` is the CI-sized version (tiny local model, minutes);
``--scale gpu`` the same runs with SmolLM2-135M-Instruct and a real budget. Every
experiment includes a ``control`` run with ``--lr 1e-12``: a gain that is inside the
control's own before/after movement is not learning.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

__all__ = ["EXPERIMENTS", "SCALES", "run_experiment", "plot_experiment", "results_table"]

#: Flags of each scale (the model and the budget); experiment flags come after them.
SCALES: dict[str, list[str]] = {
    "cpu": ["--model", "tiny", "--cpu-threads", "1", "--lr", "3e-3", "--quiet"],
    "gpu": ["--model", "smollm2", "--device", "cuda", "--lr", "1e-6", "--quiet"],
}

#: name -> {"common": {scale: flags}, "runs": {label: flags}}.
EXPERIMENTS: dict[str, dict[str, Any]] = {
    "acs": {
        "common": {
            # equal simulation budget: G x T designs per task for every method
            "cpu": ["--env", "ACS-OpAmp-v0", "--group-size", "4", "--max-turns", "2",
                    "--max-new-tokens", "96", "--steps", "3", "--eval-episodes", "4",
                    "--system-prompt", ""],
            "gpu": ["--env", "ACS-OpAmp-v0", "--group-size", "8", "--max-turns", "6",
                    "--max-new-tokens", "256", "--steps", "60", "--eval-episodes", "32"],
        },
        "runs": {
            "tl-grpo": ["--algo", "tl-grpo"],
            "grpo-sum": ["--algo", "grpo", "--reward", "native"],
            "grpo-best-turn": ["--algo", "grpo", "--reward", "best-turn"],
            "control": ["--algo", "grpo", "--reward", "best-turn", "--lr", "1e-12"],
        },
    },
    "math": {
        "common": {
            "cpu": ["--env", "MathTIR-v0", "--group-size", "4", "--max-turns", "2",
                    "--max-new-tokens", "48", "--steps", "8", "--eval-episodes", "8",
                    "--system-prompt", ""],
            "gpu": ["--env", "MathTIR-v0", "--group-size", "8", "--max-turns", "4",
                    "--max-new-tokens", "512", "--steps", "100", "--eval-episodes", "64"],
        },
        "runs": {
            "gtpo": ["--algo", "gtpo", "--gamma", "0.9", "--similarity-coef", "0.1"],
            "grpo": ["--algo", "grpo"],
            "gtpo-sft-0.5": ["--algo", "gtpo", "--gamma", "0.9", "--similarity-coef", "0.1",
                             "--sft-ratio", "0.5"],
            "grpo-sft-0.5": ["--algo", "grpo", "--sft-ratio", "0.5"],
            "control": ["--algo", "grpo", "--lr", "1e-12"],
        },
    },
    "textgames": {
        "common": {
            "cpu": ["--env", "TextWorld-Custom-v0", "--env-kwargs",
                    '{"preset": "w2-o3-q4", "num_games": 2, "max_turns": 8}',
                    "--eval-env-kwargs", '{"split": "valid"}', "--group-size", "2",
                    "--max-turns", "4", "--max-new-tokens", "24", "--steps", "2",
                    "--eval-episodes", "2", "--system-prompt", ""],
            "gpu": ["--env", "TextWorld-Custom-v0", "--env-kwargs",
                    '{"preset": "w2-o3-q4", "num_games": 200}',
                    "--eval-env-kwargs", '{"split": "valid"}', "--group-size", "8",
                    "--max-turns", "30", "--max-new-tokens", "64", "--steps", "100",
                    "--eval-episodes", "64"],
        },
        "runs": {
            "ppo-dense": ["--algo", "ppo", "--reward", "normalized-dense"],
            "grpo-dense": ["--algo", "grpo", "--reward", "normalized-dense"],
            "rloo-dense": ["--algo", "rloo", "--reward", "normalized-dense"],
            "grpo-sparse": ["--algo", "grpo", "--reward", "success"],
            "grpo-sft-0.25": ["--algo", "grpo", "--reward", "normalized-dense", "--sft-ratio", "0.25"],
            "grpo-sft-0.5": ["--algo", "grpo", "--reward", "normalized-dense", "--sft-ratio", "0.5"],
            "control": ["--algo", "grpo", "--reward", "normalized-dense", "--lr", "1e-12"],
        },
        # at the CPU budget (2 steps) a 0.25 share rounds to 0 SFT steps
        "gpu_only": ["grpo-sft-0.25"],
    },
    "alfworld": {
        "common": {
            "cpu": ["--env", "ALFWorld-v0", "--env-kwargs",
                    '{"num_generated": 2, "max_turns": 8}',
                    "--eval-env-kwargs", '{"split": "test"}', "--group-size", "2",
                    "--max-turns", "4", "--max-new-tokens", "24", "--steps", "2",
                    "--eval-episodes", "2", "--system-prompt", ""],
            "gpu": ["--env", "ALFWorld-v0", "--eval-env-kwargs", '{"split": "test"}',
                    "--group-size", "8", "--max-turns", "30", "--max-new-tokens", "64",
                    "--steps", "100", "--eval-episodes", "64"],
        },
        "runs": {
            "grpo-dense": ["--algo", "grpo", "--reward", "normalized-dense"],
            "grpo-sparse": ["--algo", "grpo", "--reward", "success"],
            "grpo-sft-0.25": ["--algo", "grpo", "--reward", "normalized-dense", "--sft-ratio", "0.25"],
            "grpo-sft-0.5": ["--algo", "grpo", "--reward", "normalized-dense", "--sft-ratio", "0.5"],
            "control": ["--algo", "grpo", "--reward", "normalized-dense", "--lr", "1e-12"],
        },
        # at the CPU budget (2 steps) a 0.25 share rounds to 0 SFT steps
        "gpu_only": ["grpo-sft-0.25"],
    },
    # the SFT:RL split where a tiny model does learn on a CPU (the toy), as a yardstick
    "sft-ratio-toy": {
        "common": {
            "cpu": ["--env", "Toy-GuessNumber-v0", "--env-kwargs", '{"high": 9, "max_turns": 4}',
                    "--system-prompt", "Guess 1-9.", "--algo", "grpo", "--group-size", "8",
                    "--max-new-tokens", "4", "--max-turns", "4", "--micro-batch-size", "8",
                    "--steps", "16", "--eval-episodes", "32"],
            "gpu": ["--env", "Toy-GuessNumber-v0", "--algo", "grpo", "--group-size", "8",
                    "--max-new-tokens", "16", "--max-turns", "8", "--steps", "100",
                    "--eval-episodes", "64"],
        },
        "runs": {
            "sft-0": [],
            "sft-0.25": ["--sft-ratio", "0.25"],
            "sft-0.5": ["--sft-ratio", "0.5"],
            "sft-1": ["--sft-ratio", "1.0"],
            "control": ["--lr", "1e-12"],
        },
    },
}  # fmt: skip


def run_experiment(
    name: str, out: str | Path, *, scale: str = "cpu", only: list[str] | None = None
) -> list[str]:
    """Run the runs of experiment ``name`` one at a time; return the labels run."""
    from agent_envs.train.command import add_arguments, run

    spec = EXPERIMENTS[name]
    labels = []
    for label, flags in spec["runs"].items():
        if (only and label not in only) or (scale == "cpu" and label in spec.get("gpu_only", ())):
            continue
        parser = argparse.ArgumentParser()
        add_arguments(parser)
        argv = [*SCALES[scale], *spec["common"][scale], *flags, "--out", str(Path(out, label))]
        print(f"[{name}] {label}: agent-envs train {' '.join(argv)}", file=sys.stderr, flush=True)
        if run(parser.parse_args(argv)) != 0:
            raise RuntimeError(f"run {label} failed")
        labels.append(label)
    return labels


def _runs(out: Path) -> dict[str, tuple[list[dict], dict]]:
    found = {}
    for folder in sorted(p for p in out.iterdir() if (p / "summary.json").exists()):
        rows = [json.loads(x) for x in (folder / "log.jsonl").read_text().splitlines() if x]
        found[folder.name] = (rows, json.loads((folder / "summary.json").read_text()))
    return found


def results_table(out: str | Path) -> str:
    """Markdown table: held-out success, best score and return before/after, 95 % intervals."""

    def cell(v: dict[str, float]) -> str:
        if not v or not isinstance(v.get("mean"), (int, float)) or not math.isfinite(v["mean"]):
            return "n/a"
        return f"{v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}]"

    lines = ["| run | metric | before | after |", "| --- | --- | --- | --- |"]
    for label, (_, summary) in _runs(Path(out)).items():
        for metric in ("success", "best_score", "return"):
            before = summary.get("before", {}).get(metric)
            after = summary.get("after", {}).get(metric)
            lines.append(f"| {label} | {metric} | {cell(before)} | {cell(after)} |")
    return "\n".join(lines) + "\n"


def plot_experiment(out: str | Path, title: str = "") -> Path:
    """``OUT/curves.png``: per-step training return (95 % band) and evaluation before/after."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = _runs(Path(out))
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for i, (label, (rows, summary)) in enumerate(runs.items()):
        rl = [r for r in rows if r.get("phase") != "sft"]
        steps = [r["step"] for r in rl]

        def column(key: str, rows: list[dict] = rl) -> list[float]:
            return [math.nan if r.get(key) is None else r[key] for r in rows]

        mean, low, high = column("episode_return"), column("return_low"), column("return_high")
        (line,) = left.plot(steps, mean, marker="o", label=label)
        left.fill_between(steps, low, high, alpha=0.2, color=line.get_color())
        for j, key in enumerate(("before", "after")):
            v = summary.get(key, {}).get("return")
            if v and isinstance(v.get("mean"), (int, float)) and math.isfinite(v["mean"]):
                x = i + (j - 0.5) * 0.3
                right.errorbar(x, v["mean"], yerr=[[v["mean"] - v["low"]], [v["high"] - v["mean"]]],
                               fmt="o" if key == "before" else "s", color=line.get_color(),
                               capsize=3)  # fmt: skip
    left.set_xlabel("step")
    left.set_ylabel("training episode return (run's reward)")
    left.legend(fontsize=8)
    right.set_xticks(range(len(runs)), list(runs), rotation=20, fontsize=8)
    right.set_ylabel("held-out native return: o before, s after")
    fig.suptitle(title)
    fig.tight_layout()
    path = Path(out) / "curves.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line: run an experiment (or only ``--plot`` its results)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", choices=list(EXPERIMENTS))
    parser.add_argument("--out", required=True)
    parser.add_argument("--scale", choices=list(SCALES), default="cpu")
    parser.add_argument("--only", nargs="*", help="run only these labels")
    parser.add_argument("--plot", action="store_true", help="only redraw curves and table")
    args = parser.parse_args(argv)
    if not args.plot:
        run_experiment(args.name, args.out, scale=args.scale, only=args.only)
    plot_experiment(args.out, f"{args.name} ({args.scale})")
    table = results_table(args.out)
    Path(args.out, "results.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
