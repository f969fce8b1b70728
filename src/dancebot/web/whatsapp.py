"""WhatsApp webhook routes (PRODUCT.md §3.2, §4): Meta's verification GET and the message POST.

- `GET /webhook/whatsapp`: `hub.mode=subscribe` with `hub.verify_token` equal to WHATSAPP_VERIFY_TOKEN
  (constant time) → `hub.challenge` as text/plain 200; anything else → 403.
- `POST /webhook/whatsapp`: the raw body (≤ 1 MB, else 413) must carry `X-Hub-Signature-256` =
  HMAC-SHA256(WHATSAPP_APP_SECRET, body), checked in constant time before the body is parsed: a missing or
  wrong signature → 401, nothing stored. Not JSON → 400. A signed payload we cannot read → 200, logged and
  kept in an `errors` row (Meta would otherwise redeliver it for days). Each message opens the client's
  24-hour window and is durably accepted, in payload order, through Telegram's entry point (its turn runs
  later, off the request path); statuses are recorded.

Without WhatsApp configured both routes answer 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from dancebot.channels import whatsapp
from dancebot.config import Settings
from dancebot.logs import get_logger
from dancebot.outbound import window
from dancebot.outbound.whatsapp_status import record_statuses
from dancebot.runtime import Runtime
from dancebot.web import body as body_json
from dancebot.web.body import MAX_BODY
from dancebot.web.body import error_response as _error
from dancebot.web.body import read_body as _read_body

__all__ = ["MAX_BODY", "router"]

log = get_logger(__name__)
router = APIRouter()


def _settings(request: Request) -> Settings:
    rt: Runtime = request.app.state.rt
    return rt.settings


@router.get("/webhook/whatsapp")
async def verify(request: Request) -> Response:
    settings = _settings(request)
    if not settings.whatsapp_configured or settings.whatsapp_verify_token is None:
        return PlainTextResponse("whatsapp is not configured", status_code=404)
    query = request.query_params
    expected = settings.whatsapp_verify_token.get_secret_value()
    if query.get("hub.mode") == "subscribe" and whatsapp.token_matches(query.get("hub.verify_token"), expected):
        log.info("whatsapp.verified")
        return PlainTextResponse(query.get("hub.challenge", ""))
    log.warning("whatsapp.verify_refused", mode=query.get("hub.mode"))
    return PlainTextResponse("forbidden", status_code=403)


@router.post("/webhook/whatsapp")
async def receive(request: Request) -> JSONResponse:
    rt: Runtime = request.app.state.rt
    settings = rt.settings
    if not settings.whatsapp_configured:
        return _error(404, "whatsapp is not configured")
    body = await _read_body(request)
    if body is None:
        return _error(413, "body too large")
    secret = settings.required_secret("whatsapp_app_secret")
    if not whatsapp.signature_matches(body, request.headers.get(whatsapp.SIGNATURE_HEADER), secret):
        log.warning("whatsapp.bad_signature", present=whatsapp.SIGNATURE_HEADER in request.headers)
        return _error(401, "invalid signature")
    try:
        data: Any = body_json.loads(body)
    except ValueError:
        return _error(400, "body is not JSON")
    try:
        payload = whatsapp.parse_payload(data, settings.whatsapp_phone_number_id)
    except whatsapp.InvalidPayload as exc:
        log.warning("whatsapp.unreadable_payload", error=str(exc))
        await rt.audit.error(
            trace_id=None, source="whatsapp", kind="unreadable_payload", message=str(exc), raw=body_json.excerpt(body)
        )
        return JSONResponse({"ok": True, "ignored": True})
    if payload.skipped:
        log.info("whatsapp.skipped_items", count=payload.skipped)
    for msg in payload.messages:
        await window.touch(rt.redis, msg.chat_id, msg.timestamp.timestamp())
    if payload.statuses:
        await record_statuses(rt, payload.statuses)
    results = []
    for msg in payload.messages:
        verdict = await request.app.state.conversation.processor.accept(msg)  # the turn runs later
        results.append(verdict.value)
    return JSONResponse({"ok": True, "results": results})
