"""Hypothesis strategies for adversarial ACS replies (shared by the parser and step fuzz).

Numbers at the limits of float and Decimal, unicode digits, long blank runs, nested
JSON (also inside string ``arguments``), tool calls with wrong types, repeated names,
netlist-looking lines, and free text, mixed with well-formed assignments.
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

__all__ = ["replies", "adversarial_texts", "MAX_REPLY"]

MAX_REPLY = 32_768  # the ACS action space's limit

_EDGE_NUMBERS = [
    "1e9999999",
    "-1e9999999",
    "1e-9999999",
    "9" * 400,
    "0." + "0" * 300 + "1",
    "1e308",
    "1.8e308",
    "4.9e-324",
    "2.2250738585072014e-308",
    "nan",
    "inf",
    "-0",
    "0x10",
    "1_000",
    "١٢٣",  # Arabic-Indic digits
    "２p",  # fullwidth digit
    "1e+",
    ".e5",
    "1..2",
]
_SUFFIXES = ["", "p", "n", "u", "µ", "m", "k", "meg", "mil", "f", "a", "t", "g", "pF", "uA", "Ω"]


def _numbers() -> st.SearchStrategy[str]:
    floats = st.floats(allow_nan=True, allow_infinity=True).map(repr)
    huge_ints = st.integers(min_value=-(10**500), max_value=10**500).map(str)
    decimals = st.tuples(st.integers(-(10**20), 10**20), st.integers(-(10**8), 10**8)).map(
        lambda t: f"{t[0]}e{t[1]}"
    )
    plain = st.sampled_from(_EDGE_NUMBERS)
    unicode_digits = st.text(st.characters(categories=["Nd"]), min_size=1, max_size=6)
    base = st.one_of(floats, huge_ints, decimals, plain, unicode_digits)
    return st.tuples(base, st.sampled_from(_SUFFIXES)).map("".join)


def _json_values(names: list[str]) -> st.SearchStrategy:
    leaf = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(),
        _numbers(),
        st.text(max_size=20),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(names), inner, max_size=3)
        ),
        max_leaves=8,
    )


def _deep(depth: int, kind: str) -> str:
    if kind == "list":
        return "[" * depth + "]" * depth
    return '{"a": ' * depth + "1" + "}" * depth


@st.composite
def replies(draw: st.DrawFn, names: list[str], in_range: dict[str, float]) -> str:
    """One reply: a mix of lines built from the pieces the module docstring lists."""
    names = names + ["W1", "foo", "x" * 50]
    pieces = []
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(
                ["assign", "good", "json", "tool", "deep", "blank", "card", "text", "repeat"]
            )
        )
        name = draw(st.sampled_from(names))
        if kind == "assign":
            sep = draw(st.sampled_from([" = ", ": ", "=", " :  "]))
            pieces.append(f"{name}{sep}{draw(_numbers())}")
        elif kind == "good":
            key = draw(st.sampled_from(sorted(in_range)))
            pieces.append(f"{key} = {in_range[key]:.6g}")
        elif kind == "json":
            obj = draw(st.dictionaries(st.sampled_from(names), _json_values(names), max_size=4))
            pieces.append(json.dumps(obj))
        elif kind == "tool":
            args = draw(
                st.one_of(
                    st.dictionaries(st.sampled_from(names), _json_values(names), max_size=3),
                    _json_values(names),
                    st.integers(-(10**400), 10**400),
                    st.just(
                        _deep(draw(st.integers(10, 3000)), draw(st.sampled_from(["list", "obj"])))
                    ),
                )
            )
            if draw(st.booleans()):
                args = json.dumps(args) if not isinstance(args, str) else args
            tool_name = draw(st.sampled_from(["simulate", "simulate", "shell", 7, None]))
            call = json.dumps({"name": tool_name, "arguments": args})
            if draw(st.booleans()):
                call = f"<tool_call>{call}</tool_call>"
            pieces.append(call)
        elif kind == "deep":
            pieces.append(
                _deep(draw(st.integers(10, 5000)), draw(st.sampled_from(["list", "obj"])))
            )
        elif kind == "blank":
            run = draw(st.sampled_from([" ", "\t", " \t"])) * draw(st.integers(100, 4000))
            pieces.append(f"{name} = a{run}x")
        elif kind == "card":
            pieces.append(
                draw(
                    st.sampled_from(
                        ["M1 out in tail 0 nmos W=2u L=1u", ".param cc=2p", "R1 a b 1k"]
                    )
                )
            )
        elif kind == "text":
            pieces.append(draw(st.text(max_size=200)))
        else:
            key = draw(st.sampled_from(sorted(in_range)))
            pieces.append(f"{key} = {in_range[key]:.6g}\n{key} = {draw(_numbers())}")
    return "\n".join(pieces)[:MAX_REPLY]


def adversarial_texts(n: int) -> dict[str, str]:
    """Inputs of about ``n`` characters that make backtracking or rescanning parsers slow."""
    return {
        "blank run in a value": "w1 = a" + " " * (n - 7) + "x",
        "lines of blank runs": ("w1 = a" + " " * 56 + "x\n") * (n // 64),
        "tab run after a name": "w1" + "\t" * (n - 3) + "x",
        "dash run": "-" * (n - 1) + "!",
        "one long name": "a" * (n - 2) + " x",
        "long name then colon runs": ("a" * 30 + ":" * 30 + "\n") * (n // 61),
        "backticks": "`" * n,
        "open braces": "{" * n,
        "open brackets": "[" * n,
        "nested keys": '{"a":' * (n // 5),
        "unclosed strings": '{"a": "' * (n // 7),
        "tool tags": "<tool_call>" * (n // 11),
        "tool tags with braces": "<tool_call>{" * (n // 12),
        "fences": "```" * (n // 3),
        "equals": "=" * n,
        "digits": "w1 = " + "9" * (n - 5),
        "netlist-ish": "M1 a b c " * (n // 9),
        "dots": ".param " * (n // 7),
        "deep string arguments": '{"name": "simulate", "arguments": "' + "[" * (n - 40) + '"}',
    }
