"""Action parsing helpers must never raise and must read the common reply styles."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from agent_envs.core import (
    extract_code_blocks,
    extract_json_objects,
    extract_tool_calls,
    parse_assignments,
    parse_si_number,
)


def test_si_numbers():
    cases = {
        "2.5u": 2.5e-6,
        "10p": 10e-12,
        "1meg": 1e6,
        "1MEG": 1e6,
        "3k": 3e3,
        "4.7n": 4.7e-9,
        "20uA": 20e-6,
        "1.2pF": 1.2e-12,
        "5 mV": 5e-3,
        "1e-6": 1e-6,
        "-3.3": -3.3,
        "100": 100.0,
        "2µ": 2e-6,
    }
    for text, expected in cases.items():
        assert abs(parse_si_number(text) - expected) <= 1e-12 * abs(expected), text
    for bad in (
        "",
        "abc",
        "nan",
        "inf",
        "-inf",
        "1e999",
        "1..2",
        "2.5 furlongs",
        "1u2",
        None,
        True,
    ):
        assert parse_si_number(bad) is None, bad


def test_assignment_styles():
    assert parse_assignments("w1 = 2u\nL1 = 0.5u").values == {"w1": "2u", "L1": "0.5u"}
    assert parse_assignments("- **w1**: ignored").values == {}
    assert parse_assignments("`cc` = 2p;").values == {"cc": "2p"}
    text = 'Reasoning...\n```json\n{"w1": "4u", "ib": 2e-05}\n```'
    assert parse_assignments(text).values == {"w1": "4u", "ib": "2e-05"}
    prose = "Note: this is prose\nw1 = 3u\nw9 = 2u"
    assert parse_assignments(prose, names={"w1"}).values == {"w1": "3u", "w9": "2u"}


def test_code_blocks_json_and_tool_calls():
    assert extract_code_blocks("```python\nx=1\n```") == ["x=1\n"]
    assert extract_json_objects('{"a": [1, {"b": 2}]} {"c": 3}') == [{"a": [1, {"b": 2}]}, {"c": 3}]
    calls = extract_tool_calls('{"name": "simulate", "parameters": {"w1": 1e-6}}')
    assert calls == [{"name": "simulate", "arguments": {"w1": 1e-6}}]


@given(st.text(max_size=400))
def test_parsers_never_raise(text):
    parse_si_number(text)
    parse_assignments(text)
    parse_assignments(text, names={"w1"})
    extract_code_blocks(text)
    extract_json_objects(text)
    extract_tool_calls(text)
