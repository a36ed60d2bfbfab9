"""LLM policies with a real model (SmolLM2-135M-Instruct, GGUF, CPU), end to end.

The model is loaded once per session and shared by the local policy and by a real
OpenAI-compatible HTTP server on 127.0.0.1, so the endpoint policy is tested against
real generations over real HTTP.
"""

from __future__ import annotations

import http.client
import json
import os
import pickle
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.baselines import (
    ChatCompletionServer,
    ContextLengthError,
    GenerationParams,
    HFLocalPolicy,
    OpenAIChatPolicy,
    load_smollm2,
    play_episode,
    smollm2_path,
)

pytest.importorskip("transformers")
pytestmark = pytest.mark.slow

SAMPLING = {"temperature": 1.0, "max_tokens": 6}


CLI_TEST = "test_serve_command_line"


@pytest.fixture(scope="module", autouse=True)
def serve_process(request):
    """Start ``python -m agent_envs.baselines.serve`` early (when its test is selected), so
    its model load overlaps the in-process one; the CLI test talks to it at the end."""
    if not any(item.name == CLI_TEST for item in request.session.items):
        yield None
        return
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    command = ["-m", "agent_envs.baselines.serve", "--model", "smollm2", "--threads", "1"]
    process = subprocess.Popen(
        [sys.executable, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    yield process
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@pytest.fixture(scope="session")
def smollm2():
    model = load_smollm2()
    # One CPU thread: several times faster on a busy shared CPU, and what CI has anyway.
    model.threads = 1
    return model


@pytest.fixture(scope="session")
def server(smollm2):
    with ChatCompletionServer(smollm2, max_tokens_limit=10**6) as server:
        yield server


def guess_env(max_turns: int = 3) -> gym.Env:
    return gym.make("Toy-GuessNumber-v0", max_turns=max_turns)


def replies(episode) -> list[str]:
    return [m["content"] for m in episode.messages if m["role"] == "assistant"]


def test_local_policy_plays_an_episode(smollm2):
    policy = HFLocalPolicy(smollm2, seed=0, **SAMPLING)
    episode = play_episode(guess_env(), policy, seed=3)
    assert episode.turns == 3 or episode.success
    assert policy.errors == 0 and episode.policy_errors == [None] * episode.turns
    assert all(isinstance(r, str) for r in replies(episode))
    assert 0 < policy.usage["completion_tokens"] <= 6 * episode.turns
    assert policy.usage["prompt_tokens"] > 0 and policy.usage["requests"] == episode.turns
    # The conversation the model saw grows turn by turn, starting with the env's prompt.
    assert episode.messages[0] == {"role": "system", "content": episode.infos[0]["system_prompt"]}


def test_seeded_sampling_is_reproducible(smollm2):
    runs = {}
    for seed in (0, 0, 1):
        policy = HFLocalPolicy(smollm2, seed=7, **SAMPLING)
        runs.setdefault(seed, []).append(replies(play_episode(guess_env(2), policy, seed=seed)))
    assert runs[0][0] == runs[0][1]
    assert runs[1][0] != runs[0][0]  # another episode seed samples other replies


def test_endpoint_policy_matches_local_policy_over_http(smollm2, server):
    """Same model, same seeds: the HTTP round trip changes nothing in the replies."""
    remote = OpenAIChatPolicy(
        smollm2.name, base_url=server.base_url, api_key="", seed=5, timeout=120, **SAMPLING
    )
    local = HFLocalPolicy(smollm2, seed=5, **SAMPLING)
    over_http = play_episode(guess_env(2), remote, seed=2)
    in_process = play_episode(guess_env(2), local, seed=2)
    assert remote.errors == 0, remote.last_error
    assert replies(over_http) == replies(in_process)
    assert remote.usage["completion_tokens"] == local.usage["completion_tokens"] > 0
    assert [i["action_valid"] for i in over_http.infos[1:]] == [
        i["action_valid"] for i in in_process.infos[1:]
    ]


def test_greedy_decoding_ignores_the_seed(smollm2):
    chat = [{"role": "user", "content": "Name a colour."}]
    a = smollm2.generate(chat, GenerationParams(temperature=0.0, max_tokens=4, seed=1))
    b = smollm2.generate(chat, GenerationParams(temperature=0.0, max_tokens=4, seed=2))
    assert a == b and a.completion_tokens <= 4


def test_stop_sequences_cut_the_reply(smollm2):
    chat = [{"role": "user", "content": "Count from 1 to 20 separated by commas."}]
    free = smollm2.generate(chat, GenerationParams(temperature=0.0, max_tokens=8))
    assert len(free.text) >= 4
    stop = free.text[len(free.text) // 2 :][:2]  # a piece of what greedy decoding writes
    cut = smollm2.generate(chat, GenerationParams(temperature=0.0, max_tokens=8, stop=(stop,)))
    assert cut.text == free.text[: free.text.index(stop)] and cut.finish_reason == "stop"


def test_prompt_too_long(smollm2, server):
    limit = smollm2.context_length
    chat = [{"role": "user", "content": "hello"}]
    with pytest.raises(ContextLengthError):
        smollm2.generate(chat, GenerationParams(max_tokens=limit))
    body = json.dumps({"model": smollm2.name, "messages": chat, "max_tokens": limit})
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    connection.request("POST", "/v1/chat/completions", body=body)
    response = connection.getresponse()
    error = json.loads(response.read())["error"]
    connection.close()
    assert response.status == 400 and error["code"] == "context_length_exceeded"
    # The local policy drops old turns to fit, and answers "" when even the last message
    # cannot fit; the run goes on.
    long_chat = [
        {"role": "system", "content": "Answer briefly."},
        {"role": "user", "content": "word " * limit},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "Say hi."},
    ]
    fitted = HFLocalPolicy(smollm2, max_tokens=4, temperature=0.0)
    assert isinstance(fitted(long_chat), str) and fitted.last_error is None
    assert 0 < fitted.usage["prompt_tokens"] < 100  # the long turn was dropped
    policy = HFLocalPolicy(smollm2, max_tokens=limit - 10)
    assert policy([{"role": "system", "content": "hi"}, *chat * 3]) == ""
    assert "ContextLengthError" in policy.last_error
    with pytest.raises(ContextLengthError):
        HFLocalPolicy(smollm2, max_tokens=limit, on_error="raise")(chat)


def test_local_policy_from_a_path_is_lazy_and_pickles():
    policy = HFLocalPolicy(smollm2_path(), max_tokens=4)
    clone = pickle.loads(pickle.dumps(policy))
    assert clone.name == policy.name == "hf:SmolLM2-135M-Instruct.Q4_1"
    assert policy._model is None and clone._model is None  # nothing loaded yet
    with pytest.raises(TypeError):
        HFLocalPolicy(42)


def test_serve_command_line(serve_process):
    """``python -m agent_envs.baselines.serve --model smollm2`` serves a working endpoint."""
    line = serve_process.stdout.readline()  # blocks until the model is loaded
    assert line.startswith("Serving 'SmolLM2-135M-Instruct.Q4_1' at http://127.0.0.1:"), line
    base_url = line.split(" at ")[1].split()[0]
    with urllib.request.urlopen(base_url + "/models", timeout=30) as answer:
        assert json.load(answer)["data"][0]["id"] == "SmolLM2-135M-Instruct.Q4_1"
    policy = OpenAIChatPolicy(
        "SmolLM2-135M-Instruct.Q4_1", base_url=base_url, api_key="", max_tokens=4, timeout=120
    )
    reply = policy([{"role": "user", "content": "Say hi."}])
    assert policy.errors == 0 and isinstance(reply, str)
    # SIGTERM (a service manager's stop) ends it like Ctrl-C: cleanly, exit status 0. (SIGINT
    # itself cannot be tested everywhere: a CI job started in the background ignores it,
    # and the ignored disposition is inherited by this child.)
    serve_process.send_signal(signal.SIGTERM)
    assert serve_process.wait(timeout=30) == 0
