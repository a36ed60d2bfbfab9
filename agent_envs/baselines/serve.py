"""A local OpenAI-compatible HTTP server for a chat model (``/v1/chat/completions``).

Run it from the command line to put a transformers model behind an endpoint that any
OpenAI client (and :class:`~agent_envs.baselines.OpenAIChatPolicy`) can use::

    python -m agent_envs.baselines.serve --model PATH_OR_GGUF [--port 8000]
    python -m agent_envs.baselines.serve --model smollm2   # the bundled SmolLM2-135M

It binds ``127.0.0.1`` on a free port unless told otherwise and prints its base URL.
Endpoints: ``GET /v1/models``, ``GET /v1/models/{id}``, ``POST /v1/chat/completions``
(no streaming, ``n=1``), ``GET /health``. Errors use OpenAI's JSON shape and proper
statuses: 400 bad request, 401 wrong key, 404 unknown path or model, 405 wrong method,
411/413 missing or oversized body, 500 generation failure.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from agent_envs.baselines.chat_model import ChatModel, ContextLengthError
from agent_envs.baselines.openai_wire import (
    RequestError,
    completion_body,
    error_body,
    parse_chat_request,
)

__all__ = ["ChatCompletionServer", "main"]

logger = logging.getLogger("agent_envs.baselines.serve")
_MAX_BODY_BYTES = 8 * 1024 * 1024


class ChatCompletionServer:
    """Serve a :class:`~agent_envs.baselines.chat_model.ChatModel` over OpenAI's chat API.

    The socket is bound at construction (``port=0`` picks a free port; see
    :attr:`base_url`); :meth:`start` serves from a background thread, :meth:`serve_forever`
    in the calling one. Requests are handled in threads; the model serializes
    generation. ``api_key`` (optional) is then required as ``Authorization: Bearer``.
    ``request_timeout`` bounds how long a client may take to send its request.

    Example:
        >>> import json, urllib.request
        >>> from agent_envs.baselines.chat_model import Completion
        >>> class Echo:
        ...     name = "echo"
        ...     def generate(self, messages, params):
        ...         return Completion(messages[-1]["content"][::-1])
        >>> with ChatCompletionServer(Echo()) as server:
        ...     with urllib.request.urlopen(server.base_url + "/models") as answer:
        ...         [m["id"] for m in json.load(answer)["data"]]
        ['echo']
    """

    def __init__(
        self,
        model: ChatModel,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model_name: str | None = None,
        api_key: str | None = None,
        max_tokens_limit: int = 4096,
        request_timeout: float = 60.0,
    ) -> None:
        if not callable(getattr(model, "generate", None)):
            raise TypeError(f"model must have a generate(messages, params) method, got {model!r}")
        if type(max_tokens_limit) is not int or max_tokens_limit < 1:
            raise ValueError(f"max_tokens_limit must be a positive int, got {max_tokens_limit!r}")
        self.model = model
        self.model_name = model_name or str(getattr(model, "name", "model"))
        self.api_key = api_key or None
        self.max_tokens_limit = max_tokens_limit
        self.created = int(time.time())
        handler = type("_BoundHandler", (_Handler,), {"app": self, "timeout": request_timeout})
        self._httpd = ThreadingHTTPServer((host, port), handler)
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None
        self._closed = False

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client, e.g. ``http://127.0.0.1:40123/v1``."""
        host = self._httpd.server_address[0]
        host = f"[{host}]" if ":" in str(host) else host
        return f"http://{host}:{self.port}/v1"

    def start(self) -> ChatCompletionServer:
        """Serve in a daemon thread; returns ``self``."""
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._httpd.serve_forever, name="chat-completion-server", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until :meth:`close` (or Ctrl-C)."""
        self._httpd.serve_forever()

    def close(self) -> None:
        """Stop serving and release the socket; calling it twice is fine."""
        if self._closed:
            return
        self._closed = True
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=10)
        self._httpd.server_close()

    def __enter__(self) -> ChatCompletionServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def model_card(self) -> dict[str, Any]:
        """The ``/v1/models`` entry of the served model."""
        return {
            "id": self.model_name,
            "object": "model",
            "created": self.created,
            "owned_by": "agent-envs",
        }


class _Handler(BaseHTTPRequestHandler):
    """One HTTP request; ``app`` (the server) and ``timeout`` are set by a subclass."""

    app: ChatCompletionServer
    protocol_version = "HTTP/1.1"
    server_version = "agent-envs-serve"

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path == "/health":
            return self._send(200, {"status": "ok"})
        if path == "/v1/chat/completions":
            return self._method_not_allowed()
        if not path.startswith("/v1/models"):
            return self._fail(RequestError(404, f"no route GET {path}", code="not_found"))
        if not self._authorized():
            return None
        card = self.app.model_card()
        if path == "/v1/models":
            return self._send(200, {"object": "list", "data": [card]})
        if path == f"/v1/models/{card['id']}":
            return self._send(200, card)
        return self._fail(RequestError(404, f"no model at {path}", code="model_not_found"))

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.startswith("/v1/models") or path == "/health":
            return self._method_not_allowed()
        if path != "/v1/chat/completions":
            self.close_connection = True  # the body is left unread
            return self._fail(RequestError(404, f"no route POST {path}", code="not_found"))
        try:
            body = self._read_json()
            if not self._authorized():
                return None
            request = parse_chat_request(
                body, served_model=self.app.model_name, max_tokens_limit=self.app.max_tokens_limit
            )
            completion = self.app.model.generate(request.messages, request.params)
        except RequestError as exc:
            return self._fail(exc)
        except ContextLengthError as exc:
            return self._fail(RequestError(400, str(exc), code="context_length_exceeded"))
        except Exception as exc:  # the server must answer, whatever the model did
            logger.exception("generation failed")
            return self._fail(RequestError(500, f"generation failed: {exc}", kind="server_error"))
        self._send(200, completion_body(self.app.model_name, completion))

    def _method_not_allowed(self) -> None:
        self.close_connection = True
        self._fail(RequestError(405, f"method {self.command} not allowed on {self.path}"))

    do_PUT = do_DELETE = do_PATCH = _method_not_allowed

    def _read_json(self) -> Any:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            raise RequestError(411, "chunked bodies are not supported; send Content-Length")
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            raise RequestError(411, "a Content-Length header is required") from None
        if length < 0 or length > _MAX_BODY_BYTES:
            self.close_connection = True
            raise RequestError(413, f"the body must be at most {_MAX_BODY_BYTES} bytes")
        raw = self.rfile.read(length)
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise RequestError(400, "the body is not valid JSON") from None

    def _authorized(self) -> bool:
        key = self.app.api_key
        if key is None or self.headers.get("Authorization", "") == f"Bearer {key}":
            return True
        self._fail(RequestError(401, "invalid or missing API key", code="invalid_api_key"))
        return False

    def _fail(self, error: RequestError) -> None:
        self._send(error.status, error_body(error))

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> int:
    """Command line: load a model and serve it until Ctrl-C or SIGTERM (both exit 0).

    Example:
        >>> main(["--help"])  # doctest: +ELLIPSIS
        usage: python -m agent_envs.baselines.serve [-h] --model MODEL ...
        0
    """
    parser = argparse.ArgumentParser(
        prog="python -m agent_envs.baselines.serve",
        description="Serve a transformers chat model over an OpenAI-compatible HTTP API.",
    )
    parser.add_argument(
        "--model", required=True, help="model folder, hub id, .gguf file, or 'smollm2'"
    )
    parser.add_argument("--gguf-file", help="GGUF file name inside the model folder")
    parser.add_argument("--name", help="model id clients must send (default: from the path)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--api-key", help="require this key as 'Authorization: Bearer KEY'")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--dtype", default="auto", help="auto, float32, bfloat16, float16")
    parser.add_argument("--threads", type=int, help="CPU threads for generation (default: torch's)")
    parser.add_argument("--max-tokens-limit", type=int, default=4096)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help and usage errors
        return int(exc.code or 0)
    from agent_envs.baselines.chat_model import TransformersChatModel
    from agent_envs.baselines.models import smollm2_path

    path = smollm2_path() if args.model == "smollm2" else args.model
    model = TransformersChatModel(
        path,
        gguf_file=args.gguf_file,
        device=args.device,
        dtype=args.dtype,
        name=args.name,
        threads=args.threads,
    )
    server = ChatCompletionServer(
        model,
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        max_tokens_limit=args.max_tokens_limit,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    print(f"Serving {server.model_name!r} at {server.base_url} (Ctrl-C to stop)", flush=True)
    # a service manager or `docker stop` sends SIGTERM, and a job started in the background
    # by a shell ignores SIGINT: both end the server the way Ctrl-C does
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    return 0


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    raise SystemExit(main())
