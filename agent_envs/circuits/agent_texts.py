"""The texts ACS shows the agent: the task statement, the system prompt, the turn report."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.protocol import TOOL_NAME, format_si
from agent_envs.circuits.specs import Spec

__all__ = ["task_text", "system_prompt", "turn_report"]


def _spec_line(spec: Spec) -> str:
    return f"{spec.name} {spec.direction} {format_si(spec.target, spec.unit)}"


def task_text(
    circuit: Circuit,
    specs: Sequence[Spec],
    params: Mapping[str, float],
    budget: int,
    conditions: Mapping[str, float] | None = None,
) -> str:
    """The reset observation: circuit, variables with ranges and current values, specs.

    Example:
        >>> c = Circuit.load("opamp")
        >>> text = task_text(c, (Spec("gain", 60.0, ">=", "dB"),), c.defaults(), 20)
        >>> "gain >= 60 dB" in text and "w1" in text
        True
    """
    rows = [
        f"  {v.name:<6} {format_si(v.low, v.unit):>9} .. {format_si(v.high, v.unit):<9}"
        f" now {format_si(params[v.name], v.unit):<9} {v.description}"
        for v in circuit.variables
    ]
    measured = [f"  {m.name:<6} [{m.unit}] {m.description}" for m in circuit.measurements]
    values = {**circuit.condition_defaults(), **(conditions or {})}
    fixed = [
        f"  {c.name:<6} {format_si(values[c.name], c.unit):<9} {c.description}"
        for c in circuit.conditions
    ]
    if fixed:
        fixed = ["", "Operating conditions of this task (fixed, not design variables):", *fixed]
    return "\n".join(
        [
            f"Size a {circuit.title}.",
            circuit.summary,
            "",
            "Design variables (range, current value):",
            *rows,
            *fixed,
            "",
            "Measured each simulation:",
            *measured,
            "",
            "Specifications to meet (all at once):",
            *[f"  {_spec_line(s)}" for s in specs],
            "",
            f"You have {budget} simulations. Propose values for the variables you want to change.",
        ]
    )


def system_prompt(circuit: Circuit, budget: int, max_turns: int) -> str:
    """The action protocol and the budget, for an LLM's system message.

    Example:
        >>> "Budget: 20 simulations" in system_prompt(Circuit.load("opamp"), 20, 40)
        True
    """
    names = ", ".join(v.name for v in circuit.variables)
    return (
        f"You are an analog circuit designer sizing a {circuit.title} simulated with ngspice.\n"
        "Each turn, think as much as you like, then give the parameter values to simulate, "
        "either as `name = value` lines or as one JSON object, fenced or not, e.g.\n"
        "```\nw1 = 24u\ncc = 1.5p\nibias = 30uA\n```\n"
        "Values take SI suffixes (f p n u m k meg g) and an optional unit. Parameters you do "
        "not name keep their current values. Tool-calling models may instead call the "
        f"`{TOOL_NAME}` function with the same parameters.\n"
        f"Parameters: {names}.\n"
        "A reply with an unknown name, a non-number, an out-of-range value or a parameter "
        "given two different values is rejected "
        "(no simulation is spent) and the problems are listed.\n"
        f"Budget: {budget} simulations (repeating a design still costs one) and at most "
        f"{max_turns} turns. The episode ends as soon as every specification is met. "
        "Score per simulation: the mean over specs of min(0, relative miss), in [-1, 0]; "
        "0 means every spec is met."
    )


def turn_report(
    specs: Sequence[Spec],
    metrics: Mapping[str, float | None],
    units: Mapping[str, str],
    score: float,
    best: float | None,
    sims_left: int,
    changed: Mapping[str, str],
) -> str:
    """The observation after a simulation: each spec, measured value, pass/fail, scores.

    Example:
        >>> specs = (Spec("gain", 60.0, ">=", "dB"),)
        >>> print(turn_report(specs, {"gain": 55.0, "pm": 70.0}, {"gain": "dB", "pm": "deg"},
        ...                   -0.043, -0.043, 19, {"cc": "2 pF"}))  # doctest: +ELLIPSIS
        Simulated with cc = 2 pF.
          gain >= 60 dB     measured 55 dB    FAIL  (score -0.043)
        Other measurements: pm = 70 deg
        Score -0.043, best so far -0.043. 0/1 specs met. Simulations left: 19.
    """
    lines = []
    if changed:
        lines.append("Simulated with " + ", ".join(f"{k} = {v}" for k, v in changed.items()) + ".")
    else:
        lines.append("Simulated the current design (no parameter changed).")
    met = 0
    for s in specs:
        value = metrics.get(s.name)
        ok = s.met(value)
        met += ok
        lines.append(
            f"  {_spec_line(s):<17} measured {format_si(value, s.unit):<9} "
            f"{'pass' if ok else 'FAIL'}  (score {s.score(value):.3f})"
        )
    others = [
        f"{k} = {format_si(v, units.get(k, ''))}"
        for k, v in metrics.items()
        if k not in {s.name for s in specs}
    ]
    if others:
        lines.append("Other measurements: " + ", ".join(others))
    best_text = "none" if best is None else f"{best:.3f}"
    lines.append(
        f"Score {score:.3f}, best so far {best_text}. {met}/{len(specs)} specs met. "
        f"Simulations left: {sims_left}."
    )
    return "\n".join(lines)
