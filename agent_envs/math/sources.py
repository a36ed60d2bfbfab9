"""Where problems come from: the procedural generators, or the user's own data."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agent_envs.math.problems import AREAS, LEVELS, Problem, generate_problem

__all__ = ["ProceduralProblems", "ProblemSet", "load_problems", "SAMPLE_PROBLEMS_PATH"]

#: A small JSONL file shipped with the package (question/answer per line).
SAMPLE_PROBLEMS_PATH = Path(__file__).parent / "data" / "sample_problems.jsonl"


class ProceduralProblems:
    """Draws generated problems: an area and a level uniformly, then a seed.

    Example:
        >>> source = ProceduralProblems(areas=["probability"], levels=[4])
        >>> p = source.sample(np.random.default_rng(0))
        >>> p.area, p.level
        ('probability', 4)
    """

    def __init__(self, areas: Sequence[str] | None = None, levels: Sequence[int] | None = None):
        self.areas = tuple(areas) if areas is not None else AREAS
        self.levels = tuple(levels) if levels is not None else LEVELS
        if not self.areas or any(a not in AREAS for a in self.areas):
            raise ValueError(f"areas must be a non-empty subset of {AREAS}, got {areas!r}")
        if not self.levels or any(lvl not in LEVELS for lvl in self.levels):
            raise ValueError(f"levels must be a non-empty subset of {LEVELS}, got {levels!r}")

    def sample(self, rng: np.random.Generator) -> Problem:
        """One problem drawn with ``rng`` (deterministic given its state)."""
        area = self.areas[int(rng.integers(len(self.areas)))]
        level = self.levels[int(rng.integers(len(self.levels)))]
        return generate_problem(area, level, int(rng.integers(2**31)))

    def __len__(self) -> int:
        return 0  # unbounded


class ProblemSet:
    """A fixed list of problems, drawn uniformly.

    Example:
        >>> ps = ProblemSet([Problem("1+1?", "2")])
        >>> ps.sample(np.random.default_rng(0)).answer, len(ps)
        ('2', 1)
    """

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        if not self.problems:
            raise ValueError("the problem set is empty")

    def sample(self, rng: np.random.Generator) -> Problem:
        """One problem drawn with ``rng``."""
        return self.problems[int(rng.integers(len(self.problems)))]

    def __len__(self) -> int:
        return len(self.problems)


def _rows_to_problems(
    rows: Iterable[Any], question_key: str, answer_key: str, origin: str
) -> list[Problem]:
    problems = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValueError(f"{origin}: row {i} is not an object")
        missing = [k for k in (question_key, answer_key) if k not in row]
        if missing:
            raise ValueError(f"{origin}: row {i} lacks {missing}; it has {sorted(row)}")
        question, answer = row[question_key], row[answer_key]
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"{origin}: row {i} has an empty or non-text question")
        if isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(answer)
        if not isinstance(answer, str) or not answer.strip():
            raise ValueError(f"{origin}: row {i} has an empty or non-text answer")
        level = row.get("level")
        problems.append(
            Problem(
                question,
                answer.strip(),
                str(row.get("area", row.get("type", "custom"))),
                level if isinstance(level, int) else None,
                str(row.get("id", f"{origin}:{i}")),
            )
        )
    if not problems:
        raise ValueError(f"{origin}: no problems found")
    return problems


def load_problems(
    source: str | Path | Sequence[dict] | Any,
    question_key: str = "question",
    answer_key: str = "answer",
) -> ProblemSet:
    """Load problems from a JSONL file, a list of dicts, or a Hugging Face dataset.

    A ``datasets.Dataset`` (e.g. ``load_dataset(...)["test"]``) is read row by row; for
    MATH-style data pass ``question_key="problem"``. Nothing is downloaded here.

    Example:
        >>> ps = load_problems(SAMPLE_PROBLEMS_PATH)
        >>> len(ps) >= 10, ps.problems[0].answer
        (True, '12')
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"no such problem file: {path}")
        rows = []
        with path.open(encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{number}: invalid JSON ({exc.msg})") from None
        return ProblemSet(_rows_to_problems(rows, question_key, answer_key, path.name))
    if hasattr(source, "column_names") and hasattr(source, "__iter__"):  # datasets.Dataset
        return ProblemSet(_rows_to_problems(iter(source), question_key, answer_key, "dataset"))
    if isinstance(source, Sequence):
        return ProblemSet(_rows_to_problems(source, question_key, answer_key, "list"))
    raise TypeError(f"cannot load problems from a {type(source).__name__}")
