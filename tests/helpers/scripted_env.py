"""A test-only TextEnv whose turn scores are scripted, so reward wrappers can be checked exactly."""

from __future__ import annotations

from typing import Any

from agent_envs.core import TextEnv, TurnOutcome


class ScriptedScoreEnv(TextEnv):
    """Turn ``t`` scores ``scores[t-1]`` whatever the reply (``None`` = an invalid reply).

    Native reward: the score, or ``invalid_action_reward`` for ``None``. The episode
    terminates after the last score; ``success_at`` makes that turn a success.
    """

    invalid_action_reward = -0.1

    def __init__(self, scores: list[float | None], success_at: int | None = None) -> None:
        super().__init__(max_observation_length=512, max_action_length=512)
        self.scores = list(scores)
        self.success_at = success_at

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        return "Say anything.", {"system_prompt": "You are tested."}

    def _play_turn(self, action: str) -> TurnOutcome:
        index = self.turn - 1
        last = index >= len(self.scores) - 1
        score = self.scores[index] if index < len(self.scores) else None
        if score is None:
            return self.invalid_action("scripted invalid turn", terminated=last)
        success = self.success_at is not None and self.turn >= self.success_at
        return TurnOutcome(
            f"turn {self.turn}: {score}",
            reward=float(score),
            score=score,
            success=success,
            terminated=last or (self.success_at == self.turn),
        )
