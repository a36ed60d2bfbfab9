"""The form of an answer: numbers read exactly, hedges, equations, percents, simplification.

These checks look at what the agent wrote, not at its value: ``\\frac{6}{8}`` and
``\\frac{3}{4}`` are equal, but only one is in lowest terms. Each check returns the
reason for a refusal (a sentence) or ``None``.
"""

from __future__ import annotations

import math
import re
from fractions import Fraction

from agent_envs.math.demand import DECIMAL_LITERAL_RE, RELATION_RE

__all__ = [
    "normalize_answer",
    "parse_number",
    "is_mixed_number",
    "hedge_reason",
    "split_assignment",
    "strip_percent",
    "strip_units",
    "decimal_places",
    "unsimplified_fraction",
    "unsimplified_radical",
    "decimals_to_fractions",
]

_NOISE_RE = re.compile(r"\\left|\\right|\\displaystyle|\\[!,;:> ]|\$")
_THIN_SPACE_THOUSANDS_RE = re.compile(r"(?<=\d)\\,(?=\d{3}(?!\d))")  # 1\,000
_FRAC_SHORT_RE = re.compile(r"\\frac\s*(\d)\s*(\d)")
_SPACES_RE = re.compile(r"\s+")
# spaces next to a symbol go; next to a comma they stay ("1, 200" is a list, "1,200" a number)
_SPACE_NEAR_SYMBOL_RE = re.compile(r"\s*([^\w\s\\,])\s*")


def normalize_answer(text: str) -> str:
    """Drop LaTeX spacing and sizing, ``$``, ``\\dfrac``/``\\tfrac``, thousands ``{,}``, a final period.

    Example:
        >>> normalize_answer(r"$\\left(\\dfrac{3}{4}\\right).$")
        '(\\\\frac{3}{4})'
        >>> normalize_answer(r"1{,}200 ~ "), normalize_answer(r"1\\,000"), normalize_answer("\u22125")
        ('1200', '1000', '-5')
    """
    s = _THIN_SPACE_THOUSANDS_RE.sub("", text).replace("\u2212", "-")
    s = _NOISE_RE.sub(" ", s).replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    s = _FRAC_SHORT_RE.sub(r"\\frac{\1}{\2}", s).replace("{,}", "").replace("~", " ")
    s = _SPACE_NEAR_SYMBOL_RE.sub(r"\1", _SPACES_RE.sub(" ", s)).strip()
    if s.endswith(".") and not s.endswith(".."):  # a sentence's period; "3.14..." stays
        s = s[:-1].rstrip()
    while s.startswith("{") and s.endswith("}") and _balanced(s[1:-1]):
        s = s[1:-1].strip()
    return s


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if depth < 0:
            return False
    return depth == 0


_INT = r"[-+]?\d+"
_DEC = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_PLAIN_RE = re.compile(rf"^{_DEC}(?:/{_INT})?$")
_FRAC_RE = re.compile(r"^([-+]?)\\frac\{([-+]?\d+)\}\{([-+]?\d+)\}$")
_MIXED_RE = re.compile(r"^([-+]?)(\d+)\s*(?:\\frac\{(\d+)\}\{(\d+)\}|\s(\d+)/(\d+))$")
_THOUSANDS_RE = re.compile(r"^[-+]?\d{1,3}(?:,\d{3})+(?:\.\d*)?$")


