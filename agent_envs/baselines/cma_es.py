"""CMA-ES (the ``cma`` package), one design per turn."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from agent_envs.baselines.blackbox import BlackBoxPolicy
from agent_envs.baselines.space import to_unit

__all__ = ["CMAESPolicy"]


class CMAESPolicy(BlackBoxPolicy):
    """Covariance matrix adaptation evolution strategy in the unit cube.

    Starts from the variables' defaults (the middle of the cube for variables without
    one) with step size ``sigma0``. Each generation's designs are played one per turn;
    when all are scored the generation is told to CMA-ES. Unscored designs get the
    worst score seen so far (CMA-ES only uses ranks), or rank last if none exists yet.
    Note: ``cma`` seeds numpy's global random generator from the policy's seed.

    Example:
        >>> from types import SimpleNamespace as V
        >>> policy = CMAESPolicy()
        >>> policy.start_space([V(name=n, low=0.0, high=1.0, log=False, default=0.5) for n in "ab"], seed=0)
        >>> for _ in range(12):
        ...     d = policy.ask()
        ...     policy.tell(-(d["a"] - 0.2) ** 2 - (d["b"] - 0.7) ** 2)
        >>> policy.es.countiter >= 2
        True
    """

    name = "cmaes"

    def __init__(self, sigma0: float = 0.25, popsize: int | None = None) -> None:
        super().__init__()
        if not 0 < sigma0 <= 1:
            raise ValueError(f"sigma0 must be in (0, 1], got {sigma0!r}")
        self.sigma0, self.popsize = sigma0, popsize
        self.es: Any = None

    def start(self, dim: int, seed: int | None) -> None:
        import cma

        x0 = [0.5] * dim
        defaults = {v.name: getattr(v, "default", None) for v in self._space}
        if all(d is not None for d in defaults.values()) and len(defaults) == dim:
            x0 = to_unit(defaults, self._space)
        rng = np.random.default_rng(seed)
        options = {
            "bounds": [0.0, 1.0],
            "seed": int(rng.integers(1, 2**31 - 1)),
            "verbose": -9,
            "verb_disp": 0,
            "verb_log": 0,
        }
        if self.popsize is not None:
            options["popsize"] = self.popsize
        if dim == 1:  # cma needs at least two coordinates; pad with a dummy one
            x0 = x0 + [0.5]
        self._dim = dim
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.es = cma.CMAEvolutionStrategy(x0, self.sigma0, options)
        self._queue: list[np.ndarray] = []
        self._asked: list[np.ndarray] = []
        self._told: list[float | None] = []

    def ask_unit(self) -> Sequence[float]:
        if not self._queue:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._queue = list(self.es.ask())
            self._asked, self._told = list(self._queue), []
        return [float(u) for u in self._queue.pop(0)[: self._dim]]

    def tell_unit(self, point: list[float], score: float | None) -> None:
        self._told.append(score)
        if len(self._told) < len(self._asked):
            return
        fallback = self.failure_value()
        worst = 1e12 if fallback is None else -fallback
        losses = [worst if s is None else -s for s in self._told]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.es.tell(self._asked, losses)
