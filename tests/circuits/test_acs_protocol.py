"""The ACS reply protocol: linear-time parsing, no exception on any reply, repeated names
refused, netlist-looking lines reported, the simulated values stated."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings

from agent_envs.circuits.circuit import Circuit
from agent_envs.circuits.netlist import format_number
from agent_envs.circuits.protocol import netlist_card_lines, parse_action, read_action
from agent_envs.core.parsing import (
    extract_code_blocks,
    extract_json_objects,
    extract_tool_calls,
    parse_assignments,
    parse_si_number,
)

from helpers.acs_replies import MAX_REPLY, adversarial_texts, replies

OPAMP = Circuit.load("opamp")
NAMES = [v.name for v in OPAMP.variables]


def _parse_everything(text: str) -> None:
    read_action(text, OPAMP.variables)
    parse_assignments(text)
    extract_code_blocks(text)
    extract_json_objects(text)
    extract_tool_calls(text)
    netlist_card_lines(text)


def _best_time(text: str, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        _parse_everything(text)
        best = min(best, time.perf_counter() - start)
    return best


@pytest.mark.parametrize("case", sorted(adversarial_texts(1024)))
def test_parsing_is_linear_at_the_size_limit(case):
    """At the 32 KB limit every parser answers in well under a second (the old assignment
    regex took 59 s on 2000 blanks and was cubic), and 4x the text costs far less than
    the 16x a quadratic parser would (the small slack absorbs timer noise)."""
    small = adversarial_texts(MAX_REPLY // 4)[case]
    large = adversarial_texts(MAX_REPLY)[case]
    assert len(large) <= MAX_REPLY
    t_small, t_large = _best_time(small), _best_time(large)
    assert t_large < 2.0, f"{case}: {t_large:.2f} s at {len(large)} characters"
    assert t_large < 10 * t_small + 0.05, f"{case}: {t_small:.4f} s -> {t_large:.4f} s for 4x"


def test_the_reported_stall_is_gone():
    text = "w1 = a" + " " * 2000 + "x"
    start = time.perf_counter()
    values, problems = parse_action(text, Circuit.load("ota5").variables)
    assert time.perf_counter() - start < 1.0  # was 59 s
    assert not values and problems


@pytest.mark.parametrize(
    "reply",
    [
        "cc = 1e9999999",
        "cc = -1e9999999p",
        "cc = 1e-9999999",
        '{"name": "simulate", "arguments": {"cc": ' + "9" * 400 + "}}",
        '{"name": "simulate", "arguments": "' + "[" * 100_000 + '"}',
        '{"name": "simulate", "arguments": "{\\"cc\\": ' + "[" * 5000 + '"}',
        '{"cc": ' + "[" * 10_000 + "}",
        "cc = ٣p",
    ],
)
def test_replies_that_used_to_raise_are_answered(reply):
    values, problems = parse_action(reply, OPAMP.variables)
    assert values == {} and problems


def test_numbers_beyond_float_are_not_numbers():
    assert parse_si_number("1e9999999") is None
    assert parse_si_number(10**400) is None
    assert parse_si_number("9" * 60) == float("9" * 60)  # large but finite: a number
    assert parse_si_number("٣") is None  # a deck shows ASCII digits only


def test_conflicting_repeats_are_refused_identical_ones_are_not():
    values, problems = parse_action("cc = 2p\nibias = 30u\ncc = 3p", OPAMP.variables)
    assert not values and "cc is assigned 2 times" in problems[0]
    values, problems = parse_action("cc = 2p\nCC = 2e-12", OPAMP.variables)
    assert values == {"cc": 2e-12} and problems == []
    values, problems = parse_action('{"cc": "2p", "cc": "4p"}', OPAMP.variables)
    assert not values and "cc is assigned 2 times" in problems[0]
    call = '<tool_call>{"name": "simulate", "arguments": {"cc": 2e-12, "cc": 5e-12}}</tool_call>'
    values, problems = parse_action(call, OPAMP.variables)
    assert not values and "cc is assigned 2 times" in problems[0]
    one = '<tool_call>{"name": "simulate", "arguments": {"cc": 2e-12}}</tool_call>'
    two_calls = one + one.replace("2e-12", "3e-12")
    values, problems = parse_action(two_calls, OPAMP.variables)
    assert not values and "2 different 'simulate' calls" in problems[0]


def test_netlist_cards_are_reported_not_silently_ignored():
    reply = "cc = 2p\nM1 out in tail 0 nmos W=2u L=1u\n.param rz=3k\nI think this works."
    parsed = read_action(reply, OPAMP.variables)
    assert parsed.values == {"cc": 2e-12} and parsed.problems == []
    assert "ignored 2 lines that look like netlist cards" in parsed.notes[0]
    assert "M1 out in tail" in parsed.notes[0] and ".param rz=3k" in parsed.notes[0]
    only_cards = read_action(".param cc=2p", OPAMP.variables)
    assert only_cards.problems and only_cards.notes  # nothing to simulate, and why
    assert netlist_card_lines("I am done.\nThe M1 device is large.\nnote: x = 3") == []


def test_values_are_rounded_to_what_the_deck_holds():
    parsed = read_action("cc = 2.123456789p", OPAMP.variables)
    assert parsed.values == {"cc": float(format_number(2.123456789e-12))}
    assert "simulated as 2.123457e-12" in parsed.notes[0]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(replies(NAMES, OPAMP.defaults()))
def test_structured_fuzz_of_the_parsers(text):
    start = time.perf_counter()
    parsed = read_action(text, OPAMP.variables)
    _parse_everything(text)
    assert time.perf_counter() - start < 5.0
    assert bool(parsed.values) != bool(parsed.problems)
    for name, value in parsed.values.items():
        assert OPAMP.variable(name).contains(value)
        assert format_number(value) == format_number(float(format_number(value)))
