"""``Toy-GuessNumber-v0``: guess a hidden integer from higher/lower feedback."""

from __future__ import annotations

import re
from typing import Any

from agent_envs.core.info import TurnOutcome
from agent_envs.core.text_env import TextEnv

__all__ = ["GuessNumberEnv"]

_INT_RE = re.compile(r"[-+]?\d+")


class GuessNumberEnv(TextEnv):
    """Guess a hidden integer; each turn the environment says "higher" or "lower".

    ## Description
    A toy iterative-optimization task that runs in microseconds: it exercises every
    part of the contract (scores, best turn, success, invalid replies, forking) and is
    small enough for a tiny model to learn on a CPU.

    ## Action
    The agent's reply; the **last** integer in it is the guess.

    ## Observation
    ``"Guess 37: higher."`` style feedback, or an explanation of an invalid reply.

    ## Rewards
    The native turn reward is the turn's score, ``1 - |guess - target| / (high - low)``,
    in [0, 1]. A reply without an integer, or out of range, gets reward
    ``invalid_action_reward = -0.1`` and ``info["action_valid"] = False``.

    ## Episode end
    Terminated when the guess is right (``info["success"]``); truncated after
    ``max_turns`` turns (invalid ones count).

    ## Arguments
    ``low``, ``high``: the inclusive range of the hidden number (default 1..100);
    ``max_turns``: the turn budget (default 8).

    ## Version history
    * v0: initial version.

    Example:
        >>> env = GuessNumberEnv(low=1, high=10, max_turns=4)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step("I think it is 5")
        >>> info["action_valid"], 0.0 <= reward <= 1.0
        (True, True)
        >>> env.step("no idea")[4]["action_error"]
        'no integer found in the reply'
    """

    invalid_action_reward = -0.1

    def __init__(
        self, low: int = 1, high: int = 100, max_turns: int = 8, render_mode: str | None = None
    ) -> None:
        if not (isinstance(low, int) and isinstance(high, int)) or high <= low:
            raise ValueError(f"need integers low < high, got low={low!r}, high={high!r}")
        if not isinstance(max_turns, int) or max_turns < 1:
            raise ValueError(f"max_turns must be a positive int, got {max_turns!r}")
        super().__init__(
            max_observation_length=2048, max_action_length=4096, render_mode=render_mode
        )
        self.low, self.high, self.max_turns = low, high, max_turns
        self._target = low

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        self._target = int(self.np_random.integers(self.low, self.high + 1))
        prompt = (
            f"Find a hidden integer between {self.low} and {self.high}. Reply with one "
            f"integer per turn; you will be told whether the number is higher or lower. "
            f"You have {self.max_turns} turns."
        )
        return f"Guess the number between {self.low} and {self.high}.", {"system_prompt": prompt}

    def _budget_spent(self) -> bool:
        return self.turn >= self.max_turns

    def _play_turn(self, action: str) -> TurnOutcome:
        out_of_turns = self._budget_spent()
        numbers = _INT_RE.findall(action)
        if not numbers:
            return self.invalid_action("no integer found in the reply", truncated=out_of_turns)
        guess = int(numbers[-1])
        if not self.low <= guess <= self.high:
            return self.invalid_action(
                f"{guess} is outside {self.low}..{self.high}", truncated=out_of_turns
            )
        score = 1.0 - abs(guess - self._target) / (self.high - self.low)
        if guess == self._target:
            text, success = f"Guess {guess}: correct!", True
        else:
            direction = "higher" if self._target > guess else "lower"
            text, success = f"Guess {guess}: {direction}.", False
        return TurnOutcome(
            text,
            reward=score,
            score=score,
            success=success,
            terminated=success,
            truncated=out_of_turns and not success,
            metrics={"guess": guess, "distance": abs(guess - self._target)},
            cost={"guesses": 1},
        )
