"""Random and quasi-random (Sobol) search over a design space."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agent_envs.baselines.blackbox import BlackBoxPolicy

__all__ = ["RandomSearch", "SobolSearch"]


class RandomSearch(BlackBoxPolicy):
    """Uniform random designs in each variable's range (log-uniform for log variables).

    Example:
        >>> from types import SimpleNamespace as V
        >>> policy = RandomSearch()
        >>> policy.start_space([V(name="x", low=0.0, high=1.0, log=False)], seed=1)
        >>> first = policy.ask()["x"]
        >>> policy.start_space([V(name="x", low=0.0, high=1.0, log=False)], seed=1)
        >>> policy.ask()["x"] == first  # seeded
        True
    """

    name = "random"

    def start(self, dim: int, seed: int | None) -> None:
        self._dim = dim
        self._rng = np.random.default_rng(seed)

    def ask_unit(self) -> Sequence[float]:
        return self._rng.random(self._dim).tolist()


class SobolSearch(BlackBoxPolicy):
    """Scrambled Sobol' points (``scipy.stats.qmc``): random search that covers space evenly.

    Points are drawn in blocks whose running total is a power of two, which keeps the
    sequence's balance properties.

    Example:
        >>> from types import SimpleNamespace as V
        >>> policy = SobolSearch()
        >>> policy.start_space([V(name="x", low=0.0, high=1.0, log=False)], seed=0)
        >>> xs = sorted(policy.ask()["x"] for _ in range(4))
        >>> [int(4 * x) for x in xs]  # one point in each quarter
        [0, 1, 2, 3]
    """

    name = "sobol"

    def start(self, dim: int, seed: int | None) -> None:
        from scipy.stats import qmc

        self._sampler = qmc.Sobol(d=dim, scramble=True, seed=seed)
        self._queue: list[list[float]] = []

    def ask_unit(self) -> Sequence[float]:
        if not self._queue:
            block = max(16, self._sampler.num_generated)  # total stays a power of two
            self._queue = self._sampler.random(block).tolist()
        return self._queue.pop(0)
