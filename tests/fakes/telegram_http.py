"""HTTP face of the fake Bot API: the wire format, the `/_fake/` control API, and a uvicorn server.

The Bot API accepts parameters in the query string, form-encoded or JSON bodies; PTB sends forms with
nested values (reply_markup…) JSON-encoded, so form values are given back their JSON types here and
`FakeTelegram` only ever sees typed parameters. The control API lets tests that run the fake in
another process read what it received and inject faults:

    GET  /_fake/sent?chat_id=&since=&min_count=&timeout=   messages (waits for min_count up to timeout)
    GET  /_fake/callback_answers, /_fake/chat_actions, /_fake/calls?method=, /_fake/stats
    POST /_fake/fail {chat_id?, n, kind, retry_after, method?}    POST /_fake/block|unblock {chat_id}
    POST /_fake/reset
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

import uvicorn
from pydantic import BaseModel, Field, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.telegram_markup import ApiError

if TYPE_CHECKING:
    from tests.fakes.telegram import FakeTelegram

__all__ = ["build_app", "make_server"]

_JSON_FIELDS = frozenset({"reply_markup", "entities", "link_preview_options", "reply_parameters"})
_BOOL_FIELDS = frozenset({"show_alert", "disable_notification", "protect_content", "drop_pending_updates"})
_INT_FIELDS = frozenset({"chat_id", "message_id", "reply_to_message_id", "message_thread_id", "cache_time"})
_BAD_GATEWAY_HTML = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>nginx</body></html>\r\n"


class _FaultSpec(BaseModel):
    chat_id: int | None = None
    n: int = Field(default=1, ge=1)
    kind: Literal["429", "500", "502"] = "429"
    retry_after: int = Field(default=1, ge=1)
    method: str | None = "sendMessage"


class _ChatRef(BaseModel):
    chat_id: int


def _coerce(name: str, value: Any) -> Any:
    """Give a form value its JSON type; unparsable values stay strings for the method to reject."""
    if not isinstance(value, str):
        return value
    try:
        if name in _JSON_FIELDS:
            return json.loads(value)
        if name in _INT_FIELDS:
            return int(value)
    except ValueError:
        return value
    if name in _BOOL_FIELDS:
        return value.lower() in ("true", "1")
    return value


async def _read_params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    content_type = request.headers.get("content-type", "")
    if body and content_type.startswith("application/json"):
        try:
            data = json.loads(body)
        except ValueError:
            raise ApiError(400, "Bad Request: can't parse JSON encoded request") from None
        if not isinstance(data, dict):
            raise ApiError(400, "Bad Request: can't parse JSON encoded request")
        params.update(data)
    elif body and content_type.startswith("application/x-www-form-urlencoded"):
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    elif body:  # multipart only carries file uploads, which no method of the fake takes
        raise ApiError(400, f"Bad Request: the fake does not accept {content_type or 'this body'}")
    return {name: _coerce(name, value) for name, value in params.items()}


def build_app(fake: FakeTelegram) -> Starlette:
    async def bot_api(request: Request) -> Response:
        token, method = request.path_params["token"], request.path_params["method"]
        params: dict[str, Any] = {}
        try:
            params = await _read_params(request)
        except ApiError as err:
            status, body = fake.handle(token, method, params, parse_error=err)
        else:
            status, body = fake.handle(token, method, params)
        if status == 502:  # what Telegram's nginx front answers, not JSON
            return Response(_BAD_GATEWAY_HTML, status_code=502, media_type="text/html")
        return JSONResponse(body, status_code=status)

    async def not_found(request: Request) -> Response:
        return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)

    async def sent(request: Request) -> Response:
        query = request.query_params
        try:
            chat_id = int(query["chat_id"]) if query.get("chat_id") else None
            since, min_count = int(query.get("since", 0)), int(query.get("min_count", 0))
            timeout = min(float(query.get("timeout", 5)), 60.0)
        except ValueError as err:
            return JSONResponse({"detail": str(err)}, status_code=422)
        if min_count:
            try:
                await fake.wait_for(chat_id, min_count, timeout, since=since)
            except TimeoutError:
                pass  # the caller compares the count it got with the one it asked for
        return JSONResponse([asdict(m) for m in fake.sent_to(chat_id, since)])

    async def recorded(request: Request) -> Response:
        kind = request.url.path.rsplit("/", 1)[1]
        records: list[Any] = {
            "callback_answers": fake.callback_answers,
            "chat_actions": fake.chat_actions,
        }.get(kind, fake.calls)
        method = request.query_params.get("method")
        return JSONResponse([asdict(r) for r in records if method in (None, getattr(r, "method", None))])

    async def stats(request: Request) -> Response:
        return JSONResponse(fake.stats())

    async def fail(request: Request) -> Response:
        try:
            spec = _FaultSpec.model_validate_json(await request.body() or b"{}")
        except ValidationError as err:
            return JSONResponse({"detail": err.errors(include_url=False)}, status_code=422)
        fake.fail_next(spec.chat_id, spec.n, spec.kind, spec.retry_after, method=spec.method)
        return JSONResponse({"ok": True})

    def chat_control(action: Callable[[int], None]) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> Response:
            try:
                ref = _ChatRef.model_validate_json(await request.body())
            except ValidationError as err:
                return JSONResponse({"detail": err.errors(include_url=False)}, status_code=422)
            action(ref.chat_id)
            return JSONResponse({"ok": True})

        return endpoint

    async def reset(request: Request) -> Response:
        fake.clear()
        return JSONResponse({"ok": True})

    routes = [
        Route("/bot{token}/{method}", bot_api, methods=["GET", "POST"]),
        Route("/_fake/sent", sent),
        Route("/_fake/callback_answers", recorded),
        Route("/_fake/chat_actions", recorded),
        Route("/_fake/calls", recorded),
        Route("/_fake/stats", stats),
        Route("/_fake/fail", fail, methods=["POST"]),
        Route("/_fake/block", chat_control(fake.block), methods=["POST"]),
        Route("/_fake/unblock", chat_control(fake.unblock), methods=["POST"]),
        Route("/_fake/reset", reset, methods=["POST"]),
        Route("/{path:path}", not_found, methods=["GET", "POST"]),
    ]
    return Starlette(routes=routes)


class _AnnouncingServer(uvicorn.Server):
    """uvicorn has no readiness hook: this one reports the bound URL once startup has succeeded.

    A port already taken makes uvicorn log the error and raise `SystemExit` from `serve()`.
    """

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        host, port = self.servers[0].sockets[0].getsockname()[:2]  # the real port when 0 was asked
        self._on_ready(f"http://{host}:{port}")


def make_server(app: Starlette, host: str, port: int, on_ready: Callable[[str], None]) -> uvicorn.Server:
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off", access_log=False)
    return _AnnouncingServer(config, on_ready)
