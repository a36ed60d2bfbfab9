"""Summary statistics of benchmark episodes, with confidence intervals.

Proportions (success rate, success@k) get Wilson score intervals; means get percentile
bootstrap intervals (seeded, so a summary is reproducible).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["wilson_interval", "bootstrap_mean_interval", "success_at", "best_curve", "summarize"]


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval of a proportion (95% by default); ``(0, 1)`` when ``n == 0``.

    Example:
        >>> [round(x, 3) for x in wilson_interval(8, 10)]
        [0.49, 0.943]
    """
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def bootstrap_mean_interval(
    values: Sequence[float], level: float = 0.95, n_boot: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; ``(nan, nan)`` without values.

    Example:
        >>> lo, hi = bootstrap_mean_interval([1.0, 2.0, 3.0, 4.0])
        >>> 1.0 <= lo < 2.5 < hi <= 4.0
        True
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return (math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, (n_boot, data.size))].mean(axis=1)
    alpha = (1 - level) / 2
    return (float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha)))


def success_at(records: Sequence[dict[str, Any]], k: float) -> tuple[int, int]:
    """Count episodes that succeeded within ``k`` simulations: ``(successes, episodes)``.

    Example:
        >>> success_at([{"cost_to_success": 4}, {"cost_to_success": None}, {"cost_to_success": 12}], 10)
        (1, 3)
    """
    hits = sum(1 for r in records if r["cost_to_success"] is not None and r["cost_to_success"] <= k)
    return hits, len(records)


def best_curve(record: dict[str, Any], grid: Sequence[float]) -> np.ndarray:
    """Best score so far at each cost of ``grid`` (NaN before the first score).

    After the episode ends the last best value carries on, so episodes that stopped
    early (success) stay on the plot.

    Example:
        >>> rec = {"turns": [{"cost": 1, "best_score": None}, {"cost": 2, "best_score": 0.5},
        ...                  {"cost": 3, "best_score": 0.7}]}
        >>> best_curve(rec, [1, 2, 3, 4]).tolist()
        [nan, 0.5, 0.7, 0.7]
    """
    out = np.full(len(grid), np.nan)
    turns = record["turns"]
    i, best = 0, math.nan
    for j, k in enumerate(grid):
        while i < len(turns) and turns[i]["cost"] <= k:
            if turns[i]["best_score"] is not None:
                best = float(turns[i]["best_score"])
            i += 1
        out[j] = best
    return out


def summarize(
    records: Sequence[dict[str, Any]], ks: Sequence[int], policies: Sequence[str]
) -> list[dict[str, Any]]:
    """One summary row per policy (in ``policies`` order) over its finished episodes.

    Each row: ``policy``, ``episodes``, ``success_rate`` with ``success_lo/hi`` (Wilson),
    ``best_mean`` with ``best_lo/hi`` (bootstrap), ``best_median``,
    ``sims_to_success`` (median over successful episodes) and ``success@k`` with
    ``success@k_lo/hi`` for every ``k``.

    Example:
        >>> recs = [{"policy": "a", "success": True, "best_score": 1.0, "cost_to_success": 3},
        ...         {"policy": "a", "success": False, "best_score": 0.5, "cost_to_success": None}]
        >>> row = summarize(recs, [5], ["a"])[0]
        >>> row["episodes"], row["success_rate"], row["best_median"], row["success@5"]
        (2, 0.5, 0.75, 0.5)
    """
    rows = []
    for policy in policies:
        mine = [r for r in records if r["policy"] == policy]
        n = len(mine)
        wins = sum(1 for r in mine if r["success"])
        bests = [float(r["best_score"]) for r in mine if r["best_score"] is not None]
        costs = [r["cost_to_success"] for r in mine if r["cost_to_success"] is not None]
        lo, hi = wilson_interval(wins, n)
        blo, bhi = bootstrap_mean_interval(bests)
        row: dict[str, Any] = {
            "policy": policy,
            "episodes": n,
            "success_rate": wins / n if n else math.nan,
            "success_lo": lo,
            "success_hi": hi,
            "best_mean": float(np.mean(bests)) if bests else math.nan,
            "best_lo": blo,
            "best_hi": bhi,
            "best_median": float(np.median(bests)) if bests else math.nan,
            "sims_to_success": float(np.median(costs)) if costs else math.nan,
        }
        for k in ks:
            hits, total = success_at(mine, k)
            klo, khi = wilson_interval(hits, total)
            row[f"success@{k}"] = hits / total if total else math.nan
            row[f"success@{k}_lo"], row[f"success@{k}_hi"] = klo, khi
        rows.append(row)
    return rows
