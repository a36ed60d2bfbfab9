"""The ACS action protocol: read parameter assignments from a reply, and describe them.

A reply may hold free reasoning plus assignments as a JSON object or ``name = value``
lines (SI suffixes such as ``2.5u``, ``10p``, ``1meg``), fenced or not, or an
OpenAI-style ``simulate`` tool call. Every problem is reported; nothing here raises.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from agent_envs.circuits.circuit import Variable
from agent_envs.core.parsing import extract_tool_calls, parse_assignments, parse_si_number

__all__ = ["parse_action", "format_action", "format_si", "tool_schema", "TOOL_NAME"]

TOOL_NAME = "simulate"
_PREFIXES = ((1e9, "G"), (1e6, "M"), (1e3, "k"), (1.0, ""), (1e-3, "m"), (1e-6, "u"))
_PREFIXES += ((1e-9, "n"), (1e-12, "p"), (1e-15, "f"))


def format_si(value: float | None, unit: str = "", digits: int = 4) -> str:
    """Human-readable number with an SI prefix (``None`` reads "not found").

    Example:
        >>> format_si(2.5e-6, "m"), format_si(33.1e6, "Hz"), format_si(61.2, "dB")
        ('2.5 um', '33.1 MHz', '61.2 dB')
        >>> format_si(None, "Hz"), format_si(0.1118, "mV/V"), format_si(1820.0, "ppm/C")
        ('not found', '0.1118 mV/V', '1820 ppm/C')
    """
    if value is None or not math.isfinite(value):
        return "not found"
    if unit in ("dB", "deg") or "/" in unit or value == 0:  # ratios carry their own scale
        return f"{value:.{digits}g} {unit}".strip()
    for scale, prefix in _PREFIXES:
        if abs(value) >= scale * 0.9995:
            return f"{value / scale:.{digits}g} {prefix}{unit}".strip()
    return f"{value:.{digits}g} {unit}".strip()


def _range_text(var: Variable) -> str:
    return f"{var.name} in [{format_si(var.low, var.unit)}, {format_si(var.high, var.unit)}]"


def parse_action(text: str, variables: Sequence[Variable]) -> tuple[dict[str, float], list[str]]:
    """Read assignments from a reply; return ``(values, problems)``.

    Values are only returned when there is no problem at all (the turn is then valid).

    Example:
        >>> vs = [Variable("cc", "F", 1e-13, 2e-11, True, 1e-12, ""),
        ...       Variable("ibias", "A", 1e-6, 2e-4, True, 2e-5, "")]
        >>> parse_action("Let me raise it.\\ncc = 2p\\nibias: 30uA", vs)
        ({'cc': 2e-12, 'ibias': 3e-05}, [])
        >>> parse_action('{"cc": "1e-3", "wx": 2}', vs)[1]  # doctest: +NORMALIZE_WHITESPACE
        ['cc = 1e-3 is outside its range: cc in [100 fF, 20 pF]',
         "unknown parameter 'wx' (known: cc, ibias)"]
    """
    by_name = {v.name: v for v in variables}
    problems: list[str] = []
    if not isinstance(text, str):
        return {}, ["the reply is not text"]
    raw: dict[str, Any] = {}
    calls = extract_tool_calls(text)
    sim_calls = [c for c in calls if c["name"] == TOOL_NAME]
    if sim_calls:
        raw = dict(sim_calls[-1]["arguments"])
    elif calls:
        return {}, [f"unknown tool {calls[-1]['name']!r}; the only tool is {TOOL_NAME!r}"]
    else:
        raw = parse_assignments(text, set(by_name)).values
    if not raw:
        return {}, ["no parameter assignments found (write lines such as `cc = 2p`)"]
    values: dict[str, float] = {}
    for key, value in raw.items():
        name = str(key).strip().lower()
        if name not in by_name:
            problems.append(f"unknown parameter {str(key)[:40]!r} (known: {', '.join(by_name)})")
            continue
        if isinstance(value, (dict, list)):
            problems.append(f"{name}: expected a number, got {type(value).__name__}")
            continue
        number = parse_si_number(value)
        shown = str(value)[:40]
        if number is None:
            problems.append(f"{name} = {shown!r} is not a finite number (e.g. 2.5u, 10p, 1meg)")
        elif not by_name[name].contains(number):
            problems.append(f"{name} = {shown} is outside its range: {_range_text(by_name[name])}")
        else:
            values[name] = number
    return (values, []) if not problems else ({}, problems)


def format_action(values: Mapping[str, float]) -> str:
    """A reply the parser accepts: one ``name = value`` line per parameter, in a fence.

    Example:
        >>> print(format_action({"cc": 2e-12, "rz": 1500.0}))
        ```
        cc = 2e-12
        rz = 1500
        ```
    """
    lines = [f"{name} = {float(value):.6g}" for name, value in values.items()]
    return "```\n" + "\n".join(lines) + "\n```"


def tool_schema(variables: Sequence[Variable], description: str) -> list[dict[str, Any]]:
    """OpenAI-style function schema of the ``simulate`` call (units and ranges included).

    Example:
        >>> schema = tool_schema([Variable("cc", "F", 1e-13, 2e-11, True, 1e-12, "Miller cap")], "x")
        >>> schema[0]["function"]["parameters"]["properties"]["cc"]["minimum"]
        1e-13
    """
    properties = {
        v.name: {
            "type": "number",
            "description": f"{v.description} [{v.unit}], range {format_si(v.low, v.unit)}"
            f" to {format_si(v.high, v.unit)}",
            "minimum": v.low,
            "maximum": v.high,
        }
        for v in variables
    }
    return [
        {
            "type": "function",
            "function": {
                "name": TOOL_NAME,
                "description": description,
                "parameters": {"type": "object", "properties": properties, "required": []},
            },
        }
    ]
