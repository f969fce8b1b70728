"""A fake OpenAI-compatible chat-completions server for tests (PRODUCT.md §16): `POST /v1/chat/completions`
(and `/chat/completions`), scripted one reply per request.

    fake = FakeLLM(api_key="k")
    fake.script(FakeLLM.json({"intent": "book"}), FakeLLM.error(500), FakeLLM.hang(3))
    with fake.serve_in_thread() as base_url:          # http://127.0.0.1:PORT/v1
        ...
    fake.requests[0]["messages"]                      # every request body, as received

Replies: valid JSON, prose-wrapped or fenced JSON, truncated JSON (finish_reason `length`), any text (an
invented price…), HTTP errors in OpenAI's error envelope (500, 429 with `retry-after`), a hang (longer than
the client's timeout; ended early when the server stops) and a garbage body. `usage` is realistic: prompt
tokens ≈ characters of all messages / 4, completion tokens ≈ characters of the reply / 4. With the script
empty, `default` answers (a 500 saying so, unless a test sets another).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import socket
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

__all__ = ["FakeLLM", "Reply"]


@dataclass(frozen=True)
class Reply:
    content: str | None = None
    status: int = 200
    raw: str | None = None  # a body sent as it is (with `content_type`)
    content_type: str = "application/json"
    delay_s: float = 0.0
    finish_reason: str = "stop"
    usage: dict[str, int] | None = None  # overrides the estimate; `{}` sends no usage at all
    headers: dict[str, str] = field(default_factory=dict)


def _tokens(chars: int) -> int:
    return max(1, math.ceil(chars / 4))


class FakeLLM:
    def __init__(self, *, api_key: str | None = None, model: str = "fake-model") -> None:
        self.api_key = api_key
        self.model = model
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.default = FakeLLM.error(500, "fake llm: no scripted reply")
        self._script: deque[Reply] = deque()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None  # created on the server's loop
        self._ids = iter(range(1, 1_000_000_000))
        routes = [Route(p, self._completions, methods=["POST"]) for p in ("/v1/chat/completions", "/chat/completions")]
        self.app = Starlette(routes=routes)

    # -- scripting -----------------------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        self._script.extend(replies)

    def drop_script(self) -> int:
        """Forget the replies not asked for; how many there were."""
        left = len(self._script)
        self._script.clear()
        return left

    def reset(self) -> None:
        self._script.clear()
        self.requests.clear()
        self.headers.clear()
        self.default = FakeLLM.error(500, "fake llm: no scripted reply")

    @property
    def pending(self) -> int:
        return len(self._script)

    @staticmethod
    def text(content: str, **kw: Any) -> Reply:
        return Reply(content=content, **kw)

    @staticmethod
    def json(obj: dict[str, Any]) -> Reply:
        return Reply(content=json.dumps(obj, ensure_ascii=False))

    @staticmethod
    def prose_json(obj: dict[str, Any]) -> Reply:
        body = json.dumps(obj, ensure_ascii=False)
        return Reply(content=f"Конечно! Вот результат разбора: {body} Надеюсь, это поможет.")

    @staticmethod
    def fenced_json(obj: dict[str, Any]) -> Reply:
        return Reply(content=f"Here you go:\n```json\n{json.dumps(obj, ensure_ascii=False, indent=2)}\n```\n")

    @staticmethod
    def truncated_json(obj: dict[str, Any]) -> Reply:
        body = json.dumps(obj, ensure_ascii=False)
        return Reply(content=body[: max(1, len(body) * 2 // 3)], finish_reason="length")

    @staticmethod
    def invented_price() -> Reply:
        return Reply(content="Разовое занятие стоит 990 ₽, а абонемент на месяц — 3 990 ₽ 😊")

    @staticmethod
    def error(status: int = 500, message: str = "internal error") -> Reply:
        kind = {429: "rate_limit_exceeded", 401: "invalid_api_key"}.get(status, "server_error")
        body = {"error": {"message": message, "type": kind, "param": None, "code": kind}}
        headers = {"retry-after": "20"} if status == 429 else {}
        return Reply(status=status, raw=json.dumps(body), headers=headers)

    @staticmethod
    def rate_limited() -> Reply:
        return FakeLLM.error(429, "Rate limit reached, try again in 20s")

    @staticmethod
    def hang(seconds: float = 5.0) -> Reply:
        return Reply(content='{"late": true}', delay_s=seconds)

    @staticmethod
    def garbage(body: str = "<html><body>502 Bad Gateway</body></html>\x00\xff") -> Reply:
        return Reply(raw=body, content_type="text/html")

    @staticmethod
    def garbage_json() -> Reply:
        return Reply(raw='{"choices": [{"message": {"content": ', content_type="application/json")

    # -- the endpoint --------------------------------------------------------------------------------------

    async def _completions(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError:
            return JSONResponse({"error": {"message": "body is not JSON", "type": "invalid_request_error"}}, 400)
        self.requests.append(body)
        self.headers.append(dict(request.headers))
        if self.api_key is not None and request.headers.get("authorization") != f"Bearer {self.api_key}":
            reply = FakeLLM.error(401, "Incorrect API key provided")
        else:
            reply = self._script.popleft() if self._script else self.default
        await self._wait(reply.delay_s)
        if reply.raw is not None:
            return Response(reply.raw, reply.status, headers=reply.headers, media_type=reply.content_type)
        return JSONResponse(self._completion(body, reply), reply.status, headers=reply.headers)

    async def _wait(self, seconds: float) -> None:
        """Sleep, but end at once when the server stops (a hung request must not hold up the shutdown)."""
        if seconds <= 0:
            return
        if self._stop_event is None:
            self._loop, self._stop_event = asyncio.get_running_loop(), asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop_event.wait(), seconds)

    def _completion(self, body: dict[str, Any], reply: Reply) -> dict[str, Any]:
        messages = body.get("messages") or []
        prompt_chars = sum(len(str(m.get("content") or "")) for m in messages if isinstance(m, dict))
        content = reply.content or ""
        usage: dict[str, int] | None = reply.usage
        if usage is None:
            prompt, completion = _tokens(prompt_chars), _tokens(len(content))
            usage = {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
        result: dict[str, Any] = {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": reply.content},
                    "finish_reason": reply.finish_reason,
                }
            ],
        }
        if usage:
            result["usage"] = usage
        return result

    # -- serving -------------------------------------------------------------------------------------------

    @contextmanager
    def serve_in_thread(self) -> Iterator[str]:
        """On a free loopback port in a daemon thread; yields the base URL (`…/v1`) for the SDK."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="fake-llm", daemon=True)
        self._loop = self._stop_event = None
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("fake LLM server did not start")
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            if self._loop is not None and self._stop_event is not None:
                self._loop.call_soon_threadsafe(self._stop_event.set)
            server.should_exit = True
            thread.join(10)
