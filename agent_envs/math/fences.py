"""Code fences in the agent's replies and around program output (CommonMark's rules).

A fence of N backticks closes only at a run of at least N backticks, so code that
contains three backticks travels in a longer fence, and program output shown in a fence
longer than any of its own runs cannot close it and pose as the environment.
"""

from __future__ import annotations

import re

__all__ = ["fenced_blocks", "fence"]

_BACKTICKS_RE = re.compile(r"`{3,}")
_WIDEST = 12  # fences wider than this count as this wide
_INFO_RE = re.compile(r"[ \t]*([\w+.#-]*)[^`\n]*\n")


def fenced_blocks(text: str) -> list[tuple[int, int, str, str]]:
    """Fenced blocks of a reply as ``(start, end, language, body)``, in a linear scan.

    A block opens with a run of N >= 3 backticks and a language tag, and closes at the
    first later run of at least N backticks that starts a line (CommonMark's rule), or,
    when no line starts with one, at the first such run anywhere. Code that contains
    three backticks is therefore sent in a longer fence (four backticks, say).

    Example:
        >>> reply = "````python\\nprint('```')\\n````\\n```py\\nx=1\\n```"
        >>> [block[2] for block in fenced_blocks(reply)]
        ['python', 'py']
        >>> fenced_blocks(reply)[0][3] == "print('```')\\n"
        True
    """
    if not isinstance(text, str):
        return []
    runs = list(_BACKTICKS_RE.finditer(text))
    widths = [min(len(r.group()), _WIDEST) for r in runs]
    line_start = [
        text[text.rfind("\n", 0, r.start()) + 1 : r.start()].strip(" \t") == "" for r in runs
    ]
    # next_any[w][j] / next_line[w][j]: the first run at index >= j of width >= w
    n = len(runs)
    next_any = {w: [n] * (n + 1) for w in range(3, _WIDEST + 1)}
    next_line = {w: [n] * (n + 1) for w in range(3, _WIDEST + 1)}
    for w in range(3, _WIDEST + 1):
        for j in range(n - 1, -1, -1):
            wide = widths[j] >= w
            next_any[w][j] = j if wide else next_any[w][j + 1]
            next_line[w][j] = j if wide and line_start[j] else next_line[w][j + 1]
    blocks, i = [], 0
    while i < n:
        opening = runs[i]
        info = _INFO_RE.match(text, opening.end())
        if info is None:  # no line break after the tag: not a block opening
            i += 1
            continue
        width, body_start = widths[i], info.end()
        j = i + 1
        while j < n and runs[j].start() < body_start:
            j += 1
        close = next_line[width][j]
        if close == n:
            close = next_any[width][j]
        if close == n:
            break
        body = text[body_start : runs[close].start()]
        blocks.append((opening.start(), runs[close].end(), info.group(1).lower(), body))
        i = close + 1
    return blocks


def fence(text: str) -> str:
    """A backtick fence longer than any run of backticks in ``text`` (at least three).

    Program output inside it cannot close it, so it cannot forge the env's own framing.

    Example:
        >>> fence("plain"), fence("a ``` b ```` c")
        ('```', '`````')
    """
    longest = max((len(m.group()) for m in re.finditer(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)
