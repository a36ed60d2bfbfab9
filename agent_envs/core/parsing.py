"""Helpers that pull structured content out of an LLM's free-form reply.

Nothing here raises on any input string: each parser returns what it found and a list
of human-readable problems.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "parse_si_number",
    "extract_code_blocks",
    "extract_json_objects",
    "extract_tool_calls",
    "parse_assignments",
    "Assignments",
]

# SPICE-style scale suffixes (case-insensitive; "meg" before "m"), plus "µ".
# Powers of ten, applied in decimal so "2.5u" is exactly 2.5e-06.
_SI_EXPONENT = {
    "t": 12,
    "g": 9,
    "meg": 6,
    "k": 3,
    "m": -3,
    "u": -6,
    "µ": -6,
    "μ": -6,
    "n": -9,
    "p": -12,
    "f": -15,
    "a": -18,
}
_NUMBER_RE = re.compile(
    r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
    r"(meg|mil|[tgkmuµμnpfa])?\s*([a-zA-ZΩ]*)\s*$",
    re.IGNORECASE,
)
# Units a reply may append after the scale (e.g. 10pF, 2.5um, 20uA, 1kOhm).
_UNITS = {"", "f", "h", "a", "v", "w", "s", "m", "hz", "ohm", "ohms", "Ω", "x", "db"}


def parse_si_number(text: Any) -> float | None:
    """Parse a number with an optional SPICE scale suffix and unit; None if it is not one.

    ``NaN`` and infinities are rejected (returned as None).

    Example:
        >>> parse_si_number("2.5u"), parse_si_number("10pF"), parse_si_number("1meg")
        (2.5e-06, 1e-11, 1000000.0)
        >>> parse_si_number("3e-6"), parse_si_number("12 um"), parse_si_number(7)
        (3e-06, 1.2e-05, 7.0)
        >>> parse_si_number("abc") is None, parse_si_number("nan") is None
        (True, True)
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        value = float(text)
        return value if math.isfinite(value) else None
    if not isinstance(text, str) or len(text) > 64:
        return None
    match = _NUMBER_RE.match(text)
    if not match:
        return None
    number, scale, unit = match.groups()
    if unit.lower() not in _UNITS:
        return None
    # SPICE convention: "m" is milli (never metre), "meg" is mega.
    scale = (scale or "").lower()
    if scale == "mil":
        value = float(number) * 25.4e-6
    else:
        value = float(Decimal(number).scaleb(_SI_EXPONENT.get(scale, 0)))
    return value if math.isfinite(value) else None


_MAX_JSON_ATTEMPTS = 64

_FENCE = "```"
_LANG_RE = re.compile(r"[ \t]*([\w+-]*)")


def extract_code_blocks(text: str, languages: tuple[str, ...] | None = None) -> list[str]:
    """Return the contents of fenced code blocks, optionally only for some languages.

    Example:
        >>> extract_code_blocks("x\\n```python\\nprint(1)\\n```\\n```\\nraw\\n```")
        ['print(1)\\n', 'raw\\n']
        >>> extract_code_blocks("```py\\na=1\\n```", languages=("python", "py"))
        ['a=1\\n']
    """
    if not isinstance(text, str):
        return []
    # A linear scan (a regex with lazy bodies goes quadratic on replies full of fences).
    blocks = []
    start = text.find(_FENCE)
    while start != -1:
        newline = text.find("\n", start + 3)
        if newline == -1:
            break
        close = text.find(_FENCE, newline + 1)
        if close == -1:
            break
        lang = _LANG_RE.match(text, start + 3, newline).group(1)
        if languages is None or lang.lower() in languages:
            blocks.append(text[newline + 1 : close])
        start = text.find(_FENCE, close + 3)
    return blocks


def extract_json_objects(text: str, max_objects: int = 16) -> list[dict[str, Any]]:
    """Return every top-level JSON object found in ``text`` (in order of appearance).

    Example:
        >>> extract_json_objects('use {"a": 1} then {"b": {"c": 2}} and {bad}')
        [{'a': 1}, {'b': {'c': 2}}]
    """
    if not isinstance(text, str):
        return []
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    # Each failed attempt can scan to the end of the text, so a reply full of braces would
    # cost quadratic time: bound the attempts (real replies hold a handful of objects).
    attempts = 0
    i = text.find("{")
    while i != -1 and len(found) < max_objects and attempts < _MAX_JSON_ATTEMPTS:
        attempts += 1
        try:
            obj, end = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        i = text.find("{", end)
    return found


