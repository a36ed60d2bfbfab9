"""The ACS action protocol: read parameter assignments from a reply, and describe them.

A reply may hold free reasoning plus assignments as a JSON object or ``name = value``
lines (SI suffixes such as ``2.5u``, ``10p``, ``1meg``), fenced or not, or an
OpenAI-style ``simulate`` tool call. Every problem is reported; nothing here raises, and
every parser runs in time linear in the reply's length.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from agent_envs.circuits.circuit import Variable
from agent_envs.circuits.netlist import format_number
from agent_envs.core.parsing import (
    extract_tool_calls,
    parse_assignments,
    parse_si_number,
    repeated_keys,
)

__all__ = [
    "parse_action",
    "read_action",
    "ParsedAction",
    "netlist_card_lines",
    "format_action",
    "format_si",
    "tool_schema",
    "TOOL_NAME",
]

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


# SPICE directives and element cards: a reply holding these is trying to edit the netlist,
# which it cannot (only named parameters reach the deck). Both patterns are anchored and
# have no overlapping unbounded quantifiers, so a line costs time linear in its length.
_DIRECTIVE_RE = re.compile(
    r"[ \t]*\.(?:param|include|inc|lib|model|subckt|ends|end|control|endc|ac|dc|tran|op"
    r"|noise|meas|measure|option|options|global|temp|save|print|plot|ic|nodeset|alter"
    r"|alterparam|func|if|endif)(?![A-Za-z0-9_])",
    re.IGNORECASE,
)
_ELEMENT_RE = re.compile(r"[RCLMVIQDXEGFHKJB][A-Za-z_]*[0-9][A-Za-z0-9_]*$", re.IGNORECASE)


def netlist_card_lines(text: str) -> list[str]:
    """Lines of ``text`` that look like SPICE netlist cards (directives, element lines).

    Example:
        >>> netlist_card_lines("M1 out in tail 0 nmos W=2u L=1u\\n.param cc=2p\\nI think so")
        ['M1 out in tail 0 nmos W=2u L=1u', '.param cc=2p']
    """
    found = []
    for line in text.splitlines():
        if _DIRECTIVE_RE.match(line):
            found.append(line.strip())
            continue
        tokens = line.split(None, 8)  # bounded: a card's first tokens are enough
        if len(tokens) >= 4 and _ELEMENT_RE.match(tokens[0]):
            tail = tokens[3:]
            if any("=" in t or parse_si_number(t[:64]) is not None for t in tail):
                found.append(line.strip())
    return found


def _shown(value: Any) -> str:
    """At most 40 characters of a value, for a message (a huge int must not raise)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**40:
        return f"an integer of {len(str(abs(value)))} digits"
    return str(value)[:40]


@dataclass
class ParsedAction:
    """What :func:`read_action` found in a reply.

    ``values``: the parameters to simulate, each already rounded to the precision that
    reaches the deck (empty when there is any problem); ``problems``: why the reply
    cannot be used; ``notes``: what the agent should know even when the reply is used
    (netlist-looking lines that were ignored, values that were rounded).
    """

    values: dict[str, float] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _raw_assignments(text: str, by_name: Mapping[str, Variable], out: ParsedAction) -> dict:
    calls = extract_tool_calls(text)
    sim_calls = [c for c in calls if c["name"] == TOOL_NAME]
    if sim_calls:
        distinct = {json.dumps(c["arguments"], sort_keys=True, default=str) for c in sim_calls}
        if len(distinct) > 1:
            out.problems.append(
                f"{len(sim_calls)} different {TOOL_NAME!r} calls; make one call per turn"
            )
            return {}
        args = sim_calls[-1]["arguments"]
        repeats = {k: [_shown(v) for v in vs] for k, vs in repeated_keys(args).items()}
        return _check_repeats(dict(args), repeats, out)
    if calls:
        out.problems.append(
            f"unknown tool {calls[-1]['name'][:40]!r}; the only tool is {TOOL_NAME!r}"
        )
        return {}
    found = parse_assignments(text, set(by_name))
    return _check_repeats(found.values, found.repeats, out)


