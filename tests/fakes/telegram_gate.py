"""What stands in front of the real Bot API, for the fake one: flood limits, outages, a stalled request.

`TelegramGate` is ASGI middleware around `FakeTelegram.app`:
- **flood limits** (when `limits=True`), as Telegram answers a bot that sends too fast: more than 32
  messages in any second (30 a second and a small burst), or a chat past a burst of 3 at one a second → HTTP 429 with
  `parameters.retry_after`. A few milliseconds of network jitter are tolerated, as Telegram's own limits
  are not that exact; every 429 is counted in `flood`.
- **outages**: `outage(seconds, status)` answers every Bot API call with a bare nginx 502/500/503 page
  for that long (Telegram's front end when its back end is away).
- **a stalled send**: `hold(chat_id)` keeps sendMessage requests to that chat waiting (`held` counts
  them) until `release(chat_id)`; a request whose client went away meanwhile (the worker was killed) is
  dropped unseen by the fake, like a request that never fully reached Telegram.

The gate runs in the fake server's thread; its controls are called from the test's thread.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["Rejected", "TelegramGate"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_METHOD = re.compile(r"^/bot[^/]+/(\w+)$")
_GATEWAY_PAGE = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body></html>\r\n"
JITTER = 0.03  # seconds of network jitter the limits forgive


@dataclass(frozen=True)
class Rejected:
    method: str
    chat_id: int | None
    status: int
    at: float  # time.monotonic()


class TelegramGate:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limits: bool = False,
        per_second: float = 30.0,
        chat_interval: float = 1.0,
        chat_burst: int = 3,
    ) -> None:
        self.app = app
        self.limits = limits
        self.per_second = per_second
        self.chat_interval = chat_interval
        self.chat_burst = chat_burst
        self.rejected: list[Rejected] = []
        self._lock = threading.Lock()
        self._outage_until = 0.0
        self._outage_status = 502
        self._held: set[int] = set()
        self.held: collections.Counter[int] = collections.Counter()  # requests waiting now, per chat
        self.dropped: collections.Counter[int] = collections.Counter()  # held requests whose client went away
        self._recent: collections.deque[float] = collections.deque()  # sendMessage arrivals, last second
        self._chat_tat: dict[int, float] = {}  # per-chat GCRA

    # ---- controls (any thread) ------------------------------------------------------------------

    def outage(self, seconds: float, status: int = 502) -> None:
        with self._lock:
            self._outage_until = time.monotonic() + seconds
            self._outage_status = status

    def hold(self, chat_id: int) -> None:
        with self._lock:
            self._held.add(chat_id)

    def release(self, chat_id: int) -> None:
        with self._lock:
            self._held.discard(chat_id)

    @property
    def flood(self) -> list[Rejected]:
        return [r for r in self.rejected if r.status == 429]

    # ---- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _METHOD.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        method = match.group(1).lower()
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        chat_id = _chat_id(scope, body)
        now = time.monotonic()
        with self._lock:
            down = now < self._outage_until
            status = self._outage_status
        if down:
            self.rejected.append(Rejected(method, chat_id, status, now))
            await _respond(send, status, _GATEWAY_PAGE, "text/html")
            return
        if method == "sendmessage" and chat_id is not None and not await self._wait_if_held(chat_id, receive):
            return
        if method == "sendmessage" and self.limits:
            retry_after = self._flood_wait(chat_id)
            if retry_after:
                self.rejected.append(Rejected(method, chat_id, 429, time.monotonic()))
                payload = {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {retry_after}",
                    "parameters": {"retry_after": retry_after},
                }
                await _respond(send, 429, json.dumps(payload).encode(), "application/json")
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _wait_if_held(self, chat_id: int, receive: Receive) -> bool:
        """False when the request was dropped (its client disconnected while held)."""
        with self._lock:
            if chat_id not in self._held:
                return True
        self.held[chat_id] += 1
        listener = asyncio.ensure_future(receive())
        try:
            while True:
                with self._lock:
                    if chat_id not in self._held:
                        return True
                if listener.done() and listener.result().get("type") == "http.disconnect":
                    self.dropped[chat_id] += 1
                    return False
                await asyncio.sleep(0.01)
        finally:
            self.held[chat_id] -= 1
            listener.cancel()

    def _flood_wait(self, chat_id: int | None) -> int:
        """Seconds Telegram would ask to wait before this message, or 0 to let it through."""
        now = time.monotonic()
        with self._lock:
            while self._recent and self._recent[0] <= now - 1.0:
                self._recent.popleft()
            if len(self._recent) >= self.per_second + 2:  # a small burst, as Telegram tolerates
                return 1
            if chat_id is not None:
                tolerance = (self.chat_burst - 1) * self.chat_interval
                tat = max(self._chat_tat.get(chat_id, 0.0), now)
                if tat - tolerance > now + JITTER:
                    return max(1, round(tat - tolerance - now))
                self._chat_tat[chat_id] = tat + self.chat_interval
            self._recent.append(now)
            return 0


def _chat_id(scope: Scope, body: bytes) -> int | None:
    headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
    params: dict[str, Any] = dict(parse_qsl(scope.get("query_string", b"").decode()))
    if headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            data = {}
        if isinstance(data, dict):
            params.update(data)
    else:
        params.update(parse_qsl(body.decode(errors="replace")))
    try:
        return int(params["chat_id"])
    except (KeyError, TypeError, ValueError):
        return None


async def _respond(send: Send, status: int, body: bytes, content_type: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
