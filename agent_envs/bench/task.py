"""Play one benchmark episode (a policy against an environment id, with a seed) and its row.

The episode is played by :class:`agent_envs.rl.EpisodeStepper`; the JSONL row the
benchmark stores is :func:`episode_record`, a function of the resulting
:class:`~agent_envs.rl.Trajectory`.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from agent_envs.baselines.base import Policy
from agent_envs.baselines.play import policy_errors
from agent_envs.rl.stepper import EpisodeStepper
from agent_envs.rl.trajectory import Trajectory

__all__ = ["EpisodeTask", "episode_record", "play_task", "turn_cost"]


@dataclass(frozen=True)
class EpisodeTask:
    """Everything a worker process needs to play one episode (picklable).

    ``env_kwargs`` go to ``gym.make``; ``policy_kwargs`` to the policy's constructor;
    ``max_turns`` stops an episode the environment never ends.

    Example:
        >>> EpisodeTask("ACS-OpAmp-v0", "bo", seed=3, env_kwargs={"budget": 20}).key
        ('bo', 3)
    """

    env_id: str
    policy: str
    seed: int
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    policy_kwargs: dict[str, Any] = field(default_factory=dict)
    max_turns: int = 1000

    @property
    def key(self) -> tuple[str, int]:
        """What identifies the episode within one benchmark: (policy, seed)."""
        return (self.policy, self.seed)


def turn_cost(info: dict[str, Any], counts_simulations: bool) -> float:
    """The cost axis of a turn: simulations used so far, else the turn count.

    ``counts_simulations`` says whether the episode reports ``cost["simulations"]`` at
    all; such environments may omit the key until the first simulation (then it is 0).

    Example:
        >>> turn_cost({"turn": 3, "cost": {"simulations": 2}}, True)
        2.0
        >>> turn_cost({"turn": 3, "cost": {}}, True), turn_cost({"turn": 3, "cost": {}}, False)
        (0.0, 3.0)
    """
    if counts_simulations:
        return float((info.get("cost") or {}).get("simulations", 0))
    return float(info.get("turn", 0))


def episode_record(
    task: EpisodeTask,
    trajectory: Trajectory | None,
    *,
    error: str | None = None,
    seconds: float | None = None,
    counts_simulations: bool = False,
) -> dict[str, Any]:
    """The benchmark's JSONL row for ``task``: a view of its played ``trajectory``.

    One entry per turn (score, best-so-far, validity, success, reward, the policy's
    error, cost) from each turn's ``info``, then the totals, then the episode itself
    under ``"trajectory"``: ``Trajectory.to_dict(prompts=False)``, the project's one
    episode layout (``Trajectory.from_dict`` reads it back). ``trajectory`` is ``None``
    when the episode could not start; ``error`` is the traceback of what stopped it.
    ``counts_simulations`` says the env counts simulations even if no turn reported one
    (the cost axis is then simulations, else turns; see :func:`turn_cost`).
    ``episodes.jsonl`` holds exactly these rows.

    Example:
        >>> from agent_envs.rl import Trajectory, Turn
        >>> info = {"turn": 1, "score": 0.5, "best_score": 0.5, "success": True}
        >>> traj = Trajectory("X-v0", 0, None, "task", [Turn("ok", "a", 1.0, info, True)])
        >>> row = episode_record(EpisodeTask("X-v0", "p", 0), traj, seconds=0.1)
        >>> row["turns"][0]["cost"], row["cost_to_success"], row["cost_unit"], row["n_turns"]
        (1.0, 1.0, 'turns', 1)
        >>> Trajectory.from_dict(row["trajectory"]) == traj
        True
    """
    played = trajectory.turns if trajectory is not None else []
    errors = policy_errors(trajectory) if trajectory is not None else []
    counts_simulations = counts_simulations or any(
        "simulations" in (turn.info.get("cost") or {}) for turn in played
    )
    turns = [
        {
            "turn": turn.info.get("turn"),
            "score": turn.info.get("score"),
            "best_score": turn.info.get("best_score"),
            "valid": bool(turn.info.get("action_valid", True)),
            "success": bool(turn.info.get("success", False)),
            "reward": float(turn.reward),
            "policy_error": policy_error,
            "cost": turn_cost(turn.info, counts_simulations),
        }
        for turn, policy_error in zip(played, errors, strict=True)
    ]
    return {
        "env_id": task.env_id,
        "policy": task.policy,
        "seed": task.seed,
        "env_kwargs": task.env_kwargs,
        "turns": turns,
        "error": error,
        "best_score": played[-1].info.get("best_score") if played else None,
        "success": bool(turns and turns[-1]["success"]),
        "cost": turns[-1]["cost"] if turns else 0.0,
        "cost_to_success": next((t["cost"] for t in turns if t["success"]), None),
        "cost_unit": "simulations" if counts_simulations else "turns",
        "n_turns": len(turns),
        "seconds": seconds,
        "policy_kwargs": task.policy_kwargs,
        "trajectory": trajectory.to_dict(prompts=False) if trajectory is not None else None,
    }


def play_task(task: EpisodeTask) -> dict[str, Any]:
    """Play ``task`` to the end and return its JSON-ready record (:func:`episode_record`).

    The episode runs through :class:`~agent_envs.rl.EpisodeStepper`
    (:func:`~agent_envs.baselines.play.play_stepper`), like every other episode of
    the project. An exception anywhere is caught and stored under ``error`` (with the
    turns played until then), so one bad episode never stops a benchmark.

    Example:
        >>> task = EpisodeTask("Toy-GuessNumber-v0", "agent_envs.bench.task:_Always50", seed=0)
        >>> rec = play_task(task)
        >>> rec["error"], rec["turns"][0]["valid"], rec["n_turns"]
        (None, True, 8)
    """
    from agent_envs import make
    from agent_envs.baselines.play import play_stepper
    from agent_envs.baselines.registry import make_policy

    start = time.perf_counter()
    env = policy = stepper = None
    error = None
    counts_simulations = False
    try:
        env = make(task.env_id, **task.env_kwargs)
        # ACS envs count simulations (cost["simulations"] appears with the first one)
        counts_simulations = getattr(env.unwrapped, "simulations", None) is not None
        policy = make_policy(task.policy, **task.policy_kwargs)
        stepper = EpisodeStepper(env, max_turns=task.max_turns)
        play_stepper(stepper, policy, seed=task.seed)
    except Exception:  # one broken episode must not stop the benchmark
        error = traceback.format_exc(limit=8)
    finally:
        for thing in (policy, env):
            try:
                if thing is not None:
                    thing.close()
            except Exception:
                pass
    trajectory = None
    if stepper is not None:
        with contextlib.suppress(RuntimeError):  # env.reset raised: nothing was played
            trajectory = stepper.trajectory
    return episode_record(
        task,
        trajectory,
        error=error,
        seconds=round(time.perf_counter() - start, 3),
        counts_simulations=counts_simulations,
    )


class _Always50(Policy):
    """A fixed-reply policy used by the doctest above."""

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        return "50"