def _check_repeats(raw: dict, repeats: Mapping[str, list[str]], out: ParsedAction) -> dict:
    """Refuse a name given two different values (also names differing only in case)."""
    groups: dict[str, list[str]] = {}
    for key in raw:
        groups.setdefault(str(key).strip().lower(), []).append(key)
    for name, keys in groups.items():
        if len(keys) == 1 and keys[0] not in repeats:
            continue  # the usual case: given once
        given = [v for k in keys for v in repeats.get(k, [_shown(raw[k])])]
        numbers = {parse_si_number(v) for v in given}
        if len(given) > 1 and (len(numbers) > 1 or None in numbers):
            out.problems.append(
                f"{name} is assigned {len(given)} times with different values "
                f"({', '.join(v[:20] for v in given[:4])}); give each parameter once"
            )
    return raw


def read_action(text: str, variables: Sequence[Variable]) -> ParsedAction:
    """Read assignments from a reply, in time linear in its length; never raises.

    Example:
        >>> vs = [Variable("cc", "F", 1e-13, 2e-11, True, 1e-12, ""),
        ...       Variable("ibias", "A", 1e-6, 2e-4, True, 2e-5, "")]
        >>> parsed = read_action("cc = 2.1234567p\\nR1 a b 1k", vs)
        >>> parsed.values, parsed.problems
        ({'cc': 2.123457e-12}, [])
        >>> print("\\n".join(parsed.notes))
        ignored 1 line that looks like a netlist card (the netlist is fixed; set parameters by name): 'R1 a b 1k'
        cc = 2.1234567p is simulated as 2.123457e-12 (7 significant digits)
        >>> read_action("cc = 2p\\ncc = 3p", vs).problems
        ['cc is assigned 2 times with different values (2p, 3p); give each parameter once']
    """
    out = ParsedAction()
    if not isinstance(text, str):
        out.problems.append("the reply is not text")
        return out
    by_name = {v.name: v for v in variables}
    raw = _raw_assignments(text, by_name, out)
    cards = netlist_card_lines(text)
    if cards:
        shown = ", ".join(repr(c[:60]) for c in cards[:3]) + (", ..." if len(cards) > 3 else "")
        plural = (
            "lines that look like netlist cards"
            if len(cards) > 1
            else ("line that looks like a netlist card")
        )
        out.notes.append(
            f"ignored {len(cards)} {plural} (the netlist is fixed; set parameters by name): {shown}"
        )
    if not raw and not out.problems:
        out.problems.append("no parameter assignments found (write lines such as `cc = 2p`)")
    for key, value in raw.items():
        name = str(key).strip().lower()
        if name not in by_name:
            known = ", ".join(by_name)
            out.problems.append(f"unknown parameter {str(key)[:40]!r} (known: {known})")
            continue
        if isinstance(value, (dict, list)):
            out.problems.append(f"{name}: expected a number, got {type(value).__name__}")
            continue
        number = parse_si_number(value)
        shown = _shown(value)
        if number is None:
            out.problems.append(f"{name} = {shown!r} is not a finite number (e.g. 2.5u, 10p, 1meg)")
            continue
        simulated = float(format_number(number))  # what the deck will hold
        if not by_name[name].contains(simulated):
            out.problems.append(
                f"{name} = {shown} is outside its range: {_range_text(by_name[name])}"
            )
            continue
        out.values[name] = simulated
        if simulated != number:
            out.notes.append(
                f"{name} = {shown} is simulated as {format_number(simulated)}"
                " (7 significant digits)"
            )
    if out.problems:
        out.values = {}
    return out


def parse_action(text: str, variables: Sequence[Variable]) -> tuple[dict[str, float], list[str]]:
    """Read assignments from a reply; return ``(values, problems)`` (see :func:`read_action`).

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
    parsed = read_action(text, variables)
    return parsed.values, parsed.problems


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
