"""The policy protocol, OpenAIChatPolicy's failure handling, the server's HTTP errors (fast).

Misbehaving endpoints are real HTTP servers on 127.0.0.1 that answer badly on purpose;
the chat server is tested with a rule-based model here (the real model is in
``test_baselines_llm.py``).
"""

from __future__ import annotations

import http.client
import json
import pickle
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import gymnasium as gym
import pytest

import agent_envs  # noqa: F401  (registers the ids)
from agent_envs.baselines import (
    ChatCompletionServer,
    Completion,
    EndpointError,
    OpenAIChatPolicy,
    Policy,
    play_episode,
    turn_seed,
)


class Recorder(Policy):
    """Guesses low..high in order and records what the protocol hands it."""

    name = "recorder"

    def __init__(self) -> None:
        self.calls: list[tuple[list[dict], dict]] = []
        self.resets: list[tuple[int | None, int]] = []

    def reset(self, env: gym.Env, *, seed: int | None = None) -> None:
        self.resets.append((seed, env.unwrapped.turn))
        self.next_guess = env.unwrapped.low

    def act(self, messages, info):
        self.calls.append(([dict(m) for m in messages], dict(info)))
        self.next_guess += 1
        return str(self.next_guess - 1)


def test_run_episode_follows_the_protocol():
    env = gym.make("Toy-GuessNumber-v0", low=1, high=100, max_turns=4)
    policy = Recorder()
    episode = play_episode(env, policy, seed=5)
    assert policy.resets == [(5, 0)]  # reset after env.reset, with the same seed
    assert episode.turns == len(policy.calls) == len(episode.rewards) == 4
    assert len(episode.infos) == 5 and "system_prompt" in episode.infos[0]
    assert episode.truncated and not episode.terminated
    roles = [m["role"] for m in episode.messages]
    assert roles == ["system", "user"] + ["assistant", "user"] * 4
    for turn, (messages, info) in enumerate(policy.calls):
        assert messages == episode.messages[: 2 + 2 * turn]  # the chat so far
        assert info == episode.infos[turn]  # the last reset/step info
    assert [m["content"] for m in episode.messages[2::2]] == ["1", "2", "3", "4"]
    assert episode.policy_errors == [None] * 4


def test_policy_is_a_plain_callable():
    policy = Recorder()
    policy.next_guess = 7
    assert policy([{"role": "user", "content": "go"}]) == "7"
    assert policy.calls[0][1] == {}
    with pytest.raises(TypeError):
        Policy()  # abstract: act is required


def test_one_policy_protocol_everywhere():
    import asyncio

    from agent_envs import baselines, integrations, rl
    from agent_envs.integrations import ray_rollouts

    assert baselines.Policy is rl.Policy and baselines.base.Policy is rl.Policy
    assert integrations.AsyncPolicy is rl.AsyncPolicy and ray_rollouts.BatchPolicy is rl.BatchPolicy
    assert baselines.batch_policy is rl.batch_policy and baselines.async_policy is rl.async_policy
    # any callable is a policy; other objects are not
    assert isinstance(lambda messages: "1", rl.Policy) and isinstance(Recorder(), rl.Policy)
    assert not isinstance("50", rl.Policy) and not isinstance(None, rl.Policy)
    # the batched and async forms give the call's replies
    policy = Recorder()
    policy.next_guess = 1
    prompts = [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]]
    assert rl.batch_policy(policy)(prompts) == ["1", "2"]
    assert asyncio.run(rl.async_policy(policy)(prompts[0])) == "3"
    assert rl.batch_policy(lambda m: m[-1]["content"] * 2)(prompts) == ["aa", "bb"]


def test_turn_seeds_are_distinct_and_stable():
    seeds = {turn_seed(s, t) for s in range(50) for t in range(50)}
    assert len(seeds) == 2500
    assert all(0 <= s < 2**31 for s in seeds)
    assert turn_seed(123, 4) == turn_seed(123, 4)


