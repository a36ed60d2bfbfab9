"""``ACS-<Circuit>-v0``: size an analog circuit in text; ngspice measures each proposal."""

from __future__ import annotations

import copy
import math
import shutil
import tempfile
from collections import OrderedDict
from typing import Any

from agent_envs.circuits.agent_texts import system_prompt, task_text, turn_report
from agent_envs.circuits.backends import BACKENDS, SimResult, make_backend
from agent_envs.circuits.circuit import Circuit, Variable
from agent_envs.circuits.corners import CornerBackend, check_corners
from agent_envs.circuits.netlist import UnsafeDeckError, format_number, render_decks
from agent_envs.circuits.protocol import format_action, format_si, read_action, tool_schema
from agent_envs.circuits.specs import Spec, draw_specs, load_spec_set, score_specs
from agent_envs.core.arguments import check_difficulty, check_split
from agent_envs.core.info import TurnOutcome
from agent_envs.core.text_env import TextEnv

__all__ = ["ACSEnv"]

_CACHE_SIZE = 4096
_NO_VALID = (
    "a circuit's spec sets are train and test, drawn disjoint by make_specs; hold out part "
    "of train yourself for validation"
)
# Episode state copied by fork() and pickling; simulator handles never travel.
_STATE = ("_episode_start", "_actions", "_turn", "_best_score", "_success", "_cost", "_done")
_STATE += ("_last_observation", "_np_random", "_np_random_seed", "_params", "_specs")
_STATE += ("_spec_index", "_sims", "_history", "_cache", "_last_decks", "_conditions")


def _restore_native(cls: type, ctor_args: tuple, state: dict[str, Any]) -> ACSEnv:
    args, kwargs = ctor_args
    env = cls(*args, **kwargs)
    env.__dict__.update(copy.deepcopy(state))
    return env


