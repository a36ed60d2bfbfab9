"""``Sampler``: the trainer's model sampled at the token level, batched.

The trainer's policy is its model behind this sampler (token ids in, token ids out),
because the policy gradient needs the ids that were sampled; the episodes themselves are
played by :mod:`agent_envs.train.sampling` through :class:`agent_envs.rl.EpisodeStepper`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Sampler"]


class Sampler:
    """Samples one reply per context, batched, with the policy's own distribution.

    Plain temperature sampling (no top-k/top-p), so the sampled tokens come from the
    distribution the policy gradient assumes. Returns token ids up to and including the
    first stop token, or ``max_new_tokens`` ids when none came.

    Example:
        >>> import torch
        >>> from agent_envs.train.policy import load_policy
        >>> _ = torch.manual_seed(0)
        >>> model, tok = load_policy("tiny")
        >>> sampler = Sampler(model, tok, max_new_tokens=5)
        >>> replies = sampler([[2, 10, 11], [2, 12]])
        >>> len(replies), all(1 <= len(r) <= 5 for r in replies)
        (2, True)
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_new_tokens: int,
        temperature: float = 1.0,
        autocast_dtype: Any = None,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.temperature = max_new_tokens, temperature
        self.autocast_dtype = autocast_dtype
        stops = {tokenizer.eos_token_id}
        configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
        stops.update(configured if isinstance(configured, (list, tuple)) else [configured])
        #: Token ids that end a reply (the tokenizer's eos and the model's configured ones).
        self.stop_ids: set[int] = {s for s in stops if s is not None}
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        #: Longest context + reply the model takes; a longer episode is cut (truncated).
        self.max_length = getattr(model.config, "max_position_embeddings", None)

    def fits(self, context: list[int]) -> bool:
        """Whether a reply of ``max_new_tokens`` still fits after ``context``."""
        return self.max_length is None or len(context) + self.max_new_tokens <= self.max_length

    def __call__(self, contexts: list[list[int]]) -> list[list[int]]:
        """One sampled reply (token ids) per context."""
        import torch
        from transformers import GenerationConfig

        if not contexts:
            return []
        device = next(self.model.parameters()).device
        width = max(len(c) for c in contexts)
        ids = torch.full((len(contexts), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros_like(ids)
        for row, context in enumerate(contexts):  # left padding: replies start aligned
            ids[row, width - len(context) :] = torch.tensor(context)
            attention[row, width - len(context) :] = 1
        config = GenerationConfig(
            do_sample=True,
            temperature=self.temperature,
            top_k=0,
            top_p=1.0,
            max_new_tokens=self.max_new_tokens,
            pad_token_id=self.pad_id,
            eos_token_id=sorted(self.stop_ids),
        )
        with (
            torch.no_grad(),
            torch.autocast(
                device.type, self.autocast_dtype, enabled=self.autocast_dtype is not None
            ),
        ):
            out = self.model.generate(
                input_ids=ids.to(device),
                attention_mask=attention.to(device),
                generation_config=config,
            )
        replies = []
        for row in out[:, width:].tolist():
            reply = []
            for token in row:
                reply.append(token)
                if token in self.stop_ids:
                    break
            replies.append(reply)
        return replies