# ------------------------------------------------------------------ scripted endpoints
class ScriptedEndpoint:
    """A real HTTP server answering each POST with the next scripted (status, headers, body)."""

    def __init__(self, answers: list[tuple[int, dict, bytes]]) -> None:
        self.answers, self.requests = list(answers), []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((self.path, dict(self.headers), json.loads(body)))
                status, headers, data = outer.answers.pop(0) if outer.answers else (500, {}, b"")
                self.send_response(status)
                for key, value in {"Content-Length": str(len(data)), **headers}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def completion_json(text: str | None) -> bytes:
    return json.dumps(
        {"choices": [{"message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}
    ).encode()


@pytest.fixture
def scripted():
    servers = []

    def make(*answers):
        servers.append(ScriptedEndpoint(list(answers)))
        return servers[-1]

    yield make
    for server in servers:
        server.close()


def policy_for(url: str, **kw) -> OpenAIChatPolicy:
    kw = {"api_key": "", "max_retries": 2, "backoff": 0.0, "timeout": 5.0, **kw}
    return OpenAIChatPolicy("m", base_url=url, **kw)


def test_request_carries_model_settings_seed_and_key(scripted):
    endpoint = scripted((200, {}, completion_json("50")))
    policy = policy_for(endpoint.base_url, api_key="sk-test", temperature=0.3, max_tokens=9, seed=4)
    policy.reset(gym.make("Toy-GuessNumber-v0"), seed=11)
    assert policy([{"role": "user", "content": "go"}]) == "50"
    path, headers, body = endpoint.requests[0]
    assert path == "/v1/chat/completions"
    assert headers["Authorization"] == "Bearer sk-test"
    assert body["model"] == "m" and body["messages"] == [{"role": "user", "content": "go"}]
    assert (body["temperature"], body["max_tokens"]) == (0.3, 9)
    assert body["seed"] == turn_seed(turn_seed(11, 4), 0)
    assert "sk-test" not in repr(policy)


def test_unseeded_policy_sends_no_seed_and_no_empty_key(scripted):
    endpoint = scripted((200, {}, completion_json(None)))
    policy = policy_for(endpoint.base_url)
    assert policy([{"role": "user", "content": "go"}]) == ""  # null content is an empty reply
    _, headers, body = endpoint.requests[0]
    assert "seed" not in body and "Authorization" not in headers
    assert policy.last_error is None and policy.errors == 0


def test_endpoint_down_gives_empty_reply_and_reason():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    policy = policy_for(f"http://127.0.0.1:{port}/v1")
    env = gym.make("Toy-GuessNumber-v0", max_turns=2)
    episode = play_episode(env, policy, seed=0)
    assert episode.turns == 2 and policy.errors == 2
    assert all("cannot reach" in e and "after 3 tries" in e for e in episode.policy_errors)
    assert all(info["action_valid"] is False for info in episode.infos[1:])
    strict = policy_for(f"http://127.0.0.1:{port}/v1", on_error="raise", max_retries=0)
    with pytest.raises(EndpointError, match="cannot reach"):
        strict([{"role": "user", "content": "go"}])


def test_timeout_is_reported():
    with socket.socket() as sock:  # accepts connections (kernel backlog), never answers
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        policy = policy_for(f"http://127.0.0.1:{sock.getsockname()[1]}/v1", timeout=0.3)
        policy.max_retries = 1
        assert policy([{"role": "user", "content": "go"}]) == ""
    assert "timed out after 0.3 s" in policy.last_error and "after 2 tries" in policy.last_error


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((200, {}, b"<html>not json</html>"), "not JSON"),
        ((200, {}, b'{"object": "chat.completion"}'), "malformed chat completion"),
        ((200, {}, b'{"choices": []}'), "malformed chat completion"),
        (
            (200, {}, json.dumps({"choices": [{"message": {"content": 5}}]}).encode()),
            "not a string",
        ),
    ],
)
def test_garbage_answers_are_retried_then_reported(scripted, answer, message):
    endpoint = scripted(answer, answer, answer)
    policy = policy_for(endpoint.base_url)
    assert policy([{"role": "user", "content": "go"}]) == ""
    assert message in policy.last_error and len(endpoint.requests) == 3


def test_transient_errors_are_retried(scripted):
    endpoint = scripted(
        (503, {"Retry-After": "0"}, b'{"error": {"message": "busy"}}'),
        (429, {}, b"slow down"),
        (200, {}, completion_json("42")),
    )
    policy = policy_for(endpoint.base_url)
    assert policy([{"role": "user", "content": "go"}]) == "42"
    assert policy.errors == 0 and len(endpoint.requests) == 3


def test_client_errors_are_not_retried(scripted):
    endpoint = scripted((401, {}, b'{"error": {"message": "bad key"}}'))
    policy = policy_for(endpoint.base_url)
    assert policy([{"role": "user", "content": "go"}]) == ""
    assert "HTTP 401: bad key (not retried)" in policy.last_error
    assert len(endpoint.requests) == 1


def test_constructor_validation_and_environment(monkeypatch):
    monkeypatch.delenv("OPENAI_MODEL", raising=False)
    with pytest.raises(ValueError, match="model"):
        OpenAIChatPolicy()
    for bad in ({"base_url": "ftp://x"}, {"timeout": 0}, {"max_retries": -1}, {"on_error": "x"}):
        with pytest.raises(ValueError):
            OpenAIChatPolicy("m", **bad)
    with pytest.raises(ValueError):
        OpenAIChatPolicy("m", temperature=-1)
    monkeypatch.setenv("OPENAI_MODEL", "env-model")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    policy = OpenAIChatPolicy()
    assert (policy.model, policy.base_url, policy.api_key) == (
        "env-model",
        "http://127.0.0.1:9/v1",
        "sk-env",
    )
    clone = pickle.loads(pickle.dumps(policy))
    assert clone.name == "openai:env-model" and clone.params == policy.params


# ------------------------------------------------------------------ the chat server
class Reverse:
    """A rule-based chat model: replies with the last message reversed."""

    name = "reverse"

    def generate(self, messages, params):
        if messages[-1]["content"] == "explode":
            raise RuntimeError("boom")
        return Completion(messages[-1]["content"][::-1], "stop", 3, 2)


@pytest.fixture(scope="module")
def reverse_server():
    with ChatCompletionServer(Reverse(), api_key="sk-local", max_tokens_limit=100) as server:
        yield server


def call(server, method, path, body=None, headers=None, raw=None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    headers = {"Authorization": "Bearer sk-local", **(headers or {})}
    data = raw if raw is not None else None if body is None else json.dumps(body).encode()
    connection.request(method, path, body=data, headers=headers)
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    return response.status, payload


CHAT = "/v1/chat/completions"
GOOD = {"model": "reverse", "messages": [{"role": "user", "content": "abc"}]}


def test_server_answers_openai_shapes(reverse_server):
    status, body = call(reverse_server, "POST", CHAT, GOOD)
    assert status == 200 and body["object"] == "chat.completion"
    assert body["choices"][0]["message"] == {"role": "assistant", "content": "cba"}
    assert body["usage"] == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    assert call(reverse_server, "GET", "/v1/models")[1]["data"][0]["id"] == "reverse"
    assert call(reverse_server, "GET", "/v1/models/reverse")[1]["object"] == "model"
    assert call(reverse_server, "GET", "/health", headers={"Authorization": ""}) == (
        200,
        {"status": "ok"},
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "fragment"),
    [
        ("POST", CHAT, {**GOOD, "model": "gpt-9"}, 404, "does not exist"),
        ("POST", CHAT, {"messages": GOOD["messages"]}, 400, "model is required"),
        ("POST", CHAT, {**GOOD, "messages": []}, 400, "non-empty list"),
        ("POST", CHAT, {**GOOD, "messages": [{"role": "user", "content": 3}]}, 400, "content"),
        ("POST", CHAT, {**GOOD, "messages": "hi"}, 400, "non-empty list"),
        ("POST", CHAT, {**GOOD, "stream": True}, 400, "streaming"),
        ("POST", CHAT, {**GOOD, "n": 2}, 400, "n=1"),
        ("POST", CHAT, {**GOOD, "temperature": 5}, 400, "temperature"),
        ("POST", CHAT, {**GOOD, "temperature": "hot"}, 400, "temperature"),
        ("POST", CHAT, {**GOOD, "max_tokens": 101}, 400, "limited to 100"),
        ("POST", CHAT, {**GOOD, "max_tokens": 0}, 400, "max_tokens"),
        ("POST", CHAT, {**GOOD, "seed": "x"}, 400, "seed"),
        ("POST", CHAT, {**GOOD, "seed": 2**70}, 400, "seed"),
        ("POST", CHAT, {**GOOD, "stop": [1]}, 400, "stop"),
        ("POST", CHAT, {**GOOD, "tools": [{"type": "function"}]}, 400, "tool"),
        ("POST", CHAT, [1, 2], 400, "JSON object"),
        ("POST", "/v1/completions", GOOD, 404, "no route"),
        ("GET", CHAT, None, 405, "not allowed"),
        ("DELETE", "/v1/models", None, 405, "not allowed"),
        ("POST", "/v1/models", GOOD, 405, "not allowed"),
        ("GET", "/v1/models/other", None, 404, "no model"),
        ("POST", CHAT, {**GOOD, "messages": [{"role": "user", "content": "explode"}]}, 500, "boom"),
    ],
)
def test_server_refuses_bad_requests(reverse_server, method, path, body, status, fragment):
    got, payload = call(reverse_server, method, path, body)
    assert got == status
    assert fragment in payload["error"]["message"]
    assert set(payload["error"]) == {"message", "type", "param", "code"}


def test_server_http_level_errors(reverse_server):
    assert call(reverse_server, "POST", CHAT, raw=b"{not json")[0] == 400
    assert (
        call(reverse_server, "POST", CHAT, GOOD, headers={"Authorization": "Bearer no"})[0] == 401
    )
    assert call(reverse_server, "POST", CHAT, GOOD, headers={"Authorization": ""})[0] == 401
    big = {"Content-Length": str(10**9)}
    assert call(reverse_server, "POST", CHAT, raw=b"{}", headers=big)[0] == 413
    # Still serving after all of that.
    assert call(reverse_server, "POST", CHAT, GOOD)[0] == 200


def test_server_without_content_length(reverse_server):
    connection = http.client.HTTPConnection("127.0.0.1", reverse_server.port, timeout=10)
    connection.putrequest("POST", CHAT)
    connection.putheader("Authorization", "Bearer sk-local")
    connection.endheaders()
    response = connection.getresponse()
    assert (
        response.status == 411
        and "Content-Length" in json.loads(response.read())["error"]["message"]
    )
    connection.close()


def test_server_closes_cleanly_and_validates_arguments():
    server = ChatCompletionServer(Reverse()).start()
    port = server.port
    server.close()
    server.close()  # twice is fine
    with socket.socket() as sock, pytest.raises(OSError):
        sock.settimeout(2)
        sock.connect(("127.0.0.1", port))
    with pytest.raises(TypeError):
        ChatCompletionServer(object())
    with pytest.raises(ValueError):
        ChatCompletionServer(Reverse(), max_tokens_limit=0)
