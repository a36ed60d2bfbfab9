"""Render a circuit's netlist from validated numbers, and prove nothing else got in.

Only floats that passed the range check are written, always as ``%.6e``; the rendered
deck is then checked line by line against the template (same line count, no control
blocks, includes, shell commands or extra lines). No agent text ever reaches ngspice.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping

from agent_envs.circuits.circuit import Circuit

__all__ = [
    "render_decks",
    "check_template",
    "check_deck",
    "check_pdk_deck",
    "PARAM_LINE_RE",
    "validate_values",
    "UnsafeDeckError",
    "format_number",
]

_HOLE_RE = re.compile(r"\{([a-z][a-z0-9_]*)\}")
# Anything that makes ngspice run commands, read files, or change its control flow.
_FORBIDDEN_RE = re.compile(
    r"^\s*(\.control|\.endc|\.inc|\.include|\.lib|\.endl|\.param|\.func|\.csparam|"
    r"\.meas|\.measure|\.if|\.else|\.endif|\.save|\.print|\.plot|\.four|\.options?\s+.*(shell|file))\b"
    r"|^\s*(shell|system|exec|source|codemodel|setcs|write|wrdata|wrs2p|cd|load)\b",
    re.IGNORECASE,
)
_NUMBER_TEXT_RE = re.compile(r"^-?\d\.\d{6}e[-+]\d{2,3}$")
_CARD_RE = re.compile(r"\.model [a-z0-9_]+ [np]mos \(([a-z]+=-?\d\.\d{6}e[-+]\d{2,3} ?)+\)")

#: The only ``.param`` line a deck may hold: written by the project for a pdk circuit.
PARAM_LINE_RE = re.compile(r"\.param acs_([a-z][a-z0-9_]*)=(-?\d\.\d{6}e[-+]\d{2,3})")


class UnsafeDeckError(RuntimeError):
    """A rendered deck does not match its template: refuse to simulate it."""


def format_number(value: float) -> str:
    """Render a finite float the only way numbers enter a deck.

    Example:
        >>> format_number(2.5e-6)
        '2.500000e-06'
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise UnsafeDeckError(f"not a finite number: {value!r}")
    return f"{float(value):.6e}"


def check_template(template: str, names: set[str]) -> None:
    """Validate a template: holes name known variables; no forbidden statements.

    Example:
        >>> check_template("t\\nR1 a 0 {r}\\n.end", {"r"})
        >>> check_template("t\\n.control\\nshell ls\\n.endc", set())
        Traceback (most recent call last):
        ...
        ValueError: template line 2 is not allowed: '.control'
    """
    for i, line in enumerate(template.splitlines(), start=1):
        if _FORBIDDEN_RE.search(line):
            raise ValueError(f"template line {i} is not allowed: {line.strip()[:60]!r}")
        for hole in _HOLE_RE.findall(line):
            if hole not in names:
                raise ValueError(f"template line {i} has unknown hole {{{hole}}}")
        if "{" in _HOLE_RE.sub("", line) or "}" in _HOLE_RE.sub("", line):
            raise ValueError(f"template line {i} has a brace that is not a {{name}} hole")


def _model_cards(circuit: Circuit, values: Mapping[str, float]) -> list[str]:
    lengths = tuple(float(values[use.length]) for use in circuit.models)
    key = (str(circuit.folder), lengths)
    cards = _CARD_CACHE.get(key)
    if cards is None:
        cards = _CARD_CACHE[key] = _make_model_cards(circuit, values)
        if len(_CARD_CACHE) > 256:
            _CARD_CACHE.pop(next(iter(_CARD_CACHE)))
    return list(cards)


# (circuit folder, lengths) -> cards: lengths change far less often than other variables
_CARD_CACHE: dict[tuple[str, tuple[float, ...]], list[str]] = {}


