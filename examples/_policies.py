"""Scripted policies the examples' ``--smoke`` runs play with (no model needed)."""

from __future__ import annotations

import re

__all__ = ["bisect_guess", "bisect_policy"]


def bisect_guess(text: str) -> int:
    """The bisection guess for Toy-GuessNumber-v0 given the feedback seen so far in ``text``.

    Example:
        >>> bisect_guess("Guess 50: higher. Guess 75: lower.")
        62
    """
    low, high = 1, 100
    for guess, word in re.findall(r"Guess (\d+): (higher|lower)", text):
        if word == "higher":
            low = max(low, int(guess) + 1)
        else:
            high = min(high, int(guess) - 1)
    return (low + high) // 2


def bisect_policy(messages: list[dict[str, str]]) -> str:
    """A ``messages -> reply`` policy playing the bisection guess."""
    return str(bisect_guess("\n".join(str(m.get("content", "")) for m in messages)))
