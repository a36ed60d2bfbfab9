"""The engine side of ``TextWorld-*-v0``: opening a game, its yes/no questions, its text.

:func:`open_textworld_game` runs in the engine process. It asks TextWorld for the
winning policy after every step (``policy_commands``: the shortest command list that
wins from the current state, which the environment's dense reward follows) and wraps
the game in :class:`QuestionGuard`, so the game can never be left waiting for a yes or
no. :func:`clean_feedback` runs in the environment and removes the interpreter's noise.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

__all__ = ["open_textworld_game", "QuestionGuard", "clean_feedback", "YES_NO_QUESTION"]

#: Inform's yes/no questions (quitting, restarting) and its answer to anything else.
YES_NO_QUESTION = re.compile(
    r"Are you sure you want to [^?\n]*\?|Please answer yes or no\.?", re.IGNORECASE
)
_ANSWERED = "[The game asked a yes/no question; it was answered no and play goes on.]"
_BANNER_CHARS = set(" _|$\\/<>")
_PROMPT_RE = re.compile(r"\n>[^\n]*$")  # the trailing "> ... -= Room =-0/4" prompt/status
# the status line "-= Room =-score/moves", printed after padding where there is no prompt
_STATUS_RE = re.compile(r"[ \t>]*-= [^\n=]* =-[ \t]*-?\d+/-?\d+[ \t]*$", re.MULTILINE)
_ENDGAME_RE = re.compile(r"Would you like to RESTART, RESTORE[^\n]*", re.IGNORECASE)


def clean_feedback(text: str) -> str:
    """Strip TextWorld's ASCII-art banner, the input prompt, status lines (``-= Room
    =-2/6``) and their padding, yes/no questions, the restart question after the end,
    and runs of blank lines.

    Example:
        >>> clean_feedback("\\n  ___  \\n |$$| \\n\\nHello.\\n\\n\\n\\n>   -= Attic =-0/4")
        'Hello.'
        >>> clean_feedback("Are you sure you want to quit?" + " " * 60 + "-= Kitchen =-2/6")
        ''
        >>> clean_feedback("-= Kitchen =-\\nYou are in a kitchen.")
        '-= Kitchen =-\\nYou are in a kitchen.'
    """
    text = _PROMPT_RE.sub("", text.replace("\r", ""))
    text = _STATUS_RE.sub("", text)
    text = YES_NO_QUESTION.sub("", _ENDGAME_RE.sub("", text))
    lines = []
    for line in text.split("\n"):
        body = line.strip()
        if body and set(body) <= _BANNER_CHARS and sum(c in "_|$" for c in body) >= 3:
            continue  # a line of the ASCII-art title
        lines.append(body)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class QuestionGuard:
    """Wraps a TextWorld game: a yes/no question the game asks is answered ``no`` at once.

    Inform asks "Are you sure you want to quit?" (or restart) and then reads only yes
    or no: a game left there answers every command with "Please answer yes or no.",
    and a ``yes`` would restart it behind the score tracking's back. The environment
    refuses the commands that ask, and this guard makes sure no question outlives its
    turn: the answer is part of the step, so replaying the episode replays it too.

    Example:
        >>> class Asking:  # a stand-in game that asks once
        ...     def __init__(self): self.asked = False
        ...     def step(self, command):
        ...         self.asked = command == "quit"
        ...         text = "Are you sure you want to quit?" if self.asked else f"ok {command}"
        ...         return {"feedback": text}, 0, False
        >>> QuestionGuard(Asking()).step("quit")[0]["feedback"]
        '[The game asked a yes/no question; it was answered no and play goes on.]\\nok no'
    """

    #: Most answers given in one step (Inform asks again after an answer it cannot read).
    max_answers = 3

    def __init__(self, env: Any) -> None:
        self.env = env

    def reset(self) -> Any:
        """Reset the game (no question is pending at the start)."""
        return self.env.reset()

    def step(self, command: str) -> tuple[Any, Any, bool]:
        """Play ``command``; answer ``no`` while the game waits for a yes or no."""
        state, score, done = self.env.step(command)
        for _ in range(self.max_answers):
            asked = state["feedback"] or ""
            if done or not YES_NO_QUESTION.search(asked):
                break
            state, score, done = self.env.step("no")
            before = YES_NO_QUESTION.sub(_ANSWERED, asked, count=1)
            state["feedback"] = YES_NO_QUESTION.sub("", before) + "\n" + (state["feedback"] or "")
        return state, score, done

    def close(self) -> None:
        """Close the game."""
        self.env.close()


def open_textworld_game(
    game_file: str, description: bool = False, inventory: bool = False
) -> QuestionGuard:
    """Start a TextWorld game (``game.z8``) with the information the environment reads.

    Example:
        >>> open_textworld_game("/nonexistent/game.z8")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        OSError: Unable to find game '/nonexistent/game.z8'.
    """
    import textworld

    infos = textworld.EnvInfos(
        admissible_commands=True,
        max_score=True,
        score=True,
        won=True,
        lost=True,
        objective=True,
        policy_commands=True,
        description=description,
        inventory=inventory,
    )
    with warnings.catch_warnings():
        # Jericho says TextWorld's games lack its score detection; TextWorld scores them.
        warnings.filterwarnings("ignore", message=".*not fully supported.*")
        return QuestionGuard(textworld.start(str(game_file), request_infos=infos))