class ACSEnv(TextEnv):
    """Analog circuit sizing: propose device sizes, read the simulated performance.

    ## Description
    The agent is given target specifications for a circuit (for ``ACS-OpAmp-v0``, a
    two-stage Miller-compensated CMOS op-amp) and sizes it over several turns. Each
    valid proposal is simulated with ngspice (open-loop AC, CMRR, PSRR, noise,
    operating point, buffer slew); the environment answers with the measurements.
    Circuits are data folders (``docs/circuits.md``); specs come from shipped spec
    sets, feasible by construction, tightened by ``difficulty``.

    ## Action
    Free text holding assignments: ``name = value`` lines or a JSON object (SI suffixes
    allowed: ``2.5u``, ``10p``, ``1meg``), fenced or not, or an OpenAI-style
    ``simulate`` tool call (schema in ``info["tools"]``). Unnamed variables keep their
    values. Unknown names, non-numbers, NaN/inf and out-of-range values are listed
    back; no simulation is spent.

    ## Observation
    A compact report: each spec, the measured value, pass/fail, the spec score, the
    turn score, the best so far, the simulations left.

    ## Rewards
    ``score`` = mean over specs of ``min(0, (m - t) / (|m| + |t|))`` (sign by direction),
    in ``[-1, 0]``; the reward is ``score + success_bonus`` (1.0) when every spec holds,
    else ``score``. A failed simulation (no convergence, CPU timeout, a repeated crash)
    scores ``failure_reward = -1``; an invalid reply gets ``invalid_action_reward = -1``.
    A fault of the environment (the worker killed or starved, twice) gets reward 0 and
    spends nothing (``info["env_error"]``).

    ## Episode end
    Terminated when every spec is met; truncated when the simulation budget is used
    (repeated designs are served from a cache but still count) or after ``max_turns``.

    ## Arguments
    ``circuit`` (folder name, default ``"opamp"``), ``budget`` (simulations, 20),
    ``difficulty`` (a float in ``[0, 1]``, default 0.5: each target is
    ``easy + difficulty * (reference - easy)``, 0 the median random design's value, 1 the
    spec entry's reference design's own value), ``split`` (``"train"`` | ``"test"``, the
    circuit's two disjoint spec sets; there is no ``"valid"`` split), ``backend``
    (``"resident"`` | ``"subprocess"``), ``sim_timeout`` (seconds per simulation, 10: CPU
    seconds of the resident worker, so machine load does not cause timeouts; wall seconds
    for ``subprocess``),
    ``max_turns`` (default ``2 * budget``), ``corners`` (PVT hard mode, pdk circuits only:
    e.g. ``("tt", "ff", "ss")``; every design is simulated at each corner and each spec
    metric is its worst value over them; default: the circuit's own corner only).

    ## Info
    Standard keys plus ``specs`` (name, target, direction, unit), ``params`` (the
    simulated design), ``sim_error`` (why a simulation failed, else ``""``),
    ``env_error`` (why the simulator failed for a reason outside the design, after one
    retry on a fresh worker, else ``""``: such a turn spends no simulation, its reward
    is 0 and its score ``None``), and on
    reset ``tools`` and ``conditions`` (the task's fixed operating conditions, such as
    the load capacitance, drawn with the spec entry; empty for a circuit without any).
    ``metrics`` holds every measured number (``None``: not found).

    ## Version history
    * v0: initial version. ``difficulty`` errors (wrong type included) are ``ValueError``.

    Example:
        >>> env = ACSEnv(backend="subprocess", budget=3)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step("cc = 2p\\nibias = 30u")
        >>> info["action_valid"], info["cost"]["simulations"], -1.0 <= info["score"] <= 0.0
        (True, 1, True)
        >>> env.step("cc = banana")[4]["action_error"]  # doctest: +ELLIPSIS
        "cc = 'banana' is not a finite number..."
        >>> env.close()
    """

    invalid_action_reward = -1.0
    failure_reward = -1.0
    success_bonus = 1.0

    def __init__(
        self,
        circuit: str = "opamp",
        budget: int = 20,
        difficulty: float = 0.5,
        split: str = "train",
        backend: str = "resident",
        sim_timeout: float = 10.0,
        max_turns: int | None = None,
        render_mode: str | None = None,
        corners: tuple[str, ...] | None = None,
    ) -> None:
        if not isinstance(circuit, str):
            raise TypeError(f"circuit must be a folder name, got {type(circuit).__name__}")
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ValueError(f"budget must be a positive int, got {budget!r}")
        difficulty = check_difficulty(difficulty, "ACS")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if not isinstance(sim_timeout, (int, float)) or not (
            math.isfinite(sim_timeout) and sim_timeout > 0
        ):
            raise ValueError(
                f"sim_timeout must be a positive number of seconds, got {sim_timeout!r}"
            )
        if max_turns is None:
            max_turns = 2 * budget
        if isinstance(max_turns, bool) or not isinstance(max_turns, int) or max_turns < budget:
            raise ValueError(f"max_turns must be an int >= budget, got {max_turns!r}")
        super().__init__(
            max_observation_length=8192, max_action_length=32_768, render_mode=render_mode
        )
        self.circuit = Circuit.load(circuit)
        if self.circuit.pdk is not None:  # fail here, clearly, not at the first step
            from agent_envs.circuits.pdk import pdk_library

            pdk_library(self.circuit.pdk["name"])
        self.corners = None if corners is None else check_corners(self.circuit, corners)
        split = check_split(split, tuple(self.circuit.spec_sets), "ACS", missing=_NO_VALID)
        self.spec_set = load_spec_set(self.circuit, split)
        self.budget, self.difficulty, self.split = budget, difficulty, split
        self.backend_name, self.max_turns = backend, max_turns
        self._sim_timeout = float(sim_timeout)
        self._backend: Any = None
        self._workdir: str | None = None
        self._units = {m.name: m.unit for m in self.circuit.measurements}
        self._params = self.circuit.defaults()
        self._conditions = self.circuit.condition_defaults()
        self._specs: tuple[Spec, ...] = ()
        self._spec_index = -1
        self._sims = 0
        self._history: list[dict[str, Any]] = []
        self._cache: OrderedDict[tuple[str, ...], SimResult] = OrderedDict()
        self._last_decks: tuple[str, ...] = ()

    # ------------------------------------------------------------------ public API
    @property
    def design_space(self) -> tuple[Variable, ...]:
        """The design variables (name, unit, low, high, log, default, description)."""
        return self.circuit.variables

    @property
    def specs(self) -> tuple[Spec, ...]:
        """The current episode's targets (name, target, direction, unit)."""
        return self._specs

    @property
    def params(self) -> dict[str, float]:
        """The current design (the last simulated values; defaults after reset)."""
        return dict(self._params)

    @property
    def simulations(self) -> int:
        """Simulations charged in this episode (cache hits included)."""
        return self._sims

    @property
    def sim_timeout(self) -> float:
        """Time limit of one simulation, in seconds (settable): CPU seconds of the resident
        worker, wall seconds of an ``ngspice -b`` run."""
        return self._sim_timeout

    @sim_timeout.setter
    def sim_timeout(self, seconds: float) -> None:
        self._sim_timeout = float(seconds)
        if self._backend is not None:
            self._backend.timeout = float(seconds)

    @property
    def worker_pid(self) -> int | None:
        """Process id of the resident ngspice worker, if one is running."""
        return getattr(self._backend, "pid", None)

    def format_action(self, values: dict[str, float]) -> str:
        """A reply that sets ``values`` (accepted by this environment's parser)."""
        return format_action(values)

    def fork(self) -> ACSEnv:
        """Native snapshot: same state, its own (lazily started) simulator."""
        return _restore_native(type(self), self._ctor_args, self._state())

    def __reduce__(self) -> tuple:
        return (_restore_native, (type(self), self._ctor_args, self._state()))

    # ------------------------------------------------------------------ TextEnv hooks
    def _state(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in _STATE if hasattr(self, k)}

    def _reset_episode(self, options: dict[str, Any] | None) -> tuple[str, dict[str, Any]]:
        self._specs, self._spec_index = draw_specs(
            self.circuit, self.spec_set, self.difficulty, self.np_random
        )
        self._params = self.circuit.defaults()
        entry = self.spec_set["entries"][self._spec_index]
        self._conditions = {**self.circuit.condition_defaults(), **entry.get("conditions", {})}
        self._sims, self._history = 0, []
        info = {
            "system_prompt": system_prompt(self.circuit, self.budget, self.max_turns),
            "tools": tool_schema(
                self.circuit.variables, f"Simulate the {self.circuit.title} with these values."
            ),
            "specs": [s.__dict__.copy() for s in self._specs],
            "params": dict(self._params),
            "conditions": dict(self._conditions),
            "cost": {"simulations": 0},
        }
        text = task_text(self.circuit, self._specs, self._params, self.budget, self._conditions)
        if self.corners is not None:
            info["corners"] = list(self.corners)
            text += (
                f"\nEvery design is simulated at the process corners {', '.join(self.corners)};"
                " each measured value is the worst over them."
            )
        return text, info

    def _budget_spent(self) -> bool:
        return self._sims >= self.budget or self.turn >= self.max_turns

    def _play_turn(self, action: str) -> TurnOutcome:
        parsed = read_action(action, self.circuit.variables)
        values, problems = parsed.values, parsed.problems
        notes = "".join(f"\nNote: {n}." for n in parsed.notes)
        if problems:
            ranges = "; ".join(
                f"{v.name} [{format_si(v.low, v.unit)}, {format_si(v.high, v.unit)}]"
                for v in self.circuit.variables
            )
            text = (
                "Invalid reply, nothing simulated:\n- "
                + "\n- ".join(problems)
                + notes
                + f"\nValid ranges: {ranges}.\nSimulations left: {self.budget - self._sims}."
            )
            return self._invalid("; ".join(problems), text)
        params = {**self._params, **values}
        try:
            decks = render_decks(self.circuit, params, self._conditions)
        except UnsafeDeckError as exc:  # cannot happen after parse_action; refuse anyway
            return self._invalid(f"refused: {exc}", f"Invalid reply, nothing simulated: {exc}")
        key = tuple(format_number(params[v.name]) for v in self.circuit.variables)
        key += tuple(format_number(self._conditions[c.name]) for c in self.circuit.conditions)
        result = self._cache.get(key)
        hit = result is not None
        if result is None:
            result = self._simulate(decks)
            if result.infrastructure:
                return self._environment_fault(result, notes)
            if result.error is None or "converge" in result.error:  # deterministic outcomes
                self._cache[key] = result
                if len(self._cache) > _CACHE_SIZE:
                    self._cache.popitem(last=False)
        self._sims += 1
        self._params, self._last_decks = params, decks
        # the numbers the deck holds (read_action rounded them to its 7 digits)
        changed = {k: format_si(v, self.circuit.variable(k).unit, 7) for k, v in values.items()}
        cost = {
            "simulations": 1,
            "cache_hits": int(hit),
            "sim_seconds": 0.0 if hit else result.seconds,
        }
        out_of_budget = self._budget_spent()
        if result.error is not None:
            text = (
                f"Simulation failed: {result.error}. This design scores {self.failure_reward:.1f}."
                f"{notes}\nSimulations left: {self.budget - self._sims}."
            )
            self._history.append({"params": params, "error": result.error})
            return TurnOutcome(
                text, reward=self.failure_reward, score=self.failure_reward,
                truncated=out_of_budget, cost=cost,
                extra={"sim_error": result.error, "env_error": "", "params": dict(params),
                       "specs": self._spec_dicts()},
            )  # fmt: skip
        metrics = dict(result.metrics)
        score, success = score_specs(self._specs, metrics)
        best = score if self._best_score is None else max(self._best_score, score)
        text = turn_report(
            self._specs, metrics, self._units, score, best, self.budget - self._sims, changed
        )
        self._history.append({"params": params, "metrics": metrics, "score": score})
        return TurnOutcome(
            text + notes + ("\nAll specifications met." if success else ""),
            reward=score + (self.success_bonus if success else 0.0),
            score=score,
            success=success,
            terminated=success,
            truncated=out_of_budget and not success,
            metrics=metrics,
            cost=cost,
            extra={
                "sim_error": "",
                "env_error": "",
                "params": dict(params),
                "specs": self._spec_dicts(),
            },
        )

    def _environment_fault(self, result: SimResult, notes: str) -> TurnOutcome:
        """A failure outside the design (worker killed or starved, twice): nothing charged."""
        text = (
            f"The simulator failed for a reason outside your design ({result.error})."
            " Nothing was charged; send the design again."
            f"{notes}\nSimulations left: {self.budget - self._sims}."
        )
        return TurnOutcome(
            text,
            reward=0.0,
            score=None,
            truncated=self._budget_spent(),
            cost={"simulations": 0, "env_errors": 1, "sim_seconds": result.seconds},
            extra={
                "sim_error": "",
                "env_error": result.error,
                "params": dict(self._params),
                "specs": self._spec_dicts(),
            },
        )

    def _invalid(self, error: str, text: str) -> TurnOutcome:
        return self.invalid_action(
            error,
            observation=text,
            truncated=self._budget_spent(),
            extra={
                "sim_error": "",
                "env_error": "",
                "params": dict(self._params),
                "specs": self._spec_dicts(),
            },
        )

    def _spec_dicts(self) -> list[dict[str, Any]]:
        return [s.__dict__.copy() for s in self._specs]

    def _simulate(self, decks: tuple[str, ...]) -> SimResult:
        if self._backend is None:
            self._workdir = tempfile.mkdtemp(prefix="acs-")
            args = (self.backend_name, self._workdir, self._sim_timeout, True)
            if self.corners is None:
                self._backend = make_backend(args[0], self.circuit, *args[1:])
            else:
                self._backend = CornerBackend(self.circuit, self.corners, *args)
            self._closed = False  # resources exist again: close() must release them
        return self._backend.simulate(decks)

    def _close_resources(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
