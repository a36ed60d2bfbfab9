"""Held-out evaluation numbers with 95 % intervals: success, best score, return."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

__all__ = ["mean_interval", "wilson_interval", "evaluation_summary", "format_evaluation"]

_Z95 = 1.959963984540054


def mean_interval(values: Sequence[float]) -> dict[str, float]:
    """Mean and normal-approximation 95 % interval ``mean ± 1.96 s / sqrt(n)``.

    ``s`` is the sample standard deviation (``n - 1``); one value gives a zero-width
    interval; no value gives NaN.

    Example:
        >>> {k: round(v, 4) for k, v in mean_interval([1.0, 2.0, 3.0]).items()}
        {'mean': 2.0, 'low': 0.8684, 'high': 3.1316, 'n': 3}
    """
    xs = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(xs)
    if not n:
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    mean = math.fsum(xs) / n
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1)) if n > 1 else 0.0
    half = _Z95 * sd / math.sqrt(n)
    return {"mean": mean, "low": mean - half, "high": mean + half, "n": n}


def wilson_interval(successes: int, n: int) -> dict[str, float]:
    """Success rate with its Wilson score 95 % interval (sensible at 0 and n successes).

    Formula: ``(p + z²/2n ± z sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n)`` (Wilson, JASA 1927).

    Example:
        >>> {k: round(v, 4) for k, v in wilson_interval(0, 10).items()}
        {'mean': 0.0, 'low': 0.0, 'high': 0.2775, 'n': 10}
    """
    if n <= 0:
        return {"mean": math.nan, "low": math.nan, "high": math.nan, "n": 0}
    p, z2 = successes / n, _Z95**2
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = _Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return {"mean": p, "low": max(0.0, centre - half), "high": min(1.0, centre + half), "n": n}


def evaluation_summary(episodes: Sequence[Any]) -> dict[str, dict[str, float]]:
    """``success``, ``best_score`` and ``return`` of played episodes with 95 % intervals.

    ``episodes`` are :class:`~agent_envs.rl.Trajectory` or
    :class:`~agent_envs.train.sampling.Sample` objects (anything with ``success``,
    ``best_score`` and ``total_reward``). ``best_score`` skips episodes without a valid
    turn.

    Example:
        >>> from agent_envs.rl import Trajectory, Turn
        >>> played = [Trajectory(None, 0, None, "t", [Turn("o", "a", 1.0,
        ...                      {"success": True, "best_score": 0.9})]),
        ...           Trajectory(None, 0, None, "t", [Turn("o", "a", 0.0, {"best_score": 0.1})])]
        >>> summary = evaluation_summary(played)
        >>> summary["success"]["mean"], summary["return"]["mean"], summary["best_score"]["n"]
        (0.5, 0.5, 2)
    """
    n = len(episodes)
    return {
        "success": wilson_interval(sum(bool(e.success) for e in episodes), n),
        "best_score": mean_interval([e.best_score for e in episodes if e.best_score is not None]),
        "return": mean_interval([e.total_reward for e in episodes]),
    }


def format_evaluation(label: str, summary: dict[str, dict[str, float]]) -> str:
    """One line: each number with its 95 % interval.

    Example:
        >>> format_evaluation("before", {"success": wilson_interval(1, 4)})
        'before: success 0.250 [0.046, 0.699] (n=4)'
    """
    parts = [
        f"{name} {v['mean']:.3f} [{v['low']:.3f}, {v['high']:.3f}]" for name, v in summary.items()
    ]
    n = max((v["n"] for v in summary.values()), default=0)
    return f"{label}: " + ", ".join(parts) + f" (n={n})"
