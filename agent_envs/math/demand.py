"""What form a problem demands of its answer, read from the question and the gold answer.

The grader follows the problem: an exact answer unless a decimal is asked for, a
percent only when asked, a simplified form when asked. This module only reads the
demand; :mod:`agent_envs.math.answer_form` checks an answer against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["AnswerDemand", "answer_demand", "DECIMAL_LITERAL_RE", "RELATION_RE"]

#: A decimal literal such as ``0.5``, ``.25`` or ``12.`` (not the dots of ``\dots``).
DECIMAL_LITERAL_RE = re.compile(r"(?<![\d.])(?:\d+\.\d*|\.\d+)(?![\d.])")
#: A relation symbol: an answer that holds one is an equation or an inequality.
RELATION_RE = re.compile(
    r"<=|>=|!=|:=|[=<>≤≥≠]|\\(?:leq?|geq?|neq?|lt|gt|equiv|coloneqq|leqslant|geqslant)(?![a-zA-Z])"
)

_WORD_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,  # fmt: skip
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,  # fmt: skip
}
_NEAREST_PLACES = {
    "whole number": 0,
    "integer": 0,
    "unit": 0,
    "dollar": 0,
    "degree": 0,
    "percent": 0,  # fmt: skip
    "tenth": 1,
    "hundredth": 2,
    "cent": 2,
    "thousandth": 3,
    "ten-thousandth": 4,  # fmt: skip
}
_PLACES_RE = re.compile(
    r"\b(?:to|with|correct to|accurate to)\s+(?:the\s+|exactly\s+)?(\d+|one|two|three|four|five|six|"
    r"seven|eight|nine|ten)\s+decimal\s+(?:places?|digits?)",
    re.IGNORECASE,
)
_NEAREST_RE = re.compile(r"\bnearest\s+(" + "|".join(_NEAREST_PLACES) + r")s?\b", re.IGNORECASE)
_DECIMAL_RE = re.compile(
    r"\b(?:as|in|into)\s+(?:a\s+)?decimal\b|\bdecimal\s+(?:form|approximation|number|"
    r"expansion|value)\b|\bapproximation\b|\bapproximate\s+(?:value|answer)\b|"
    r"\bsignificant\s+(?:figures?|digits?)\b|\bdecimal\s+places?\b",
    re.IGNORECASE,
)
_PERCENT_RE = re.compile(
    r"\bwhat\s+percent|\bas\s+a\s+percent|\bin\s+percent|\bpercentage\b|\bby\s+what\s+percent|"
    r"\bhow\s+many\s+percent|\bpercent\s+(?:increase|decrease|change|error|discount)\b",
    re.IGNORECASE,
)
_SIMPLIFIED_RE = re.compile(
    r"\bsimplif(?:y|ied|ies)\b|\bsimplest\b|\blowest\s+terms\b|\bcommon\s+fraction\b|"
    r"\breduced\s+(?:form|fraction)\b|\bfully\s+reduced\b",
    re.IGNORECASE,
)
_FRACTION_RE = re.compile(
    r"\b(?:common|improper)\s+fraction\b|\bas\s+a\s+fraction\b", re.IGNORECASE
)
_MIXED_RE = re.compile(r"\bmixed\s+(?:number|numeral|fraction)\b", re.IGNORECASE)
_EXPAND_RE = re.compile(r"\bexpand\b|\bexpanded\s+form\b", re.IGNORECASE)
_FACTOR_RE = re.compile(
    r"\bfactor(?:ize|ise)?\s+(?:\$|\\\(|the\s+(?:expression|polynomial|following)|completely)|"
    r"\bfactored\s+form\b|\bcompletely\s+factor",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AnswerDemand:
    """The answer form a problem asks for.

    ``decimal``: the question asks for a decimal (or an approximation);
    ``places``: rounded to that many decimal places (0: a whole number); ``percent``: a
    percentage; ``simplified``: fractions in lowest terms and simplified radicals;
    ``fraction``: a common (or improper) fraction, no decimal or mixed number;
    ``mixed_number``: a mixed number; ``expanded``/``factored``: a polynomial form;
    ``relation``: the gold answer is an equation or inequality.

    Example:
        >>> AnswerDemand().exact
        True
        >>> AnswerDemand(decimal=True, places=2).exact
        False
    """

    decimal: bool = False
    places: int | None = None
    percent: bool = False
    simplified: bool = False
    fraction: bool = False
    mixed_number: bool = False
    expanded: bool = False
    factored: bool = False
    relation: bool = False

    @property
    def exact(self) -> bool:
        """No decimal is asked for: the answer must be exact."""
        return not self.decimal


def answer_demand(question: str = "", gold: str = "") -> AnswerDemand:
    """Read the demanded answer form from the problem text and the gold answer.

    ``decimal`` says the question asks for a decimal (a decimal gold answer also allows
    decimals: the checker sees that itself); a gold answer with ``%`` asks for a
    percent; a gold equation or inequality allows one in the answer.

    Example:
        >>> answer_demand("What is $\\\\sqrt{50}$ in simplest radical form?").simplified
        True
        >>> d = answer_demand("Express your answer as a decimal to the nearest tenth.")
        >>> d.decimal, d.places
        (True, 1)
        >>> answer_demand("What is 20% of 50?").percent, answer_demand("What percent of 8 is 2?").percent
        (False, True)
        >>> answer_demand("Find x.", gold="3.14").decimal
        False
    """
    q = question if isinstance(question, str) else ""
    g = gold if isinstance(gold, str) else ""
    places = None
    match = _PLACES_RE.search(q)
    if match:
        word = match.group(1).lower()
        places = int(word) if word.isdigit() else _WORD_NUMBERS[word]
    else:
        nearest = _NEAREST_RE.search(q)
        if nearest:
            places = _NEAREST_PLACES[nearest.group(1).lower()]
    decimal = places is not None or bool(_DECIMAL_RE.search(q))
    return AnswerDemand(
        decimal=decimal,
        places=places,
        percent=bool(_PERCENT_RE.search(q)) or "%" in g,
        simplified=bool(_SIMPLIFIED_RE.search(q)),
        fraction=bool(_FRACTION_RE.search(q)),
        mixed_number=bool(_MIXED_RE.search(q)),
        expanded=bool(_EXPAND_RE.search(q)),
        factored=bool(_FACTOR_RE.search(q)),
        relation=bool(RELATION_RE.search(g)),
    )