def _tagged_bodies(text: str, open_tag: str, close_tag: str) -> list[str]:
    """Contents of ``open_tag ... close_tag`` pairs, found in one linear scan."""
    bodies = []
    start = text.find(open_tag)
    while start != -1:
        close = text.find(close_tag, start + len(open_tag))
        if close == -1:
            break
        bodies.append(text[start + len(open_tag) : close])
        start = text.find(open_tag, close + len(close_tag))
    return bodies


def extract_tool_calls(text: str) -> list[dict[str, Any]]:
    """Find OpenAI-style function calls in a reply; return ``{"name", "arguments"}`` dicts.

    Accepts ``<tool_call>{...}</tool_call>`` tags (Hermes/Qwen templates), bare JSON
    objects with ``name`` and ``arguments`` (or ``parameters``), and the OpenAI message
    shape ``{"tool_calls": [{"function": {...}}]}``. String ``arguments`` are JSON-decoded.

    Example:
        >>> extract_tool_calls('<tool_call>{"name": "simulate", "arguments": {"w1": "2u"}}</tool_call>')
        [{'name': 'simulate', 'arguments': {'w1': '2u'}}]
        >>> extract_tool_calls('{"tool_calls": [{"function": {"name": "f", "arguments": "{\\\\"x\\\\": 1}"}}]}')
        [{'name': 'f', 'arguments': {'x': 1}}]
    """
    if not isinstance(text, str):
        return []
    candidates: list[dict[str, Any]] = []
    for body in _tagged_bodies(text, "<tool_call>", "</tool_call>"):
        candidates.extend(extract_json_objects(body))
    if not candidates:
        candidates = extract_json_objects(text)
    calls = []
    for obj in candidates:
        for call in (
            obj.get("tool_calls", [obj]) if isinstance(obj.get("tool_calls"), list) else [obj]
        ):
            if not isinstance(call, dict):
                continue
            fn = call.get("function", call)
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                continue
            args = fn.get("arguments", fn.get("parameters", {}))
            if isinstance(args, str):
                try:
                    args = json.loads(args)
                except ValueError:
                    args = None
            if isinstance(args, dict):
                calls.append({"name": fn["name"], "arguments": args})
    return calls


@dataclass
class Assignments:
    """Result of :func:`parse_assignments`: raw values by name, and problems found."""

    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


_ASSIGN_RE = re.compile(
    r"^[ \t>*-]*`?([A-Za-z_][A-Za-z0-9_.]*)`?[ \t]*(?:=|:)[ \t]*(.+?)[ \t]*[,;]?[ \t]*$",
    re.MULTILINE,
)


def parse_assignments(text: str, names: set[str] | None = None) -> Assignments:
    """Read ``name = value`` lines or a JSON object from a reply.

    A JSON object (in a fence or not) wins over loose lines. When ``names`` is given,
    loose lines whose name is not one of them are ignored (they are usually prose such as
    ``Note: ...``) unless their value is a number, while JSON keys are all reported so unknown names can be flagged.
    Values are returned as strings; use :func:`parse_si_number` on them.

    Example:
        >>> parse_assignments("I'll try:\\nw1 = 2.5u\\nibias: 20uA").values
        {'w1': '2.5u', 'ibias': '20uA'}
        >>> parse_assignments('```json\\n{"w1": "3u", "cc": 1e-12}\\n```').values
        {'w1': '3u', 'cc': '1e-12'}
    """
    out = Assignments()
    if not isinstance(text, str):
        out.problems.append("the reply is not text")
        return out
    for obj in extract_json_objects(text):
        flat = {k: v for k, v in obj.items() if not isinstance(v, (dict, list))}
        if flat:
            for key, value in flat.items():
                out.values[str(key)] = value if isinstance(value, str) else json.dumps(value)
            return out
    for name, value in _ASSIGN_RE.findall(text):
        value = value.strip().strip("`'\"")
        known = names is None or name in names or name.lower() in names
        if not known and parse_si_number(value) is None:
            continue  # prose such as "Note: ...", not an attempted assignment
        out.values[name] = value
    return out
