"""TRL-style reward functions that score completions by replaying them in an environment.

TRL's ``GRPOTrainer(reward_funcs=[...])`` calls each reward function as
``f(prompts=..., completions=..., **dataset_columns) -> list[float]`` (one float per
completion; the other columns of the dataset row arrive as keyword lists). For an
agent-envs id the verifiable reward is the environment's own: :class:`EnvReward`
resets the env with the row's ``seed`` and plays the completion (its assistant turns)
as the agent's replies. :func:`prompt_rows` builds the matching dataset rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from agent_envs.rl.stepper import EpisodeStepper

__all__ = ["EnvReward", "prompt_rows", "completion_replies"]


def prompt_rows(
    env_id: str,
    seeds: Sequence[int],
    *,
    env_kwargs: dict[str, Any] | None = None,
    conversational: bool = True,
) -> list[dict[str, Any]]:
    """Dataset rows ``{"prompt", "seed", "env_class"}``: the env's opening prompt per seed.

    ``prompt`` is the message list (system prompt and task) when ``conversational``,
    else the two joined as plain text. ``env_class`` is the id, the column SkyRL's
    generator picks the environment by (see :mod:`agent_envs.integrations.skyrl`);
    TRL hands it to reward functions and ``reset`` as a keyword, which both ignore.
    Pass the rows to ``datasets.Dataset.from_list``.

    Example:
        >>> rows = prompt_rows("Toy-GuessNumber-v0", [0, 1])
        >>> [r["seed"] for r in rows], [m["role"] for m in rows[0]["prompt"]]
        ([0, 1], ['system', 'user'])
        >>> rows[0]["env_class"]
        'Toy-GuessNumber-v0'
    """
    from agent_envs import make

    env = make(env_id, **(env_kwargs or {}))
    rows = []
    try:
        for seed in seeds:
            messages = EpisodeStepper(env).reset(seed=int(seed))
            prompt: Any = messages
            if not conversational:
                prompt = "\n\n".join(m["content"] for m in messages)
            rows.append({"prompt": prompt, "seed": int(seed), "env_class": env_id})
    finally:
        env.close()
    return rows


def completion_replies(completion: Any) -> list[str]:
    """The agent's replies in a TRL completion: a string, or a list of chat messages.

    Example:
        >>> completion_replies("50")
        ['50']
        >>> completion_replies([{"role": "assistant", "content": "50"},
        ...                     {"role": "user", "content": "lower"},
        ...                     {"role": "assistant", "content": "25"}])
        ['50', '25']
    """
    from agent_envs.integrations.messages_env import assistant_text

    if isinstance(completion, str):
        return [completion]
    if isinstance(completion, dict):
        return [assistant_text(completion)]
    if isinstance(completion, (list, tuple)):
        return [
            assistant_text(m)
            for m in completion
            if isinstance(m, dict) and m.get("role", "assistant") == "assistant"
        ]
    return [repr(completion)]


class EnvReward:
    """A TRL reward function: replay each completion in ``env_id`` and return its reward.

    For completion ``i`` the env is reset with ``seed[i]`` (a dataset column, see
    :func:`prompt_rows`) and each assistant turn of the completion is played as a reply,
    until the episode ends. The reward is ``aggregate`` over the played turns: ``"sum"``
    (the return; for a single-turn completion, that turn's reward), ``"last"`` (the last
    turn's reward), or ``"best_score"`` (the env's ``info["best_score"]``, with
    ``missing_score`` when no turn was valid). A completion with no reply scores
    ``missing_score``. The env is built once and reused; calls are sequential.

    Example:
        >>> reward = EnvReward("Toy-GuessNumber-v0")
        >>> reward(prompts=None, completions=["50", "no idea"], seed=[0, 0])
        [0.6363636363636364, -0.1]
        >>> reward.__name__
        'Toy-GuessNumber-v0:sum'
    """

    def __init__(
        self,
        env_id: str,
        *,
        env_kwargs: dict[str, Any] | None = None,
        aggregate: str = "sum",
        missing_score: float = 0.0,
    ) -> None:
        if aggregate not in ("sum", "last", "best_score"):
            raise ValueError(f"aggregate must be 'sum', 'last' or 'best_score', got {aggregate!r}")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.aggregate = aggregate
        self.missing_score = float(missing_score)
        #: TRL logs each reward function under its ``__name__``.
        self.__name__ = f"{env_id}:{aggregate}"
        self._env: gym.Env | None = None

    def _environment(self) -> gym.Env:
        if self._env is None:
            from agent_envs import make

            self._env = make(self.env_id, **self.env_kwargs)
        return self._env

    def score(self, completion: Any, seed: int | None) -> float:
        """Replay one completion from ``seed`` and aggregate its rewards."""
        replies = completion_replies(completion)
        if not replies:
            return self.missing_score
        stepper = EpisodeStepper(self._environment())
        stepper.reset(seed=None if seed is None else int(seed))
        for reply in replies:
            if stepper.done:
                break
            stepper.step(reply)
        traj = stepper.trajectory
        if self.aggregate == "sum":
            return traj.total_reward
        if self.aggregate == "last":
            return traj.rewards[-1]
        best = traj.turns[-1].info.get("best_score")
        return self.missing_score if best is None else float(best)

    def __call__(
        self,
        prompts: Sequence[Any] | None = None,
        completions: Sequence[Any] = (),
        seed: Sequence[int | None] | None = None,
        **kwargs: Any,
    ) -> list[float]:
        """Score a batch: one float per completion (``seed`` is the dataset column)."""
        if seed is None:
            raise ValueError("EnvReward needs the dataset's 'seed' column (see prompt_rows)")
        if len(seed) != len(completions):
            raise ValueError(f"got {len(completions)} completions but {len(seed)} seeds")
        return [self.score(c, s) for c, s in zip(completions, seed, strict=True)]

    def close(self) -> None:
        """Close the environment."""
        if self._env is not None:
            self._env.close()
            self._env = None
