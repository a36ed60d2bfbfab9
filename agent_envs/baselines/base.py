"""The policy protocol the baselines follow (:class:`agent_envs.rl.Policy`) and chat helpers.

There is one policy protocol in agent-envs, :class:`agent_envs.rl.Policy`: messages in,
the whole reply out, with the optional ``reset``/``act``/``close`` hooks that
:func:`agent_envs.baselines.play_episode` and the benchmark call, and its batched and
async forms (:func:`~agent_envs.rl.batch_policy`, :func:`~agent_envs.rl.async_policy`).
``agent_envs.baselines.Policy`` and ``agent_envs.baselines.base.Policy`` are that class,
re-exported here so baselines import it from their own package.
"""

from __future__ import annotations

from typing import Any

from agent_envs.rl.policy import Message, Policy, async_policy, batch_policy
from agent_envs.rl.trajectory import Trajectory, Turn

__all__ = [
    "Policy",
    "Message",
    "batch_policy",
    "async_policy",
    "start_messages",
    "extend_messages",
    "turn_seed",
]


def start_messages(
    observation: str, info: dict[str, Any], *, system_prompt: str | None = None
) -> list[Message]:
    """Build the opening message list from the observation and info of ``env.reset``.

    The system message is ``system_prompt`` if given, else ``info["system_prompt"]``
    (omitted when neither is set); the observation is the first user message. The list
    is :meth:`agent_envs.rl.Trajectory.to_messages` of the episode before its first turn
    (the one place the chat is built); drivers use :class:`~agent_envs.rl.EpisodeStepper`.

    Example:
        >>> start_messages("Guess the number.", {"system_prompt": "Reply with an integer."})
        [{'role': 'system', 'content': 'Reply with an integer.'}, {'role': 'user', 'content': 'Guess the number.'}]
        >>> start_messages("Hi", {})
        [{'role': 'user', 'content': 'Hi'}]
    """
    system = system_prompt if system_prompt is not None else info.get("system_prompt")
    return Trajectory(None, None, str(system) if system else None, str(observation)).to_messages()


def extend_messages(messages: list[Message], reply: str, observation: str) -> list[Message]:
    """Append the agent's ``reply`` and the environment's answer ``observation`` in place.

    Returns ``messages`` for chaining. A non-string reply is recorded as its ``str``.
    The two messages are those :meth:`agent_envs.rl.Trajectory.to_messages` writes for
    one turn.

    Example:
        >>> messages = [{"role": "user", "content": "Guess."}]
        >>> extend_messages(messages, "50", "Guess 50: lower.")[-2:]
        [{'role': 'assistant', 'content': '50'}, {'role': 'user', 'content': 'Guess 50: lower.'}]
    """
    turn = Turn(
        observation=str(observation), action=reply if isinstance(reply, str) else str(reply)
    )
    messages.extend(Trajectory(None, None, None, "", [turn]).to_messages()[1:])
    return messages


def turn_seed(seed: int | None, turn: int) -> int | None:
    """Derive a per-turn sampling seed from an episode seed (``None`` stays ``None``).

    Distinct turns and distinct episode seeds give distinct, reproducible seeds in
    ``[0, 2**31)``, the range most inference servers accept.

    Example:
        >>> turn_seed(7, 0) == turn_seed(7, 0), turn_seed(7, 0) != turn_seed(7, 1)
        (True, True)
        >>> turn_seed(None, 3) is None
        True
    """
    if seed is None:
        return None
    # SplitMix64-style mixing: cheap, deterministic across processes (unlike hash()).
    x = (int(seed) * 0x9E3779B97F4A7C15 + int(turn) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
    x ^= x >> 31
    x = (x * 0x94D049BB133111EB) & (2**64 - 1)
    x ^= x >> 29
    return int(x % (2**31))
