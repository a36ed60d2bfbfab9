"""``agent_envs.make``: an id with its reward scheme, chat formatting and recording in one call."""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym

__all__ = ["make"]


def make(
    env_id: str,
    *,
    reward: str = "native",
    reward_kwargs: dict[str, Any] | None = None,
    record: str | os.PathLike | None = None,
    chat: bool | dict[str, Any] = False,
    **kwargs: Any,
) -> gym.Env:
    """Build ``env_id`` wrapped for an experiment, innermost first:

    1. ``gym.make(env_id, **kwargs)``: constructor keywords and Gymnasium's own
       (``max_episode_steps=``, ``disable_env_checker=``, ...);
    2. the reward scheme ``reward`` (a name of
       :data:`agent_envs.wrappers.REWARD_SCHEMES`, with ``reward_kwargs`` such as
       ``k``, ``delay``, ``p``), so every ablation runs on the same dynamics;
    3. :class:`~agent_envs.wrappers.RecordTrajectories` to the JSONL file ``record``,
       which then holds the rewards of the scheme;
    4. :class:`~agent_envs.wrappers.ChatMessages` when ``chat`` is true (a dict gives
       its keywords), so observations are chat-message lists.

    ``env.unwrapped.fork()`` still forks the base env; :func:`agent_envs.rl.fork_env`
    forks the whole stack.

    Example:
        >>> import agent_envs
        >>> env = agent_envs.make("Toy-GuessNumber-v0", reward="best-turn", chat=True)
        >>> messages, info = env.reset(seed=0)
        >>> [m["role"] for m in messages]
        ['system', 'user']
        >>> _, reward, *_ = env.step("50")
        >>> type(env.env).__name__
        'BestTurnReward'
        >>> agent_envs.make("Toy-GuessNumber-v0", reward="sum")
        Traceback (most recent call last):
        ...
        ValueError: reward scheme must be one of native, best-turn, sparse, success, dense, every-k, delayed, dropout, normalized-dense; got 'sum'
    """
    from agent_envs.wrappers import ChatMessages, RecordTrajectories, wrap_reward

    if not isinstance(chat, (bool, dict)):
        raise TypeError(f"chat must be a bool or a dict of ChatMessages keywords, got {chat!r}")
    if reward_kwargs is not None and not isinstance(reward_kwargs, dict):
        raise TypeError(f"reward_kwargs must be a dict, got {type(reward_kwargs).__name__}")
    env = gym.make(env_id, **kwargs)
    try:
        env = wrap_reward(env, reward, **(reward_kwargs or {}))
        if record is not None:
            env = RecordTrajectories(env, record, env_id=env_id)
        if chat:
            env = ChatMessages(env, **(chat if isinstance(chat, dict) else {}))
    except Exception:
        env.close()  # a bad wrapper argument must not leak the env's processes
        raise
    return env
