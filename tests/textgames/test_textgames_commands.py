"""The text games' command handling without an engine: extraction and the system-command filter."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from agent_envs.textgames.commands import (
    SYSTEM_VERBS,
    _candidate,
    command_key,
    extract_command,
    find_system_command,
)

# ------------------------------------------------------------------ extract_command
# The regular expressions of the first implementation, kept as the oracle: the linear
# rewrite must find the same command in every reply (they are quadratic on long input).
_ORACLE_TAG = re.compile(r"<command>(.*?)</command>", re.DOTALL | re.IGNORECASE)
_ORACLE_LABEL = re.compile(
    r"^\s*(?:[*_#>-]\s*)*(?:command|action)\s*[*_]*\s*:\s*[*_]*\s*(.*)$", re.IGNORECASE
)
_ORACLE_FENCE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)


def _oracle_candidate(reply: str) -> str:
    tags = _ORACLE_TAG.findall(reply)
    if tags:
        return tags[-1]
    fences = _ORACLE_FENCE.findall(reply)
    if fences and fences[-1].strip():
        return fences[-1]
    lines = [line for line in reply.splitlines() if line.strip()]
    labelled = [m.group(1) for m in map(_ORACLE_LABEL.match, lines) if m]
    return labelled[-1] if labelled else (lines[-1] if lines else "")


_PIECES = st.sampled_from(
    ["<command>", "</command>", "<COMMAND>", "```", "```py\n", "\n", " ", "  ", "*", "_", ":"]
    + ["Command", "action", "**Action:**", "- ", "> ", "go north", "take key", "\r", "."]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=30).map("".join))
def test_extraction_agrees_with_the_first_implementation(reply):
    assert _candidate(reply)[0] == _oracle_candidate(reply)


def test_adversarial_long_replies_are_answered():
    # each of these took seconds with the quadratic patterns (see benchmarks/extract_command.py)
    n = 16000
    assert extract_command("<command>" * (n // 9))[0] is None
    tagged = "<command>go west</command>" + "<command>x " * (n // 11)
    assert extract_command(tagged) == ("go west", "")
    assert extract_command("command" + " " * n + "x") == ("command x", "")
    assert extract_command("Action:" + " " * n + "look") == ("look", "")
    assert extract_command("- " * n + "Command: take key") == ("take key", "")


# ------------------------------------------------------------- system commands
_GAME_WORDS = ["key", "box", "type", "q", "o", "long", "short", "normal", "brief", "and", "red"]
_GAME_VERBS = ["go", "take", "open", "examine", "put", "look", "inventory", "unlock", "eat"]
_SEPARATORS = st.sampled_from([". ", ".", ", ", ",", " then ", "; ", "! ", "? ", " . ", ": "])


@st.composite
def _game_part(draw):
    words = draw(st.lists(st.sampled_from(_GAME_WORDS), max_size=4))
    return " ".join([draw(st.sampled_from(_GAME_VERBS)), *words])


@st.composite
def _chain(draw, with_system: bool):
    parts = draw(st.lists(_game_part(), min_size=0 if with_system else 1, max_size=4))
    separators = [draw(_SEPARATORS) for _ in parts]
    if with_system:
        verb = draw(st.sampled_from(sorted(SYSTEM_VERBS)))
        spelled = draw(st.sampled_from([verb, verb.upper(), f"'{verb}'", f'"{verb}"']))
        tail = draw(st.sampled_from(["", " game", " on", " off", "."]))
        parts.insert(draw(st.integers(0, len(parts))), spelled + tail)
        separators.append(draw(_SEPARATORS))
    text = "".join(p + s for p, s in zip(parts, separators, strict=True))
    return text.rstrip(" .;,:!?").strip(), verb if with_system else None


@settings(max_examples=250, deadline=None)
@given(_chain(with_system=True))
def test_a_system_verb_is_found_anywhere_in_a_chain(chain):
    command, verb = chain
    assert find_system_command(command.lower()) == verb


@settings(max_examples=250, deadline=None)
@given(_chain(with_system=False))
def test_game_commands_with_look_alike_words_pass(chain):
    command, _ = chain
    assert find_system_command(command) is None  # "take type q key", "open long box"...


def test_system_words_refused_wherever_they_stand():
    for command in ["look at the quit", "take save", "open box and restart", "tw-print id"]:
        assert find_system_command(command) is not None
    for command in ["score", "again", "goal", "help", "take the q", "go west"]:
        assert find_system_command(command) is None


def test_command_key_ignores_case_and_spacing():
    assert command_key("Take  CD 1 from Desk 1 ") == "take cd 1 from desk 1"
