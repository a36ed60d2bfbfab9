"""Chat models that generate a reply for a message list: the interface and a transformers one.

:class:`TransformersChatModel` is shared by :class:`~agent_envs.baselines.HFLocalPolicy`
(in-process) and :mod:`agent_envs.baselines.serve` (behind an HTTP endpoint), so the
local policy and the served model produce the same text for the same seed.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent_envs.baselines.base import Message
from agent_envs.core.trajectory import chat_message

__all__ = [
    "GenerationParams",
    "Completion",
    "ChatModel",
    "ContextLengthError",
    "TransformersChatModel",
    "validate_messages",
]

_ROLES = ("system", "user", "assistant")


class ContextLengthError(ValueError):
    """The prompt plus ``max_tokens`` does not fit the model's context window."""


@dataclass(frozen=True)
class GenerationParams:
    """Sampling settings of one completion, with OpenAI's meaning.

    ``temperature=0`` is greedy decoding; ``seed`` makes sampling reproducible;
    ``stop`` cuts the reply before the first occurrence of any of its strings.

    Example:
        >>> GenerationParams(temperature=0.0, max_tokens=8).max_tokens
        8
        >>> GenerationParams(max_tokens=0)
        Traceback (most recent call last):
        ...
        ValueError: max_tokens must be a positive int, got 0
    """

    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 256
    seed: int | None = None
    stop: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        def number(x: Any) -> bool:
            return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)

        if not number(self.temperature) or not 0 <= self.temperature <= 2:
            raise ValueError(f"temperature must be a number in [0, 2], got {self.temperature!r}")
        if not number(self.top_p) or not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be a number in (0, 1], got {self.top_p!r}")
        if type(self.max_tokens) is not int or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive int, got {self.max_tokens!r}")
        if self.seed is not None and (
            type(self.seed) is not int or not -(2**63) <= self.seed < 2**64
        ):
            raise ValueError(f"seed must be a 64-bit int or None, got {self.seed!r}")
        if not isinstance(self.stop, tuple) or not all(isinstance(s, str) and s for s in self.stop):
            raise ValueError(f"stop must be a tuple of non-empty strings, got {self.stop!r}")


@dataclass(frozen=True)
class Completion:
    """A generated reply: its text, why it ended (``"stop"`` or ``"length"``), token counts."""

    text: str
    finish_reason: str = "stop"
    prompt_tokens: int = 0
    completion_tokens: int = 0


class ChatModel(Protocol):
    """Anything that turns a chat into a :class:`Completion` (what the server serves)."""

    name: str

    def generate(self, messages: list[Message], params: GenerationParams) -> Completion:
        """Return the assistant's next message for ``messages``."""
        ...


def validate_messages(messages: Any) -> list[Message]:
    """Check an OpenAI-style message list; return it as plain ``{"role", "content"}`` dicts.

    Raises ``ValueError`` naming the first problem.

    Example:
        >>> validate_messages([{"role": "user", "content": "hi"}])
        [{'role': 'user', 'content': 'hi'}]
        >>> validate_messages([{"role": "robot", "content": "hi"}])
        Traceback (most recent call last):
        ...
        ValueError: messages[0].role must be one of system, user, assistant; got 'robot'
    """
    if not isinstance(messages, list) or not messages:
        raise ValueError("messages must be a non-empty list")
    clean = []
    for i, message in enumerate(messages):
        if not isinstance(message, dict):
            raise ValueError(f"messages[{i}] must be an object")
        role, content = message.get("role"), message.get("content")
        if role not in _ROLES:
            raise ValueError(f"messages[{i}].role must be one of {', '.join(_ROLES)}; got {role!r}")
        if not isinstance(content, str):
            raise ValueError(f"messages[{i}].content must be a string")
        clean.append(chat_message(role, content))
    return clean


