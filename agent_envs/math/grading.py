"""Reading the agent's final answer and checking it against the reference answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from agent_envs.math.answer_form import (
    decimal_places,
    decimals_to_fractions,
    hedge_reason,
    is_mixed_number,
    normalize_answer,
    parse_number,
    split_assignment,
    strip_percent,
    strip_units,
    unsimplified_fraction,
    unsimplified_radical,
)
from agent_envs.math.demand import DECIMAL_LITERAL_RE, AnswerDemand, answer_demand
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


def parse_exact_number(text: str) -> Fraction | None:
    """Parse an integer, decimal, ``a/b`` or ``\\frac{a}{b}`` exactly; None otherwise.

    Example:
        >>> parse_exact_number(r"\\frac{1}{2}") == parse_exact_number("0.5")
        True
        >>> parse_exact_number("-12/8"), parse_exact_number("x+1")
        (Fraction(-3, 2), None)
    """
    return parse_number(text, mixed=False)


@dataclass(frozen=True)
class Grade:
    """The verdict on one answer.

    ``method``: ``exact`` (numbers compared exactly here), ``math-verify``, ``form`` (refused
    for its form, whatever its value: ``reason`` says why) or ``error`` (``error`` says why).

    Example:
        >>> Grade(False, "form", reason="the fraction 6/8 is not in lowest terms").correct
        False
    """

    correct: bool
    method: str
    error: str = ""
    reason: str = ""


def _refuse(reason: str) -> Grade:
    return Grade(False, "form", reason=reason)


# Runs inside the verifier's own sandbox: math-verify parses with sympy (which can
# eval); its signal.alarm timeouts are disabled and the sandbox's time limit rules.
# math-verify decides equality; the checks after it keep the answer's form honest:
# a constant must equal the gold exactly (math-verify alone compares numbers rounded,
# so 7.0710678 would pass for 5*sqrt(2)), an approximation is checked against the
# demanded rounding, and "simplify"/"expand"/"factor" look at the answer's shape.
_SETUP = """
import logging
logging.disable(logging.CRITICAL)
import sympy as _sp
from math_verify import parse as _mv_parse, verify as _mv_verify
def _agent_envs_exact_zero(d):
    if d == 0:
        return True
    d = _sp.simplify(d)
    return d == 0 or d.equals(0) is True
def _agent_envs_check(gold, answer, places=None, simplified=False, expanded=False, factored=False):
    g = _mv_parse("\\\\boxed{" + gold + "}", parsing_timeout=None)
    a = _mv_parse("\\\\boxed{" + answer + "}", parsing_timeout=None)
    if not g or not a:
        return "False"
    ge, ae = g[0], a[0]
    exprs = isinstance(ge, _sp.Expr) and isinstance(ae, _sp.Expr)
    if places is not None:
        if not (exprs and ge.is_number and ae.is_number):
            return "False"
        gap = abs(_sp.N(ae - ge, 60))
        return str(bool(gap <= _sp.Rational(1, 2 * 10**places) * (1 + _sp.Rational(1, 10**12))))
    if not _mv_verify(g, a, timeout_seconds=None):
        return "False"
    if not exprs:
        return "True"
    if ge.is_number and ae.is_number:
        return "True" if _agent_envs_exact_zero(ae - ge) else "an approximation, not the exact value"
    if simplified and _sp.count_ops(ae) > _sp.count_ops(ge):
        return "the expression is not simplified"
    if expanded and _sp.expand(ae) != ae:
        return "the expression is not expanded"
    if factored and isinstance(ae, _sp.Add) and not isinstance(ge, _sp.Add):
        return "the expression is not factored"
    return "True"
