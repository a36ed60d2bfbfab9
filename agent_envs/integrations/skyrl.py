"""SkyRL-Gym environments for every agent-envs id (``pip install skyrl-gym``).

SkyRL's generator builds one environment per sample with
``skyrl_gym.make(row["env_class"], env_config=..., extras=row)``, calls
``init(prompt)``, then ``step(model_output)`` until ``done``, reads ``get_metrics()``
and closes it; the trainer averages metrics per env class with the class's static
``aggregate_metrics``. :func:`register_skyrl_envs` registers an :class:`AgentEnvsTextEnv`
under each agent-envs id, and ``prompt_rows(..., skyrl=True)`` writes the dataset
columns SkyRL reads (``prompt``, ``env_class``, plus ``seed`` which arrives in
``extras``).

This module imports ``skyrl_gym`` (the classes must inherit from it).
"""

from __future__ import annotations

import math
from typing import Any

import skyrl_gym
from skyrl_gym.envs.base_text_env import BaseTextEnv, BaseTextEnvStepOutput

from agent_envs.integrations.messages_env import MessagesEnv

__all__ = ["AgentEnvsTextEnv", "register_skyrl_envs"]


class AgentEnvsTextEnv(BaseTextEnv):
    """One agent-envs episode as a SkyRL ``BaseTextEnv``.

    ``env_id`` is set by :func:`register_skyrl_envs`; ``env_config`` (SkyRL's per-class
    config: ``env_kwargs``, ``max_turns``) and ``extras`` (the dataset row: ``seed``)
    are merged as in :class:`~agent_envs.integrations.MessagesEnv`. :meth:`init`
    returns the environment's own opening messages, :meth:`step` the messages to append.

    Example:
        >>> env = AgentEnvsTextEnv(env_id="Toy-GuessNumber-v0", extras={"seed": 0})
        >>> messages, _ = env.init([{"role": "user", "content": "ignored"}])
        >>> out = env.step("50")
        >>> out["done"], env.get_metrics()["turns"]
        (False, 1)
        >>> env.close()
    """

    def __init__(
        self,
        env_config: dict[str, Any] | None = None,
        extras: dict[str, Any] | None = None,
        *,
        env_id: str | None = None,
    ) -> None:
        super().__init__()
        config = {"env_id": env_id, **dict(env_config or {})}
        extras = dict(extras or {})
        extras.pop("env_class", None)
        self._messages = MessagesEnv(config, extras)
        max_turns = config.get("max_turns", extras.get("max_turns"))
        self.max_turns = int(max_turns) if max_turns is not None else 0
        self._rewards: list[float] = []
        self._infos: list[dict[str, Any]] = []

    def init(self, prompt: Any = None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """Reset with the row's seed; the opening messages replace ``prompt``."""
        self.turns = 0
        self._rewards, self._infos = [], []
        return self._messages.init(prompt)

    def step(self, action: str) -> BaseTextEnvStepOutput:
        """Play one model turn; the reply messages, reward, ``done`` and the step's info."""
        out = self._messages.step(action)
        self.turns += 1
        self._rewards.append(out["reward"])
        self._infos.append(out["metadata"])
        return BaseTextEnvStepOutput(**out)

    def get_metrics(self) -> dict[str, Any]:
        """Per-episode metrics: return, turns, valid-action fraction, best score when scored."""
        finite = [r for r in self._rewards if math.isfinite(r)]
        metrics: dict[str, Any] = {
            "episode_return": math.fsum(finite),
            "turns": self.turns,
            "valid_action_fraction": (
                sum(bool(i.get("action_valid")) for i in self._infos) / len(self._infos)
                if self._infos
                else 0.0
            ),
        }
        best = self._infos[-1].get("best_score") if self._infos else None
        if best is not None:
            metrics["best_score"] = float(best)
        if self._infos and "success" in self._infos[-1]:
            metrics["success"] = float(bool(self._infos[-1]["success"]))
        return metrics

    @staticmethod
    def aggregate_metrics(metrics: list[dict[str, Any]]) -> dict[str, Any]:
        """Mean of each numeric metric over the episodes that report it.

        Example:
            >>> AgentEnvsTextEnv.aggregate_metrics([{"turns": 1, "best_score": 0.5}, {"turns": 3}])
            {'turns': 2.0, 'best_score': 0.5}
        """
        sums: dict[str, list[float]] = {}
        for m in metrics:
            for key, value in m.items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    sums.setdefault(key, []).append(float(value))
        return {k: math.fsum(v) / len(v) for k, v in sums.items()}

    def close(self) -> None:
        """Close the agent-envs environment (twice is fine)."""
        self._messages.close()


def register_skyrl_envs(env_ids: list[str] | None = None) -> list[str]:
    """Register an :class:`AgentEnvsTextEnv` in ``skyrl_gym`` for each id (all by default).

    The SkyRL ``env_class`` is the agent-envs id itself. Registering twice is fine.

    Example:
        >>> ids = register_skyrl_envs()
        >>> env = skyrl_gym.make("Toy-GuessNumber-v0", env_config={}, extras={"seed": 3})
        >>> isinstance(env, skyrl_gym.Env), "ACS-OpAmp-v0" in ids
        (True, True)
        >>> env.close()
    """
    from agent_envs.registration import list_ids

    ids = list(env_ids) if env_ids is not None else [i for i, _ in list_ids()]
    for env_id in ids:
        if env_id not in skyrl_gym.registry:
            skyrl_gym.register(
                id=env_id,
                entry_point="agent_envs.integrations.skyrl:AgentEnvsTextEnv",
                kwargs={"env_id": env_id},
            )
    return ids
