"""The OpenAI chat-completions wire format, as served by :mod:`agent_envs.baselines.serve`.

Parsing a request body into :class:`~agent_envs.baselines.chat_model.GenerationParams`
and building the response and error bodies; no I/O here.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

from agent_envs.baselines.base import Message
from agent_envs.baselines.chat_model import Completion, GenerationParams, validate_messages
from agent_envs.core.trajectory import chat_message

__all__ = ["RequestError", "ChatRequest", "parse_chat_request", "completion_body", "error_body"]

_MAX_STOP = 4


class RequestError(ValueError):
    """A request the server refuses: carries the HTTP status and OpenAI's error fields.

    Example:
        >>> error = RequestError(404, "no such model", code="model_not_found", param="model")
        >>> error.status, error_body(error)["error"]["code"]
        (404, 'model_not_found')
    """

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.param, self.kind = status, code, param, kind


@dataclass(frozen=True)
class ChatRequest:
    """A validated chat-completion request."""

    model: str
    messages: list[Message]
    params: GenerationParams


def parse_chat_request(body: Any, *, served_model: str, max_tokens_limit: int) -> ChatRequest:
    """Validate a decoded JSON request body; raise :class:`RequestError` on any problem.

    Unknown fields are ignored, as OpenAI-compatible servers do; features this server
    does not have (streaming, ``n > 1``, tools) are refused rather than silently dropped.
    ``max_tokens`` (or ``max_completion_tokens``) defaults to 256 (or the limit, if lower).

    Example:
        >>> request = parse_chat_request(
        ...     {"model": "m", "messages": [{"role": "user", "content": "hi"}], "seed": 3},
        ...     served_model="m", max_tokens_limit=512)
        >>> request.params.seed, request.params.temperature
        (3, 1.0)
        >>> parse_chat_request({"model": "m", "messages": []}, served_model="m",
        ...                    max_tokens_limit=512)
        Traceback (most recent call last):
        ...
        agent_envs.baselines.openai_wire.RequestError: messages must be a non-empty list
    """
    if not isinstance(body, dict):
        raise RequestError(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError(400, "model is required (a string)", param="model")
    if model != served_model:
        raise RequestError(
            404,
            f"the model {model!r} does not exist; this server serves {served_model!r}",
            code="model_not_found",
            param="model",
        )
    try:
        messages = validate_messages(body.get("messages"))
    except ValueError as exc:
        raise RequestError(400, str(exc), param="messages") from exc
    if body.get("stream"):
        raise RequestError(400, "streaming is not supported by this server", param="stream")
    if body.get("n", 1) != 1:
        raise RequestError(400, "only n=1 is supported", param="n")
    if body.get("tools") or body.get("functions"):
        raise RequestError(400, "tool calling is not supported by this server", param="tools")
    max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
    max_tokens = min(256, max_tokens_limit) if max_tokens is None else max_tokens
    if type(max_tokens) is int and max_tokens > max_tokens_limit:
        raise RequestError(
            400, f"max_tokens is limited to {max_tokens_limit} here", param="max_tokens"
        )
    stop = body.get("stop")
    stop = () if stop is None else (stop,) if isinstance(stop, str) else stop
    if not isinstance(stop, (list, tuple)) or len(stop) > _MAX_STOP:
        raise RequestError(400, f"stop must be a string or up to {_MAX_STOP} strings", param="stop")
    try:
        params = GenerationParams(
            temperature=_or(body.get("temperature"), 1.0),
            top_p=_or(body.get("top_p"), 1.0),
            max_tokens=max_tokens,
            seed=body.get("seed"),
            stop=tuple(stop),
        )
    except ValueError as exc:
        raise RequestError(400, str(exc), param=str(exc).split()[0]) from exc
    return ChatRequest(model, messages, params)


def completion_body(model: str, completion: Completion) -> dict[str, Any]:
    """The JSON body of a successful ``/v1/chat/completions`` answer.

    Example:
        >>> body = completion_body("m", Completion("42", "stop", 10, 2))
        >>> body["choices"][0]["message"], body["usage"]["total_tokens"]
        ({'role': 'assistant', 'content': '42'}, 12)
    """
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": chat_message("assistant", completion.text),
                "finish_reason": completion.finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": completion.prompt_tokens,
            "completion_tokens": completion.completion_tokens,
            "total_tokens": completion.prompt_tokens + completion.completion_tokens,
        },
    }


def error_body(error: RequestError) -> dict[str, Any]:
    """The JSON body of an error answer, in OpenAI's shape (``{"error": {...}}``)."""
    return {
        "error": {
            "message": str(error),
            "type": error.kind,
            "param": error.param,
            "code": error.code,
        }
    }


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value
