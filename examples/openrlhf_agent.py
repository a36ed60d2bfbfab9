"""OpenRLHF agent file: ``--agent_func_path examples/openrlhf_agent.py`` (OpenRLHF 0.11).

    python examples/openrlhf_agent.py --smoke     # OpenRLHF's executor source, CPU

OpenRLHF imports this file and instantiates ``AgentExecutor()``; each sample's label is
a JSON object with the seed (``{"seed": 3}``; ``env_id``/``max_turns`` may override).
Build the prompt dataset with ``prompt_rows`` so the prompt is the env's own opening.
``FEEDBACK`` wraps the env's answer in your model's chat template (ChatML here).

OpenRLHF needs CUDA to install (flash-attn, vllm); ``--smoke`` loads its
``openrlhf/utils/agent.py`` from the released wheel the way OpenRLHF's own tests do
(``scripts/install_frameworks.sh openrlhf`` downloads it into ``.frameworks/``) and
plays episodes with a scripted engine and a character tokenizer.
"""

from __future__ import annotations

import os

ENV_ID = os.environ.get("AGENT_ENVS_ENV_ID", "Toy-GuessNumber-v0")
FEEDBACK = "<|im_end|>\n<|im_start|>user\n{observation}<|im_end|>\n<|im_start|>assistant\n"


def _openrlhf_agent_module():
    """``openrlhf.utils.agent``: the installed one, else loaded from the downloaded wheel."""
    import importlib.util
    import logging
    import sys
    import tempfile
    import zipfile
    from pathlib import Path
    from types import SimpleNamespace

    try:
        return importlib.import_module("openrlhf.utils.agent")
    except ImportError:
        pass
    wheels = sorted(
        (Path(__file__).resolve().parents[1] / ".frameworks" / "openrlhf").glob("*.whl")
    )
    if not wheels:
        raise SystemExit("no OpenRLHF: run `bash scripts/install_frameworks.sh openrlhf` first")
    target = Path(tempfile.mkdtemp(prefix="openrlhf-"))
    with zipfile.ZipFile(wheels[-1]) as wheel:
        wheel.extract(
            next(n for n in wheel.namelist() if n.endswith("openrlhf/utils/agent.py")), target
        )
    sys.modules.setdefault(
        "openrlhf.utils.logging_utils", SimpleNamespace(init_logger=logging.getLogger)
    )
    spec = importlib.util.spec_from_file_location(
        "openrlhf.utils.agent", next(target.rglob("agent.py"))
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["openrlhf.utils.agent"] = module
    spec.loader.exec_module(module)
    return module


from agent_envs.integrations.openrlhf_agent import make_agent_executor  # noqa: E402

AgentExecutor = make_agent_executor(
    ENV_ID, feedback_template=FEEDBACK, agent_module=_openrlhf_agent_module()
)


def _smoke() -> int:
    import asyncio
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    import torch

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _policies import bisect_guess

    def tokenizer(text, **kwargs):
        return {"input_ids": torch.tensor([[ord(c) for c in text]])}

    class Engine:  # vLLM-shaped: token ids in, outputs[0].token_ids/text out
        async def generate(self, token_ids, params, **kwargs):
            text = str(bisect_guess("".join(map(chr, token_ids))))
            return SimpleNamespace(
                outputs=[
                    SimpleNamespace(
                        token_ids=[ord(c) for c in text],
                        text=text,
                        finish_reason="stop",
                        logprobs=None,
                    )
                ]
            )

    executor = AgentExecutor()
    for seed in range(3):
        out = asyncio.run(
            executor.execute(
                "Guess the hidden number.",
                f'{{"seed": {seed}}}',
                SimpleNamespace(max_tokens=None, logprobs=None),
                8192,
                tokenizer,
                Engine(),
            )
        )
        print(
            f"seed {seed}: {len(out['action_ranges'])} turns, reward {out['reward']:.3f}, "
            f"scores {float(out['scores']):.3f}"
        )
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true")
    if not parser.parse_args().smoke:
        parser.error("this file is OpenRLHF's --agent_func_path; run it with --smoke to try it")
    raise SystemExit(_smoke())
