"""The tiny local policy: a character-level tokenizer and a small random Llama.

Nothing is downloaded: the vocabulary is printable ASCII plus newline and four special
tokens, and the chat template is ChatML, so the tiny model exercises exactly the code
path of a real chat model.
"""

from __future__ import annotations

from typing import Any

__all__ = ["TINY_SPECIAL_TOKENS", "build_tiny_tokenizer", "build_tiny_model"]

TINY_SPECIAL_TOKENS: tuple[str, ...] = ("<|pad|>", "<|unk|>", "<|im_start|>", "<|im_end|>")
_CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def build_tiny_tokenizer() -> Any:
    """A character-level Hugging Face tokenizer with a ChatML chat template.

    Example:
        >>> tok = build_tiny_tokenizer()
        >>> ids = tok("hi!", add_special_tokens=False)["input_ids"]
        >>> len(ids), tok.decode(ids), len(tok)
        (3, 'hi!', 100)
        >>> tok.apply_chat_template([{"role": "user", "content": "7?"}], tokenize=False,
        ...                         add_generation_prompt=True)
        '<|im_start|>user\\n7?<|im_end|>\\n<|im_start|>assistant\\n'
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    chars = [chr(c) for c in range(32, 127)] + ["\n"]
    vocab = {token: i for i, token in enumerate([*TINY_SPECIAL_TOKENS, *chars])}
    backend = Tokenizer(models.WordLevel(vocab, unk_token="<|unk|>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), "isolated")  # one char each
    backend.decoder = decoders.Fuse()  # join characters without spaces
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<|pad|>",
        unk_token="<|unk|>",
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
    )
    tokenizer.chat_template = _CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(tokenizer: Any, *, hidden_size: int = 64, layers: int = 2) -> Any:
    """A small randomly initialised ``LlamaForCausalLM`` for ``tokenizer`` (seed torch first).

    Example:
        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> model = build_tiny_model(build_tiny_tokenizer())
        >>> model.config.vocab_size, sum(p.numel() for p in model.parameters()) < 200_000
        (100, True)
    """
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=4096,
        tie_word_embeddings=True,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    return LlamaForCausalLM(config)
