"""The training log: one row per step in CSV and JSONL, and a PNG learning curve."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

__all__ = ["LOG_COLUMNS", "RunLog", "plot_learning_curve"]

#: Columns of ``log.csv`` / keys of ``log.jsonl`` (``kl_ref`` is empty without a reference).
LOG_COLUMNS: tuple[str, ...] = (
    "step", "turn_reward", "episode_return", "success", "loss", "pg_loss", "value_loss",
    "kl_ref", "kl_old", "clip_frac", "grad_norm", "agent_tokens", "tokens_per_s",
    "sample_tokens_per_s", "seconds", "phase", "sft_nll", "return_low", "return_high",
    "success_low", "success_high",
)  # fmt: skip


class RunLog:
    """Appends step rows to ``DIR/log.csv`` and ``DIR/log.jsonl`` (kept on resume).

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp()
        >>> log = RunLog(folder)
        >>> log.write({"step": 1, "turn_reward": 0.5, "kl_ref": None})
        >>> open(f"{folder}/log.csv").read().splitlines()[1].startswith("1,0.5,")
        True
        >>> RunLog(folder, resume=True).rows()[0]["turn_reward"]
        0.5
    """

    def __init__(self, out_dir: str | Path, *, resume: bool = False) -> None:
        self.dir = Path(out_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.csv_path, self.jsonl_path = self.dir / "log.csv", self.dir / "log.jsonl"
        if not resume or not self.csv_path.exists():
            with open(self.csv_path, "w", newline="") as f:
                csv.writer(f).writerow(LOG_COLUMNS)
            self.jsonl_path.write_text("")

    def write(self, row: dict[str, Any]) -> None:
        """Append one step's numbers (missing or non-finite ones are left empty)."""
        clean = {k: row.get(k) for k in LOG_COLUMNS}
        clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                 for k, v in clean.items()}  # fmt: skip
        with open(self.csv_path, "a", newline="") as f:
            csv.writer(f).writerow(["" if clean[k] is None else clean[k] for k in LOG_COLUMNS])
        with open(self.jsonl_path, "a") as f:
            f.write(json.dumps(clean) + "\n")

    def rows(self) -> list[dict[str, Any]]:
        """Every row written so far (from the JSONL file)."""
        return [json.loads(line) for line in self.jsonl_path.read_text().splitlines() if line]

    def truncate(self, last_step: int) -> None:
        """Drop rows after ``last_step`` (rows a crashed run wrote past its checkpoint)."""
        kept = [r for r in self.rows() if r["step"] <= last_step]
        with open(self.csv_path, "w", newline="") as f:
            csv.writer(f).writerow(LOG_COLUMNS)
        self.jsonl_path.write_text("")
        for row in kept:
            self.write(row)


def plot_learning_curve(rows: list[dict[str, Any]], path: str | Path, title: str = "") -> None:
    """Draw turn reward, episode return and success rate against the step into a PNG.

    Example:
        >>> import os, tempfile
        >>> png = os.path.join(tempfile.mkdtemp(), "curve.png")
        >>> plot_learning_curve([{"step": 1, "turn_reward": 0.1}, {"step": 2, "turn_reward": 0.3}], png)
        >>> os.path.getsize(png) > 1000
        True
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 5), sharex=True)
    steps = [r["step"] for r in rows]
    for key, axis in (("turn_reward", top), ("episode_return", top), ("success", bottom)):
        values = [r.get(key) for r in rows]
        if any(v is not None for v in values):
            axis.plot(steps, [math.nan if v is None else v for v in values], label=key)
    rewards = [r.get("turn_reward") for r in rows]
    if len(rows) >= 5 and all(v is not None for v in rewards):
        window = max(2, len(rows) // 10)
        smooth = [sum(rewards[max(0, i - window + 1) : i + 1]) / len(rewards[max(0, i - window + 1) : i + 1])
                  for i in range(len(rewards))]  # fmt: skip
        top.plot(
            steps, smooth, color="black", linewidth=2, label=f"turn_reward ({window}-step mean)"
        )
    top.set_ylabel("reward")
    top.legend(loc="best")
    bottom.set_ylabel("success rate")
    bottom.set_xlabel("step")
    top.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
