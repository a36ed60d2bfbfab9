"""Cost of the LLM policy plumbing: HTTP round trips and CPU threads.

Prints ratios measured in the same process:

1. ``OpenAIChatPolicy`` against the local server (a rule-based model, so only the
   protocol is timed) versus calling the model in-process: the per-request overhead of
   the endpoint path (JSON + HTTP on 127.0.0.1).
2. SmolLM2-135M-Instruct on CPU: seconds per generated token with ``threads=1`` versus
   torch's default thread count (on a busy shared machine one thread is often faster),
   and the served model versus the in-process one (same seeds, same tokens).

Run: ``PYTHONPATH=$PWD python benchmarks/llm_policies.py [--no-model]``.
"""

from __future__ import annotations

import sys
import time

from agent_envs.baselines import (
    ChatCompletionServer,
    Completion,
    GenerationParams,
    HFLocalPolicy,
    OpenAIChatPolicy,
    load_smollm2,
)

CHAT = [
    {"role": "system", "content": "Reply with one integer between 1 and 100."},
    {"role": "user", "content": "Guess the number."},
]


class Echo:
    """A rule-based model: no compute, so the timing is the protocol's."""

    name = "echo"

    def generate(self, messages, params):
        return Completion(messages[-1]["content"], "stop", 1, 1)


def per_call(function, repeats: int) -> float:
    function()  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        function()
    return (time.perf_counter() - start) / repeats


def protocol_overhead(repeats: int = 300) -> None:
    model, params = Echo(), GenerationParams()
    direct = per_call(lambda: model.generate(CHAT, params), repeats)
    with ChatCompletionServer(model) as server:
        policy = OpenAIChatPolicy("echo", base_url=server.base_url, api_key="", timeout=10)
        over_http = per_call(lambda: policy(CHAT), repeats)
    print(
        f"endpoint round trip: {over_http * 1e3:.2f} ms/request (in-process {direct * 1e6:.1f} us)"
    )
    print(f"  overhead per request: {(over_http - direct) * 1e3:.2f} ms")


def model_timings(max_tokens: int = 16, repeats: int = 3) -> None:
    import torch

    start = time.perf_counter()
    model = load_smollm2()
    print(f"SmolLM2 load: {time.perf_counter() - start:.1f} s")
    params = GenerationParams(temperature=0.0, max_tokens=max_tokens, seed=0)
    tokens = model.generate(CHAT, params).completion_tokens
    timings = {}
    for threads in (None, 1):
        model.threads = threads
        timings[threads] = per_call(lambda: model.generate(CHAT, params), repeats) / tokens
    default = torch.get_num_threads()
    print(f"generation, {default} threads (default): {timings[None] * 1e3:.0f} ms/token")
    print(f"generation, 1 thread: {timings[1] * 1e3:.0f} ms/token")
    print(f"  ratio default/1 thread: {timings[None] / timings[1]:.2f}")
    model.threads = 1
    local = HFLocalPolicy(model, temperature=0.0, max_tokens=max_tokens)
    with ChatCompletionServer(model) as server:
        remote = OpenAIChatPolicy(
            model.name, base_url=server.base_url, api_key="", temperature=0.0, max_tokens=max_tokens
        )
        served = per_call(lambda: remote(CHAT), repeats)
    in_process = per_call(lambda: local(CHAT), repeats)
    print(f"served / in-process time per reply: {served / in_process:.3f}")


if __name__ == "__main__":
    protocol_overhead()
    if "--no-model" not in sys.argv:
        model_timings()
