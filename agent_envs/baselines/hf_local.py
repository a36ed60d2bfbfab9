"""``HFLocalPolicy``: a Hugging Face chat model run in-process with transformers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from agent_envs.baselines.base import Message
from agent_envs.baselines.chat_model import (
    ChatModel,
    Completion,
    GenerationParams,
    TransformersChatModel,
)
from agent_envs.baselines.chat_policy import ChatPolicy

__all__ = ["HFLocalPolicy"]


class HFLocalPolicy(ChatPolicy):
    """A local transformers chat model as a policy (chat template, seeded sampling).

    ``model`` is a model folder, a hub id, a ``.gguf`` file, or an already loaded
    :class:`~agent_envs.baselines.chat_model.ChatModel` (e.g. one shared with a server).
    A path is loaded lazily on first use with ``device`` (``"auto"``: CUDA when present)
    and ``dtype`` (``threads`` caps CPU threads), so constructing the policy is cheap and it pickles (the loaded model
    is dropped and reloaded in the receiving process). Conversations longer than the
    context window lose their oldest turns (the system prompt and the last message are
    kept). Sampling, seeds and failure handling are those of
    :class:`~agent_envs.baselines.ChatPolicy`: a failure answers ``""`` by default.

    Example:
        >>> import gymnasium as gym
        >>> import agent_envs
        >>> from agent_envs.baselines import load_smollm2, play_episode, smollm2_path
        >>> HFLocalPolicy(smollm2_path()).name  # a path is loaded on first use
        'hf:SmolLM2-135M-Instruct.Q4_1'
        >>> policy = HFLocalPolicy(load_smollm2(), max_tokens=8, seed=0)  # or share a loaded one
        >>> env = gym.make("Toy-GuessNumber-v0", max_turns=2)
        >>> episode = play_episode(env, policy, seed=0)
        >>> episode.turns in (1, 2), policy.errors  # 1 if the first guess is right
        (True, 0)
    """

    def __init__(
        self,
        model: str | Path | ChatModel,
        *,
        gguf_file: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        threads: int | None = None,
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_tokens: int = 512,
        seed: int | None = None,
        stop: tuple[str, ...] | list[str] = (),
        on_error: str = "empty",
        name: str | None = None,
    ) -> None:
        if isinstance(model, (str, Path)):
            self._source: tuple[str, str | None] | None = (str(model), gguf_file)
            self._model: ChatModel | None = None
            label = Path(gguf_file or str(model)).name.removesuffix(".gguf")
        elif callable(getattr(model, "generate", None)):
            self._source, self._model = None, model
            label = str(getattr(model, "name", type(model).__name__))
        else:
            raise TypeError(f"model must be a path, a hub id or a ChatModel, got {model!r}")
        self.device, self.dtype, self.threads = device, dtype, threads
        super().__init__(
            name=name or f"hf:{label}",
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
            on_error=on_error,
        )

    @property
    def model(self) -> ChatModel:
        """The loaded chat model (loaded now if needed)."""
        if self._model is None:
            assert self._source is not None
            path, gguf_file = self._source
            self._model = TransformersChatModel(
                path,
                gguf_file=gguf_file,
                device=self.device,
                dtype=self.dtype,
                threads=self.threads,
            )
        return self._model

    def reset(self, env: gym.Env, *, seed: int | None = None) -> None:
        """Load the model if needed, then start the episode (see :class:`ChatPolicy`)."""
        _ = self.model
        super().reset(env, seed=seed)

    def _complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        model = self.model
        if isinstance(model, TransformersChatModel):
            return model.generate(messages, params, fit_context=True)
        return model.generate(messages, params)

    def close(self) -> None:
        """Drop the model this policy loaded (a model passed in is left to its owner)."""
        if self._source is not None:
            self._model = None

    def __getstate__(self) -> dict[str, Any]:
        if self._source is None:
            raise TypeError("an HFLocalPolicy built on a loaded model does not pickle; pass a path")
        return {**self.__dict__, "_model": None}
