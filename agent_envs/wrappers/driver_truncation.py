"""``DriverTruncation``: let a driver's turn cap end the episode *through* the wrappers."""

from __future__ import annotations

from typing import Any

__all__ = ["DriverTruncation"]


class DriverTruncation:
    """Mixin for reward wrappers: the next step reports ``truncated=True`` when asked.

    A driver that caps the number of turns (``run_episode(max_turns=...)``, the trainer's
    ``--max-turns``) calls :func:`agent_envs.rl.end_after_next_step` before the last turn, so every
    wrapper in the stack sees the episode end and pays what it still holds (sparse,
    delayed, every-k, success rewards) instead of losing it.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> from agent_envs.rl import end_after_next_step
        >>> from agent_envs.wrappers import RewardSparsity
        >>> env = RewardSparsity(GuessNumberEnv(max_turns=10), mode="sparse")
        >>> _ = env.reset(seed=0)
        >>> _ = env.step("10")
        >>> end_after_next_step(env)
        1
        >>> _, reward, terminated, truncated, info = env.step("20")
        >>> truncated, reward != 0.0
        (True, True)
    """

    _end_next: bool = False

    def end_after_next_step(self) -> None:
        """Report the next step as truncated (then forget the request)."""
        self._end_next = True

    def reset(self, **kwargs: Any) -> Any:
        """Forget a pending request, then reset the layers below."""
        self._end_next = False
        return super().reset(**kwargs)  # type: ignore[misc]

    def _driver_truncated(self, truncated: bool) -> bool:
        """``truncated`` or-ed with a pending driver request, which this consumes."""
        asked, self._end_next = self._end_next, False
        return bool(truncated) or asked
