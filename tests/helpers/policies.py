"""Policies used by the bench tests, importable in worker processes as ``module:Class``."""

from __future__ import annotations

import re
from typing import Any

from agent_envs.baselines.base import Policy

__all__ = ["Bisection", "Crashing", "Garbage"]


class Bisection(Policy):
    """Plays Toy-GuessNumber from the chat alone (as an LLM would): halves the interval."""

    name = "bisection"

    def reset(self, env: Any, *, seed: int | None = None) -> None:
        self.low, self.high, self.guess = 1, 100, None

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        last = messages[-1]["content"]
        if self.guess is not None and re.search(r"higher", last):
            self.low = self.guess + 1
        elif self.guess is not None and re.search(r"lower", last):
            self.high = self.guess - 1
        self.guess = (self.low + self.high) // 2
        return f"My guess: {self.guess}"


class Crashing(Policy):
    """Raises on its second turn, to test that a broken episode does not stop a benchmark."""

    name = "crashing"

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        if info.get("turn", 0) >= 1:
            raise RuntimeError("policy bug")
        return "50"


class Garbage(Policy):
    """Always replies with text no environment can use."""

    name = "garbage"

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        return "I do not know."
