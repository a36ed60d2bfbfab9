"""Text spaces that accept any Unicode string, and helpers that keep text within them."""

from __future__ import annotations

import multiprocessing as mp
import string
from collections.abc import Sequence
from types import ModuleType
from typing import Any

import numpy as np
from gymnasium.spaces import Text
from gymnasium.vector.utils import (
    create_shared_memory,
    read_from_shared_memory,
    write_to_shared_memory,
)

__all__ = ["UnicodeText", "truncate_text", "TRUNCATION_MARKER"]

TRUNCATION_MARKER = "\n[... truncated {n} characters ...]\n"

# Characters used only by ``sample()``; ``contains()`` accepts every code point.
_SAMPLE_CHARSET = string.ascii_letters + string.digits + string.punctuation + " \n"


class UnicodeText(Text):
    """A :class:`gymnasium.spaces.Text` that contains any Unicode string up to ``max_length``.

    Gymnasium's ``Text`` only admits characters of a fixed character set, which is
    wrong for LLM messages. This space accepts every code point; ``sample()`` draws
    from printable ASCII so random agents produce readable junk. It also works with
    ``AsyncVectorEnv`` shared memory (code points are stored as int32 with a length).

    Example:
        >>> space = UnicodeText(max_length=8)
        >>> space.contains("héllo 🙂")
        True
        >>> space.contains("x" * 9)
        False
        >>> len(space.sample()) <= 8
        True
    """

    def __init__(self, max_length: int, *, min_length: int = 0, seed: Any = None) -> None:
        if not isinstance(max_length, int) or max_length < 1:
            raise ValueError(f"max_length must be a positive int, got {max_length!r}")
        super().__init__(
            max_length=max_length,
            min_length=min_length,
            charset=_SAMPLE_CHARSET,
            seed=seed,
        )

    def contains(self, x: Any) -> bool:
        """Return True for any ``str`` whose length is within the declared bounds."""
        return isinstance(x, str) and self.min_length <= len(x) <= self.max_length

    def __repr__(self) -> str:
        return f"UnicodeText({self.min_length}, {self.max_length})"

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(other, UnicodeText)
            and self.min_length == other.min_length
            and self.max_length == other.max_length
        )

    __hash__ = None  # type: ignore[assignment]  # mutable rng state, like gymnasium spaces


def truncate_text(text: str, max_length: int) -> str:
    """Cut ``text`` to at most ``max_length`` characters with a visible marker in the middle.

    The head and the tail are kept (errors usually sit at the end of program output).

    Example:
        >>> out = truncate_text("a" * 100 + "b" * 100, 80)
        >>> len(out) <= 80, out.startswith("a"), out.endswith("b"), "truncated" in out
        (True, True, True, True)
        >>> truncate_text("short", 80)
        'short'
    """
    if len(text) <= max_length:
        return text
    marker = TRUNCATION_MARKER.format(n=len(text) - max_length)
    # the marker itself takes room; recompute the count with its final size
    room = max_length - len(marker) - 4
    if room <= 0:
        return text[:max_length]
    marker = TRUNCATION_MARKER.format(n=len(text) - room)
    room = max_length - len(marker)
    head = room // 2
    tail = room - head
    return text[:head] + marker + (text[-tail:] if tail > 0 else "")


# --- shared-memory support so AsyncVectorEnv works with arbitrary Unicode ---------------
# Layout per environment: [length, cp_0, cp_1, ..., cp_{max_length-1}] as int32.


@create_shared_memory.register(UnicodeText)
def _create_unicode_shared_memory(space: UnicodeText, n: int = 1, ctx: ModuleType = mp) -> Any:
    return ctx.Array(np.dtype(np.int32).char, n * (space.max_length + 1))


class _SharedTextBatch(Sequence):
    """A live view of the texts in shared memory.

    ``AsyncVectorEnv`` reads its shared buffer once and deep-copies that object after
    every step (it relies on numpy views), so the view decodes on access and a deep copy
    is a plain tuple of strings.
    """

    def __init__(self, data: np.ndarray) -> None:
        self._data = data

    def __len__(self) -> int:
        return len(self._data)

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, slice):
            return tuple(self)[index]
        row = self._data[index]
        return row[1 : 1 + int(row[0])].tobytes().decode("utf-32-le", "surrogatepass")

    def __deepcopy__(self, memo: dict) -> tuple[str, ...]:
        return tuple(self)

    def __eq__(self, other: Any) -> bool:
        return tuple(self) == (tuple(other) if isinstance(other, Sequence) else other)

    def __repr__(self) -> str:
        return repr(tuple(self))


@read_from_shared_memory.register(UnicodeText)
def _read_unicode_from_shared_memory(
    space: UnicodeText, shared_memory: Any, n: int = 1
) -> _SharedTextBatch:
    data = np.frombuffer(shared_memory.get_obj(), dtype=np.int32).reshape(n, space.max_length + 1)
    return _SharedTextBatch(data)


@write_to_shared_memory.register(UnicodeText)
def _write_unicode_to_shared_memory(
    space: UnicodeText, index: int, value: str, shared_memory: Any
) -> None:
    size = space.max_length + 1
    dest = np.frombuffer(shared_memory.get_obj(), dtype=np.int32)
    value = value[: space.max_length]
    row = np.zeros(size, dtype=np.int32)
    row[0] = len(value)
    if value:
        row[1 : 1 + len(value)] = np.frombuffer(
            value.encode("utf-32-le", "surrogatepass"), dtype=np.int32
        )
    np.copyto(dest[index * size : (index + 1) * size], row)