# warm up (under the setup's generous time limit) the paths a check takes: the
# parser, symbolic equality, the exact test of constants, and the shape tests
_agent_envs_check("1/2", "\\\\frac{1}{2}")
_agent_envs_check("x^2+2x+1", "(x+1)^2", simplified=True, expanded=True, factored=True)
_agent_envs_check("5\\\\sqrt{2}", "\\\\frac{10}{\\\\sqrt{2}}")
_agent_envs_check("\\\\sqrt{2}", "\\\\frac{1414}{1000}", places=3)
"""


class AnswerChecker:
    """Checks an answer against a reference answer and the form its problem demands.

    The demand is read from the question (:func:`~agent_envs.math.demand.answer_demand`):
    exact answers by default (a decimal approximation only when the gold answer is a
    decimal or the problem asks for one), no hedges or equations (a bare ``x = 12`` is
    fine), a percent only when asked, lowest terms and simplified radicals when asked. Numbers are compared exactly
    in this process; other expressions go to ``math-verify`` running in a sandbox of its
    own (started on first use, hard time limit), so a pathological answer can neither
    hang nor crash the caller. The rules are listed in ``docs/envs/math.md``.

    Example:
        >>> checker = AnswerChecker()
        >>> checker.check("0.5", r"\\frac{1}{2}")
        Grade(correct=True, method='exact', error='', reason='')
        >>> checker.check("7", "8").correct
        False
        >>> checker.check(r"\\frac{6}{8}", r"\\frac{3}{4}", question="Simplify $\\frac{6}{8}$.").reason
        'the fraction 6/8 is not in lowest terms'
        >>> checker.check("13 = 12", "12").reason
        'the answer is an equation or inequality, not a value'
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

    def check(self, answer: str, gold: str, question: str = "") -> Grade:
        """Whether ``answer`` equals ``gold`` in the form ``question`` demands; never raises."""
        try:
            return self._check(answer, gold, question)
        except Exception as exc:  # noqa: BLE001 - grading never raises
            return Grade(False, "error", f"the checker failed: {type(exc).__name__}: {exc}")

    def _check(self, answer: str, gold: str, question: str) -> Grade:
        if not isinstance(answer, str) or not answer.strip():
            return Grade(False, "error", "empty answer")
        if len(answer) > self.max_answer_length:
            return Grade(False, "error", f"answer longer than {self.max_answer_length} chars")
        if not isinstance(gold, str) or not gold.strip():
            return Grade(False, "error", "empty reference answer")
        question = question if isinstance(question, str) else ""
        demand = answer_demand(question, gold)
        text, gold_text = normalize_answer(answer), normalize_answer(gold)
        rounding_asked = demand.decimal and not DECIMAL_LITERAL_RE.search(gold_text)
        if text == gold_text and not rounding_asked:  # (an exact gold can't answer "round it")
            return Grade(True, "exact")
        reason = hedge_reason(text, gold_text)
        if reason is None and not demand.relation:
            value_text, reason = split_assignment(text, question)
            text = value_text if value_text is not None else text
        if reason is not None:
            return _refuse(reason)
        if strip_units(gold_text):  # (not when the gold is words: "\\text{Monday}")
            text, gold_text = strip_units(text), strip_units(gold_text)
        text, has_percent = strip_percent(text)
        gold_text = strip_percent(gold_text)[0]
        if has_percent and not demand.percent:
            return _refuse("a percent where the problem does not ask for one")
        if not text:
            return _refuse("the answer is empty once its units are removed")
        gold_value = parse_number(gold_text)
        if gold_value is not None:
            return _check_number(text, gold_text, gold_value, demand)
        reason = _expression_form_reason(text, gold_text, demand)
        if reason is not None:
            return _refuse(reason)
        if rounding_asked:
            places = demand.places if demand.places is not None else decimal_places(text)
            if demand.places is None and places < 2:
                return _refuse("an approximation needs at least 2 decimal places")
            return self._math_verify(decimals_to_fractions(text), gold_text, places=places)
        return self._math_verify(
            decimals_to_fractions(text),
            decimals_to_fractions(gold_text),
            simplified=demand.simplified,
            expanded=demand.expanded,
            factored=demand.factored,
        )

    def _math_verify(self, answer: str, gold: str, **options: object) -> Grade:
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
                args = "".join(f", {k}={v!r}" for k, v in options.items())
                code = f"print(_agent_envs_check({gold!r}, {answer!r}{args}))"
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
            verdict = (result.output.strip().splitlines()[-1:] or [""])[0]
            if verdict in ("True", "False"):
                return Grade(verdict == "True", "math-verify")
            return _refuse(verdict)
        return Grade(False, "error", "the verifier failed twice")

    def close(self) -> None:
        """Stop the verifier sandbox (a later check starts a new one)."""
        box, self._box = self._box, None
        if box is not None:
            box.close()


def _check_number(text: str, gold_text: str, gold: Fraction, demand: AnswerDemand) -> Grade:
    """A gold answer that is a rational number: the answer must be a number, compared exactly."""
    value = parse_number(text)
    if value is None:
        return _refuse("the answer is not a single number in final form")
    has_decimal = bool(DECIMAL_LITERAL_RE.search(text))
    gold_decimal = bool(DECIMAL_LITERAL_RE.search(gold_text))
    written_as_fraction = "/" in text or "\\frac" in text
    if is_mixed_number(text):
        if demand.fraction:
            return _refuse("a mixed number where the problem asks for a fraction")
    elif demand.mixed_number and value.denominator != 1:
        return _refuse("the problem asks for a mixed number")
    if demand.decimal and written_as_fraction:
        return _refuse("the problem asks for a decimal")
    asks_fraction = demand.fraction or demand.simplified or demand.mixed_number
    if has_decimal and not (demand.decimal or gold_decimal) and asks_fraction:
        # an exact decimal (0.5 for 1/2) is fine unless a fraction form is asked
        return _refuse("a decimal where the problem asks for a fraction")
    if demand.places is not None and decimal_places(text) > demand.places:
        return _refuse(f"more decimal places than the {demand.places} asked for")
    if demand.simplified:
        reason = unsimplified_fraction(text)
        if reason is not None:
            return _refuse(reason)
    if value == gold:
        return Grade(True, "exact")
    if demand.decimal and not gold_decimal and not written_as_fraction:
        # a decimal asked of an exact gold (e.g. 1/3 to 2 places): a correct rounding
        places = demand.places if demand.places is not None else decimal_places(text)
        if places >= 2 or demand.places is not None:
            return Grade(abs(value - gold) <= Fraction(1, 2 * 10**places), "exact")
    return Grade(False, "exact")


def _expression_form_reason(text: str, gold_text: str, demand: AnswerDemand) -> str | None:
    """Form refusals for an answer to a gold that is not a plain rational number."""
    has_decimal = bool(DECIMAL_LITERAL_RE.search(text))
    if has_decimal and not demand.decimal and not DECIMAL_LITERAL_RE.search(gold_text):
        return "a decimal approximation where an exact answer is asked"
    if demand.decimal and not DECIMAL_LITERAL_RE.search(gold_text):
        if parse_number(text, mixed=False) is None or "/" in text or "\\frac" in text:
            return "the problem asks for a decimal"
        if demand.places is not None and decimal_places(text) > demand.places:
            return f"more decimal places than the {demand.places} asked for"
    if demand.simplified:
        return unsimplified_fraction(text) or unsimplified_radical(text)
    return None
