"""Webhook bodies, for every channel: read with the 1 MB limit, parsed as JSON that every later step can
store and log (PRODUCT.md §14), and the error answer for a bad one."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.types import Receive

__all__ = [
    "KEPT_CHARS",
    "MAX_BODY",
    "Disconnected",
    "error_response",
    "excerpt",
    "loads",
    "read_asgi_body",
    "read_body",
]

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def loads(body: bytes) -> Any:
    """`json.loads`, with NUL and lone surrogates replaced by U+FFFD: `"\\u0000"` and `"\\ud800"` are valid JSON,
    but PostgreSQL text cannot hold NUL and no UTF-8 text (a log line, Redis) a lone surrogate. Raises ValueError
    like json.loads."""
    return _clean(json.loads(body))


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _UNSTORABLE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    return value


MAX_BODY = 1024 * 1024
KEPT_CHARS = 2000  # of a body we could not read, kept in its `errors` row for inspection


def excerpt(body: bytes) -> str:
    """The start of a raw body as text any table can hold (no NUL, no lone surrogate)."""
    return _UNSTORABLE.sub("\ufffd", body[: KEPT_CHARS * 4].decode("utf-8", "replace")[:KEPT_CHARS])


async def read_body(request: Request) -> bytes | None:
    """The raw body, or None when it exceeds MAX_BODY (checked while streaming, not only by header)."""
    declared = request.headers.get("content-length")
    return await read_asgi_body(request.receive, declared.encode("latin-1") if declared is not None else None)


class Disconnected(Exception):
    """The client went away before its body was read."""


async def read_asgi_body(receive: Receive, declared: bytes | None) -> bytes | None:
    """The raw body from an ASGI `receive`, or None when it exceeds MAX_BODY; `declared` is the raw
    Content-Length header, if any. `Disconnected` when the client goes away first."""
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise Disconnected
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def error_response(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"ok": False, "error": detail}, status_code=status)
