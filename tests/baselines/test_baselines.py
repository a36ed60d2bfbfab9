"""Black-box baselines: they play through the text protocol, learn, and beat random."""

from __future__ import annotations

import math
from types import SimpleNamespace

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.baselines import POLICIES, make_policy
from agent_envs.baselines.space import from_unit, to_unit
from agent_envs.bench.task import EpisodeTask, play_task

from helpers import blackbox_env  # registers Test-BlackBox-v0

BLACK_BOX = ["random", "sobol", "bo", "cmaes"]
ACS_IDS = [env_id for env_id in gym.registry if env_id.startswith("ACS-")]


def play(env, policy, seed, turns):
    obs, info = env.reset(seed=seed)
    policy.reset(env, seed=seed)
    messages = [
        {"role": "system", "content": info["system_prompt"]},
        {"role": "user", "content": obs},
    ]
    actions, infos = [], []
    for _ in range(turns):
        action = policy.act(messages, info)
        obs, _, terminated, truncated, info = env.step(action)
        messages += [{"role": "assistant", "content": action}, {"role": "user", "content": obs}]
        actions.append(action)
        infos.append(info)
        if terminated or truncated:
            break
    return actions, infos


@pytest.mark.parametrize("name", BLACK_BOX)
def test_plays_valid_designs_and_is_seeded(name):
    env = gym.make(blackbox_env.ENV_ID, budget=7)
    try:
        actions, infos = play(env, make_policy(name), seed=3, turns=7)
        again, _ = play(env, make_policy(name), seed=3, turns=7)
        other, _ = play(env, make_policy(name), seed=4, turns=7)
    finally:
        env.close()
    assert all(i["action_valid"] for i in infos), [i["action_error"] for i in infos]
    assert infos[-1]["cost"]["simulations"] == len(actions)
    assert actions == again  # same seed, same designs
    assert actions != other


@pytest.mark.parametrize("name", ["bo", "cmaes"])
def test_unscored_designs_do_not_break_the_optimizer(name):
    # Scores of None (failed simulations) before and after real ones.
    space = [SimpleNamespace(name=n, low=0.0, high=1.0, log=False, default=0.5) for n in "abc"]
    policy = make_policy(name)
    policy.start_space(space, seed=0)
    told = []
    for i in range(10):
        design = policy.ask()
        assert all(0.0 <= v <= 1.0 for v in design.values())
        score = None if i % 3 == 0 else -sum((v - 0.3) ** 2 for v in design.values())
        policy.tell(score)
        told += [] if score is None else [score]
    assert policy.failure_value() == min(told)  # the worst real score stands in for None


def test_unit_cube_mapping_round_trips_log_and_linear():
    space = [
        SimpleNamespace(name="w", low=1e-7, high=1e-3, log=True),
        SimpleNamespace(name="v", low=-1.0, high=3.0, log=False),
    ]
    for unit in ([0.0, 0.0], [1.0, 1.0], [0.123, 0.987]):
        values = from_unit(unit, space)
        assert 1e-7 <= values["w"] <= 1e-3 and -1.0 <= values["v"] <= 3.0
        assert to_unit(values, space) == pytest.approx(unit, abs=1e-9)
    assert math.isclose(from_unit([0.25, 0.5], space)["w"], 1e-6)


@pytest.mark.parametrize("name", BLACK_BOX)
def test_refuses_an_env_without_a_design_space(name):
    env = gym.make("Toy-GuessNumber-v0")
    env.reset(seed=0)
    with pytest.raises(TypeError, match="design_space"):
        make_policy(name).reset(env, seed=0)


def test_registry_names():
    assert {"random", "sobol", "bo", "cmaes"} <= set(POLICIES)
    with pytest.raises(ValueError, match="unknown policy"):
        make_policy("no-such-policy")


def test_every_circuit_folder_is_registered():
    assert len(ACS_IDS) >= 9  # the parametrization below must not run empty


@pytest.mark.parametrize("env_id", ACS_IDS)
@pytest.mark.parametrize("name", BLACK_BOX)
def test_plays_every_acs_id(env_id, name):
    env = gym.make(env_id, budget=3)
    try:
        actions, infos = play(env, make_policy(name), seed=0, turns=3)
    finally:
        env.close()
    assert len(actions) == 3 or infos[-1]["success"]  # an early success ends the episode
    assert all(i["action_valid"] for i in infos), [i["action_error"] for i in infos]
    assert infos[-1]["cost"]["simulations"] >= 1


@pytest.mark.slow
def test_bo_beats_random_on_a_smooth_objective():
    """Paired over 10 seeds (same task per seed), one-sided Wilcoxon signed-rank at 1%.

    A 2-variable bump with 12 simulations keeps the GP cheap; the 4-variable version with
    more seeds is ``benchmarks/bo_vs_random.py``.
    """
    from scipy.stats import wilcoxon

    seeds = range(10)
    env_kwargs = {"budget": 12, "dims": 2, "target": 0.98}

    def best(policy, seed):
        task = EpisodeTask(f"helpers.blackbox_env:{blackbox_env.ENV_ID}", policy, seed, env_kwargs)
        record = play_task(task)
        assert record["error"] is None, record["error"]
        return record["best_score"]

    bo = [best("bo", s) for s in seeds]
    rnd = [best("random", s) for s in seeds]
    assert wilcoxon(bo, rnd, alternative="greater").pvalue < 0.01, (bo, rnd)


def test_the_test_env_keeps_the_contract():
    from agent_envs.core import check_text_env

    env = blackbox_env.BlackBoxTestEnv(budget=4)
    designs = [env.format_action({v.name: v.default for v in env.design_space})]
    designs.append("w1 = 20u\nl1 = 2u\nib = 50u\nvb = 0.3")
    check_text_env(lambda: blackbox_env.BlackBoxTestEnv(budget=4), designs)
