"""`POST /webhook/telegram` as a plain ASGI handler (PRODUCT.md §3.2, §4; SPEC §4).

It is the hottest request the service answers, and under overload its cost decides how fast acks stay
(issue 10): FastAPI's middleware stack and route matching took about a quarter of it. So the app's outer
layer (`web/app.py`) hands this one path here, and everything else to FastAPI. The answers are the
same as any route's (STYLE: PTB's webhook handler — check the secret, parse into a typed update, hand it
on, return):

- wrong or missing secret → 401, nothing read or stored;
- a body over 1 MB (declared or streamed) → 413; not JSON → 400;
- with the right secret, JSON we cannot read as an update → 200, logged and kept in an `errors` row
  (Telegram would otherwise retry it and hold the chat's later updates back); a kind we don't handle →
  200 and ignored;
- otherwise the message is durably accepted (`InboundProcessor.accept`) → 200 with the gate's verdict;
- a real failure to accept (Redis away after its retries) → 500, so Telegram delivers it again.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import Receive, Scope, Send

from dancebot.channels import telegram
from dancebot.conversation.inbound import InboundProcessor
from dancebot.logs import get_logger
from dancebot.runtime import Runtime
from dancebot.web import body as body_json

__all__ = ["PATH", "handle"]

log = get_logger(__name__)

PATH = "/webhook/telegram"
_SECRET_HEADER = b"x-telegram-bot-api-secret-token"
_JSON_HEADERS = [(b"content-type", b"application/json")]


async def handle(
    scope: Scope, receive: Receive, send: Send, *, secret: str, rt: Runtime, processor: InboundProcessor
) -> None:
    token: bytes | None = None
    declared: bytes | None = None
    for name, value in scope["headers"]:
        if name == _SECRET_HEADER:
            token = value
        elif name == b"content-length":
            declared = value
    if not telegram.secret_matches(token.decode("latin-1") if token is not None else None, secret):
        await _answer(send, 401, {"ok": False, "error": "invalid secret token"})
        return
    try:
        body = await body_json.read_asgi_body(receive, declared)
    except body_json.Disconnected:
        return  # the sender is gone: nobody to answer, nothing accepted (it will deliver again)
    if body is None:
        await _answer(send, 413, {"ok": False, "error": "body too large"})
        return
    try:
        data: Any = body_json.loads(body)
    except ValueError:
        await _answer(send, 400, {"ok": False, "error": "body is not JSON"})
        return
    try:
        msg = telegram.parse_update(data)
    except telegram.InvalidUpdate as exc:  # SPEC §4: never refused for its shape, or Telegram holds the chat
        log.warning("webhook.unreadable_update", error=str(exc))
        raw = body_json.excerpt(body)
        await rt.audit.error(trace_id=None, source="telegram", kind="unreadable_update", message=str(exc), raw=raw)
        await _answer(send, 200, {"ok": True, "ignored": True, "error": str(exc)})
        return
    if msg is None:
        log.info("webhook.ignored_update", update_id=data.get("update_id"))
        await _answer(send, 200, {"ok": True, "ignored": True})
        return
    try:
        verdict = await processor.accept(msg)  # durably accepted; the turn runs later
    except Exception as exc:
        log.exception("webhook.accept_failed", error=type(exc).__name__)
        await _answer(send, 500, {"ok": False, "error": "could not accept the update, deliver it again"})
        return
    await _answer(send, 200, {"ok": True, "result": verdict.value})


async def _answer(send: Send, status: int, payload: dict[str, Any]) -> None:
    content = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = [*_JSON_HEADERS, (b"content-length", str(len(content)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": content})