def _make_model_cards(circuit: Circuit, values: Mapping[str, float]) -> list[str]:
    process = circuit.process
    ref_length = float(process["reference_length"])
    cards = []
    for use in circuit.models:
        params = dict(process[use.type])
        # level 1 has no length-dependent output conductance: lambda ~ 1/L
        params["lambda"] = float(params["lambda"]) * ref_length / float(values[use.length])
        body = " ".join(f"{k}={format_number(float(v))}" for k, v in params.items())
        cards.append(f".model {use.name} {use.type} ({body})")
    return cards


def validate_values(circuit: Circuit, values: Mapping[str, float]) -> None:
    """Raise ``UnsafeDeckError`` unless ``values`` holds every variable, finite and in range."""
    names = {v.name for v in circuit.variables}
    if set(values) != names:
        raise UnsafeDeckError(f"values must name exactly {sorted(names)}")
    for var in circuit.variables:
        value = values[var.name]
        format_number(value)
        if not var.contains(float(value)):
            raise UnsafeDeckError(f"{var.name}={value!r} outside [{var.low}, {var.high}]")


def _validate_conditions(circuit: Circuit, conditions: Mapping[str, float]) -> None:
    if set(conditions) != {c.name for c in circuit.conditions}:
        raise UnsafeDeckError(
            f"conditions must name exactly {[c.name for c in circuit.conditions]}"
        )
    for cond in circuit.conditions:
        format_number(conditions[cond.name])
        if not cond.contains(float(conditions[cond.name])):
            raise UnsafeDeckError(f"condition {cond.name} outside [{cond.low}, {cond.high}]")


def render_decks(
    circuit: Circuit, values: Mapping[str, float], conditions: Mapping[str, float] | None = None
) -> tuple[str, ...]:
    """Fill each testbench template with range-checked numbers; insert the model cards.

    ``conditions`` fills the circuit's condition holes (task variations such as the load);
    ``None`` uses their defaults. Raises ``UnsafeDeckError`` for a missing, unknown,
    non-finite or out-of-range value, or if a rendered deck is anything but its template
    with numbers in the holes.

    Example:
        >>> c = Circuit.load("opamp")
        >>> decks = render_decks(c, c.defaults())
        >>> len(decks), "W=2.000000e-05" in decks[0], ".control" in decks[0]
        (2, True, False)
    """
    validate_values(circuit, values)
    conditions = circuit.condition_defaults() if conditions is None else dict(conditions)
    _validate_conditions(circuit, conditions)
    rendered = {name: format_number(float(value)) for name, value in values.items()}
    rendered.update({name: format_number(float(v)) for name, v in conditions.items()})
    geometry = circuit.junction_geometry(dict(values))
    rendered.update({name: format_number(v) for name, v in geometry.items()})
    if circuit.pdk is not None:
        return _render_pdk_decks(circuit, rendered)
    cards = _model_cards(circuit, values)
    decks = []
    for tb in circuit.testbenches:
        lines = tb.template.splitlines()
        body = [_HOLE_RE.sub(lambda m: rendered[m.group(1)], line) for line in lines[1:]]
        deck = "\n".join([lines[0], *cards, *body]) + "\n"
        check_deck(deck, tb.template, len(cards))
        decks.append(deck)
    return tuple(decks)


def _param_holes(line: str) -> str:
    """A template line with each ``{name}`` hole as the expression ``{acs_name}``."""
    return _HOLE_RE.sub(lambda m: "{acs_" + m.group(1) + "}", line)


def _render_pdk_decks(circuit: Circuit, rendered: Mapping[str, str]) -> tuple[str, ...]:
    """Decks for a foundry library: the ``.lib`` line, one ``.param`` per number, then the
    template with holes as parameter expressions, so a resident simulator that keeps the
    circuit loaded can apply new numbers with ``alterparam`` instead of reparsing."""
    from agent_envs.circuits.pdk import lib_line

    lib = lib_line(circuit.pdk["name"], circuit.pdk["corner"])
    params = [f".param acs_{name}={value}" for name, value in rendered.items()]
    decks = []
    for tb in circuit.testbenches:
        lines = tb.template.splitlines()
        deck = "\n".join([lines[0], lib, *params, *map(_param_holes, lines[1:])]) + "\n"
        check_pdk_deck(deck, tb.template, lib, tuple(rendered))
        decks.append(deck)
    return tuple(decks)


