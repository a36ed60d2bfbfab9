"""Play one benchmark episode: a policy against an environment id, with a seed."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Any

from agent_envs.baselines.base import Policy

__all__ = ["EpisodeTask", "play_task", "turn_cost"]


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


def play_task(task: EpisodeTask) -> dict[str, Any]:
    """Play ``task`` to the end and return its JSON-ready record.

    The record holds the ids and seed, one entry per turn (score, best-so-far,
    simulations, validity, success) and the totals; an exception anywhere is caught and
    stored under ``error`` (with the turns played until then), so one bad episode never
    stops a benchmark.

    Example:
        >>> task = EpisodeTask("Toy-GuessNumber-v0", "agent_envs.bench.episode:_Always50", seed=0)
        >>> rec = play_task(task)
        >>> rec["error"], rec["turns"][0]["valid"], rec["n_turns"]
        (None, True, 8)
    """
    import gymnasium as gym

    import agent_envs  # noqa: F401  (registers the ids in a fresh worker)
    from agent_envs.baselines.base import extend_messages, start_messages
    from agent_envs.baselines.registry import make_policy

    record: dict[str, Any] = {
        "env_id": task.env_id,
        "policy": task.policy,
        "seed": task.seed,
        "env_kwargs": task.env_kwargs,
        "turns": [],
        "error": None,
    }
    start = time.perf_counter()
    env = policy = None
    info: dict[str, Any] = {}
    costs: list[tuple[Any, dict[str, Any]]] = []  # (turn, cost so far) of each turn
    counts_simulations = False
    try:
        env = gym.make(task.env_id, **task.env_kwargs)
        # ACS envs count simulations (cost["simulations"] appears with the first one)
        counts_simulations = getattr(env.unwrapped, "simulations", None) is not None
        policy = make_policy(task.policy, **task.policy_kwargs)
        obs, info = env.reset(seed=task.seed)
        policy.reset(env, seed=task.seed)
        messages = start_messages(obs, info)
        for _ in range(task.max_turns):
            action = policy.act(messages, info)
            obs, reward, terminated, truncated, info = env.step(action)
            extend_messages(messages, action, obs)
            costs.append((info.get("turn"), dict(info.get("cost") or {})))
            record["turns"].append(
                {
                    "turn": info.get("turn"),
                    "score": info.get("score"),
                    "best_score": info.get("best_score"),
                    "valid": bool(info.get("action_valid", True)),
                    "success": bool(info.get("success", False)),
                    "reward": float(reward),
                    "policy_error": getattr(policy, "last_error", None),
                }
            )
            if terminated or truncated:
                break
    except Exception:  # one broken episode must not stop the benchmark
        record["error"] = traceback.format_exc(limit=8)
    finally:
        for thing in (policy, env):
            try:
                if thing is not None:
                    thing.close()
            except Exception:
                pass
    turns = record["turns"]
    counts_simulations = counts_simulations or any("simulations" in c for _, c in costs)
    for turn, (number, cost) in zip(turns, costs, strict=True):
        turn["cost"] = turn_cost({"turn": number, "cost": cost}, counts_simulations)
    first = next((t["cost"] for t in turns if t["success"]), None)
    record.update(
        best_score=info.get("best_score") if turns else None,
        success=bool(turns and turns[-1]["success"]),
        cost=turns[-1]["cost"] if turns else 0.0,
        cost_to_success=first,
        cost_unit="simulations" if counts_simulations else "turns",
        n_turns=len(turns),
        seconds=round(time.perf_counter() - start, 3),
    )
    return record


class _Always50(Policy):
    """A fixed-reply policy used by the doctest above."""

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        return "50"
