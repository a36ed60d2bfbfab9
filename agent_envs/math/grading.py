"""Reading the agent's final answer and checking it against the reference answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from agent_envs.sandbox import Sandbox, SandboxLimits

__all__ = ["extract_boxed", "parse_exact_number", "Grade", "AnswerChecker"]

_BOXED_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")


def extract_boxed(text: str) -> tuple[str | None, str]:
    """Return the content of the last ``\\boxed{...}`` in ``text`` and a problem, if any.

    Braces are balanced, so ``\\boxed{\\frac{1}{2}}`` gives ``\\frac{1}{2}``.

    Example:
        >>> extract_boxed(r"so the answer is \\boxed{\\frac{1}{2}}.")
        ('\\\\frac{1}{2}', '')
        >>> extract_boxed(r"\\boxed{3")
        (None, '\\\\boxed{ is not closed')
        >>> extract_boxed("no answer")
        (None, '')
    """
    if not isinstance(text, str):
        return None, ""
    starts = [m.end() for m in _BOXED_RE.finditer(text)]
    if not starts:
        return None, ""
    start, depth = starts[-1], 1
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return text[start:i].strip(), ""
    return None, "\\boxed{ is not closed"


_LATEX_NOISE = re.compile(r"\\left|\\right|\\!|\\,|\\;|\\ |\$|\\displaystyle")
_FRAC_RE = re.compile(r"^([-+]?)\\[dt]?frac\{([-+]?\d+)\}\{([-+]?\d+)\}$")
_PLAIN_RE = re.compile(r"^[-+]?(\d+(\.\d*)?|\.\d+)(/[-+]?\d+)?$")


def parse_exact_number(text: str) -> Fraction | None:
    """Parse an integer, decimal, ``a/b`` or ``\\frac{a}{b}`` exactly; None otherwise.

    Example:
        >>> parse_exact_number(r"\\frac{1}{2}") == parse_exact_number("0.5")
        True
        >>> parse_exact_number("-12/8"), parse_exact_number("x+1")
        (Fraction(-3, 2), None)
    """
    if not isinstance(text, str) or len(text) > 200:
        return None
    s = _LATEX_NOISE.sub("", text).strip().rstrip(".").replace("{,}", "").strip()
    s = s.replace(" ", "")
    if s.startswith("{") and s.endswith("}"):
        s = s[1:-1]
    try:
        match = _FRAC_RE.match(s)
        if match:
            sign, num, den = match.groups()
            value = Fraction(int(num), int(den))
            return -value if sign == "-" else value
        if _PLAIN_RE.match(s):
            return Fraction(s)
    except (ValueError, ZeroDivisionError):
        return None
    return None


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer: ``method`` is ``exact``, ``math-verify`` or ``error``."""

    correct: bool
    method: str
    error: str = ""


# Runs inside the verifier's own sandbox: math-verify parses with sympy (which can
# eval); its signal.alarm timeouts are disabled and the sandbox's time limit rules.
_SETUP = """
import logging
logging.disable(logging.CRITICAL)
from math_verify import parse as _mv_parse, verify as _mv_verify
def _agent_envs_check(gold, answer):
    g = _mv_parse("\\\\boxed{" + gold + "}", parsing_timeout=None)
    a = _mv_parse("\\\\boxed{" + answer + "}", parsing_timeout=None)
    return bool(g) and bool(a) and bool(_mv_verify(g, a, timeout_seconds=None))
_agent_envs_check("1/2", "\\\\frac{1}{2}")
"""


class AnswerChecker:
    """Checks an answer string against a reference answer, with a hard time limit.

    Numbers (integers, decimals, fractions) are compared exactly in this process; other
    expressions go to ``math-verify`` running in a sandbox of its own (started on first
    use), so a pathological answer can neither hang nor crash the caller.

    Example:
        >>> checker = AnswerChecker()
        >>> checker.check("0.5", r"\\frac{1}{2}")
        Grade(correct=True, method='exact', error='')
        >>> checker.check("7", "8").correct
        False
        >>> checker.close()
    """

    def __init__(
        self, timeout: float = 5.0, isolation: str = "auto", max_answer_length: int = 400
    ) -> None:
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ValueError(f"timeout must be a positive number, got {timeout!r}")
        self.timeout = float(timeout)
        self.isolation = isolation
        self.max_answer_length = max_answer_length
        self._box: Sandbox | None = None

    def check(self, answer: str, gold: str) -> Grade:
        """Whether ``answer`` is mathematically equal to ``gold``; never raises."""
        if not isinstance(answer, str) or not answer.strip():
            return Grade(False, "error", "empty answer")
        if len(answer) > self.max_answer_length:
            return Grade(False, "error", f"answer longer than {self.max_answer_length} chars")
        left, right = parse_exact_number(answer), parse_exact_number(gold)
        if left is not None and right is not None:
            return Grade(left == right, "exact")
        if answer.strip() == gold.strip():
            return Grade(True, "exact")
        return self._math_verify(answer, gold)

    def _math_verify(self, answer: str, gold: str) -> Grade:
        # Two tries: a verifier can die between checks (e.g. with the thread that
        # started it, see docs/sandbox.md); a second death is the answer's doing.
        for attempt in range(2):
            if self._box is not None and not self._box.alive():
                self.close()
            try:
                if self._box is None:
                    limits = SandboxLimits(wall_time=60, memory_mb=2048)
                    box = Sandbox(limits, isolation=self.isolation)
                    setup = box.run(_SETUP)
                    if not setup.ok:
                        box.close()
                        return Grade(False, "error", f"math-verify unavailable: {setup.error}")
                    self._box = box
                code = f"_agent_envs_check({gold!r}, {answer!r})"
                result = self._box.run(code, self.timeout)
            except Exception as exc:  # noqa: BLE001 - grading never raises
                self.close()
                return Grade(False, "error", f"verifier sandbox failed: {exc}")
            if result.restarted:
                self.close()
                if attempt == 0 and not result.timed_out:
                    continue
            if not result.ok:
                return Grade(False, "error", (result.error or "")[-300:])
            verdict = result.output.strip().splitlines()[-1:] or [""]
            return Grade(verdict[0] == "True", "math-verify")
        return Grade(False, "error", "the verifier failed twice")

    def close(self) -> None:
        """Stop the verifier sandbox (a later check starts a new one)."""
        box, self._box = self._box, None
        if box is not None:
            box.close()