def parse_number(text: str, mixed: bool = True) -> Fraction | None:
    """Read a number written as an integer, decimal, ``a/b``, ``\\frac{a}{b}`` or mixed number.

    Returns the exact value, or None for anything else (an expression, a list, words).
    ``1,200`` is read as 1200 (thousands separators), ``2\\frac{1}{2}`` as a mixed number.

    Example:
        >>> parse_number(r"-\\frac{6}{8}"), parse_number("0.25"), parse_number(r"2\\frac{1}{2}")
        (Fraction(-3, 4), Fraction(1, 4), Fraction(5, 2))
        >>> parse_number("1,200"), parse_number("x+1"), parse_number("1/0")
        (Fraction(1200, 1), None, None)
    """
    if not isinstance(text, str) or len(text) > 1000:
        return None
    s = normalize_answer(text)
    if s.startswith("(") and s.endswith(")") and "," not in s:
        s = s[1:-1]
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "")
    try:
        match = _FRAC_RE.match(s)
        if match:
            sign, num, den = match.groups()
            value = Fraction(int(num), int(den))
            return -value if sign == "-" else value
        if _PLAIN_RE.match(s):
            return Fraction(s)
        match = _MIXED_RE.match(s) if mixed else None
        if match:
            sign, whole, n1, d1, n2, d2 = match.groups()
            value = int(whole) + Fraction(int(n1 or n2), int(d1 or d2))
            return -value if sign == "-" else value
    except (ValueError, ZeroDivisionError):
        return None
    return None


def is_mixed_number(text: str) -> bool:
    """Whether ``text`` is written as a mixed number (``2\\frac{1}{2}``, ``2 1/2``)."""
    return bool(_MIXED_RE.match(normalize_answer(text)))


_HEDGE_WORDS_RE = re.compile(
    r"(?<!\\)\b(?:or|about|approx|approximately|around|roughly|nearly|almost|maybe|perhaps|"
    r"probably|possibly|likely|either|circa|guess|unsure|between|at\s+least|at\s+most|"
    r"close\s+to|not\s+sure)\b",
    re.IGNORECASE,
)
_HEDGE_SYMBOLS = (
    "≈",
    "\\approx",
    "\\sim",
    "\\simeq",
    "\\cong",
    "±",
    "\\pm",
    "\\mp",
    "\\lor",
    "\\vee",  # fmt: skip
    "?",
    "...",
    "…",
    "\\dots",
    "\\ldots",
    "\\cdots",  # fmt: skip
)


def hedge_reason(answer: str, gold: str = "") -> str | None:
    """Why ``answer`` is a hedge (several answers, an approximation), unless the gold has it too.

    Example:
        >>> hedge_reason("12 or 13"), hedge_reason(r"\\approx 3.14")
        ('the answer hedges ("or")', 'the answer hedges ("\\\\approx")')
        >>> hedge_reason(r"\\pm 2", gold=r"\\pm 2") is None
        True
    """
    match = _HEDGE_WORDS_RE.search(answer)
    if match and not re.search(rf"\b{re.escape(match.group(0))}\b", gold, re.IGNORECASE):
        return f'the answer hedges ("{match.group(0)}")'
    for symbol in _HEDGE_SYMBOLS:
        if symbol in answer and symbol not in gold:
            if symbol.startswith("\\") and re.match(r"[a-zA-Z]", answer.split(symbol, 1)[1][:1]):
                continue  # a longer command, e.g. \simeq seen as \sim
            return f'the answer hedges ("{symbol}")'
    return None


_VARIABLE_RE = re.compile(
    r"^(?:[A-Za-z]|\\(?:alpha|beta|gamma|delta|theta|lambda|mu|phi|psi|omega|rho|sigma|tau))"
    r"(?:_\{?\w+\}?)?'*$"
)


def split_assignment(answer: str, question: str = "") -> tuple[str | None, str | None]:
    """Return ``(value, None)`` for an answer without a relation or a bare ``var = value``.

    A relation is refused (``(None, reason)``) unless it is one ``=`` whose left side is
    a single variable; when the question is known, the variable must appear in it.

    Example:
        >>> split_assignment("x = 12", "Solve $2x = 24$.")
        ('12', None)
        >>> split_assignment("13 = 12")
        (None, 'the answer is an equation or inequality, not a value')
        >>> split_assignment("y = 12", "Solve $2x = 24$.")[1]
        'the answer assigns y, which the problem does not name'
    """
    relations = list(RELATION_RE.finditer(answer))
    if not relations:
        return answer, None
    if len(relations) == 1 and relations[0].group(0) == "=":
        left, right = answer[: relations[0].start()].strip(), answer[relations[0].end() :].strip()
        if _VARIABLE_RE.match(left) and right:
            if question and not _names_variable(question, left):
                return None, f"the answer assigns {left}, which the problem does not name"
            return right, None
    return None, "the answer is an equation or inequality, not a value"


