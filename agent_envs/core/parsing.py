"""Helpers that pull structured content out of an LLM's free-form reply.

Nothing here raises on any input string: each parser returns what it found and a list
of human-readable problems.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from decimal import MAX_EMAX, MIN_EMIN, Context, Decimal
from typing import Any

__all__ = [
    "parse_si_number",
    "extract_code_blocks",
    "extract_json_objects",
    "extract_tool_calls",
    "parse_assignments",
    "Assignments",
    "repeated_keys",
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
# ASCII digits only: float() would also read other scripts' digits ("٣"), which a deck never shows.
_NUMBER_RE = re.compile(
    r"^\s*([-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?)\s*"
    r"(meg|mil|[tgkmuµμnpfa])?\s*([a-zA-ZΩ]*)\s*$",
    re.IGNORECASE,
)
# Units a reply may append after the scale (e.g. 10pF, 2.5um, 20uA, 1kOhm).
# Wide enough for any 64-character number; overflow gives Infinity instead of a trap.
_WIDE = Context(prec=80, Emax=MAX_EMAX, Emin=MIN_EMIN, traps=[])
_UNITS = {"", "f", "h", "a", "v", "w", "s", "m", "hz", "ohm", "ohms", "Ω", "x", "db"}


def parse_si_number(text: Any) -> float | None:
    """Parse a number with an optional SPICE scale suffix and unit; None if it is not one.

    ``NaN``, infinities and numbers beyond the float range (``1e9999999``, a 400-digit
    integer) are rejected (returned as None); nothing raises.

    Example:
        >>> parse_si_number("2.5u"), parse_si_number("10pF"), parse_si_number("1meg")
        (2.5e-06, 1e-11, 1000000.0)
        >>> parse_si_number("3e-6"), parse_si_number("12 um"), parse_si_number(7)
        (3e-06, 1.2e-05, 7.0)
        >>> parse_si_number("abc") is None, parse_si_number("nan") is None
        (True, True)
        >>> parse_si_number("1e9999999") is None, parse_si_number(10**400) is None
        (True, True)
    """
    if isinstance(text, bool):
        return None
    if isinstance(text, (int, float)):
        try:
            value = float(text)
        except OverflowError:  # an int beyond the float range
            return None
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
    try:
        if scale == "mil":
            value = float(number) * 25.4e-6
        else:  # an exponent beyond Decimal's context traps (decimal.Overflow)
            value = float(Decimal(number).scaleb(_SI_EXPONENT.get(scale, 0), _WIDE))
    except (ArithmeticError, ValueError):
        return None
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


class _JSONObject(dict):
    """A decoded JSON object that remembers keys it held more than once (in order)."""

    repeated: dict[str, list[Any]]


def _object_with_repeats(pairs: list[tuple[str, Any]]) -> _JSONObject:
    obj = _JSONObject(pairs)
    obj.repeated = {}
    if len(obj) < len(pairs):
        seen: dict[str, list[Any]] = {}
        for key, value in pairs:
            seen.setdefault(key, []).append(value)
        obj.repeated = {k: vs for k, vs in seen.items() if len(vs) > 1}
    return obj


def _json_objects(text: str, max_objects: int, pairs_hook: Any = None) -> list[dict[str, Any]]:
    decoder = json.JSONDecoder(object_pairs_hook=pairs_hook)
    found: list[dict[str, Any]] = []
    # Each failed attempt can scan to the end of the text, so a reply full of braces would
    # cost quadratic time: bound the attempts (real replies hold a handful of objects).
    attempts = 0
    i = text.find("{")
    while i != -1 and len(found) < max_objects and attempts < _MAX_JSON_ATTEMPTS:
        attempts += 1
        try:
            obj, end = decoder.raw_decode(text, i)
        except (ValueError, RecursionError):  # malformed, an int of > 4300 digits, too deep
            i = text.find("{", i + 1)
            continue
        if isinstance(obj, dict):
            found.append(obj)
        i = text.find("{", end)
    return found


def extract_json_objects(text: str, max_objects: int = 16) -> list[dict[str, Any]]:
    """Return every top-level JSON object found in ``text`` (in order of appearance).

    At most 64 decoding attempts are made, so the work stays linear in the text's length.

    Example:
        >>> extract_json_objects('use {"a": 1} then {"b": {"c": 2}} and {bad}')
        [{'a': 1}, {'b': {'c': 2}}]
    """
    if not isinstance(text, str):
        return []
    return _json_objects(text, max_objects)


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


def _decode_arguments(args: str) -> dict[str, Any] | None:
    """String ``arguments`` of a call, decoded; None when they are not one JSON object."""
    try:
        obj = json.JSONDecoder(object_pairs_hook=_object_with_repeats).decode(args)
    except (ValueError, RecursionError):  # malformed, huge integers, nested too deep
        return None
    return obj if isinstance(obj, dict) else None


def extract_tool_calls(text: str) -> list[dict[str, Any]]:
    """Find OpenAI-style function calls in a reply; return ``{"name", "arguments"}`` dicts.

    Accepts ``<tool_call>{...}</tool_call>`` tags (Hermes/Qwen templates), bare JSON
    objects with ``name`` and ``arguments`` (or ``parameters``), and the OpenAI message
    shape ``{"tool_calls": [{"function": {...}}]}``. String ``arguments`` are JSON-decoded.
    A call whose arguments are not an object is dropped. Argument objects remember keys
    given twice (``repeated_keys(call["arguments"])``).

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
        candidates.extend(_json_objects(body, 16, _object_with_repeats))
    if not candidates:
        candidates = _json_objects(text, 16, _object_with_repeats)
    calls = []
    for obj in candidates:
        inner = obj.get("tool_calls")
        for call in inner if isinstance(inner, list) else [obj]:
            if not isinstance(call, dict):
                continue
            fn = call.get("function", call)
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                continue
            args = fn.get("arguments", fn.get("parameters", {}))
            if isinstance(args, str):
                args = _decode_arguments(args)
            if isinstance(args, dict):
                calls.append({"name": fn["name"], "arguments": args})
    return calls


