"""The one wire format between a process and its supervised children.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8 JSON. Every
child process of the project speaks it: the text-game engines, the resident ngspice
worker (both through :mod:`agent_envs.core.child_server`) and the sandbox's stdlib-only
worker (with its own few lines, because it runs inside bubblewrap with nothing else
importable). JSON, not pickle: the parent never unpickles what a child sends, so a child
that runs game code or a simulator cannot make the parent run anything.

Tuples arrive as lists, and NumPy scalars are sent as plain numbers.

Example:
    >>> import socket
    >>> a, b = socket.socketpair()
    >>> write_frame(a.fileno(), ["step", "look", (1, 2)])
    >>> read_frame(b.fileno(), deadline=time.monotonic() + 5)
    ['step', 'look', [1, 2]]
    >>> a.close(); b.close()
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

__all__ = [
    "HEADER",
    "MAX_FRAME",
    "encode_frame",
    "decode_body",
    "write_frame",
    "read_frame",
    "FrameBuffer",
]

#: The length prefix: 4 bytes, big-endian, unsigned.
HEADER = struct.Struct(">I")
#: The largest body a reader accepts (bytes); a longer one is a broken peer.
MAX_FRAME = 256 * 1024 * 1024


def _plain(value: Any) -> Any:
    item = getattr(value, "item", None)  # a NumPy scalar: its Python number
    if callable(item):
        return item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} cannot travel in a frame")


# made once: json.dumps/json.loads build an encoder or check their input on every call,
# which is a good part of a round trip's cost for the small messages sent per step
_ENCODE = json.JSONEncoder(default=_plain, check_circular=False, separators=(",", ":")).encode
_DECODE = json.JSONDecoder().raw_decode


def encode_frame(message: Any) -> bytes:
    """The bytes of one frame carrying ``message`` (any JSON value).

    Example:
        >>> encode_frame({"a": 1})
        b'\\x00\\x00\\x00\\x07{"a":1}'
    """
    body = _ENCODE(message).encode()
    return HEADER.pack(len(body)) + body


def decode_body(body: bytes) -> Any:
    """The JSON value a frame's body holds; ``ValueError`` when it is not exactly one.

    Example:
        >>> decode_body(b'{"a": [1, 2]}')
        {'a': [1, 2]}
        >>> decode_body(b"[1] [2]")
        Traceback (most recent call last):
        ...
        ValueError: malformed frame: trailing data
    """
    try:
        text = body.decode()
        value, end = _DECODE(text, len(text) - len(text.lstrip()))
    except (RecursionError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"malformed frame: {type(exc).__name__}") from None
    if end != len(text) and text[end:].strip():
        raise ValueError("malformed frame: trailing data")
    return value


def write_frame(fd: int, message: Any) -> None:
    """Send one frame on the blocking file descriptor ``fd``.

    Example:
        >>> r, w = os.pipe()
        >>> write_frame(w, "hi"); os.read(r, 100)
        b'\\x00\\x00\\x00\\x04"hi"'
        >>> os.close(r); os.close(w)
    """
    view = memoryview(encode_frame(message))
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes:
    chunks, left = [], size
    while left:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, left)  # never more than the frame: what follows stays unread
        if not chunk:
            raise EOFError("the peer closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, deadline: float | None = None) -> Any:
    """Read one frame from ``fd``.

    Raises ``TimeoutError`` past ``deadline`` (``time.monotonic()`` seconds; None waits
    for ever), ``EOFError`` when the peer closed, ``ValueError`` on a malformed frame.

    Example:
        >>> r, w = os.pipe()
        >>> os.write(w, HEADER.pack(3) + b"[1]")
        7
        >>> read_frame(r)
        [1]
        >>> read_frame(r, deadline=time.monotonic() + 0.01)
        Traceback (most recent call last):
        ...
        TimeoutError
        >>> os.close(r); os.close(w)
    """
    (size,) = HEADER.unpack(_read_exact(fd, HEADER.size, deadline))
    if size > MAX_FRAME:
        raise ValueError(f"a frame of {size} bytes is over the limit")
    return decode_body(_read_exact(fd, size, deadline))


class FrameBuffer:
    """Reassembles frames holding JSON objects from a byte stream read in pieces.

    For readers that cannot block on one peer (the sandbox polls several pipes). Every
    malformed input (a length over ``max_frame``, bad UTF-8, bad or deeply nested JSON,
    not an object) raises ``ValueError``, never anything else.

    Example:
        >>> buf = FrameBuffer()
        >>> data = encode_frame({"a": 1}) + b" "
        >>> buf.feed(data[:5]), buf.feed(data[5:])
        ([], [{'a': 1}])
        >>> body = b"[" * 100_000
        >>> FrameBuffer().feed(HEADER.pack(len(body)) + body)
        Traceback (most recent call last):
        ...
        ValueError: malformed frame: RecursionError
    """

    def __init__(self, max_frame: int = 16 * 1024 * 1024) -> None:
        self.max_frame = max_frame
        self._data = bytearray()

    def feed(self, chunk: bytes) -> list[dict]:
        """Add bytes; return the complete frames (raises ValueError on a malformed one)."""
        self._data += chunk
        frames = []
        while len(self._data) >= HEADER.size:
            (size,) = HEADER.unpack(self._data[: HEADER.size])
            if size > self.max_frame:
                raise ValueError("oversized frame")
            end = HEADER.size + size
            if len(self._data) < end:
                break
            body = bytes(self._data[HEADER.size : end])
            del self._data[:end]
            frame = decode_body(body)
            if not isinstance(frame, dict):
                raise ValueError("frame is not an object")
            frames.append(frame)
        return frames
