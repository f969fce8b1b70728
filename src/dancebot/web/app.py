"""FastAPI app: the webhook ingress and /health (PRODUCT.md §3.2). Routes stay tiny (STYLE: PTB's webhook
handler checks the secret, parses into a typed update, hands it on and returns).

The webhook answers once the message is durably accepted in Redis (`InboundProcessor.accept`); its turn
runs later in this process (`InboundProcessor.run`, started with the app), never inside the request.

Bad input: wrong/missing secret → 401 and nothing stored; body over 1 MB → 413; not JSON → 400. With the
right secret, JSON we cannot read as an update → 200, logged and kept in an `errors` row (SPEC §4: Telegram
would otherwise retry it and hold the chat's later updates back); an update kind we don't handle → 200 and
ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from dancebot.channels import telegram
from dancebot.config import Settings
from dancebot.llm.health import degradation_level
from dancebot.logs import get_logger
from dancebot.runtime import Runtime, open_runtime
from dancebot.storage import db
from dancebot.web import body as body_json
from dancebot.web import whatsapp
from dancebot.web.body import MAX_BODY
from dancebot.web.body import error_response as _error
from dancebot.web.body import read_body as _read_body
from dancebot.wiring import Conversation, open_conversation

__all__ = ["MAX_BODY", "create_app"]

log = get_logger(__name__)


class _CountWebhooks:
    """Counts webhook requests in flight for the turn dispatcher, which gives them the event loop first
    (`RequestsInFlight`). Plain ASGI: no per-request cost beyond two calls."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        webhook = scope["type"] == "http" and scope["path"].startswith("/webhook/")
        conversation: Conversation | None = getattr(scope["app"].state, "conversation", None) if webhook else None
        if conversation is None:  # not a webhook, or the app is still starting
            await self._app(scope, receive, send)
            return
        requests = conversation.processor.requests
        started = requests.enter()
        try:
            await self._app(scope, receive, send)
        finally:
            requests.leave(started)


def create_app(settings: Settings) -> FastAPI:
    settings.require("telegram_webhook_secret")
    secret = settings.required_secret("telegram_webhook_secret")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings) as rt, open_conversation(rt) as conversation:
            app.state.rt = rt
            app.state.conversation = conversation
            # Turns run here, off the request path: first what an earlier process accepted, then new ones.
            stop = asyncio.Event()
            turns = asyncio.create_task(conversation.processor.run(stop), name="turns")
            try:
                yield
            finally:
                stop.set()
                await turns

    app = FastAPI(title="DanceBot", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(_CountWebhooks)
    app.include_router(whatsapp.router)  # GET/POST /webhook/whatsapp (web/whatsapp.py)

    @app.post("/webhook/telegram")
    async def webhook_telegram(request: Request) -> JSONResponse:
        if not telegram.secret_matches(request.headers.get("x-telegram-bot-api-secret-token"), secret):
            return _error(401, "invalid secret token")
        body = await _read_body(request)
        if body is None:
            return _error(413, "body too large")
        try:
            data: Any = body_json.loads(body)
        except ValueError:
            return _error(400, "body is not JSON")
        try:
            msg = telegram.parse_update(data)
        except telegram.InvalidUpdate as exc:  # SPEC §4: never refused for its shape, or Telegram holds the chat
            log.warning("webhook.unreadable_update", error=str(exc))
            rt: Runtime = request.app.state.rt
            raw = body_json.excerpt(body)
            await rt.audit.error(trace_id=None, source="telegram", kind="unreadable_update", message=str(exc), raw=raw)
            return JSONResponse({"ok": True, "ignored": True, "error": str(exc)})
        if msg is None:
            log.info("webhook.ignored_update", update_id=data.get("update_id"))
            return JSONResponse({"ok": True, "ignored": True})
        verdict = await request.app.state.conversation.processor.accept(msg)  # durably accepted; the turn runs later
        return JSONResponse({"ok": True, "result": verdict.value})

    @app.get("/health")
    async def health(request: Request) -> JSONResponse:
        rt: Runtime = request.app.state.rt
        conversation: Conversation = request.app.state.conversation
        try:
            redis_ok = bool(await rt.redis.ping())
        except Exception:
            redis_ok = False
        pg_ok = await db.ping(rt.db)
        try:
            crm = await conversation.crm.health() if redis_ok else "unknown"
        except Exception:
            crm = "down"
        llm = "not_configured"
        if conversation.llm is not None:  # passive: the breaker and the budget, never a paid probe
            llm = await conversation.llm.status() if redis_ok else "unknown"
        degradation = degradation_level(crm, llm)  # PRODUCT.md §9.3
        body = {
            "status": "ok" if redis_ok and pg_ok and degradation == "L0" else ("degraded" if redis_ok else "down"),
            "redis": "ok" if redis_ok else "down",
            "postgres": "ok" if pg_ok else "down",
            "crm": crm,
            "llm": llm,
            "degradation": degradation,
        }
        return JSONResponse(body, status_code=200 if redis_ok else 503)

    return app