def repeated_keys(obj: dict[str, Any]) -> dict[str, list[Any]]:
    """Keys a decoded JSON object (from :func:`extract_tool_calls`) held more than once.

    Example:
        >>> call = extract_tool_calls('{"name": "f", "arguments": {"x": 1, "x": 2}}')[0]
        >>> call["arguments"], repeated_keys(call["arguments"])
        ({'x': 2}, {'x': [1, 2]})
    """
    return dict(getattr(obj, "repeated", {}))


@dataclass
class Assignments:
    """Result of :func:`parse_assignments`: raw values by name, and problems found.

    ``repeats`` holds every value of a name assigned more than once (``values`` keeps
    the last); the caller decides whether that is an error.
    """

    values: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    repeats: dict[str, list[str]] = field(default_factory=dict)


# The head of an assignment line: decoration, a name, "=" or ":". No nested or adjacent
# unbounded quantifiers that can match the same characters, so a failed match costs
# time linear in the line (the old single regex with a lazy value was cubic in a blank run).
_ASSIGN_HEAD_RE = re.compile(r"[ \t>*-]*`?([A-Za-z_][A-Za-z0-9_.]*)`?[ \t]*[=:]")


def _assignment_value(rest: str) -> str:
    """The value part of an assignment line: blanks, one trailing , or ; and quotes off."""
    value = rest.strip(" \t")
    if value[-1:] in (",", ";"):
        value = value[:-1].rstrip(" \t")
    return value.strip().strip("`'\"")


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def parse_assignments(text: str, names: set[str] | None = None) -> Assignments:
    """Read ``name = value`` lines or a JSON object from a reply (in time linear in it).

    A JSON object (in a fence or not) wins over loose lines. When ``names`` is given,
    loose lines whose name is not one of them are ignored (they are usually prose such as
    ``Note: ...``) unless their value is a number, while JSON keys are all reported so
    unknown names can be flagged. Values are returned as strings; use
    :func:`parse_si_number` on them.

    Example:
        >>> parse_assignments("I'll try:\\nw1 = 2.5u\\nibias: 20uA").values
        {'w1': '2.5u', 'ibias': '20uA'}
        >>> parse_assignments('```json\\n{"w1": "3u", "cc": 1e-12}\\n```').values
        {'w1': '3u', 'cc': '1e-12'}
        >>> parse_assignments("w1 = 2u\\nw1 = 3u").repeats
        {'w1': ['2u', '3u']}
    """
    out = Assignments()
    if not isinstance(text, str):
        out.problems.append("the reply is not text")
        return out
    for obj in _json_objects(text, 16, _object_with_repeats):
        flat = {k: v for k, v in obj.items() if not isinstance(v, (dict, list))}
        if flat:
            for key, value in flat.items():
                out.values[str(key)] = _as_text(value)
            for key, values in repeated_keys(obj).items():
                if key in flat:
                    out.repeats[key] = [_as_text(v) for v in values]
            return out
    seen: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" not in line and ":" not in line:
            continue
        match = _ASSIGN_HEAD_RE.match(line)
        if match is None:
            continue
        name, value = match.group(1), _assignment_value(line[match.end() :])
        known = names is None or name in names or name.lower() in names
        if not known and parse_si_number(value) is None:
            continue  # prose such as "Note: ...", not an attempted assignment
        out.values[name] = value
        seen.setdefault(name, []).append(value)
    out.repeats = {k: vs for k, vs in seen.items() if len(vs) > 1}
    return out
