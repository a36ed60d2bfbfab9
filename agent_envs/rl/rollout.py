"""Play episodes with any policy ``messages -> reply``: single, grouped, and turn-level groups."""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np

from agent_envs.rl.forking import end_after_next_step, fork_env
from agent_envs.rl.policy import Policy
from agent_envs.rl.stepper import EpisodeStepper, observation_text
from agent_envs.rl.trajectory import Trajectory

__all__ = [
    "Policy",
    "TurnCandidate",
    "run_episode",
    "run_group",
    "sample_turn_group",
    "choose_candidate",
    "run_turn_level_episode",
    "turn_is_grouped",
]


def run_episode(
    env: gym.Env, policy: Policy, *, seed: int | None = None, max_turns: int | None = None
) -> Trajectory:
    """Reset ``env`` with ``seed`` and let ``policy`` play until the episode ends.

    The policy gets the chat so far: the observation itself when the env is wrapped in
    :class:`~agent_envs.wrappers.ChatMessages` (so its history truncation applies),
    otherwise the full history built here. ``max_turns`` ends the episode through the env
    (the last allowed step is reported truncated to the wrappers, so pending rewards are
    paid; the trajectory's ``metadata["stopped"]`` is then ``"max_turns"``). Each turn keeps the messages the
    policy saw in ``Turn.prompt``.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> traj = run_episode(GuessNumberEnv(max_turns=3), lambda messages: "50", seed=0)
        >>> len(traj.turns), traj.seed, traj.to_messages()[2]["content"]
        (3, 0, '50')
    """
    stepper = EpisodeStepper(env, max_turns=max_turns)
    prompt = stepper.reset(seed=seed)
    while not stepper.done:
        prompt = stepper.step(policy(prompt))
    return stepper.trajectory


def run_group(
    env: gym.Env, policy: Policy, *, seed: int, group_size: int, max_turns: int | None = None
) -> list[Trajectory]:
    """Play ``group_size`` episodes from the same ``seed`` (the same task): a GRPO group.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> group = run_group(GuessNumberEnv(max_turns=2), lambda m: "7", seed=3, group_size=4)
        >>> len(group), {t.task for t in group} == {group[0].task}, {t.seed for t in group}
        (4, True, {3})
    """
    if not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f"group_size must be a positive int, got {group_size!r}")
    return [run_episode(env, policy, seed=seed, max_turns=max_turns) for _ in range(group_size)]


@dataclass
class TurnCandidate:
    """One of G replies sampled from the same turn state, played in its own forked env.

    ``env`` is the fork *after* the step (the whole wrapper stack, forked by
    :func:`~agent_envs.rl.fork_env`): continue the episode in it, or :meth:`close` it.
    """

    env: Any
    action: str
    observation: str
    reward: float
    terminated: bool
    truncated: bool
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        """Whether this candidate's step ended the episode."""
        return self.terminated or self.truncated

    def close(self) -> None:
        """Close the forked environment."""
        self.env.close()


def sample_turn_group(
    env: gym.Env,
    policy: Policy,
    messages: list[dict[str, str]],
    group_size: int,
    *,
    last_turn: bool = False,
) -> list[TurnCandidate]:
    """Sample ``group_size`` replies to ``messages`` and play each in a fork of ``env``.

    Every candidate starts from :func:`~agent_envs.rl.fork_env` of ``env``: the whole
    wrapper stack with its state on a fork of the base env (same task, history and random
    state), so rewards are those of ``env``'s reward scheme; ``env`` itself is not stepped.
    ``last_turn=True`` ends the episode through each fork (a driver's turn cap: the
    wrappers see truncation and pay what they hold). This is the group of TL-GRPO
    (:func:`~agent_envs.rl.advantages.tl_grpo_advantages`).

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env = GuessNumberEnv()
        >>> _ = env.reset(seed=0)
        >>> replies = iter(["10", "50", "90"])
        >>> group = sample_turn_group(env, lambda m: next(replies), [], group_size=3)
        >>> [c.action for c in group], env.turn, [c.env.turn for c in group]
        (['10', '50', '90'], 0, [1, 1, 1])
    """
    if not isinstance(group_size, int) or group_size < 1:
        raise ValueError(f"group_size must be a positive int, got {group_size!r}")
    base = env.unwrapped
    if not callable(getattr(base, "fork", None)):
        raise TypeError(f"{type(base).__name__} has no fork(); turn-level groups need a TextEnv")
    candidates = []
    for _ in range(group_size):
        action = policy(copy.deepcopy(messages))
        twin = fork_env(env)
        if last_turn:
            end_after_next_step(twin)
        observation, reward, terminated, truncated, info = twin.step(action)
        truncated = bool(truncated) or (last_turn and not terminated)
        candidates.append(
            TurnCandidate(
                env=twin,
                action=action if isinstance(action, str) else repr(action),
                observation=observation_text(observation),
                reward=float(reward),
                terminated=bool(terminated),
                truncated=bool(truncated),
                info=dict(info),
            )
        )
    return candidates


