"""Playing episodes with the policy: batched sampling, trajectory groups, turn-level groups."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from agent_envs.rl import end_after_next_step, fork_env, observation_text, turn_is_grouped
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
    """One training sequence: a conversation, its turn rewards, and its group key.

    ``observations[t]`` is the environment message turn ``t`` answered (the task first),
    the state key of GiGPO's step groups. ``terminated`` is False for an episode the env
    or the driver truncated; ``bootstrap_pos`` is then the position whose hidden state
    gives ``V(s_T)`` for GAE (PPO), when it was recorded.
    """

    conv: Conversation
    group: Any
    turn_rewards: list[float] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)  # the agent's decoded replies
    success: bool = False
    done: bool = False  # the episode ended (terminated, truncated, or cut by the driver)
    terminated: bool = False
    observations: list[str] = field(default_factory=list)
    best_score: float | None = None
    bootstrap_pos: int | None = None
    infos: list[dict[str, Any]] = field(default_factory=list)  # each step's info

    @property
    def total_reward(self) -> float:
        """Sum of the turn rewards (the episode return with ``gamma = 1``)."""
        return float(sum(self.turn_rewards))


def _start(env: Any, seed: int, fmt: ChatFormat, system_prompt: str | None, group: Any) -> Sample:
    observation, info = env.reset(seed=seed)
    system = info.get("system_prompt", "") if system_prompt is None else system_prompt
    text = observation_text(observation)
    return Sample(Conversation.start(fmt, system, text), group=group, observations=[text])


def _step(env: Any, sample: Sample, reply: list[int], sampler: Sampler, last: bool) -> str:
    """Play ``reply`` in ``env``; ``last`` ends the episode through the env (turn cap)."""
    sample.conv.add_agent(reply, stop_ids=sampler.stop_ids)
    text = sampler.tokenizer.decode(reply, skip_special_tokens=True)
    if last:
        end_after_next_step(env)
    observation, reward, terminated, truncated, info = env.step(text)
    sample.turn_rewards.append(float(reward))
    sample.replies.append(text)
    sample.infos.append(dict(info))
    sample.success = bool(info.get("success", False))
    sample.terminated = bool(terminated)
    sample.done = bool(terminated or truncated) or last
    best = info.get("best_score")
    sample.best_score = float(best) if isinstance(best, (int, float)) else sample.best_score
    settled = info.get("episode_rewards")
    settles = isinstance(settled, (list, tuple)) and len(settled) == len(sample.turn_rewards)
    if sample.done and settles:  # a scheme (normalized-dense) settled on the outcome
        sample.turn_rewards = [float(r) for r in settled]
    text = observation_text(observation)
    sample.observations.append(text)
    return text


def _continue(sample: Sample, observation: str, sampler: Sampler, bootstrap: bool) -> None:
    """Append the env's message, or, at a truncation, mark where ``V(s_T)`` is read."""
    if not sample.done:
        sample.conv.add_user(observation)
    elif bootstrap and not sample.terminated:
        sample.conv.add_user(observation)
        if sampler.fits(sample.conv.ids):
            sample.bootstrap_pos = len(sample.conv.ids) - 1


def _cut_if_too_long(sample: Sample, sampler: Sampler, bootstrap: bool) -> None:
    if not sample.done and not sampler.fits(sample.conv.ids):
        sample.done = True  # the driver cuts: a truncation, V(s) is bootstrapped
        if bootstrap and sample.conv.ids:
            sample.bootstrap_pos = len(sample.conv.ids) - 1


