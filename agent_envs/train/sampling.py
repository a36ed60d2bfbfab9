"""Playing episodes with the policy: trajectory groups and turn-level groups, batched.

Each episode is an :class:`agent_envs.rl.EpisodeStepper` and its record an
:class:`agent_envs.rl.Trajectory`; a :class:`Sample` adds the token ids the
:class:`~agent_envs.train.sampler.Sampler` produced (re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from agent_envs.rl import (
    EpisodeStepper,
    Trajectory,
    Turn,
    TurnCandidate,
    choose_candidate,
    sample_turn_group,
    settle_turn_rewards,
    turn_is_grouped,
)
from agent_envs.train.chat import ChatFormat, Conversation
from agent_envs.train.sampler import Sampler

__all__ = [
    "Sampler",
    "Sample",
    "play_groups",
    "play_turn_groups",
    "episode_stats",
    "mean_or_nan",
]


@dataclass
class Sample:
    """One training sequence: a :class:`~agent_envs.rl.Trajectory` and its token ids.

    The trajectory is the episode's record (played by :class:`~agent_envs.rl.EpisodeStepper`,
    the loop every driver shares); ``conv`` holds the token ids the policy sampled and is
    trained on; ``group`` is the advantage group key. Everything else is read off the
    trajectory: ``turn_rewards``, ``replies``, ``success``, ``observations`` (the env
    message each turn answered, the task first: GiGPO's state key). ``cut`` marks an
    episode the trainer stopped because the context was full; ``bootstrap_pos`` is then,
    or after a truncation, the position whose hidden state gives ``V(s_T)`` for GAE (PPO).

    Example:
        >>> from agent_envs.rl import Trajectory, Turn
        >>> traj = Trajectory(None, 0, None, "1..9?", [Turn("lower.", "5", 0.5, {"best_score": 0.5}),
        ...                                          Turn("correct!", "3", 1.0, terminated=True)])
        >>> sample = Sample(traj, conv=None, group=0)
        >>> sample.turn_rewards, sample.replies, sample.observations, sample.best_score
        ([0.5, 1.0], ['5', '3'], ['1..9?', 'lower.', 'correct!'], 0.5)
        >>> sample.done, sample.terminated, sample.total_reward
        (True, True, 1.5)
    """

    trajectory: Trajectory
    conv: Conversation | None
    group: Any
    cut: bool = False  # the trainer stopped the episode: its context was full
    bootstrap_pos: int | None = None

    @property
    def turn_rewards(self) -> list[float]:
        """The per-turn rewards (settled ones when the reward scheme settles at the end)."""
        return self.trajectory.rewards

    @property
    def replies(self) -> list[str]:
        """The agent's decoded replies."""
        return self.trajectory.actions

    @property
    def observations(self) -> list[str]:
        """The task, then the env's answer to each turn."""
        return [self.trajectory.task] + [t.observation for t in self.trajectory.turns]

    @property
    def infos(self) -> list[dict[str, Any]]:
        """Each step's ``info``."""
        return [t.info for t in self.trajectory.turns]

    @property
    def success(self) -> bool:
        """Whether the last step reported success."""
        return self.trajectory.success

    @property
    def best_score(self) -> float | None:
        """The last ``best_score`` the env reported."""
        return self.trajectory.best_score

    @property
    def terminated(self) -> bool:
        """Whether the last step terminated the episode (False after a truncation or a cut)."""
        turns = self.trajectory.turns
        return bool(turns and turns[-1].terminated)

    @property
    def done(self) -> bool:
        """Whether the episode ended: terminated, truncated, capped, or cut by the trainer."""
        return self.cut or self.trajectory.done

    @property
    def total_reward(self) -> float:
        """The episode return with ``gamma = 1`` (``Trajectory.total_reward``)."""
        return self.trajectory.total_reward


def _start(
    env: Any, seed: int, fmt: ChatFormat, system_prompt: str | None, group: Any, max_turns: int
) -> tuple[EpisodeStepper, Sample]:
    stepper = EpisodeStepper(env, max_turns=max_turns, system_prompt=system_prompt)
    stepper.reset(seed=seed)
    traj = stepper.trajectory
    conv = Conversation.start(fmt, traj.system_prompt or "", traj.task)
    return stepper, Sample(traj, conv, group=group)


def _add_reply(sample: Sample, reply: list[int], sampler: Sampler) -> str:
    sample.conv.add_agent(reply, stop_ids=sampler.stop_ids)
    return sampler.tokenizer.decode(reply, skip_special_tokens=True)


def _continue(sample: Sample, sampler: Sampler, bootstrap: bool) -> None:
    """Append the env's message, or, at a truncation, mark where ``V(s_T)`` is read."""
    observation = sample.trajectory.turns[-1].observation
    if not sample.done:
        sample.conv.add_user(observation)
    elif bootstrap and not sample.terminated:
        sample.conv.add_user(observation)
        if sampler.fits(sample.conv.ids):
            sample.bootstrap_pos = len(sample.conv.ids) - 1


def _cut_if_too_long(sample: Sample, sampler: Sampler, bootstrap: bool) -> None:
    if not sample.done and not sampler.fits(sample.conv.ids):
        sample.cut = True  # the driver cuts: a truncation, V(s) is bootstrapped
        sample.trajectory.metadata["stopped"] = "context"
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
    of a group start from the same task (same seed). Each episode is an
    :class:`~agent_envs.rl.EpisodeStepper`; turns are batched across episodes. The turn
    cap ends each episode through its env (the wrappers see the truncation and pay what
    they hold). ``bootstrap`` records where ``V(s_T)`` of a truncated episode is read (PPO).
    """
    fmt = ChatFormat(sampler.tokenizer)
    started = [
        _start(env, seeds[k // group_size], fmt, system_prompt, k // group_size, max_turns)
        for k, env in enumerate(envs)
    ]
    steppers, samples = [st for st, _ in started], [s for _, s in started]
    for _turn in range(max_turns):
        for s in samples:
            _cut_if_too_long(s, sampler, bootstrap)
        active = [k for k, s in enumerate(samples) if not s.done]
        if not active:
            break
        replies = sampler([samples[k].conv.ids for k in active])
        for k, reply in zip(active, replies, strict=True):
            steppers[k].step(_add_reply(samples[k], reply, sampler))
            _continue(samples[k], sampler, bootstrap)
    return samples


def _candidate_sample(
    episode: Sample, candidate: TurnCandidate, reply: list[int], sampler: Sampler, key: Any
) -> Sample:
    """A one-turn training sample: the candidate's reply, its episode's history as context.

    Its trajectory starts at the state the candidate answered (``task`` is that message).
    """
    traj = episode.trajectory
    record = Trajectory(
        traj.env_id,
        traj.seed,
        traj.system_prompt,
        episode.observations[-1],
        env_version=traj.env_version,
        metadata={"turn": len(traj.turns)},
    )
    record.turns.append(
        Turn(
            candidate.observation,
            candidate.action,
            candidate.reward,
            candidate.info,
            candidate.terminated,
            candidate.truncated,
        )
    )
    if candidate.done:
        settle_turn_rewards(record)
    sample = Sample(record, episode.conv.context_copy(), group=key)
    sample.conv.add_agent(reply, stop_ids=sampler.stop_ids)
    return sample


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

    The turn groups are :func:`~agent_envs.rl.sample_turn_group` (each candidate acts in
    its own :func:`~agent_envs.rl.fork_env` of the whole wrapper stack, so candidates are
    paid by the run's reward scheme) with the replies sampled in one batch; the episode
    goes on from the candidate :func:`~agent_envs.rl.choose_candidate` picks (``best``
    turn reward, first on ties; ``random``; ``first``) through
    :meth:`~agent_envs.rl.EpisodeStepper.continue_with`; turns without a group play one
    reply in the episode's env. Returns ``(candidates, episodes)``: one single-turn
    training sample per candidate (group key ``(episode, turn)``; earlier turns are
    context only) and the episodes as played.
    """
    rng = rng if rng is not None else np.random.default_rng(0)
    fmt = ChatFormat(sampler.tokenizer)
    started = [
        _start(env, s, fmt, system_prompt, k, max_turns)
        for k, (env, s) in enumerate(zip(envs, seeds, strict=True))
    ]
    steppers, episodes = [st for st, _ in started], [e for _, e in started]
    candidates: list[Sample] = []
    try:
        for turn in range(max_turns):
            for e in episodes:
                _cut_if_too_long(e, sampler, False)
            active = [k for k, e in enumerate(episodes) if not e.done]
            if not active:
                break
            size = group_size if turn_is_grouped(turn, group_turns) else 1
            replies = sampler([episodes[k].conv.ids for k in active for _ in range(size)])
            for n, k in enumerate(active):
                tokens = replies[n * size : (n + 1) * size]
                texts = iter(
                    [sampler.tokenizer.decode(r, skip_special_tokens=True) for r in tokens]
                )
                episode, stepper = episodes[k], steppers[k]
                if size == 1:  # no group: the episode's own env plays the reply
                    chosen = 0
                    if choose == "random":  # the draw a group of one takes: same stream
                        rng.integers(1)
                    stepper.step(next(texts))
                else:
                    last = stepper.next_turn_is_last
                    group = sample_turn_group(
                        stepper.env,
                        lambda _m, t=texts: next(t),
                        stepper.prompt,
                        size,
                        last_turn=last,
                    )
                    candidates += [
                        _candidate_sample(episode, c, r, sampler, key=(k, turn))
                        for c, r in zip(group, tokens, strict=True)
                    ]
                    picked = choose_candidate(group, choose, rng=rng)
                    chosen = group.index(picked)
                    stepper.continue_with(picked)
                episode.conv.add_agent(tokens[chosen], stop_ids=sampler.stop_ids)
                if not episode.done:
                    episode.conv.add_user(episode.trajectory.turns[-1].observation)
    finally:
        for stepper in steppers:
            stepper.close_forks()
    return candidates, episodes


def episode_stats(episodes: list[Sample]) -> dict[str, float]:
    """Mean episode return, success rate and mean turn reward of played episodes.

    Example:
        >>> from agent_envs.rl import Trajectory, Turn
        >>> won = Trajectory(None, 0, None, "t", [Turn("o", "a", 1.0), Turn("o", "b", 0.0,
        ...                                        info={"success": True})])
        >>> lost = Trajectory(None, 0, None, "t", [Turn("o", "a", 0.5)])
        >>> episode_stats([Sample(won, None, 0), Sample(lost, None, 0)])
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
