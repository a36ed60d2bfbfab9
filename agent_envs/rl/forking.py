"""Wrapper stacks as a whole: fork every layer, and end an episode through every layer."""

from __future__ import annotations

import copy

import gymnasium as gym

__all__ = ["wrapper_layers", "fork_env", "end_after_next_step"]


def wrapper_layers(env: gym.Env) -> list[gym.Env]:
    """The layers of ``env`` from the outermost wrapper down to the bare environment.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> from agent_envs.wrappers import TurnPenalty
        >>> [type(x).__name__ for x in wrapper_layers(TurnPenalty(GuessNumberEnv()))]
        ['TurnPenalty', 'GuessNumberEnv']
    """
    layers = [env]
    while isinstance(layers[-1], gym.Wrapper):
        layers.append(layers[-1].env)
    return layers


def fork_env(env: gym.Env) -> gym.Env:
    """An independent copy of the whole stack: ``env.unwrapped.fork()`` re-wrapped.

    Each wrapper is copied with its state (best score so far, pending rewards, turn
    counters: a deep copy of its attributes) on top of the fork of the layer below, so
    the fork pays exactly the rewards the original would. A wrapper may define
    ``after_fork(original)`` to adjust its copy (``RewardSparsity`` gives each fork a dropout
    coin stream of its own). Acting in the fork never changes ``env``.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> from agent_envs.wrappers import BestTurnReward
        >>> env = BestTurnReward(GuessNumberEnv(low=1, high=11))
        >>> _ = env.reset(seed=0)
        >>> _ = env.step("11")
        >>> twin = fork_env(env)
        >>> twin.best_score == env.best_score, twin.unwrapped is env.unwrapped
        (True, False)
        >>> _ = twin.step("1")
        >>> env.unwrapped.turn, twin.unwrapped.turn
        (1, 2)
    """
    layers = wrapper_layers(env)
    base = layers[-1]
    if not callable(getattr(base, "fork", None)):
        raise TypeError(f"{type(base).__name__} has no fork(); forking needs a TextEnv")
    forked: gym.Env = base.fork()
    for layer in reversed(layers[:-1]):
        twin = copy.copy(layer)
        state = {k: v for k, v in vars(layer).items() if k != "env"}
        twin.__dict__.update(copy.deepcopy(state))
        twin.env = forked
        hook = getattr(type(twin), "after_fork", None)
        if callable(hook):
            twin.after_fork(layer)
        forked = twin
    return forked


def end_after_next_step(env: gym.Env) -> int:
    """Ask every layer of ``env`` that supports it to report the next step as truncated.

    This is how a driver's turn cap ends an episode *through* the environment: reward
    wrappers (``agent_envs.wrappers``) then pay what they still hold. Returns how many
    layers will report it (0 for a stack without such a layer: nothing is pending there).

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> from agent_envs.wrappers import RewardSparsity
        >>> end_after_next_step(GuessNumberEnv()), end_after_next_step(
        ...     RewardSparsity(GuessNumberEnv(), mode="sparse"))
        (0, 1)
    """
    count = 0
    for layer in wrapper_layers(env):
        if callable(getattr(type(layer), "end_after_next_step", None)):
            layer.end_after_next_step()
            count += 1
    return count
