"""``OpenAIChatPolicy``: any OpenAI-compatible ``/chat/completions`` endpoint as a policy.

Plain standard library HTTP (``urllib``): no client package needed. Works with the
OpenAI API, vLLM, SGLang, llama.cpp's server, Ollama, TGI, LiteLLM and
:mod:`agent_envs.baselines.serve`.
"""

from __future__ import annotations

import http.client
import json
import os
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from agent_envs.baselines.base import Message
from agent_envs.baselines.chat_model import Completion, GenerationParams
from agent_envs.baselines.chat_policy import ChatPolicy

__all__ = ["OpenAIChatPolicy", "EndpointError", "DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "https://api.openai.com/v1"
#: HTTP statuses worth retrying: timeouts, conflicts, rate limits, server errors.
_RETRY_STATUSES = {408, 409, 429, 500, 502, 503, 504}
_MAX_RESPONSE_BYTES = 16 * 1024 * 1024


class EndpointError(RuntimeError):
    """A chat completion failed: unreachable, timed out, an HTTP error or a malformed answer.

    ``retryable`` says whether trying again could help (``False`` for a 4xx answer
    such as a wrong model name or key); ``retry_after`` is the server's requested
    wait in seconds, if it sent one.

    Example:
        >>> EndpointError("HTTP 404: no such model", retryable=False).retryable
        False
    """

    def __init__(
        self, message: str, *, retryable: bool = True, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class OpenAIChatPolicy(ChatPolicy):
    """An LLM behind an OpenAI-compatible chat endpoint, one completion per turn.

    Configuration: ``model`` (or ``$OPENAI_MODEL``), ``base_url`` (or
    ``$OPENAI_BASE_URL``, default the OpenAI API), ``api_key`` (or ``$OPENAI_API_KEY``;
    none is sent when empty, as local servers expect). ``extra_body`` is merged into
    every request (e.g. ``{"top_k": 20}`` for vLLM).

    Robustness: ``timeout`` (seconds) bounds connecting and each wait for data; connection failures,
    timeouts, HTTP 408/409/429/5xx and malformed answers are retried up to
    ``max_retries`` times, waiting ``backoff * 2**attempt`` seconds (at most
    ``max_backoff``; a ``Retry-After`` header is honoured within that cap). Other
    4xx answers are not retried. When every try fails the policy answers ``""`` and
    records why in :attr:`last_error` (``on_error="empty"``, the default), or raises
    :class:`EndpointError` (``on_error="raise"``); see :class:`ChatPolicy`.

    Sampling settings and seeds are sent with each request (``seed`` is a per-turn
    seed derived from the policy's and the episode's seeds); whether the server
    honours ``seed`` is up to the server.

    Example:
        >>> from agent_envs.baselines import ChatCompletionServer
        >>> from agent_envs.baselines.chat_model import Completion
        >>> class Echo:  # a rule-based "model" served over real HTTP
        ...     name = "echo"
        ...     def generate(self, messages, params):
        ...         return Completion("you said: " + messages[-1]["content"])
        >>> with ChatCompletionServer(Echo()) as server:
        ...     policy = OpenAIChatPolicy("echo", base_url=server.base_url, api_key="")
        ...     policy([{"role": "user", "content": "42"}])
        'you said: 42'
        >>> policy.errors
        0
    """

    def __init__(
        self,
        model: str | None = None,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        temperature: float = 0.7,
        top_p: float = 1.0,
        max_tokens: int = 512,
        seed: int | None = None,
        stop: tuple[str, ...] | list[str] = (),
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        extra_body: dict[str, Any] | None = None,
        on_error: str = "empty",
        name: str | None = None,
    ) -> None:
        model = model or os.environ.get("OPENAI_MODEL")
        if not model or not isinstance(model, str):
            raise ValueError("give the model name (argument `model` or $OPENAI_MODEL)")
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if not _positive(timeout) or not _nonnegative(backoff) or not _nonnegative(max_backoff):
            raise ValueError("timeout must be > 0; backoff and max_backoff must be >= 0")
        if type(max_retries) is not int or max_retries < 0:
            raise ValueError(f"max_retries must be an int >= 0, got {max_retries!r}")
        if extra_body is not None and not isinstance(extra_body, dict):
            raise TypeError(f"extra_body must be a dict, got {type(extra_body).__name__}")
        super().__init__(
            name=name or f"openai:{model}",
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            seed=seed,
            stop=stop,
            on_error=on_error,
        )
        self.model = model
        self.base_url = base_url.rstrip("/")
        self.api_key = os.environ.get("OPENAI_API_KEY", "") if api_key is None else api_key
        self.timeout, self.max_retries = float(timeout), max_retries
        self.backoff, self.max_backoff = float(backoff), float(max_backoff)
        self.extra_body = dict(extra_body or {})

    def __repr__(self) -> str:  # never show the key
        return f"<OpenAIChatPolicy {self.name!r} at {self.base_url}>"

    def _complete(self, messages: list[Message], params: GenerationParams) -> Completion:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "max_tokens": params.max_tokens,
        }
        if params.seed is not None:
            body["seed"] = params.seed
        if params.stop:
            body["stop"] = list(params.stop)
        body.update(self.extra_body)
        data = json.dumps(body).encode()
        attempt = 0
        while True:
            try:
                return _parse_completion(self._post("/chat/completions", data))
            except EndpointError as exc:
                if not exc.retryable or attempt >= self.max_retries:
                    tries = f"after {attempt + 1} tries" if attempt else "(not retried)"
                    raise EndpointError(f"{exc} {tries}", retryable=exc.retryable) from exc
                wait = exc.retry_after
                if wait is None:
                    wait = self.backoff * 2**attempt
                time.sleep(min(max(wait, 0.0), self.max_backoff))
                attempt += 1

    def _post(self, path: str, data: bytes) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        url = f"{self.base_url}{path}"
        request = urllib.request.Request(url, data, headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read(_MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise EndpointError(
                f"{url} answered HTTP {exc.code}: {_error_message(exc)}",
                retryable=exc.code in _RETRY_STATUSES,
                retry_after=_retry_after(exc.headers.get("Retry-After")),
            ) from exc
        except TimeoutError as exc:
            raise EndpointError(f"{url} timed out after {self.timeout:g} s") from exc
        except urllib.error.URLError as exc:
            reason = exc.reason
            if isinstance(reason, (TimeoutError, socket.timeout)):
                raise EndpointError(f"{url} timed out after {self.timeout:g} s") from exc
            raise EndpointError(f"cannot reach {url}: {reason}") from exc
        except (http.client.HTTPException, OSError) as exc:
            raise EndpointError(f"connection to {url} failed: {exc!r}") from exc
        if len(raw) > _MAX_RESPONSE_BYTES:
            raise EndpointError(f"{url} sent more than {_MAX_RESPONSE_BYTES} bytes")
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise EndpointError(f"{url} sent a response that is not JSON: {raw[:80]!r}") from exc


def _parse_completion(payload: Any) -> Completion:
    """Read the first choice of a chat completion, or raise :class:`EndpointError`."""
    try:
        choice = payload["choices"][0]
        content = choice["message"].get("content")
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise EndpointError(f"malformed chat completion: {str(payload)[:120]!r}") from exc
    if content is not None and not isinstance(content, str):
        raise EndpointError(f"message content is not a string: {content!r:.80}")
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    return Completion(
        content or "",
        str(choice.get("finish_reason") or "stop"),
        _int(usage.get("prompt_tokens")),
        _int(usage.get("completion_tokens")),
    )


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read(4096).decode("utf-8", "replace")
    except Exception:  # the body is only a nicety for the message
        return exc.reason or ""
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body[:200] or str(exc.reason)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _int(value: Any) -> int:
    return value if type(value) is int and value >= 0 else 0


def _positive(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x > 0


def _nonnegative(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and x >= 0