def choose_candidate(
    candidates: Sequence[TurnCandidate],
    choose: str = "best",
    *,
    rng: np.random.Generator | None = None,
    close_others: bool = True,
) -> TurnCandidate:
    """Pick the member to continue with: ``"best"`` reward (first on ties; NaN counts as
    lowest), ``"random"`` (uniform, from ``rng``) or ``"first"``. The other members' forks
    are closed unless ``close_others=False``.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> env = GuessNumberEnv()
        >>> _ = env.reset(seed=0)
        >>> replies = iter(["1", "50", "100"])
        >>> group = sample_turn_group(env, lambda m: next(replies), [], group_size=3)
        >>> best = choose_candidate(group, "best")
        >>> best.reward == max(c.reward for c in group), choose_candidate(group, "first").action
        (True, '1')
    """
    if not candidates:
        raise ValueError("no candidates to choose from")
    if choose == "first":
        chosen = 0
    elif choose == "random":
        chosen = int((rng or np.random.default_rng()).integers(len(candidates)))
    elif choose == "best":
        keys = [c.reward if math.isfinite(c.reward) else -math.inf for c in candidates]
        chosen = int(np.argmax(keys))
    else:
        raise ValueError(f"choose must be 'best', 'random' or 'first', got {choose!r}")
    if close_others:
        for i, candidate in enumerate(candidates):
            if i != chosen:
                candidate.close()
    return candidates[chosen]


def turn_is_grouped(turn: int, group_turns: str = "all") -> bool:
    """Whether turn ``turn`` (0-based) samples a group under the rule ``group_turns``.

    ``"all"``: every turn; ``"first:K"``: turns 0..K-1; ``"every:K"``: turns 0, K, 2K, ...
    (the other turns sample a single reply and carry no turn-level group).

    Example:
        >>> [turn_is_grouped(t, "first:2") for t in range(4)]
        [True, True, False, False]
        >>> [turn_is_grouped(t, "every:2") for t in range(4)]
        [True, False, True, False]
        >>> turn_is_grouped(0, "some")
        Traceback (most recent call last):
        ...
        ValueError: group_turns must be 'all', 'first:K' or 'every:K' (K >= 1), got 'some'
    """
    if group_turns == "all":
        return True
    kind, _, k = group_turns.partition(":") if isinstance(group_turns, str) else ("", "", "")
    if kind in ("first", "every") and k.isdigit() and int(k) >= 1:
        return turn < int(k) if kind == "first" else turn % int(k) == 0
    raise ValueError(
        f"group_turns must be 'all', 'first:K' or 'every:K' (K >= 1), got {group_turns!r}"
    )


def run_turn_level_episode(
    env: gym.Env,
    policy: Policy,
    *,
    seed: int | None = None,
    group_size: int,
    choose: str = "best",
    group_turns: str = "all",
    max_turns: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[Trajectory, list[list[TurnCandidate]]]:
    """Play an episode where turns sample a group of candidates and continue with one.

    At each turn that :func:`turn_is_grouped` selects: :func:`sample_turn_group` from the
    current state, record the group, and continue in the chosen member's fork
    (:func:`choose_candidate`: ``best``, ``random`` or ``first``); the other turns play a
    single reply (in a fork too). It is :class:`EpisodeStepper` driven through
    :meth:`~EpisodeStepper.continue_with`. Returns the chosen path as a :class:`Trajectory` (its
    ``metadata["grouped_turns"]`` lists the turns that sampled a group) and the groups
    (their forks are closed; the data stays), ready for
    :func:`~agent_envs.rl.advantages.tl_grpo_advantages` per group. ``env`` is only
    reset, never stepped; the forks carry its whole wrapper stack, and ``max_turns`` ends
    the episode through them. ``rng`` drives ``choose="random"`` (seeded from ``seed``
    when not given).

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> replies = iter(str(n) for n in range(1, 100))
        >>> traj, groups = run_turn_level_episode(GuessNumberEnv(max_turns=2),
        ...     lambda m: next(replies), seed=0, group_size=3)
        >>> len(traj.turns), [len(g) for g in groups]
        (2, [3, 3])
    """
    if rng is None:
        rng = np.random.default_rng(seed)
    turn_is_grouped(0, group_turns)  # validate before playing
    stepper = EpisodeStepper(env, max_turns=max_turns)
    prompt = stepper.reset(seed=seed)
    traj = stepper.trajectory
    traj.metadata.update(group_size=group_size, choose=choose, group_turns=group_turns)
    traj.metadata["grouped_turns"] = []
    groups: list[list[TurnCandidate]] = []
    try:
        while not stepper.done:
            turn = len(traj.turns)
            grouped = turn_is_grouped(turn, group_turns)
            size = group_size if grouped else 1
            last = stepper.next_turn_is_last
            group = sample_turn_group(stepper.env, policy, prompt, size, last_turn=last)
            if grouped:
                groups.append(group)
                traj.metadata["grouped_turns"].append(turn)
            prompt = stepper.continue_with(choose_candidate(group, choose, rng=rng))
    finally:
        stepper.close_forks()
    return traj, groups
