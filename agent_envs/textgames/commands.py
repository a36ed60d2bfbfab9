"""Find the game command in an agent's reply (the action protocol of the text games)."""

from __future__ import annotations

import re

__all__ = ["extract_command", "ACTION_PROTOCOL", "MAX_COMMAND_LENGTH"]

#: Longest command passed to a game engine; parsers of text games read short lines.
MAX_COMMAND_LENGTH = 120

#: The protocol, as told to the agent in ``info["system_prompt"]``.
ACTION_PROTOCOL = (
    "Reply with one game command per turn (for example: go north, take key, open door). "
    "You may reason first; then put the command inside <command>...</command>, or on the "
    "last line of your reply (a line 'Command: ...' or 'Action: ...' also works)."
)

_TAG_RE = re.compile(r"<command>(.*?)</command>", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"```[^\n`]*\n(.*?)```", re.DOTALL)
_LABEL_RE = re.compile(
    r"^\s*(?:[*_#>-]\s*)*(?:command|action)\s*[*_]*\s*:\s*[*_]*\s*(.*)$", re.IGNORECASE
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
    tags = _TAG_RE.findall(reply)
    if tags:
        candidate = tags[-1]
    else:
        fences = _FENCE_RE.findall(reply)
        if fences and fences[-1].strip():
            candidate = fences[-1]
        else:
            lines = [line for line in reply.splitlines() if line.strip()]
            labelled = [m.group(1) for m in map(_LABEL_RE.match, lines) if m]
            candidate = labelled[-1] if labelled else (lines[-1] if lines else "")
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