def _names_variable(question: str, name: str) -> bool:
    if name.startswith("\\"):
        return name.split("_")[0] in question
    base = re.escape(name.split("_")[0].rstrip("'"))
    return bool(re.search(rf"(?<![A-Za-z\\]){base}(?![A-Za-z])", question))


_PERCENT_RE = re.compile(r"\s*(?:\\%|%|\\text\{\s*percent\s*\}|\s+percent)\s*$")


def strip_percent(answer: str) -> tuple[str, bool]:
    """Remove a trailing percent sign (``\\%``, ``%``, ``percent``); say whether there was one.

    Example:
        >>> strip_percent(r"50\\%"), strip_percent("50")
        (('50', True), ('50', False))
    """
    stripped = _PERCENT_RE.sub("", answer)
    return stripped.strip(), stripped != answer


_UNIT_RE = re.compile(
    r"\^\s*\{?\\circ\}?|°|\\\$|\\(?:text|mathrm|mbox|textrm)\{\s*[A-Za-z][A-Za-z .]*\}(?:\^\{?\d\}?)?"
)


_TEXT_NUMBER_RE = re.compile(r"\\(?:text|mathrm|mbox|textrm)\{([^{}A-Za-z]*)\}")


def strip_units(answer: str) -> str:
    """Remove unit words in ``\\text{}``, degree signs and ``\\$`` (called after the hedge check).

    Example:
        >>> strip_units(r"720^\\circ"), strip_units(r"12 \\text{ cm}"), strip_units(r"\\$5")
        ('720', '12', '5')
        >>> strip_units(r"\\text{12}"), strip_units(r"10 \\text{cm}^2")
        ('12', '10')
    """
    unwrapped = _TEXT_NUMBER_RE.sub(r"\1", answer)
    return _SPACES_RE.sub(" ", _UNIT_RE.sub(" ", unwrapped)).strip()


def decimal_places(number: str) -> int:
    """Decimal places of the longest decimal literal in ``number``, trailing zeros dropped.

    Example:
        >>> decimal_places("3.140"), decimal_places("12"), decimal_places("0.125")
        (2, 0, 3)
    """
    places = [
        len(m.group(0).split(".")[1].rstrip("0")) for m in DECIMAL_LITERAL_RE.finditer(number)
    ]
    return max(places, default=0)


_FRACTION_LITERAL_RE = re.compile(
    r"\\frac\{\s*([-+]?\d+)\s*\}\{\s*([-+]?\d+)\s*\}|(?<![\w.}])(\d+)\s*/\s*([-+]?\d+)(?![\w.])"
)
_NESTED_FRAC_RE = re.compile(r"\\frac\{[^{}]*\\frac|\\frac\{(?:[^{}]|\{[^{}]*\})*\}\{[^{}]*\\frac")


def unsimplified_fraction(answer: str) -> str | None:
    """Why a fraction of integers in ``answer`` is not in lowest terms, or None.

    Example:
        >>> unsimplified_fraction(r"\\frac{6}{8}")
        'the fraction 6/8 is not in lowest terms'
        >>> unsimplified_fraction(r"\\frac{3}{4}") is None, unsimplified_fraction("x/2") is None
        (True, True)
    """
    for match in _FRACTION_LITERAL_RE.finditer(answer):
        num, den = (int(g) for g in (match.groups()[:2] if match.group(1) else match.groups()[2:]))
        if den == 0:
            return "a fraction has a zero denominator"
        if math.gcd(num, den) != 1 or den in (1, -1) or den < 0:
            return f"the fraction {num}/{den} is not in lowest terms"
    if _NESTED_FRAC_RE.search(answer):
        return "a fraction inside a fraction is not simplified"
    return None


