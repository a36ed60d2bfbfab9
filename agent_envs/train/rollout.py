"""Playing episodes with the policy: batched sampling, trajectory groups, turn-level groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent_envs.train.chat import ChatFormat, Conversation

__all__ = [
    "Sampler",
    "Sample",
    "play_groups",
    "play_turn_groups",
    "episode_stats",
    "mean_or_nan",
]


class Sampler:
    """Samples one reply per context, batched, with the policy's own distribution.

    Plain temperature sampling (no top-k/top-p), so the sampled tokens come from the
    distribution the policy gradient assumes. Returns token ids up to and including the
    first stop token, or ``max_new_tokens`` ids when none came.

    Example:
        >>> import torch
        >>> from agent_envs.train.policy import load_policy
        >>> _ = torch.manual_seed(0)
        >>> model, tok = load_policy("tiny")
        >>> sampler = Sampler(model, tok, max_new_tokens=5)
        >>> replies = sampler([[2, 10, 11], [2, 12]])
        >>> len(replies), all(1 <= len(r) <= 5 for r in replies)
        (2, True)
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_new_tokens: int,
        temperature: float = 1.0,
        autocast_dtype: Any = None,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.autocast_dtype = autocast_dtype
        stops = {tokenizer.eos_token_id}
        configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        stops.update(configured if isinstance(configured, (list, tuple)) else [configured])
        #: Token ids that end a reply (the tokenizer's eos and the model's configured ones).
        self.stop_ids: set[int] = {s for s in stops if s is not None}
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        #: Longest context + reply the model takes; a longer episode is cut (truncated).
        self.max_length = getattr(model.config, "max_position_embeddings", None)

    def fits(self, context: list[int]) -> bool:
        """Whether a reply of ``max_new_tokens`` still fits after ``context``."""
        return self.max_length is None or len(context) + self.max_new_tokens <= self.max_length

    def __call__(self, contexts: list[list[int]]) -> list[list[int]]:
        """One sampled reply (token ids) per context."""
        import torch
        from transformers import GenerationConfig

        if not contexts:
            return []
        device = next(self.model.parameters()).device
        width = max(len(c) for c in contexts)
        ids = torch.full((len(contexts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for row, context in enumerate(contexts):  # left padding: replies start aligned
            ids[row, width - len(context) :] = torch.tensor(context)
            attention[row, width - len(context) :] = 1
        config = GenerationConfig(
            do_sample=True,
            temperature=self.temperature,
            top_k=0,
            top_p=1.0,
            max_new_tokens=self.max_new_tokens,
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.stop_ids),
        )
        with (
            torch.no_grad(),
            torch.autocast(
                device.type, self.autocast_dtype, enabled=self.autocast_dtype is not None
            ),
        ):
            out = self.model.generate(
                input_ids=ids.to(device),
                attention_mask=attention.to(device),
                generation_config=config,
            )
        replies = []
        for row in out[:, width:].tolist():
            reply = []
            for token in row:
                reply.append(token)
                if token in self.stop_ids:
                    break
            replies.append(reply)
        return replies


@dataclass
class Sample:
    """One training sequence: a conversation, its turn rewards, and its group key."""

    conv: Conversation
    group: Any
    turn_rewards: list[float] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # the agent's decoded replies
    success: bool = False
    done: bool = False  # the environment ended the episode (terminated or truncated)

    @property
    def total_reward(self) -> float:
        """Sum of the turn rewards (the episode return with ``gamma = 1``)."""
        return float(sum(self.turn_rewards))


def _start(env: Any, seed: int, fmt: ChatFormat, system_prompt: str | None) -> Conversation:
    observation, info = env.reset(seed=seed)
    system = info.get("system_prompt", "") if system_prompt is None else system_prompt
    return Conversation.start(fmt, system, observation)


def _step(env: Any, sample: Sample, reply: list[int], sampler: Sampler, last: bool) -> str:
    sample.conv.add_agent(reply, stop_ids=sampler.stop_ids)
    text = sampler.tokenizer.decode(reply, skip_special_tokens=True)
    observation, reward, terminated, truncated, info = env.step(text)
    sample.turn_rewards.append(float(reward))
    sample.replies.append(text)
    sample.success = bool(info.get("success", False))
    sample.done = bool(terminated or truncated) or last
    return observation


def play_groups(
    envs: list[Any],
    seeds: list[int],
    sampler: Sampler,
    *,
    group_size: int,
    max_turns: int,
    system_prompt: str | None = None,
) -> list[Sample]:
    """Play ``group_size`` episodes per seed (``envs`` holds ``len(seeds) * group_size``).

    Episode ``k`` of the returned list belongs to group ``k // group_size``; all episodes
    of a group start from the same task (same seed). Turns are batched across episodes.
    """
    fmt = ChatFormat(sampler.tokenizer)
    samples = [
        Sample(_start(env, seeds[k // group_size], fmt, system_prompt), group=k // group_size)
        for k, env in enumerate(envs)
    ]
    for turn in range(max_turns):
        for s in samples:
            s.done = s.done or not sampler.fits(s.conv.ids)
        active = [k for k, s in enumerate(samples) if not s.done]
        if not active:
            break
        replies = sampler([samples[k].conv.ids for k in active])
        for k, reply in zip(active, replies, strict=True):
            observation = _step(envs[k], samples[k], reply, sampler, turn == max_turns - 1)
            if not samples[k].done:
                samples[k].conv.add_user(observation)
    return samples


def play_turn_groups(
    envs: list[Any],
    seeds: list[int],
    sampler: Sampler,
    *,
    group_size: int,
    max_turns: int,
    system_prompt: str | None = None,
) -> tuple[list[Sample], list[Sample]]:
    """TL-GRPO rollouts: at every turn, ``group_size`` candidates from the same state.

    Each candidate acts in its own ``fork()`` of the environment; the episode goes on
    from the best candidate (highest turn reward, first on ties). Returns
    ``(candidates, episodes)``: one single-turn training sample per candidate (group key
    ``(episode, turn)``; earlier turns are context only) and the episodes as played.
    """
    fmt = ChatFormat(sampler.tokenizer)
    trunks = [env.unwrapped for env in envs]
    episodes = [
        Sample(_start(env, s, fmt, system_prompt), group=k)
        for k, (env, s) in enumerate(zip(trunks, seeds, strict=True))
    ]
    candidates: list[Sample] = []
    for turn in range(max_turns):
        for e in episodes:
            e.done = e.done or not sampler.fits(e.conv.ids)
        active = [k for k, e in enumerate(episodes) if not e.done]
        if not active:
            break
        replies = sampler([episodes[k].conv.ids for k in active for _ in range(group_size)])
        for n, k in enumerate(active):
            group, outcomes = replies[n * group_size : (n + 1) * group_size], []
            for reply in group:
                fork = trunks[k].fork()
                cand = Sample(episodes[k].conv.context_copy(), group=(k, turn))
                observation = _step(fork, cand, reply, sampler, turn == max_turns - 1)
                candidates.append(cand)
                outcomes.append((cand.turn_rewards[0], fork, observation, reply, cand))
            best = max(range(group_size), key=lambda i: outcomes[i][0])
            for i, (_, fork, *_rest) in enumerate(outcomes):
                if i != best:
                    fork.close()
            reward, fork, observation, reply, cand = outcomes[best]
            if trunks[k] is not envs[k].unwrapped:
                trunks[k].close()
            trunks[k] = fork
            episode = episodes[k]
            episode.conv.add_agent(reply, stop_ids=sampler.stop_ids)
            episode.turn_rewards.append(reward)
            episode.replies += cand.replies
            episode.success, episode.done = cand.success, cand.done
            if not episode.done:
                episode.conv.add_user(observation)
    for k, trunk in enumerate(trunks):
        if trunk is not envs[k].unwrapped:
            trunk.close()
    return candidates, episodes


def episode_stats(episodes: list[Sample]) -> dict[str, float]:
    """Mean episode return, success rate and mean turn reward of played episodes.

    Example:
        >>> episode_stats([Sample(None, 0, [1.0, 0.0], success=True), Sample(None, 0, [0.5])])
        {'episode_return': 0.75, 'success': 0.5, 'turn_reward': 0.5}
    """
    return {
        "episode_return": mean_or_nan([e.total_reward for e in episodes]),
        "success": mean_or_nan([float(e.success) for e in episodes]),
        "turn_reward": mean_or_nan([r for e in episodes for r in e.turn_rewards]),
    }


def mean_or_nan(values: list[float]) -> float:
    """The mean, or NaN for no values (logged as an empty cell).

    Example:
        >>> mean_or_nan([1.0, 2.0]), mean_or_nan([])
        (1.5, nan)
    """
    return float(np.mean(values)) if values else float("nan")