def check_pdk_deck(deck: str, template: str, lib: str, names: tuple[str, ...]) -> None:
    """Assert a pdk deck is: the title, exactly ``lib``, one number ``.param`` per name (in
    order), then the template with ``{acs_name}`` holes. Nothing else.

    Example:
        >>> check_pdk_deck("t\\n.lib x tt\\n.param acs_r=1.000000e+03\\nR1 a 0 {acs_r}\\n",
        ...                "t\\nR1 a 0 {r}", ".lib x tt", ("r",))
        >>> check_pdk_deck("t\\n.lib x tt\\n.param acs_r=1+2\\nR1 a 0 {acs_r}\\n",
        ...                "t\\nR1 a 0 {r}", ".lib x tt", ("r",))
        Traceback (most recent call last):
        ...
        agent_envs.circuits.netlist.UnsafeDeckError: deck line 3 is not a project .param line
    """
    template_lines, lines = template.splitlines(), deck.splitlines()
    extra = len(lines) - (len(template_lines) + 1 + len(names))
    if extra:
        raise UnsafeDeckError(f"the deck has {extra} extra line(s)")
    if lines[0] != template_lines[0] or lines[1] != lib:
        raise UnsafeDeckError("the deck's title or .lib line is not the project's")
    for i, (line, name) in enumerate(zip(lines[2:], names, strict=False), start=3):
        match = PARAM_LINE_RE.fullmatch(line)
        if not match or match.group(1) != name:
            raise UnsafeDeckError(f"deck line {i} is not a project .param line")
    body = lines[2 + len(names) :]
    for i, (line, tmpl) in enumerate(zip(body, template_lines[1:], strict=True), start=1):
        if line != _param_holes(tmpl) or _FORBIDDEN_RE.search(line):
            raise UnsafeDeckError(f"deck body line {i} does not match its template")


@functools.lru_cache(maxsize=64)
def _line_patterns(template: str) -> tuple[re.Pattern[str], ...]:
    """One compiled pattern per template line after the title: literals, holes as groups."""
    patterns = []
    for tmpl in template.splitlines()[1:]:
        parts = _HOLE_RE.split(tmpl)  # literal, hole, literal, hole, ..., literal
        text = "".join(re.escape(p) if k % 2 == 0 else "(.*?)" for k, p in enumerate(parts))
        patterns.append(re.compile(text))
    return tuple(patterns)


def check_deck(deck: str, template: str, n_models: int) -> None:
    """Assert a rendered deck is ``template`` with numbers in its holes, nothing more.

    Example:
        >>> c = Circuit.load("opamp")
        >>> deck = render_decks(c, c.defaults())[0]
        >>> check_deck(deck + ".control\\n", c.testbenches[0].template, len(c.models))
        Traceback (most recent call last):
        ...
        agent_envs.circuits.netlist.UnsafeDeckError: the deck has 1 extra line(s)
    """
    template_lines = template.splitlines()
    lines = deck.splitlines()
    extra = len(lines) - (len(template_lines) + n_models)
    if extra:
        raise UnsafeDeckError(f"the deck has {extra} extra line(s)")
    if lines[0] != template_lines[0]:
        raise UnsafeDeckError("the deck's title line differs from the template's")
    body = lines[1 + n_models :]
    for i, (line, pattern) in enumerate(zip(body, _line_patterns(template), strict=True), start=2):
        match = pattern.fullmatch(line)
        if not match or any(not _NUMBER_TEXT_RE.match(g) for g in match.groups()):
            raise UnsafeDeckError(f"deck line {i} does not match its template")
        if _FORBIDDEN_RE.search(line):
            raise UnsafeDeckError(f"deck line {i} holds a forbidden statement")
    for card in lines[1 : 1 + n_models]:
        if not _CARD_RE.fullmatch(card):
            raise UnsafeDeckError(f"bad model card {card[:60]!r}")