class TransformersChatModel:
    """A Hugging Face causal LM with a chat template, ready to generate replies.

    ``path`` is a model folder, a hub id, or a ``.gguf`` file (then ``gguf_file`` is
    inferred); ``gguf_file`` names a GGUF file inside the folder. ``device="auto"``
    picks CUDA when available; ``dtype="auto"`` is bfloat16 on CUDA, float32 on CPU.
    ``threads`` caps torch's CPU threads while generating (``None``: torch's default);
    on a busy shared CPU, ``threads=1`` is often several times faster. It is an
    attribute and may be changed later.
    Generation is serialized by a lock, so one instance can serve several threads.
    A seeded generation draws from a private copy of torch's random state, so it is
    reproducible and leaves the global state untouched.

    Example:
        >>> from agent_envs.baselines import load_smollm2
        >>> model = load_smollm2()  # a cached TransformersChatModel (loads once per process)
        >>> chat = [{"role": "user", "content": "Say hi"}]
        >>> a = model.generate(chat, GenerationParams(max_tokens=6, seed=1))
        >>> b = model.generate(chat, GenerationParams(max_tokens=6, seed=1))
        >>> a == b, a.completion_tokens <= 6, a.finish_reason in ("stop", "length")
        (True, True, True)
    """

    def __init__(
        self,
        path: str | Path,
        *,
        gguf_file: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        name: str | None = None,
        threads: int | None = None,
    ) -> None:
        import torch

        if threads is not None and (type(threads) is not int or threads < 1):
            raise ValueError(f"threads must be a positive int or None, got {threads!r}")
        from transformers import AutoModelForCausalLM, AutoTokenizer

        source = Path(path)
        if gguf_file is None and source.suffix == ".gguf":
            if not source.is_file():
                raise FileNotFoundError(f"no GGUF file at {source}")
            source, gguf_file = source.parent, source.name
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            dtype = "bfloat16" if device.startswith("cuda") else "float32"
        if not hasattr(torch, dtype) or not isinstance(getattr(torch, dtype), torch.dtype):
            raise ValueError(f"unknown dtype {dtype!r}")
        location = str(source) if source.exists() else str(path)
        extra = {"gguf_file": gguf_file} if gguf_file else {}
        self.tokenizer = AutoTokenizer.from_pretrained(location, **extra)
        if getattr(self.tokenizer, "chat_template", None) is None:
            raise ValueError(f"the tokenizer of {path} has no chat template")
        self.model = AutoModelForCausalLM.from_pretrained(
            location, dtype=getattr(torch, dtype), **extra
        ).to(device)
        self.model.eval()
        self.device = device
        self.name = name or Path(gguf_file or location).name.removesuffix(".gguf")
        self.context_length: int | None = getattr(
            self.model.config, "max_position_embeddings", None
        )
        self.threads = threads
        self._lock = threading.Lock()

    def count_prompt_tokens(self, messages: list[Message]) -> int:
        """Number of tokens of the chat-templated prompt for ``messages``."""
        return len(self._encode(messages))

    def generate(
        self, messages: list[Message], params: GenerationParams, *, fit_context: bool = False
    ) -> Completion:
        """Generate the assistant's reply to ``messages``.

        If the prompt plus ``params.max_tokens`` exceeds the context window, raise
        :class:`ContextLengthError`, or with ``fit_context=True`` drop the oldest
        non-system messages (never the last one) until it fits.
        """
        import torch

        messages = validate_messages(messages)
        with self._lock:
            ids = self._fitted_prompt(messages, params.max_tokens, fit_context)
            input_ids = torch.tensor([ids], device=self.device)
            options: dict[str, Any] = {"max_new_tokens": params.max_tokens, "do_sample": False}
            if params.temperature > 0:
                options.update(
                    do_sample=True, temperature=float(params.temperature), top_p=params.top_p
                )
                options["top_k"] = 0  # OpenAI semantics: no top-k cut
            pad = self.tokenizer.pad_token_id
            options["pad_token_id"] = pad if pad is not None else self.tokenizer.eos_token_id
            devices = [self.model.device] if self.device.startswith("cuda") else []
            default_threads = torch.get_num_threads()
            try:
                if self.threads is not None:
                    torch.set_num_threads(self.threads)
                with (
                    torch.random.fork_rng(devices=devices, enabled=params.seed is not None),
                    torch.inference_mode(),
                ):
                    if params.seed is not None:
                        torch.manual_seed(params.seed)
                    output = self.model.generate(
                        input_ids=input_ids, attention_mask=torch.ones_like(input_ids), **options
                    )
            finally:
                torch.set_num_threads(default_threads)
        new_tokens = output[0, len(ids) :].tolist()
        text = self.tokenizer.decode(new_tokens, skip_special_tokens=True)
        ended = bool(new_tokens) and new_tokens[-1] in self._eos_ids()
        finish = "stop" if ended or len(new_tokens) < params.max_tokens else "length"
        cuts = [text.find(s) for s in params.stop if s in text]
        if cuts:
            text, finish = text[: min(cuts)], "stop"
        return Completion(text, finish, len(ids), len(new_tokens))

    # ------------------------------------------------------------------ internals
    def _encode(self, messages: list[Message]) -> list[int]:
        encoded = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=True, return_dict=True
        )
        return list(encoded["input_ids"])

    def _fitted_prompt(self, messages: list[Message], max_tokens: int, fit: bool) -> list[int]:
        limit = self.context_length
        ids = self._encode(messages)
        if limit is None or len(ids) + max_tokens <= limit:
            return ids
        if fit:
            kept = list(messages)
            first = 1 if kept[0]["role"] == "system" else 0
            while len(kept) - first > 1:
                del kept[first]
                ids = self._encode(kept)
                if len(ids) + max_tokens <= limit:
                    return ids
        raise ContextLengthError(
            f"the prompt has {len(ids)} tokens; with max_tokens={max_tokens} it exceeds "
            f"the context window of {limit} tokens"
        )

    def _eos_ids(self) -> set[int]:
        eos = self.model.generation_config.eos_token_id
        ids = set(eos if isinstance(eos, list) else [eos]) if eos is not None else set()
        if self.tokenizer.eos_token_id is not None:
            ids.add(self.tokenizer.eos_token_id)
        return ids
