"""``check_text_env``: the contract of ``docs/contract.md`` as one reusable check.

Every environment's test suite calls it, so each id is held to the same contract.
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable, Sequence

import gymnasium as gym
from gymnasium.utils.env_checker import check_env

from agent_envs.core.info import STEP_INFO_KEYS

__all__ = ["GARBAGE_ACTIONS", "check_text_env"]

#: Replies every environment must survive without raising.
GARBAGE_ACTIONS: tuple[str, ...] = (
    "",
    " ",
    "\x00\x01\x02",
    "🙂" * 50,
    "\ud800 lone surrogate",
    "x" * 5000,
    "{" * 300,
    '{"name": 1, "arguments": [}',
    "```python\n" + "(" * 200 + "\n```",
    ".control\nshell rm -rf /\n.endc",
    "nan inf -inf 1e999",
    "\\boxed{",
)


def _rollout(env: gym.Env, seed: int, actions: Sequence[str]) -> list:
    obs, info = env.reset(seed=seed)
    trace = [obs, info.get("system_prompt")]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trace.append((obs, reward, terminated, truncated, info.get("score")))
        if terminated or truncated:
            break
    return trace


def check_text_env(
    make_env: Callable[[], gym.Env],
    actions: Sequence[str],
    *,
    seed: int = 0,
    garbage: Sequence[str] = GARBAGE_ACTIONS,
) -> None:
    """Assert the environment contract; raise ``AssertionError`` naming what broke.

    ``actions`` is a short list of sensible replies for this environment.
    Checked: Gymnasium's ``check_env`` with no warnings; the standard info keys;
    seeded reproducibility; ``fork()`` gives the same state and stays independent;
    pickling round-trips the state; garbage replies never raise; ``close()`` twice.

    Example:
        >>> from agent_envs.toy import GuessNumberEnv
        >>> check_text_env(GuessNumberEnv, ["50", "25", "75"])
    """
    env = make_env()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            check_env(env.unwrapped, skip_render_check=True)
        messages = [str(w.message) for w in caught]
        assert not messages, f"check_env warned: {messages}"

        # standard keys on every step, even for garbage
        env.reset(seed=seed)
        for action in list(garbage) + list(actions):
            obs, reward, terminated, truncated, info = env.step(action)
            assert isinstance(obs, str) and env.observation_space.contains(obs), obs[:200]
            missing = [k for k in STEP_INFO_KEYS if k not in info]
            assert not missing, f"info lacks {missing} after {action[:40]!r}"
            assert isinstance(reward, float), type(reward)
            if terminated or truncated:
                env.reset(seed=seed)

        # seeded reproducibility
        first = _rollout(env, seed, actions)
        second = _rollout(env, seed, actions)
        assert first == second, "same seed and actions gave different rollouts"

        # fork: same state, independent afterwards
        env.reset(seed=seed)
        if actions:
            env.step(actions[0])
        base = env.unwrapped
        twin = base.fork()
        try:
            assert twin.turn == base.turn and twin.actions == base.actions
            assert twin.np_random.bit_generator.state == base.np_random.bit_generator.state
            rest = list(actions[1:]) or list(actions)
            out_twin = [twin.step(a)[:4] for a in rest[:2]]
            assert base.turn == 1 or not actions, "acting in the fork changed the original"
            out_base = [base.step(a)[:4] for a in rest[:2]]
            assert out_twin == out_base, "fork diverged from the original on the same actions"
        finally:
            twin.close()

        # pickling keeps the state
        env.reset(seed=seed)
        if actions:
            env.step(actions[0])
        clone = pickle.loads(pickle.dumps(env.unwrapped))
        try:
            assert clone.turn == env.unwrapped.turn
            if len(actions) > 1:
                assert clone.step(actions[1])[:4] == env.unwrapped.step(actions[1])[:4]
        finally:
            clone.close()
    finally:
        env.close()
        env.close()
