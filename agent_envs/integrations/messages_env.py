"""``MessagesEnv``: OpenAI chat messages in, chat messages out (SkyRL ``BaseTextEnv`` shape).

Tool-calling trainers think in messages, not strings: the model's turn is an assistant
message (maybe with structured ``tool_calls``) and the environment answers with new
messages to append (a ``tool`` message answering the call, or a ``user`` message).
This adapter gives any agent-envs id that interface, with the method names and return
shape of SkyRL-Gym's ``BaseTextEnv`` (``init(prompt) -> (messages, metadata)``;
``step(action) -> {"observations", "reward", "done", "metadata", "postprocessed_action"}``;
``close()``), without importing SkyRL.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import gymnasium as gym

from agent_envs.core.jsonable import to_jsonable
from agent_envs.rl.stepper import EpisodeStepper
from agent_envs.rl.trajectory import chat_message

__all__ = ["MessagesEnv", "assistant_text"]


def assistant_text(message: dict[str, Any] | str) -> str:
    """The reply text an environment sees for an assistant message.

    Structured OpenAI ``tool_calls`` are rendered as ``<tool_call>{"name", "arguments"}
    </tool_call>`` after the content (the form the ACS parser reads as a tool call; the other
    families read the text as it is).

    Example:
        >>> call = {"function": {"name": "simulate", "arguments": '{"w1": "2u"}'}}
        >>> assistant_text({"role": "assistant", "content": "try", "tool_calls": [call]})
        'try\\n<tool_call>{"name": "simulate", "arguments": {"w1": "2u"}}</tool_call>'
        >>> assistant_text("42")
        '42'
    """
    if isinstance(message, str):
        return message
    if not isinstance(message, dict):
        return repr(message)
    content = message.get("content")
    parts = [content if isinstance(content, str) else ""] if content else []
    for call in message.get("tool_calls") or []:
        fn = call.get("function", call) if isinstance(call, dict) else {}
        args = fn.get("arguments", {}) if isinstance(fn, dict) else {}
        if isinstance(args, str):
            with contextlib.suppress(ValueError):  # the env explains malformed arguments
                args = json.loads(args)
        name = fn.get("name") if isinstance(fn, dict) else None
        body = json.dumps({"name": name, "arguments": args}, ensure_ascii=False)
        parts.append(f"<tool_call>{body}</tool_call>")
    return "\n".join(parts)


class MessagesEnv:
    """An agent-envs environment behind a messages-in/messages-out, SkyRL-shaped API.

    ``env_config`` (``{"env_id": ..., "env_kwargs": {...}, "max_turns": ...}``) picks the
    environment; ``extras`` carries the per-sample fields of a dataset row, of which
    ``seed`` picks the task (any key of ``env_config`` may also be given there).
    :meth:`init` resets and returns the environment's own opening messages (the dataset's
    prompt is replaced, so build the dataset with
    :func:`~agent_envs.integrations.trl_rewards.prompt_rows` to keep the two equal).
    :meth:`step` takes the model's turn (a string or an assistant message) and returns
    the messages to append: a ``tool`` message answering the first tool call when the
    assistant message had ``tool_calls`` with an ``id``, otherwise a ``user`` message;
    none once the episode is over. ``metadata`` is the step's ``info`` (JSON-safe).
    :attr:`chat_history` is the whole conversation.

    Example:
        >>> env = MessagesEnv({"env_id": "Toy-GuessNumber-v0"}, {"seed": 0})
        >>> messages, metadata = env.init()
        >>> [m["role"] for m in messages], "tools" in metadata
        (['system', 'user'], False)
        >>> out = env.step({"role": "assistant", "content": "50"})
        >>> out["observations"][0]["role"], out["done"], out["metadata"]["action_valid"]
        ('user', False, True)
        >>> len(env.chat_history)
        4
        >>> env.close()
    """

    def __init__(
        self, env_config: dict[str, Any] | None = None, extras: dict[str, Any] | None = None
    ) -> None:
        config = {**(env_config or {}), **(extras or {})}
        env_id = config.get("env_id")
        if not isinstance(env_id, str):
            raise ValueError(f"env_config or extras must name an env_id, got {env_id!r}")
        from agent_envs import make

        self.env: gym.Env = make(env_id, **dict(config.get("env_kwargs") or {}))
        self.seed = config.get("seed")
        self._stepper = EpisodeStepper(self.env, max_turns=config.get("max_turns"))
        self.chat_history: list[dict[str, Any]] = []

    def init(self, prompt: Any = None) -> tuple[list[dict[str, str]], dict[str, Any]]:
        """Reset with the row's seed; return the opening messages and the reset metadata."""
        messages = self._stepper.reset(seed=self.seed)
        self.chat_history = [dict(m) for m in messages]
        traj = self._stepper.trajectory
        metadata = {"seed": traj.seed, "env_id": traj.env_id}
        tools = self._stepper.reset_info.get("tools")
        if tools is not None:
            metadata["tools"] = to_jsonable(tools)
        return messages, metadata

    def step(self, action: dict[str, Any] | str) -> dict[str, Any]:
        """Play the model's turn; return ``observations``, ``reward``, ``done``, ``metadata``."""
        text = assistant_text(action)
        message = action if isinstance(action, dict) else chat_message("assistant", text)
        self.chat_history.append(dict(message))
        if self._stepper.done:
            info = {"action_valid": False, "action_error": "the episode is over; call init()"}
            return _step_output([], 0.0, True, info)
        self._stepper.step(text)
        turn = self._stepper.trajectory.turns[-1]
        done = self._stepper.done
        calls = message.get("tool_calls") or []
        first_id = calls[0].get("id") if calls and isinstance(calls[0], dict) else None
        if first_id is not None:
            reply = chat_message("tool", turn.observation, tool_call_id=first_id)
        else:
            (reply,) = turn.to_messages()[1:]
        self.chat_history.append(reply)
        return _step_output([] if done else [reply], turn.reward, done, turn.info)

    def close(self) -> None:
        """Close the environment; calling it twice is fine."""
        self.env.close()


def _step_output(
    observations: list[dict[str, Any]], reward: float, done: bool, info: dict[str, Any]
) -> dict[str, Any]:
    return {
        "observations": observations,
        "reward": float(reward),
        "done": bool(done),
        "metadata": to_jsonable(dict(info)),
        "postprocessed_action": None,
    }
