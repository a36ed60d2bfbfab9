"""Supervised fine-tuning on expert episodes: collect, export as chat JSONL, train.

The data format is one JSON object per line, ``{"messages": [...]}`` with OpenAI-style
roles (system, user, assistant, ...): the conversational format TRL's ``SFTTrainer``
reads (``assistant_only_loss=True`` trains on the assistant turns only, as here), and
most other trainers too. The loss here is the mean negative log-likelihood of the
agent's tokens only: system, task and observations are context.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agent_envs.rl import EpisodeStepper, Trajectory
from agent_envs.train.chat import ChatFormat, Conversation
from agent_envs.train.experts import expert_policy, keeps_failures

__all__ = [
    "collect_expert_episodes",
    "write_chat_jsonl",
    "read_chat_jsonl",
    "sft_conversation",
    "sft_loss",
]


def collect_expert_episodes(
    env_id: str,
    seeds: Sequence[int],
    *,
    env_kwargs: dict[str, Any] | None = None,
    max_turns: int | None = None,
    expert: str | None = None,
    keep_failures: bool | None = None,
) -> list[Trajectory]:
    """Play the family's expert (:func:`~agent_envs.train.experts.expert_policy`) on ``seeds``.

    Failed episodes are dropped unless ``keep_failures`` (default: only for ACS, whose
    optimizer traces are demonstrations of search whether or not they meet the specs).

    Example:
        >>> episodes = collect_expert_episodes("Toy-GuessNumber-v0", [0, 1])
        >>> len(episodes), all(t.success for t in episodes)
        (2, True)
    """
    from agent_envs import make

    keep = keeps_failures(env_id) if keep_failures is None else keep_failures
    policy = expert_policy(env_id, expert)
    env = make(env_id, **(env_kwargs or {}))
    out = []
    try:
        for seed in seeds:
            stepper = EpisodeStepper(env, max_turns=max_turns)
            prompt = stepper.reset(seed=int(seed))
            policy.reset(env, seed=int(seed))
            info = stepper.reset_info
            while not stepper.done:
                prompt = stepper.step(policy.act(prompt, info))
                info = stepper.trajectory.turns[-1].info
            traj = stepper.trajectory
            traj.metadata["expert"] = policy.name
            if traj.turns and (keep or traj.success):
                out.append(traj)
    finally:
        env.close()
        policy.close()
    return out


def write_chat_jsonl(episodes: Sequence[Trajectory], path: str | Path) -> int:
    """Write ``{"messages": [...]}`` per episode (the final observation dropped); return the count.

    Example:
        >>> import tempfile, os
        >>> episodes = collect_expert_episodes("Toy-GuessNumber-v0", [0])
        >>> path = os.path.join(tempfile.mkdtemp(), "expert.jsonl")
        >>> write_chat_jsonl(episodes, path), read_chat_jsonl(path)[0][-1]["role"]
        (1, 'assistant')
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as f:
        for t in episodes:
            f.write(json.dumps({"messages": t.to_messages(include_last_observation=False)}) + "\n")
    return len(episodes)


def read_chat_jsonl(path: str | Path) -> list[list[dict[str, str]]]:
    """The message lists of a chat JSONL file (raises ``ValueError`` on a malformed line)."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            messages = json.loads(line)["messages"]
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{n}: not a {{'messages': [...]}} line ({err})") from None
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) for m in messages
        ):
            raise ValueError(f"{path}:{n}: messages must be a list of role/content dicts")
        out.append(messages)
    return out


def sft_conversation(
    fmt: ChatFormat,
    messages: list[dict[str, str]],
    *,
    stop_id: int,
    system_prompt: str | None = None,
) -> Conversation:
    """Tokenize an expert chat exactly as the RL rollouts do; only assistant tokens masked in.

    ``system_prompt`` replaces the data's system message (as ``--system-prompt`` does in
    RL), so SFT and RL condition on the same text. Each assistant reply ends with
    ``stop_id`` (the token the sampler stops at), so the model learns to stop.

    Example:
        >>> from agent_envs.train.tiny import build_tiny_tokenizer
        >>> tok = build_tiny_tokenizer()
        >>> conv = sft_conversation(ChatFormat(tok), [{"role": "user", "content": "hi"},
        ...     {"role": "assistant", "content": "42"}], stop_id=tok.eos_token_id)
        >>> tok.decode([i for i, m in zip(conv.ids, conv.mask) if m], skip_special_tokens=False)
        '42<|im_end|>'
    """
    system = next((m["content"] for m in messages if m.get("role") == "system"), "")
    if system_prompt is not None:
        system = system_prompt
    rest = [m for m in messages if m.get("role") != "system"]
    if not rest or rest[0].get("role") != "user":
        raise ValueError("an expert chat starts with the task (a user message)")
    conv = Conversation.start(fmt, system, rest[0]["content"])
    for m in rest[1:]:
        if m.get("role") == "assistant":
            ids = fmt.tokenizer(m["content"], add_special_tokens=False)["input_ids"]
            conv.add_agent([*ids, stop_id], stop_ids={stop_id})
        else:
            conv.add_user(m["content"])
    return conv


def sft_loss(
    model: Any, convs: Sequence[Conversation], *, pad_id: int, autocast_dtype: Any = None
) -> tuple[Any, int]:
    """``(summed NLL of the agent tokens, number of agent tokens)`` of one micro-batch.

    Example:
        >>> import torch
        >>> from agent_envs.train.policy import load_policy
        >>> _ = torch.manual_seed(0)
        >>> model, tok = load_policy("tiny")
        >>> conv = sft_conversation(ChatFormat(tok), [{"role": "user", "content": "hi"},
        ...     {"role": "assistant", "content": "7"}], stop_id=tok.eos_token_id)
        >>> loss, n = sft_loss(model, [conv], pad_id=tok.pad_token_id)
        >>> n, loss.item() > 0
        (2, True)
    """
    import torch

    from agent_envs.train.loss import pad_sequences, token_logprobs

    device = next(model.parameters()).device
    ids = pad_sequences([c.ids for c in convs], pad_id, torch.long).to(device)
    attention = pad_sequences([[1] * len(c.ids) for c in convs], 0, torch.long).to(device)
    mask = pad_sequences([c.mask[1:] for c in convs], 0, torch.float32).to(device)
    logp, _ = token_logprobs(model, ids, attention, autocast_dtype=autocast_dtype)
    return -(logp * mask).sum(), int(mask.sum().item())
