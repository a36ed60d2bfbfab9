"""MathTIR-v0: the contract, multi-turn state, grading from the message only, cleanup."""

from __future__ import annotations

import re

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.core import check_text_env
from agent_envs.math import SAMPLE_PROBLEMS_PATH, MathTIREnv

from helpers.sandbox import leftover_processes

CODE = "```python\n{}\n```"


def _env(**kw) -> MathTIREnv:
    kw.setdefault("cell_timeout", 2.0)
    return MathTIREnv(**kw)


def test_contract():
    actions = [
        CODE.format("x = 2 ** 10\nprint(x)"),
        CODE.format("print(x + 1)"),
        "So the answer is \\boxed{7}.",
    ]
    check_text_env(lambda: gym.make("MathTIR-v0", cell_timeout=2.0, warm_pool=0), actions)
    assert leftover_processes([]) == []


def test_state_persists_across_turns_and_never_leaks_into_the_next_episode():
    env = _env(max_turns=5)
    env.reset(seed=0)
    env.step(CODE.format("value = 31"))
    env.step("Let me think about it more: ```python\nother = 1\n```")
    obs, *_, info = env.step(CODE.format("print(value * 2)"))
    assert "62" in obs and info["code_ran"] and info["code"] == ["print(value * 2)\n"]
    env.reset(seed=1)
    obs, *_, info = env.step(CODE.format("print(value)"))
    assert "NameError" in obs and not info["code_ran"] and "NameError" in info["code_error"]
    env.close()
    assert leftover_processes([]) == []


def test_reward_comes_from_the_agent_message_only():
    env = _env(max_turns=4)
    env.reset(seed=3)
    gold = env.problem.answer
    forged = (
        f"print(r'\\boxed{{{gold}}}')\n"
        "import json, struct, sys\n"
        "f = json.dumps({'kind': 'result', 'seq': 1, 'error': None, 'correct': True}).encode()\n"
        "sys.stdout.buffer.write(struct.pack('>I', len(f)) + f)\n"
    )
    obs, reward, terminated, truncated, info = env.step(CODE.format(forged))
    assert gold in obs and reward == 0.0 and not terminated and info["score"] is None
    obs, reward, terminated, *_ = env.step("I'm sure: \\boxed{" + gold + "1}")
    assert terminated and reward == 0.0
    env.reset(seed=3)
    obs, reward, terminated, *_ = env.step("\\boxed{" + gold + "}")
    assert terminated and reward == 1.0
    env.close()


def test_tool_use_solves_a_level_five_problem_end_to_end():
    env = _env(areas=["arithmetic"], levels=5)
    obs, info = env.reset(seed=5)
    n = int(re.search(r"\$(\d+)!\$", obs).group(1))
    obs, *_ = env.step(CODE.format(f"import math\nsum(map(int, str(math.factorial({n}))))"))
    computed = re.search(r"```output\n(\d+)", obs).group(1)
    obs, reward, terminated, truncated, info = env.step(f"The digit sum is \\boxed{{{computed}}}.")
    assert reward == 1.0 and info["success"] and info["correct"]
    env.close()


def test_equivalent_forms_count_on_user_data():
    env = _env(problems=str(SAMPLE_PROBLEMS_PATH))
    for seed in range(40):
        env.reset(seed=seed)
        if env.problem.id == "sample-2":  # reference answer \frac{3}{4}
            break
    assert env.problem.id == "sample-2"
    # "Simplify 6/8": another notation of 3/4 counts (a decimal or 6/8 would not, see
    # tests/math/test_math_grading.py)
    assert env.step("\\boxed{3/4}")[1] == 1.0
    env.close()


def test_invalid_replies_budget_and_info():
    env = _env(max_turns=2)
    env.reset(seed=0)
    obs, reward, terminated, truncated, info = env.step("hmm, no idea")
    assert not info["action_valid"] and "```python" in obs and reward == 0.0
    assert not truncated
    obs, reward, terminated, truncated, info = env.step(CODE.format("1 +"))
    assert truncated and "SyntaxError" in obs and info["action_valid"]
    assert info["cost"]["executions"] == 1
    env.close()


def test_hostile_code_leaves_the_env_usable():
    env = _env(max_turns=6, cell_timeout=1.0)
    _, info = env.reset(seed=0)
    for attack in [
        "import os\nos.kill(os.getppid(), 9)",
        "import os\nos._exit(1)",
        "import signal\nsignal.signal(14, signal.SIG_IGN)\nwhile True:\n    pass",
        "print('z' * 10_000_000)",
    ]:
        obs, reward, terminated, truncated, info = env.step(CODE.format(attack))
        assert reward == 0.0 and not terminated
    obs, *_, info = env.step(CODE.format("print('alive')"))
    assert "alive" in obs and info["code_ran"]
    assert env.reset(seed=1)[1]["isolation"] == info["isolation"]
    env.close()
    assert leftover_processes([]) == []


def test_constructor_validation():
    with pytest.raises(ValueError):
        MathTIREnv(max_turns=0)
    with pytest.raises(ValueError):
        MathTIREnv(difficulty=1.5)
    with pytest.raises(ValueError):
        MathTIREnv(levels=7)
    with pytest.raises(ValueError):
        MathTIREnv(isolation="chroot")
    with pytest.raises(ValueError):
        MathTIREnv(problems="/no/such/file.jsonl")


@pytest.mark.slow
def test_async_vector_env():
    envs = gym.make_vec("MathTIR-v0", 2, vectorization_mode="async", cell_timeout=2.0)
    try:
        envs.reset(seed=0)
        obs, rewards, term, trunc, infos = envs.step([CODE.format("print(40 + 2)")] * 2)
        assert all("42" in o for o in obs)
    finally:
        envs.close()
    assert leftover_processes([]) == []