def play_groups(
    envs: list[Any],
    seeds: list[int],
    sampler: Sampler,
    *,
    group_size: int,
    max_turns: int,
    system_prompt: str | None = None,
    bootstrap: bool = False,
) -> list[Sample]:
    """Play ``group_size`` episodes per seed (``envs`` holds ``len(seeds) * group_size``).

    Episode ``k`` of the returned list belongs to group ``k // group_size``; all episodes
    of a group start from the same task (same seed). Turns are batched across episodes.
    The turn cap ends each episode through its env (the wrappers see the truncation and
    pay what they hold). ``bootstrap`` records where ``V(s_T)`` of a truncated episode
    is read (PPO).
    """
    fmt = ChatFormat(sampler.tokenizer)
    samples = [
        _start(env, seeds[k // group_size], fmt, system_prompt, k // group_size)
        for k, env in enumerate(envs)
    ]
    for turn in range(max_turns):
        for s in samples:
            _cut_if_too_long(s, sampler, bootstrap)
        active = [k for k, s in enumerate(samples) if not s.done]
        if not active:
            break
        replies = sampler([samples[k].conv.ids for k in active])
        for k, reply in zip(active, replies, strict=True):
            observation = _step(envs[k], samples[k], reply, sampler, turn == max_turns - 1)
            _continue(samples[k], observation, sampler, bootstrap)
    return samples


def play_turn_groups(
    envs: list[Any],
    seeds: list[int],
    sampler: Sampler,
    *,
    group_size: int,
    max_turns: int,
    system_prompt: str | None = None,
    group_turns: str = "all",
    choose: str = "best",
    rng: np.random.Generator | None = None,
) -> tuple[list[Sample], list[Sample]]:
    """TL-GRPO rollouts: at the turns ``group_turns`` selects, G candidates from one state.

    Each candidate acts in its own :func:`~agent_envs.rl.fork_env` of the environment:
    the whole wrapper stack, so candidates are paid by the run's reward scheme. The
    episode goes on from the candidate ``choose`` picks (``best`` turn reward, first on
    ties; ``random``; ``first``); turns without a group play one reply. Returns
    ``(candidates, episodes)``: one single-turn training sample per candidate (group key
    ``(episode, turn)``; earlier turns are context only) and the episodes as played.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    fmt = ChatFormat(sampler.tokenizer)
    trunks = list(envs)
    episodes = [
        _start(env, s, fmt, system_prompt, k)
        for k, (env, s) in enumerate(zip(trunks, seeds, strict=True))
    ]
    candidates: list[Sample] = []
    for turn in range(max_turns):
        last = turn == max_turns - 1
        for e in episodes:
            _cut_if_too_long(e, sampler, False)
        active = [k for k, e in enumerate(episodes) if not e.done]
        if not active:
            break
        size = group_size if turn_is_grouped(turn, group_turns) else 1
        replies = sampler([episodes[k].conv.ids for k in active for _ in range(size)])
        for n, k in enumerate(active):
            group, outcomes = replies[n * size : (n + 1) * size], []
            for reply in group:
                fork = fork_env(trunks[k]) if size > 1 else trunks[k]
                cand = Sample(episodes[k].conv.context_copy(), group=(k, turn))
                cand.observations = [episodes[k].observations[-1]]
                observation = _step(fork, cand, reply, sampler, last)
                if size > 1:
                    candidates.append(cand)
                outcomes.append((cand.turn_rewards[0], fork, observation, reply, cand))
            if choose == "best":
                chosen = max(range(size), key=lambda i: outcomes[i][0])
            else:
                chosen = int(rng.integers(size)) if choose == "random" else 0
            for i, (_, fork, *_rest) in enumerate(outcomes):
                if i != chosen:
                    fork.close()
            reward, fork, observation, reply, cand = outcomes[chosen]
            if fork is not trunks[k]:
                if trunks[k] is not envs[k]:
                    trunks[k].close()
                trunks[k] = fork
            episode = episodes[k]
            episode.conv.add_agent(reply, stop_ids=sampler.stop_ids)
            episode.turn_rewards.append(reward)
            episode.replies += cand.replies
            episode.infos += cand.infos
            episode.observations.append(observation)
            episode.success, episode.done = cand.success, cand.done
            episode.terminated, episode.best_score = cand.terminated, cand.best_score
            if not episode.done:
                episode.conv.add_user(observation)
    for k, trunk in enumerate(trunks):
        if trunk is not envs[k]:
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
