"""Find the game command in an agent's reply (the action protocol of the text games)."""

from __future__ import annotations

import re

__all__ = [
    "extract_command",
    "command_key",
    "find_system_command",
    "ACTION_PROTOCOL",
    "MAX_COMMAND_LENGTH",
    "SYSTEM_VERBS",
]

#: Longest command passed to a game engine; parsers of text games read short lines.
MAX_COMMAND_LENGTH = 120

#: The protocol, as told to the agent in ``info["system_prompt"]``.
ACTION_PROTOCOL = (
    "Reply with one game command per turn (for example: go north, take key, open door). "
    "You may reason first; then put the command inside <command>...</command>, or on the "
    "last line of your reply (a line 'Command: ...' or 'Action: ...' also works)."
)

_TAG_RE = re.compile(r"<command>(.*?)</command>", re.DOTALL | re.IGNORECASE)
_CLOSE_TAG_RE = re.compile(r"</command>", re.IGNORECASE)
_FENCE_RE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
# "(?=(X))\N" matches X atomically (what X*+ does from Python 3.11): without it the runs
# of spaces around the colon can be split in many ways and a long line takes quadratic time.
_LABEL_RE = re.compile(
    r"^\s*(?:[*_#>-]\s*)*(?:command|action)(?=(\s*))\1(?=([*_]*))\2(?=(\s*))\3:"
    r"(?=(\s*))\4(?=([*_]*))\5(?=(\s*))\6(.*)$",
    re.IGNORECASE,
)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# What a game parser reads; backslashes, for one, are escape codes to the z-machine interpreter.
_COMMAND_RE = re.compile(r"[a-z0-9 '\",.:;!?()-]+")


def extract_command(reply: str) -> tuple[str | None, str]:
    """Return ``(command, error)``: the command of a reply, or None and what was wrong.

    Places looked at, first match wins: the last ``<command>...</command>`` tag, the last
    fenced block, the last ``Command:``/``Action:`` line, else the last non-empty line.
    The command is lower-cased, its whitespace collapsed and a final period dropped.

    Example:
        >>> extract_command("I should look around.\\n<command>Open the Door.</command>")
        ('open the door', '')
        >>> extract_command("go north")
        ('go north', '')
        >>> extract_command("Thinking...\\nAction: take key from box")
        ('take key from box', '')
        >>> extract_command("   ")
        (None, 'the reply is empty; put one command on the last line or in <command>...</command>')
    """
    if not isinstance(reply, str):
        return None, f"the reply must be text, got {type(reply).__name__}"
    candidate, tags = _candidate(reply)
    candidate = _CONTROL_RE.sub(" ", candidate.replace("\r", "\n"))
    lines = [line.strip() for line in candidate.split("\n") if line.strip()]
    if not lines:
        where = "<command></command> is empty" if tags else "the reply is empty"
        return None, f"{where}; put one command on the last line or in <command>...</command>"
    if len(lines) > 1:
        return None, f"found {len(lines)} lines where one command was expected; send one command"
    command = " ".join(lines[0].split()).strip("`\"'* ").rstrip(".!").strip().lower()
    if not command:
        return None, "the command is empty after removing punctuation"
    if len(command) > MAX_COMMAND_LENGTH:
        return None, (
            f"the command has {len(command)} characters (limit {MAX_COMMAND_LENGTH}); "
            "a command is a short phrase such as 'take key'"
        )
    if not _COMMAND_RE.fullmatch(command):
        bad = sorted(set(command) - set("abcdefghijklmnopqrstuvwxyz0123456789 '\",.:;!?()-"))
        shown = " ".join(repr(c) for c in bad[:5])
        return None, (
            f"the command contains characters the game cannot read ({shown}); "
            "use letters, digits, spaces and simple punctuation"
        )
    return command, ""


def _candidate(reply: str) -> tuple[str, bool]:
    """The text holding the command, and whether it came from a ``<command>`` tag."""
    # Stopping at the last closing tag keeps this linear: an opening tag with no closing
    # tag after it would otherwise be scanned to the end of the reply, once per tag.
    end = max((match.end() for match in _CLOSE_TAG_RE.finditer(reply)), default=0)
    tags = _TAG_RE.findall(reply, 0, end) if end else []
    if tags:
        return tags[-1], True
    fences = _FENCE_RE.findall(reply)
    if fences and fences[-1].strip():
        return fences[-1], False
    lines = [line for line in reply.splitlines() if line.strip()]
    labelled = [m.group(7) for m in map(_LABEL_RE.match, lines) if m]
    return (labelled[-1] if labelled else (lines[-1] if lines else "")), False


def command_key(command: str) -> str:
    """A command as games compare it: case and runs of spaces do not matter.

    Example:
        >>> command_key("open  Henderson's box") == command_key("open henderson's box")
        True
    """
    return " ".join(command.casefold().split())


#: Words that start a game-system command in a TextWorld (Inform 7) game: the out-of-world
#: verbs of Inform's Standard Rules and parser (quit, save, restart, transcripts, room
#: description modes, score notification...) with their synonyms, and the first words of
#: TextWorld's own framework commands (``restrict commands``, ``enable print state
#: option``...). ``score`` (read-only) and ``again`` (repeats a game command) are allowed.
SYSTEM_VERBS: frozenset[str] = frozenset(
    {
        "quit", "q", "die", "restart", "restore", "save", "undo", "oops", "o",
        "script", "unscript", "transcript", "noscript", "verify", "version",
        "brief", "normal", "verbose", "long", "superbrief", "short", "notify",
        "restrict", "enable", "disable",
    }
)  # fmt: skip
# Never an object's name in a generated game: refused wherever they stand in a command.
_SYSTEM_WORDS = frozenset(
    {"quit", "restart", "restore", "save", "undo", "script", "unscript", "transcript"}
    | {"noscript", "superbrief", "verbose"}
)
# Inform runs each part of a chain: "look. restart", "look then restart", "it, quit"...
# ("and" joins objects, "take key and q" runs nothing: it is not a separator here)
_CHAIN_SEPARATOR_RE = re.compile(r"[.,;:!?\"()]|\bthen\b")
_WORD_RE = re.compile(r"[a-z0-9'-]+")


def find_system_command(command: str) -> str | None:
    """The game-system word of ``command`` (e.g. ``'restart'``), or None for a game command.

    A command is split where Inform would run its parts one after another (``.``, ``,``,
    ``;``, ``then``...); a part whose first word is in :data:`SYSTEM_VERBS`,
    a word in a short list of never-a-name system words anywhere, or a TextWorld debug
    word (``tw-...``) makes the command a system command. Expects an extracted
    (lower-case) command.

    Example:
        >>> find_system_command("look then restart"), find_system_command("it, quit")
        ('restart', 'quit')
        >>> find_system_command("take type q key"), find_system_command("west. q")
        (None, 'q')
    """
    for part in _CHAIN_SEPARATOR_RE.split(command.lower()):
        words = [word.strip("'-") for word in _WORD_RE.findall(part)]
        words = [word for word in words if word]
        if words and words[0] in SYSTEM_VERBS:
            return words[0]
        for word in words:
            if word in _SYSTEM_WORDS or word.startswith("tw-"):
                return word
    return None
