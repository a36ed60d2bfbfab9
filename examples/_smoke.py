"""Tiny, offline building blocks for the examples' ``--smoke`` runs (and the tests).

* :func:`byte_tokenizer`: a byte-level tokenizer (256 byte tokens + ChatML specials)
  with a chat template: no download;
* :func:`tiny_causal_lm`: a 2-layer Qwen3 model built from a config, random weights;
* :func:`forced_reply_bias`: ``generation_kwargs["sequence_bias"]`` that makes any model
  write one fixed text and stop (how a smoke run gets a tool call out of random weights).
"""

from __future__ import annotations

from typing import Any

__all__ = ["SPECIALS", "byte_tokenizer", "tiny_causal_lm", "forced_reply_bias"]

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"]


def byte_tokenizer(chat_template: str) -> Any:
    """A ``PreTrainedTokenizerFast`` over bytes with ChatML special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {ch: i for i, ch in enumerate(alphabet)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.add_special_tokens({"additional_special_tokens": SPECIALS[1:]})
    fast.add_special_tokens({"eos_token": "<|im_end|>", "pad_token": "<|endoftext|>"})
    fast.chat_template = chat_template
    fast.padding_side = "left"
    return fast


def tiny_causal_lm(tokenizer: Any, *, seed: int = 0) -> Any:
    """A 2-layer, 32-wide Qwen3 causal LM with random weights (a few hundred kB)."""
    import torch
    from transformers import Qwen3Config, Qwen3ForCausalLM

    torch.manual_seed(seed)
    config = Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=4096,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    return Qwen3ForCausalLM(config)


def forced_reply_bias(tokenizer: Any, text: str, *, step: float = 20.0) -> list[list[Any]]:
    """``sequence_bias`` entries that make generation write ``text`` then end the turn.

    A key of length ``k`` (the first ``k`` tokens) gets bias ``step * k``, so the longest
    matching prefix wins and the reply is written out exactly, then ``eos``.
    """
    ids = tokenizer(text, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    return [[ids[: k + 1], step * (k + 1)] for k in range(len(ids))]
