"""``MathTIR-v0``: tool-integrated math, with the agent's code run in a real sandbox."""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent_envs.core.arguments import check_difficulty, warn_renamed
from agent_envs.core.info import TurnOutcome
from agent_envs.core.spaces import truncate_text
from agent_envs.core.text_env import TextEnv
from agent_envs.math.fences import fence, fenced_blocks
from agent_envs.math.grading import AnswerChecker, extract_boxed
from agent_envs.math.problems import LEVELS, Problem
from agent_envs.math.sources import ProblemSet, ProceduralProblems, load_problems
from agent_envs.sandbox import CellResult, IsolationError, Sandbox, SandboxLimits, SandboxPool

__all__ = ["MathTIREnv", "level_for"]

_CODE_LANGUAGES = ("python", "py", "python3")


def _old_form(difficulty: Any) -> bool:
    """Whether ``difficulty`` is the deprecated level form: an int 1-5 or a list of levels."""
    if isinstance(difficulty, bool):
        return False
    if isinstance(difficulty, numbers.Integral):
        return int(difficulty) != 0  # 0 was never a level: it is the float 0.0
    return isinstance(difficulty, (list, tuple))


def level_for(difficulty: float) -> int:
    """The procedural level (1-5) that ``difficulty`` in ``[0, 1]`` maps to.

    Example:
        >>> [level_for(d) for d in (0.0, 0.1, 0.125, 0.5, 0.8, 1.0)]
        [1, 1, 2, 3, 4, 5]
    """
    return LEVELS[0] + math.floor(check_difficulty(difficulty, "MathTIR") * 4 + 0.5)


def _difficulty_and_levels(
    difficulty: Any, levels: Any
) -> tuple[float | None, tuple[int, ...] | None]:
    """Read ``difficulty`` (a float, or the old level form) and ``levels`` into both."""
    if difficulty is not None and levels is not None:
        raise ValueError("give difficulty (a float in [0, 1]) or levels (1-5), not both")
    if _old_form(difficulty):
        warn_renamed(f"MathTIREnv(difficulty={difficulty!r})", f"levels={difficulty!r}",
                     "difficulty is a float in [0, 1]", stacklevel=4)  # fmt: skip
        difficulty, levels = None, difficulty
    if difficulty is not None:
        return check_difficulty(difficulty, "MathTIR"), (level_for(difficulty),)
    if levels is None:
        return None, None
    chosen = (levels,) if isinstance(levels, numbers.Integral) else levels
    if isinstance(chosen, (str, bytes)) or not isinstance(chosen, (list, tuple)):
        raise ValueError(f"levels must be a level in {LEVELS} or a list of them, got {levels!r}")
    chosen = tuple(chosen)
    bad = [x for x in chosen if isinstance(x, bool) or not isinstance(x, numbers.Integral)]
    if not chosen or bad or any(x not in LEVELS for x in chosen):
        raise ValueError(f"levels must be a non-empty subset of {LEVELS}, got {levels!r}")
    return None, tuple(int(x) for x in chosen)


