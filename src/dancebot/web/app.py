"""The service's web app: the webhook ingress and /health (PRODUCT.md §3.2). Routes stay tiny (STYLE: PTB's
webhook handler checks the secret, parses into a typed update, hands it on and returns). `POST
/webhook/telegram`, the hottest path, is a plain ASGI handler in front of FastAPI (`web/telegram.py`);
WhatsApp's routes and /health are FastAPI routes.

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

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import State
from starlette.types import ASGIApp, Receive, Scope, Send

from dancebot.config import Settings
from dancebot.llm.health import degradation_level
from dancebot.logs import get_logger
from dancebot.runtime import Runtime, open_runtime
from dancebot.storage import db
from dancebot.web import telegram as tg_webhook
from dancebot.web import whatsapp
from dancebot.web.body import MAX_BODY
from dancebot.wiring import Conversation, open_conversation

__all__ = ["MAX_BODY", "create_app"]

log = get_logger(__name__)


class _Webhooks:
    """The app's outer ASGI layer. It counts webhook requests in flight for the turn dispatcher, which
    gives them the event loop first (`RequestsInFlight`), and answers `POST /webhook/telegram` itself,
    without FastAPI's stack (`web/telegram.py`); every other request goes to FastAPI."""

    def __init__(self, app: FastAPI, secret: str) -> None:
        self._app = app
        self._secret = secret

    @property
    def state(self) -> State:
        """FastAPI's state (the runtime and the conversation, once started)."""
        return self._app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        webhook = scope["type"] == "http" and scope["path"].startswith("/webhook/")
        conversation: Conversation | None = getattr(self._app.state, "conversation", None) if webhook else None
        if conversation is None:  # not a webhook, or the app is still starting
            if webhook and scope["path"] == tg_webhook.PATH:
                await _not_ready(send)
                return
            await self._app(scope, receive, send)
            return
        processor = conversation.processor
        started = processor.requests.enter()
        try:
            if scope["path"] == tg_webhook.PATH and scope["method"] == "POST":
                rt: Runtime = self._app.state.rt
                await tg_webhook.handle(scope, receive, send, secret=self._secret, rt=rt, processor=processor)
            else:
                await self._app(scope, receive, send)
        finally:
            processor.requests.leave(started)


async def _not_ready(send: Send) -> None:
    await send({"type": "http.response.start", "status": 503, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"starting"})


def create_app(settings: Settings) -> ASGIApp:
    """The service's ASGI app: `_Webhooks` in front of FastAPI (whose `state` holds the runtime)."""
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
    app.include_router(whatsapp.router)  # GET/POST /webhook/whatsapp (web/whatsapp.py)

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

    return _Webhooks(app, secret)
