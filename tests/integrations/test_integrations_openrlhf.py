"""OpenRLHF 0.11: our AgentExecutor driven by OpenRLHF's own agent executor source.

OpenRLHF does not install without CUDA (flash-attn, vllm, deepspeed), so, like
OpenRLHF's own ``tests/test_agent.py``, the module files are loaded from its released
wheel (downloaded without dependencies by ``scripts/install_frameworks.sh`` into
``.frameworks/openrlhf``) with ``importlib``; ray/vllm are stubbed only where its
loader imports them. The engine answers with a deterministic bisection policy over a
character tokenizer (OpenRLHF's test uses the same tokenizer).
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace
from unittest.mock import MagicMock

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.integrations.openrlhf_agent import make_agent_executor
from agent_envs.rl import run_episode

from helpers.frameworks import ROOT, require

torch = require("torch")
require("aiohttp")

pytestmark = pytest.mark.usefixtures("no_open_episodes")
WHEELS = ROOT / ".frameworks" / "openrlhf"
FEEDBACK = "\nuser: {observation}\nassistant: "


def openrlhf_source(tmp_path_factory) -> Path:
    wheels = sorted(WHEELS.glob("openrlhf-0.11.*.whl"))
    if not wheels:
        require("openrlhf_wheel_in_.frameworks")  # skips, or fails under CI
    target = tmp_path_factory.mktemp("openrlhf")
    with zipfile.ZipFile(wheels[-1]) as wheel:
        wheel.extractall(target)
    return next(target.glob("openrlhf-*.data/purelib/openrlhf"))


@pytest.fixture(scope="module")
def openrlhf(tmp_path_factory):
    """OpenRLHF's ``utils/agent.py`` and ``trainer/ray/vllm_engine.py`` loaded from the wheel."""
    import importlib.util

    root = openrlhf_source(tmp_path_factory)
    saved = dict(sys.modules)
    sys.modules["openrlhf.utils.logging_utils"] = SimpleNamespace(init_logger=logging.getLogger)
    for name in (
        "ray",
        "ray.util",
        "ray.util.placement_group",
        "ray.util.scheduling_strategies",
        "vllm",
        "vllm.inputs",
        "vllm.utils",
        "openrlhf.trainer.ray.utils",
    ):
        sys.modules[name] = MagicMock()
    modules = {}
    for name, path in (
        ("openrlhf.utils.agent", "utils/agent.py"),
        ("openrlhf.trainer.ray.vllm_engine", "trainer/ray/vllm_engine.py"),
    ):
        spec = importlib.util.spec_from_file_location(name, root / path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        modules[path] = module
    yield SimpleNamespace(
        agent=modules["utils/agent.py"], engine=modules["trainer/ray/vllm_engine.py"]
    )
    for name in set(sys.modules) - set(saved):
        del sys.modules[name]
    sys.modules.update(saved)


def tokenizer(text, **kwargs):
    return {"input_ids": torch.tensor([[ord(c) for c in text]])}


def guess_from_text(text: str) -> int:
    low, high = 1, 100
    for guess, word in re.findall(r"Guess (\d+): (higher|lower)", text):
        if word == "higher":
            low = max(low, int(guess) + 1)
        else:
            high = min(high, int(guess) - 1)
    return (low + high) // 2


class BisectEngine:
    """vLLM-shaped engine: reads the context, answers the bisection guess."""

    def __init__(self):
        self.calls = 0

    async def generate(self, token_ids, params, **kwargs):
        self.calls += 1
        text = str(guess_from_text("".join(map(chr, token_ids))))
        ids = [ord(c) for c in text][: params.max_tokens]
        return SimpleNamespace(
            outputs=[SimpleNamespace(token_ids=ids, text=text, finish_reason="stop", logprobs=None)]
        )


def bisect_policy(messages):
    return str(guess_from_text("\n".join(m["content"] for m in messages)))


def local_return(seed: int) -> tuple[float, int]:
    env = gym.make("Toy-GuessNumber-v0")
    try:
        traj = run_episode(env, bisect_policy, seed=seed)
        return traj.total_reward, len(traj.turns)
    finally:
        env.close()


def agent_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "agent_func.py"
    path.write_text(body)
    return path


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_openrlhf_loader_and_executor_play_the_episode(openrlhf, tmp_path, seed):
    path = agent_file(
        tmp_path,
        (
            "from agent_envs.integrations.openrlhf_agent import make_agent_executor\n"
            f"AgentExecutor = make_agent_executor('Toy-GuessNumber-v0', feedback_template={FEEDBACK!r})\n"
        ),
    )
    executor = openrlhf.engine._load_agent_executor(str(path))  # OpenRLHF's own loader
    assert isinstance(executor, openrlhf.agent.MultiTurnAgentExecutor)
    engine = BisectEngine()
    out = asyncio.run(
        executor.execute(
            "Guess the number.",
            f'{{"seed": {seed}}}',
            SimpleNamespace(max_tokens=None, logprobs=None),
            4096,
            tokenizer,
            engine,
        )
    )
    expected, turns = local_return(seed)
    assert engine.calls == turns == len(out["action_ranges"])
    assert out["reward"] == pytest.approx(expected)
    assert float(out["scores"]) == pytest.approx(expected)  # scores: the episode return
    assert out["extra_logs"]["turn"] == turns
    assert not out["truncated"]


def test_budget_exhausted_sample_still_closes_its_env(openrlhf):
    executor_cls = make_agent_executor(
        "Toy-GuessNumber-v0", feedback_template=FEEDBACK, agent_module=openrlhf.agent
    )
    prompt = "Guess the number."
    # room for the prompt, one answer and one feedback only: the loop stops before `done`
    out = asyncio.run(
        executor_cls().execute(
            prompt,
            '{"seed": 3}',
            SimpleNamespace(max_tokens=None, logprobs=None),
            len(prompt) + 30,
            tokenizer,
            BisectEngine(),
        )
    )
    assert len(out["action_ranges"]) == 1


def test_bad_label_is_a_clear_error(openrlhf):
    executor = make_agent_executor("Toy-GuessNumber-v0", agent_module=openrlhf.agent)()
    with pytest.raises(ValueError, match="JSON object"):
        asyncio.run(
            executor.execute(
                "p",
                "not json",
                SimpleNamespace(max_tokens=None, logprobs=None),
                64,
                tokenizer,
                BisectEngine(),
            )
        )


def test_instance_is_an_openrlhf_agent_instance(openrlhf):
    executor = make_agent_executor("Toy-GuessNumber-v0", agent_module=openrlhf.agent)()
    assert issubclass(executor.agent_instance_cls, openrlhf.agent.AgentInstanceBase)
    with pytest.raises(ValueError, match="observation"):
        make_agent_executor(
            "Toy-GuessNumber-v0", feedback_template="x", agent_module=openrlhf.agent
        )
