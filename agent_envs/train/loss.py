"""Token log-probabilities and the loss terms: clipped policy gradient, KL, value."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["pad_sequences", "token_logprobs", "clipped_pg_terms", "kl_k3"]


def pad_sequences(rows: Sequence[Sequence[float]], pad: float, dtype: Any) -> Any:
    """Right-pad rows into one tensor.

    Example:
        >>> import torch
        >>> pad_sequences([[1, 2, 3], [4]], 0, torch.long).tolist()
        [[1, 2, 3], [4, 0, 0]]
    """
    import torch

    width = max(len(r) for r in rows)
    return torch.tensor([list(r) + [pad] * (width - len(r)) for r in rows], dtype=dtype)


def token_logprobs(
    model: Any,
    ids: Any,
    attention: Any,
    *,
    autocast_dtype: Any = None,
    hidden: bool = False,
    temperature: float = 1.0,
) -> tuple[Any, Any]:
    """``(logp, last_hidden)``: ``logp[:, i] = log p(ids[:, i+1] | ids[:, :i+1])`` in float32.

    ``p`` is the distribution the sampler draws from: ``softmax(logits / temperature)``,
    so at ``temperature != 1`` the ratios and KL terms of the loss refer to the policy
    that actually produced the tokens. ``last_hidden`` (the final hidden states, for a
    value head) is None unless asked.

    Example:
        >>> import torch
        >>> from agent_envs.train.policy import load_policy
        >>> _ = torch.manual_seed(0)
        >>> model, _ = load_policy("tiny")
        >>> ids = torch.tensor([[5, 6, 7, 8]])
        >>> logp, h = token_logprobs(model, ids, torch.ones_like(ids), hidden=True)
        >>> tuple(logp.shape), tuple(h.shape), bool((logp < 0).all())
        ((1, 3), (1, 4, 64), True)
    """
    import torch

    with torch.autocast(ids.device.type, autocast_dtype, enabled=autocast_dtype is not None):
        out = model(input_ids=ids, attention_mask=attention, output_hidden_states=hidden)
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    logits = out.logits[:, :-1].float() / float(temperature)
    logp = torch.log_softmax(logits, dim=-1).gather(-1, ids[:, 1:, None]).squeeze(-1)
    return logp, (out.hidden_states[-1] if hidden else None)


def clipped_pg_terms(
    logp: Any, old_logp: Any, advantages: Any, mask: Any, clip_eps: float
) -> tuple[Any, Any, Any]:
    """PPO-clip surrogate summed over masked tokens; also clipped-token count and approx KL sum.

    ``loss_t = -min(rho_t A_t, clip(rho_t, 1 - eps, 1 + eps) A_t)`` with
    ``rho_t = exp(logp_t - old_logp_t)``.

    Example:
        >>> import torch
        >>> logp = torch.log(torch.tensor([[0.5, 0.9]]))
        >>> old = torch.log(torch.tensor([[0.5, 0.5]]))
        >>> loss, clipped, _ = clipped_pg_terms(logp, old, torch.ones(1, 2), torch.ones(1, 2), 0.2)
        >>> round(loss.item(), 3), clipped.item()
        (-2.2, 1.0)
    """
    import torch

    log_ratio = logp - old_logp
    ratio = torch.exp(log_ratio)
    unclipped = ratio * advantages
    clipped = torch.clamp(ratio, 1 - clip_eps, 1 + clip_eps) * advantages
    loss = -(torch.minimum(unclipped, clipped) * mask).sum()
    clip_count = (((ratio - 1).abs() > clip_eps).float() * mask).sum()
    approx_kl = ((ratio - 1 - log_ratio) * mask).sum()
    return loss, clip_count.detach(), approx_kl.detach()


def kl_k3(logp: Any, ref_logp: Any, mask: Any) -> Any:
    """Sum over masked tokens of the k3 estimator of KL(policy || reference).

    ``k3 = exp(ref - logp) - (ref - logp) - 1``: unbiased, always >= 0.

    Example:
        >>> import torch
        >>> x = torch.log(torch.tensor([[0.5]]))
        >>> kl_k3(x, x, torch.ones(1, 1)).item()
        0.0
    """
    import torch

    diff = ref_logp - logp
    return ((torch.exp(diff) - diff - 1) * mask).sum()
