"""Benchmark outputs: the summary as Markdown and CSV, and the PNG plots."""

from __future__ import annotations

import csv
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_envs.bench.stats import best_curve, success_at, wilson_interval

__all__ = ["markdown_table", "write_csv", "plot_best_so_far", "plot_success_at_k"]


def _num(x: float, digits: int = 3) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}g}"


def _ci(row: dict[str, Any], key: str, lo: str, hi: str) -> str:
    if isinstance(row[key], float) and math.isnan(row[key]):
        return "-"
    return f"{row[key]:.2f} [{row[lo]:.2f}, {row[hi]:.2f}]"


def markdown_table(rows: Sequence[dict[str, Any]], ks: Sequence[int]) -> str:
    """Render summary rows as a Markdown table (95% intervals in brackets).

    Example:
        >>> from agent_envs.bench.stats import summarize
        >>> rows = summarize([{"policy": "a", "success": True, "best_score": 1.0,
        ...                    "cost_to_success": 3}], [10], ["a"])
        >>> print(markdown_table(rows, [10]))  # doctest: +NORMALIZE_WHITESPACE
        | policy | episodes | success rate | best score (mean) | best score (median) | sims to success (median) | success@10 |
        | --- | --- | --- | --- | --- | --- | --- |
        | a | 1 | 1.00 [0.21, 1.00] | 1.00 [1.00, 1.00] | 1 | 3 | 1.00 [0.21, 1.00] |
    """
    head = ["policy", "episodes", "success rate", "best score (mean)", "best score (median)"]
    head += ["sims to success (median)"] + [f"success@{k}" for k in ks]
    lines = ["| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for row in rows:
        cells = [row["policy"], str(row["episodes"])]
        cells.append(_ci(row, "success_rate", "success_lo", "success_hi"))
        cells.append(_ci(row, "best_mean", "best_lo", "best_hi"))
        cells += [_num(row["best_median"]), _num(row["sims_to_success"])]
        cells += [_ci(row, f"success@{k}", f"success@{k}_lo", f"success@{k}_hi") for k in ks]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(rows: Sequence[dict[str, Any]], path: Path) -> None:
    """Write summary rows to ``path`` as CSV (one column per key).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "summary.csv"
        >>> write_csv([{"policy": "bo", "success_rate": 0.5}], path)
        >>> path.read_text().splitlines()
        ['policy,success_rate', 'bo,0.5']
    """
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["policy"])
        writer.writeheader()
        writer.writerows(rows)


def _cost_unit(records: Sequence[dict[str, Any]]) -> str:
    units = {r.get("cost_unit", "simulations") for r in records}
    return units.pop() if len(units) == 1 else "cost"


def _figure() -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg")  # files only; never needs a display
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(6.4, 4.2), dpi=120)


def plot_best_so_far(
    records: Sequence[dict[str, Any]], policies: Sequence[str], path: Path, title: str
) -> None:
    """Plot the mean best-so-far score against simulations, one line per policy.

    The band is the mean's 95% normal interval over episodes (those with a score).

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "best.png"
        >>> rec = {"policy": "a", "cost": 2, "turns": [{"cost": 1, "best_score": -0.5},
        ...                                            {"cost": 2, "best_score": -0.1}]}
        >>> plot_best_so_far([rec, rec], ["a"], path, "demo")
        >>> path.read_bytes()[1:4]
        b'PNG'
    """
    fig, ax = _figure()
    top = max((r["cost"] for r in records), default=1.0)
    grid = np.arange(1, max(1, int(math.ceil(top))) + 1)
    for policy in policies:
        curves = [best_curve(r, grid) for r in records if r["policy"] == policy]
        if not curves:
            continue
        data = np.vstack(curves)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns early on
            mean = np.nanmean(data, axis=0)
            count = np.sum(~np.isnan(data), axis=0)
            sem = np.nanstd(data, axis=0, ddof=1) / np.sqrt(np.maximum(count, 1))
        line = ax.plot(grid, mean, label=f"{policy} (n={len(curves)})")[0]
        ok = count > 1
        ax.fill_between(
            grid[ok],
            (mean - 1.96 * sem)[ok],
            (mean + 1.96 * sem)[ok],
            alpha=0.2,
            color=line.get_color(),
        )
    ax.set_xlabel(_cost_unit(records))
    ax.set_ylabel("best score so far (mean, 95% CI)")
    _finish(fig, ax, path, title)


def plot_success_at_k(
    records: Sequence[dict[str, Any]], policies: Sequence[str], path: Path, title: str
) -> None:
    """Plot success@k (fraction of episodes solved within k simulations) with Wilson bands.

    Example:
        >>> import tempfile, pathlib
        >>> path = pathlib.Path(tempfile.mkdtemp()) / "success.png"
        >>> recs = [{"policy": "a", "cost": 3, "cost_to_success": c} for c in (2, None)]
        >>> plot_success_at_k(recs, ["a"], path, "demo")
        >>> path.stat().st_size > 1000
        True
    """
    fig, ax = _figure()
    top = max((r["cost"] for r in records), default=1.0)
    grid = np.arange(1, max(1, int(math.ceil(top))) + 1)
    for policy in policies:
        mine = [r for r in records if r["policy"] == policy]
        if not mine:
            continue
        counts = [success_at(mine, k) for k in grid]
        rate = np.array([h / n for h, n in counts])
        bands = np.array([wilson_interval(h, n) for h, n in counts])
        line = ax.step(grid, rate, where="post", label=f"{policy} (n={len(mine)})")[0]
        ax.fill_between(
            grid, bands[:, 0], bands[:, 1], step="post", alpha=0.15, color=line.get_color()
        )
    ax.set_xlabel(f"{_cost_unit(records)} (k)")
    ax.set_ylabel("success@k (95% Wilson CI)")
    ax.set_ylim(-0.02, 1.02)
    _finish(fig, ax, path, title)


def _finish(fig: Any, ax: Any, path: Path, title: str) -> None:
    """Title, grid and legend, then save the figure and free it."""
    import matplotlib.pyplot as plt

    ax.set_title(title)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
