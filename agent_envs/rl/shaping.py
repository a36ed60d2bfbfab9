"""GTPO self-supervised reward shaping: failed trajectories earn credit for code like the winners'.

With binary outcome rewards most failed trajectories get the same 0 and, in a group
where every member failed or every member succeeded, no learning signal at all. GTPO
(Ding et al., *Empowering Multi-Turn Tool-Integrated Reasoning with Group Turn Policy
Optimization*, arXiv:2511.14846, 2025) densifies this: a failed trajectory whose code
resembles the code of the group's successful trajectories is probably closer to a
solution, so it gets part of the reward.

Similarity measure (our choice): **Jaccard similarity of token 3-gram sets** of the
code, after a small lexer that drops comments and whitespace. Why:

* token-level, so formatting, blank lines and comments do not count, while identifiers,
  numbers and operators (what the code *does*) do;
* 3-grams keep local structure (``x ** 2`` differs from ``2 ** x``) without being as
  order-sensitive as an edit distance: moving a helper function costs little;
* a set measure is symmetric, in [0, 1], 1 only for the same token sequence (up to
  repeats), linear-time, and needs nothing beyond the standard library (difflib's ratio is
  quadratic in the worst case and not symmetric).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from agent_envs.core import extract_code_blocks
from agent_envs.rl.trajectory import Trajectory

__all__ = [
    "code_tokens",
    "code_similarity",
    "trajectory_code",
    "replies_code",
    "densify_failed_rewards",
    "shape_group_rewards",
]

_TOKEN_RE = re.compile(
    r"""(?P<comment>\#[^\n]*|//[^\n]*)
      | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
      | (?P<number>\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)
      | (?P<name>[^\W\d]\w*)
      | (?P<op>\*\*|//|==|!=|<=|>=|->|:=|[-+*/%@&|^~<>=()\[\]{},.:;])""",
    re.VERBOSE,
)


def code_tokens(code: str) -> list[str]:
    """Lex code into names, numbers, strings and operators; comments and spaces are dropped.

    Example:
        >>> code_tokens("x = y**2  # square")
        ['x', '=', 'y', '**', '2']
    """
    if not isinstance(code, str):
        return []
    return [m.group() for m in _TOKEN_RE.finditer(code) if m.lastgroup != "comment"]


def _shingles(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    size = min(n, len(tokens))
    return {tuple(tokens[i : i + size]) for i in range(len(tokens) - size + 1)} if size else set()


def code_similarity(a: str, b: str, *, n: int = 3) -> float:
    """Jaccard similarity of the token ``n``-gram sets of two pieces of code, in [0, 1].

    Code shorter than ``n`` tokens uses shorter grams; empty code is similar to nothing (0).

    Example:
        >>> code_similarity("print(x + 1)", "print( x+1 )  # same")
        1.0
        >>> code_similarity("a = b * c", "d = e - f")
        0.0
        >>> 0 < code_similarity("s = sum(range(10))", "s = sum(range(11))") < 1
        True
    """
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    left, right = _shingles(code_tokens(a), n), _shingles(code_tokens(b), n)
    if not left or not right:
        return 0.0
    return len(left & right) / len(left | right)


def trajectory_code(
    trajectory: Trajectory,
    *,
    languages: tuple[str, ...] | None = None,
    fallback_to_text: bool = False,
) -> str:
    """All fenced code blocks of a trajectory's replies, joined (``extract_code_blocks``).

    With ``fallback_to_text=True`` a reply without a code block contributes its whole text
    (for environments whose replies are structured text rather than code).

    Example:
        >>> from agent_envs.rl.trajectory import Turn
        >>> t = Trajectory(None, 0, None, "task", [Turn("2", "Try:\\n```python\\nprint(2)\\n```")])
        >>> trajectory_code(t)
        'print(2)\\n'
    """
    return replies_code(trajectory.actions, languages=languages, fallback_to_text=fallback_to_text)


def replies_code(
    replies: Sequence[str],
    *,
    languages: tuple[str, ...] | None = None,
    fallback_to_text: bool = False,
) -> str:
    """The fenced code blocks of ``replies``, joined: the one rule every GTPO caller uses.

    A reply without a code block contributes nothing, or its whole text with
    ``fallback_to_text=True``. :func:`trajectory_code` and the trainer's
    ``--similarity-coef`` both go through here, so they shape alike.

    Example:
        >>> replies_code(["```python\\nx = 1\\n```", "no code"])
        'x = 1\\n'
        >>> replies_code(["```python\\nx = 1\\n```", "no code"], fallback_to_text=True)
        'x = 1\\n\\nno code'
    """
    parts = []
    for action in replies:
        blocks = extract_code_blocks(action, languages)
        parts.extend(blocks if blocks else ([action] if fallback_to_text else []))
    return "\n".join(parts)


def densify_failed_rewards(
    rewards: Sequence[float],
    codes: Sequence[str],
    successes: Sequence[bool],
    *,
    weight: float = 0.5,
    aggregate: str = "max",
    n: int = 3,
) -> np.ndarray:
    """Add ``weight * similarity`` to the reward of each failed member of a group.

    Formula: for failed ``i``, ``r_i' = r_i + weight * agg_{j in S} sim(c_i, c_j)`` with ``S``
    the successful members, ``agg`` = ``max`` (closeness to *any* solution; default) or
    ``mean``; successful members and groups without a success are unchanged. With binary
    rewards and ``weight < 1`` a failure never outranks a success. Non-finite rewards are
    left as they are.

    Example:
        >>> densify_failed_rewards([1.0, 0.0, 0.0], ["x = 1", "x = 1", "y"], [True, False, False])
        array([1. , 0.5, 0. ])
    """
    if not (len(rewards) == len(codes) == len(successes)):
        raise ValueError("rewards, codes and successes must have the same length")
    if aggregate not in ("max", "mean"):
        raise ValueError(f"aggregate must be 'max' or 'mean', got {aggregate!r}")
    if not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
        raise ValueError(f"weight must be a finite non-negative number, got {weight!r}")
    out = np.array(rewards, dtype=np.float64)
    winners = [c for c, ok in zip(codes, successes, strict=True) if ok]
    if not winners:
        return out
    for i, (code, ok) in enumerate(zip(codes, successes, strict=True)):
        if ok or not math.isfinite(out[i]):
            continue
        sims = [code_similarity(code, w, n=n) for w in winners]
        out[i] += weight * (max(sims) if aggregate == "max" else float(np.mean(sims)))
    return out


def shape_group_rewards(
    trajectories: Sequence[Trajectory],
    *,
    weight: float = 0.5,
    aggregate: str = "max",
    languages: tuple[str, ...] | None = None,
    fallback_to_text: bool = False,
    n: int = 3,
) -> list[list[float]]:
    """Per-turn rewards of a group with GTPO's code-similarity bonus on failed trajectories.

    Success is ``Trajectory.success`` (the last turn's ``info["success"]``). Each failed
    trajectory's bonus (:func:`densify_failed_rewards` applied to its outcome) is added to
    its **last** turn's reward, where the sparse outcome reward sits; earlier turns are
    unchanged. Feed the result to :func:`~agent_envs.rl.advantages.gtpo_advantages`.

    Example:
        >>> from agent_envs.rl.trajectory import Turn
        >>> def traj(code, ok):
        ...     return Trajectory(None, 0, None, "t", [Turn("", f"```\\n{code}\\n```", float(ok),
        ...                                                 terminated=True, info={"success": ok})])
        >>> shape_group_rewards([traj("a = f(x, 2)", True), traj("a = f(x, 3)", False)])
        [[1.0], [0.25]]
    """
    outcomes = [t.total_reward for t in trajectories]
    codes = [
        trajectory_code(t, languages=languages, fallback_to_text=fallback_to_text)
        for t in trajectories
    ]
    successes = [t.success for t in trajectories]
    shaped = densify_failed_rewards(
        outcomes, codes, successes, weight=weight, aggregate=aggregate, n=n
    )
    out = []
    for t, before, after in zip(trajectories, outcomes, shaped, strict=True):
        rewards = list(t.rewards)
        if rewards and math.isfinite(after - before) and after != before:
            rewards[-1] += float(after - before)
        out.append(rewards)
    return out