class MathTIREnv(TextEnv):
    """Solve a math problem over several turns, running Python in a sandbox on the way.

    ## Description
    The agent reasons, writes Python in a ```` ```python ```` block, sees what it printed
    in the next observation, and answers with ``\\boxed{...}``. The code runs in a
    persistent sandboxed session (:class:`~agent_envs.sandbox.Sandbox`): a variable set
    in turn 1 is usable in turn 3; each episode gets a fresh session, so nothing leaks
    between episodes. Problems come from seeded procedural generators in five areas and
    five levels (tool use pays off at levels 4-5) or from the user's JSONL/HF data.

    ## Action
    The agent's whole reply. Code blocks tagged ``python``/``py`` are executed in order,
    at most ``max_cells`` of them, within one time budget for the whole turn
    (``turn_timeout``); code that itself contains three backticks goes in a longer
    fence (see :func:`~agent_envs.math.fences.fenced_blocks`). A ``\\boxed{...}`` final answer ends the episode
    (code in that reply is not run).

    ## Observation
    The question at reset; then the code's output and error (``output_chars`` per turn
    at most), a reminder for a reply with neither code nor answer, or the verdict.
    Output is fenced with more backticks than it contains (:func:`~agent_envs.math.fences.fence`), so nothing a
    program prints can close the fence and pose as the environment.

    ## Rewards
    Outcome reward: 1.0 when the boxed answer is mathematically equal to the reference
    (``math-verify``; ``\\frac{1}{2}`` equals ``0.5``), else 0.0; code turns get 0.0.
    A reply with neither code nor answer is invalid: ``invalid_action_reward = 0.0``.
    Only the agent's own message is graded: nothing the program prints counts.
    ``score`` is 1.0/0.0 on an answer turn and ``None`` on code turns. Per turn
    ``info`` has ``code`` (the executed cells), ``code_ran``, ``code_error``,
    ``output_chars``, ``timed_out``, ``sandbox_restarted``, ``isolation``, ``answer``,
    ``correct``, ``cells_skipped`` and ``fork_replayed``, so turn-level shaping (GTPO)
    and the reward wrappers have what they need. ``reset`` adds ``sandbox_limits``: which
    limits hold for the whole session on this host, and by what mechanism.

    ## Forks
    :meth:`fork` (and unpickling) *replays* the episode: a new sandbox runs the episode's
    cells again. Deterministic code gives the same state; anything else (``os.urandom``,
    time, ``random`` without a seed) differs, and side effects run twice (inside the
    fork's own sandbox). Every ``info`` of a replayed environment has
    ``fork_replayed=True`` until its next ``reset``.

    ## Episode end
    Terminated by a ``\\boxed{}`` answer; truncated after ``max_turns`` turns.

    ## Arguments
    ``problems``: ``"procedural"`` (default), a JSONL path, a list of dicts, a
    ``datasets.Dataset`` (``question_key``/``answer_key`` name the fields) or a
    :class:`ProblemSet`; ``difficulty``: a float in ``[0, 1]`` that picks one level of
    the procedural generators, the nearest of ``1 + 4 * difficulty`` (0 -> level 1,
    0.25 -> 2, 0.5 -> 3, 0.75 -> 4, 1 -> 5; halfway rounds up); ``levels``: the native
    knob, a level 1-5 or a list of them (default: all five, drawn uniformly; give
    ``difficulty`` or ``levels``, not both; neither applies to a problem set);
    ``areas``: subset of the generator areas; ``max_turns`` (4); ``cell_timeout``
    seconds per cell (5); ``turn_timeout`` seconds for all the cells of one reply (15);
    ``max_cells`` code blocks run per reply (4); ``memory_mb`` (1024);
    ``output_chars`` (4000); ``isolation`` (``"auto"``) and ``min_isolation`` (it fails
    closed without bubblewrap unless a weaker level is named, see ``docs/sandbox.md``);
    ``warm_pool``: sandboxes started ahead (1); ``verify_timeout`` seconds (5).

    ## Version history
    * v0: initial version. ``difficulty`` is a float in ``[0, 1]``; the level form
      (``difficulty=3``, ``difficulty=[4, 5]``) is now ``levels=`` and still works, with a
      ``DeprecationWarning``, until the next version.

    Example:
        >>> env = MathTIREnv(levels=1, areas=["arithmetic"], cell_timeout=5, warm_pool=0)
        >>> obs, info = env.reset(seed=0)
        >>> obs, r, term, trunc, info = env.step("```python\\nx = 6 * 7\\nprint(x)\\n```")
        >>> obs.strip().splitlines()[1], info["code_ran"], r
        ('42', True, 0.0)
        >>> env.step("I know it: \\\\boxed{42}")[4]["answer"]
        '42'
        >>> env.close()
    """

    invalid_action_reward = 0.0

    def __init__(
        self,
        problems: Any = "procedural",
        difficulty: float | None = None,
        areas: Sequence[str] | None = None,
        max_turns: int = 4,
        cell_timeout: float = 5.0,
        turn_timeout: float = 15.0,
        max_cells: int = 4,
        memory_mb: int = 1024,
        output_chars: int = 4000,
        isolation: str = "auto",
        min_isolation: str | None = None,
        warm_pool: int = 1,
        verify_timeout: float = 5.0,
        question_key: str = "question",
        answer_key: str = "answer",
        render_mode: str | None = None,
        levels: int | Sequence[int] | None = None,
    ) -> None:
        if not isinstance(max_turns, int) or max_turns < 1:
            raise ValueError(f"max_turns must be a positive int, got {max_turns!r}")
        if not isinstance(output_chars, int) or output_chars < 100:
            raise ValueError(f"output_chars must be an int >= 100, got {output_chars!r}")
        if not isinstance(warm_pool, int) or warm_pool < 0:
            raise ValueError(f"warm_pool must be a non-negative int, got {warm_pool!r}")
        if not isinstance(max_cells, int) or isinstance(max_cells, bool) or max_cells < 1:
            raise ValueError(f"max_cells must be a positive int, got {max_cells!r}")
        if not isinstance(turn_timeout, (int, float)) or not turn_timeout > 0:
            raise ValueError(f"turn_timeout must be a positive number, got {turn_timeout!r}")
        super().__init__(
            max_observation_length=output_chars + 2000,
            max_action_length=32_768,
            render_mode=render_mode,
        )
        self.difficulty, self.levels = _difficulty_and_levels(difficulty, levels)
        if problems == "procedural":
            self.source: Any = ProceduralProblems(areas, self.levels)
        elif isinstance(problems, ProblemSet):
            self.source = problems
        elif isinstance(problems, (str, Path)) or problems is not None:
            self.source = load_problems(problems, question_key, answer_key)
        else:
            raise ValueError("problems must be 'procedural', a path, rows or a dataset")
        if problems != "procedural" and (self.levels is not None) and not _old_form(difficulty):
            raise ValueError(
                "difficulty and levels choose procedural problems; a problem set keeps its own"
            )
        self.max_turns, self.output_chars, self.warm_pool = max_turns, output_chars, warm_pool
        self.max_cells, self.turn_timeout = max_cells, float(turn_timeout)
        self._weak_opt_in = min_isolation is not None or isolation != "auto"
        self._fork_replayed = False
        self.limits = SandboxLimits(wall_time=float(cell_timeout), memory_mb=memory_mb)
        self._sandbox_kwargs = {
            "limits": self.limits,
            "isolation": isolation,
            "min_isolation": min_isolation,
        }
        Sandbox(**self._sandbox_kwargs)  # validates isolation and min_isolation now
        self._checker = AnswerChecker(verify_timeout, isolation)
        self._pool: SandboxPool | None = None
        self._box: Sandbox | None = None
        self.problem = Problem("", "")

    # ------------------------------------------------------------------ episode
    def _new_sandbox(self) -> Sandbox:
        if self.warm_pool and self._pool is None and self._box is None:
            # started ahead once; later episodes recycle their sandbox (Sandbox.reset)
            self._pool = SandboxPool(self.warm_pool, refill=False, **self._sandbox_kwargs)
        if self._pool is not None:
            return self._pool.acquire()
        return Sandbox(**self._sandbox_kwargs).start()

    def _fresh_session(self) -> None:
        """A clean session for the episode: the last one recycled (ms), else a new sandbox."""
        if self._box is not None:
            try:
                self._box.reset()
                return
            except IsolationError:
                raise
            except Exception:  # noqa: BLE001 - fall back to a new sandbox
                self._box.close()
                self._box = None
        try:
            self._box = self._new_sandbox()
        except IsolationError:
            raise  # fail closed: min_isolation cannot be met on this host
        except Exception:  # noqa: BLE001 - transient (e.g. out of fds): the first cell retries
            self._box = None
        if self._box is not None and self._weak_opt_in and self._box.isolation:
            # the verifier's sandbox follows the level the user opted into
            self._checker.isolation = self._box.isolation

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        self.problem = self.source.sample(self.np_random)
        self._fork_replayed = False
        self._fresh_session()
        prompt = (
            "Solve the math problem. You can run Python: put code in a ```python block and "
            "it runs in a persistent sandboxed session (variables survive between turns; no "
            "network). What it prints, and the value of a final expression, comes back in "
            "the next message. Give the final answer in your own words as \\boxed{...}; "
            "that ends the episode. Answers must be exact (an integer, a fraction such as "
            "3/4, or an expression), in the form the problem asks for: no decimals unless it "
            "asks for them, no percent unless asked, one answer with no hedging, and "
            "`x = ...` only for the problem's own variable. You have {self.max_turns} turns; each cell may run "
            f"{self.limits.wall_time:g} s, and at most {self.max_cells} code blocks run per "
            f"reply, within {self.turn_timeout:g} s in total. Code that contains ``` goes in "
            "a longer fence (````python ... ````)."
        )
        info = {
            "system_prompt": prompt,
            "problem_id": self.problem.id,
            "area": self.problem.area,
            "level": self.problem.level,
            "isolation": self._box.isolation if self._box is not None else None,
            "sandbox_limits": self._box.enforced_limits if self._box is not None else {},
            "fork_replayed": False,
        }
        return self.problem.question, info

    def _budget_spent(self) -> bool:
        return self.turn >= self.max_turns

    def _play_turn(self, action: str) -> TurnOutcome:
        out_of_turns = self._budget_spent()
        # the answer is read from the prose only: a \boxed{} inside code is code
        blocks = fenced_blocks(action)
        prose, last = [], 0
        for start, end, _lang, _body in blocks:
            prose.append(action[last:start])
            last = end
        prose.append(action[last:])
        answer, boxed_problem = extract_boxed(" ".join(prose))
        codes = [body for _s, _e, lang, body in blocks if lang in _CODE_LANGUAGES and body.strip()]
        extra: dict[str, Any] = {
            "code": [],
            "code_ran": False,
            "code_error": None,
            "output_chars": 0,
            "timed_out": False,
            "sandbox_restarted": False,
            "isolation": self._box.isolation if self._box is not None else None,
            "answer": answer,
            "correct": None,
            "cells_skipped": 0,
            "fork_replayed": self._fork_replayed,
        }
        if answer is not None:
            # the question tells the checker what answer form the problem demands
            grade = self._checker.check(answer, self.problem.answer, self.problem.question)
            extra.update(correct=grade.correct, grading=grade.method, grading_reason=grade.reason)
            verdict = "correct" if grade.correct else "incorrect"
            reward = 1.0 if grade.correct else 0.0
            return TurnOutcome(
                f"Your final answer {answer} is {verdict}.",
                reward=reward,
                score=reward,
                success=grade.correct,
                terminated=True,
                metrics={"correct": float(grade.correct), "cells": 0},
                extra=extra,
            )
        if not codes:
            error = (
                boxed_problem or "the reply has neither a ```python block nor a \\boxed{} answer"
            )
            text = (
                f"Invalid reply: {error}. Write Python in a ```python block to compute, or "
                "give your final answer as \\boxed{...}."
            )
            return self.invalid_action(error, text, truncated=out_of_turns, extra=extra)
        parts, results = [], []
        deadline = time.monotonic() + self.turn_timeout
        for i, code in enumerate(codes):
            label = i + 1 if len(codes) > 1 else None
            left = deadline - time.monotonic()
            if i >= self.max_cells or left < 0.05:
                why = (
                    f"at most {self.max_cells} code blocks run per reply"
                    if i >= self.max_cells
                    else f"the reply's {self.turn_timeout:g} s time budget is used up"
                )
                parts.append(f"Cells {i + 1}-{len(codes)} were not run: {why}.")
                extra["cells_skipped"] = len(codes) - i
                break
            result = self._execute(code, min(self.limits.wall_time, left))
            results.append(result)
            parts.append(self._render_cell(result, label))
        codes = codes[: len(results)]
        first_error = next((r.error for r in results if r.error), None)
        output_chars = sum(len(r.output) for r in results)
        seconds = sum(r.seconds for r in results)
        extra.update(
            code=codes,
            code_ran=all(r.ok for r in results),
            code_error=first_error,
            output_chars=output_chars,
            timed_out=any(r.timed_out for r in results),
            sandbox_restarted=any(r.restarted for r in results),
            isolation=self._box.isolation if self._box is not None else None,
        )
        text = "\n".join(parts)
        if out_of_turns:
            text += "\nNo turns left: the episode ends without a final answer."
        return TurnOutcome(
            text,
            truncated=out_of_turns,
            metrics={
                "cells": len(codes),
                "errors": sum(1 for r in results if not r.ok),
                "output_chars": output_chars,
                "exec_seconds": seconds,
            },
            cost={"executions": len(codes), "exec_seconds": seconds},
            extra=extra,
        )

    def _execute(self, code: str, wall: float) -> CellResult:
        try:
            if self._box is None:
                self._box = self._new_sandbox()
            return self._box.run(code, wall)
        except Exception as exc:  # noqa: BLE001 - a host failure must not escape step()
            return CellResult("", f"the sandbox could not run the code: {exc}", False)

    def _render_cell(self, result: CellResult, index: int | None) -> str:
        budget = self.output_chars
        head = f"Cell {index}:\n" if index is not None else ""
        body = truncate_text(result.output, budget) if result.output else ""
        if body:
            body += "" if body.endswith("\n") else "\n"
            text = head + f"{fence(body)}output\n{body}{fence(body)}"
        else:
            text = head + "(no output)"
        if result.error:
            error = truncate_text(result.error, budget // 2).rstrip() + "\n"
            text += f"\n{fence(error)}error\n{error}{fence(error)}"
        if result.restarted:
            text += "\nThe Python session was restarted: earlier variables are gone."
        return text

    def _replay(self, snapshot: dict) -> None:
        super()._replay(snapshot)
        self._fork_replayed = True  # the episode's cells ran again in a new sandbox

    def _close_resources(self) -> None:
        for resource in (self._box, self._pool, self._checker):
            if resource is not None:
                resource.close()
        self._box = self._pool = None
