"""Bayesian optimization with optuna's Gaussian-process sampler, one design per turn."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

from agent_envs.baselines.blackbox import BlackBoxPolicy

__all__ = ["BayesOptPolicy"]


@contextlib.contextmanager
def _one_torch_thread() -> Iterator[None]:
    # The GP has at most a few hundred points: extra threads only fight the simulator
    # and the other workers for cores (measured: 5-10x slower under load).
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


class BayesOptPolicy(BlackBoxPolicy):
    """Gaussian-process Bayesian optimization (``optuna.samplers.GPSampler``).

    Uses optuna's ask/tell interface: each turn asks one trial in the unit cube (log
    variables are already log-mapped), the env's score is told back. The first
    ``n_startup_trials`` designs are random. An unscored design (invalid reply, failed
    simulation) is told as the worst score seen so far, so the model learns to avoid
    the region; before any score exists it is recorded as a failed trial.

    Example:
        >>> from types import SimpleNamespace as V
        >>> policy = BayesOptPolicy(n_startup_trials=2)
        >>> policy.start_space([V(name="x", low=0.0, high=1.0, log=False)], seed=0)
        >>> for _ in range(4):
        ...     x = policy.ask()["x"]
        ...     policy.tell(-(x - 0.3) ** 2)
        >>> len(policy.study.trials)
        4
    """

    name = "bo"

    def __init__(self, n_startup_trials: int = 5) -> None:
        super().__init__()
        if not isinstance(n_startup_trials, int) or n_startup_trials < 1:
            raise ValueError(f"n_startup_trials must be a positive int, got {n_startup_trials!r}")
        self.n_startup_trials = n_startup_trials
        self.study: Any = None

    def start(self, dim: int, seed: int | None) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            sampler = optuna.samplers.GPSampler(
                seed=seed,
                n_startup_trials=self.n_startup_trials,
                deterministic_objective=True,
                warn_independent_sampling=False,
            )
        self.study = optuna.create_study(direction="maximize", sampler=sampler)
        self._dist = {f"u{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(dim)}
        self._trial: Any = None

    def ask_unit(self) -> Sequence[float]:
        with _one_torch_thread():
            self._trial = self.study.ask(self._dist)
        return [self._trial.params[f"u{i}"] for i in range(len(self._dist))]

    def tell_unit(self, point: list[float], score: float | None) -> None:
        import optuna

        value = score if score is not None else self.failure_value()
        if value is None:
            self.study.tell(self._trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(self._trial, value)
