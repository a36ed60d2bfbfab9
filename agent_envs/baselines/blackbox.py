"""``BlackBoxPolicy``: an optimizer that proposes one design per turn as a text reply.

The optimizer never sees the simulator: it writes each design with the environment's
own ``format_action`` (the reply an LLM could have written), the environment parses it
like any other reply, and the optimizer learns only from ``info["score"]``. So a
black-box baseline and an LLM get the same parser and the same budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from agent_envs.baselines.base import Policy
from agent_envs.baselines.space import design_space_of, from_unit

__all__ = ["BlackBoxPolicy", "policy_seed"]

# Salt that separates a policy's random stream from the environment's: Gymnasium seeds
# ``env.np_random`` exactly like ``np.random.default_rng(seed)``, so a policy seeded with
# the same integer would draw the very numbers the environment drew for its task.
_POLICY_SALT = 0x0B1AC_B0C5


def policy_seed(seed: int | None) -> int | None:
    """Derive the optimizer's seed from the episode seed, independent of the env's stream.

    Example:
        >>> policy_seed(0) != 0, policy_seed(0) == policy_seed(0), policy_seed(None)
        (True, True, None)
    """
    if seed is None:
        return None
    return int(np.random.SeedSequence([int(seed), _POLICY_SALT]).generate_state(1)[0])


class BlackBoxPolicy(Policy):
    """Base class of the black-box baselines: ask/tell in the unit cube.

    Subclasses implement :meth:`start` (a new optimizer for ``dim`` variables and a
    seed), :meth:`ask_unit` (the next point of ``[0, 1]^dim``) and, if they learn,
    :meth:`tell_unit` (the score of the last point; ``None`` when the design could not
    be scored: an invalid reply or a failed simulation). :meth:`failure_value` gives a
    sensible stand-in for such a score: the worst score seen so far in the episode.

    Example:
        >>> from types import SimpleNamespace as V
        >>> from agent_envs.baselines.random_search import RandomSearch
        >>> policy = RandomSearch()
        >>> policy.start_space([V(name="w", low=1e-6, high=1e-4, log=True)], seed=0)
        >>> design = policy.ask()
        >>> 1e-6 <= design["w"] <= 1e-4
        True
        >>> policy.tell(0.5)
    """

    name = "blackbox"

    def __init__(self) -> None:
        self._env: Any = None
        self._space: tuple[Any, ...] = ()
        self._pending: list[float] | None = None
        self._scores: list[float] = []

    @classmethod
    def check_env(cls, env: Any) -> None:
        """Raise ``TypeError`` with a clear message if this policy cannot play ``env``."""
        design_space_of(env)

    # ------------------------------------------------------------------ protocol
    def reset(self, env: Any, *, seed: int | None = None) -> None:
        """Start a fresh optimizer on ``env``'s design space."""
        self._env = env.unwrapped
        self.start_space(design_space_of(env), seed=seed)

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        """Learn from the last turn's score, then reply with the next design."""
        if self._env is None:
            raise RuntimeError(f"call {type(self).__name__}.reset(env) before act()")
        if self._pending is not None:
            self.tell(info.get("score"))
        return self._env.format_action(self.ask())

    # ------------------------------------------------------------------ ask / tell
    def start_space(self, space: Sequence[Any], *, seed: int | None = None) -> None:
        """Start a new optimization over ``space`` (a sequence of variables).

        The optimizer's own seed is derived from ``seed`` by :func:`policy_seed`.
        """
        self._space = tuple(space)
        self._pending = None
        self._scores = []
        self.start(len(self._space), policy_seed(seed))

    def ask(self) -> dict[str, float]:
        """Return the next design as ``{variable name: value}``."""
        self._pending = [float(u) for u in self.ask_unit()]
        return from_unit(self._pending, self._space)

    def tell(self, score: float | None) -> None:
        """Report the score of the design returned by the last :meth:`ask`."""
        if self._pending is None:
            return
        point, self._pending = self._pending, None
        if score is not None:
            score = float(score)
            if score != score or score in (float("inf"), float("-inf")):
                score = None
        if score is not None:
            self._scores.append(score)
        self.tell_unit(point, score)

    def failure_value(self) -> float | None:
        """Stand-in score for an unscored design: the worst seen so far (None if none)."""
        return min(self._scores) if self._scores else None

    # ------------------------------------------------------------------ to implement
    def start(self, dim: int, seed: int | None) -> None:
        """Create the optimizer for ``dim`` unit-cube coordinates."""
        raise NotImplementedError

    def ask_unit(self) -> Sequence[float]:
        """Return the next point of ``[0, 1]^dim``."""
        raise NotImplementedError

    def tell_unit(self, point: list[float], score: float | None) -> None:
        """Learn that ``point`` scored ``score`` (None: could not be scored)."""