_ROOT_RE = re.compile(r"\\sqrt\s*(?:\[\s*(\d+)\s*\])?\s*(?:\{\s*(\d+)\s*\}|(\d))")
_SURD = r"(?:\\sqrt(?:\[\d+\])?(?:\{\d+\}|\d))"
_TERM = rf"(?:\d+{_SURD}?|{_SURD})"
_FRAC_OF_TERMS_RE = re.compile(rf"\\frac\{{([-+]?{_TERM}(?:[-+]{_TERM})*)\}}\{{(\d+)\}}")
_TERM_COEFFICIENT_RE = re.compile(rf"(?:^|[-+])(\d*){_SURD}?(?=[-+]|$)")
_ROOT_OF_FRACTION_RE = re.compile(r"\\sqrt\s*(?:\[[^\]]*\])?\s*\{[^{}]*(?:\\frac|/)")
_ROOT_IN_DENOMINATOR_RE = re.compile(
    r"\\frac\{(?:[^{}]|\{[^{}]*\})*\}\{[^{}]*\\sqrt|/\s*\(?[^+\-()]*\\sqrt"
)


def unsimplified_radical(answer: str) -> str | None:
    """Why a radical in ``answer`` is not in simplest form, or None.

    Simplest radical form: no perfect k-th power factor under a k-th root, no fraction
    under a root, no root in a denominator.

    Example:
        >>> unsimplified_radical(r"\\sqrt{50}")
        'the radical \\\\sqrt{50} has the square factor 25'
        >>> unsimplified_radical(r"\\frac{10}{\\sqrt{2}}")
        'the denominator holds a radical (not rationalized)'
        >>> unsimplified_radical(r"\\frac{2+2\\sqrt{5}}{4}")
        'the fraction \\\\frac{2+2\\\\sqrt{5}}{4} has a common factor'
        >>> unsimplified_radical(r"5\\sqrt{2}"), unsimplified_radical(r"\\frac{1+\\sqrt{5}}{2}")
        (None, None)
    """
    for match in _ROOT_RE.finditer(answer):
        k = int(match.group(1) or 2)
        n = int(match.group(2) or match.group(3))
        if k < 2:
            return f"the radical {match.group(0)} has index {k}"
        if n in (0, 1):
            return f"the radical {match.group(0)} is a whole number"
        factor = max(f**k for f in range(1, _iroot(n, k) + 1) if n % f**k == 0)
        if factor > 1:
            kind = {2: "square", 3: "cube"}.get(k, f"{k}th-power")
            return f"the radical {match.group(0)} has the {kind} factor {factor}"
    for match in _FRAC_OF_TERMS_RE.finditer(answer):
        coefficients = [int(c or 1) for c in _TERM_COEFFICIENT_RE.findall(match.group(1))]
        if math.gcd(int(match.group(2)), *coefficients) > 1:
            return f"the fraction {match.group(0)} has a common factor"
    if _ROOT_OF_FRACTION_RE.search(answer):
        return "a fraction under a radical is not simplified"
    if _ROOT_IN_DENOMINATOR_RE.search(answer):
        return "the denominator holds a radical (not rationalized)"
    return None


def _iroot(n: int, k: int) -> int:
    root = round(n ** (1 / k))
    while root**k > n:
        root -= 1
    while (root + 1) ** k <= n:
        root += 1
    return root


def decimals_to_fractions(text: str) -> str:
    """Rewrite each decimal literal as an exact ``\\frac`` so a check stays exact.

    Example:
        >>> decimals_to_fractions("2.5x + 1")
        '(\\\\frac{25}{10})x + 1'
    """

    def exact(match: re.Match[str]) -> str:
        whole, _, digits = match.group(0).partition(".")
        if not digits:
            return whole or "0"
        numerator = int((whole or "0") + digits)
        return f"(\\frac{{{numerator}}}{{{10 ** len(digits)}}})"

    return DECIMAL_LITERAL_RE.sub(exact, text)
