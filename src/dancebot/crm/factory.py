"""Builds the Impulse client a process uses: the real tenant, or the in-process fake (PRODUCT.md §7.2).

With IMPULSE_* configured (and TEST_MODE off) the client talks HTTP to the tenant. Otherwise — TEST_MODE,
or a newcomer running `dancebot chat` with no CRM — the same real client talks to a fresh fake Impulse
through `httpx.ASGITransport`, so every quirk the bot handles is exercised without a network.
Every CRM call becomes a `tool_calls` audit row through `tool_call_recorder`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo

import httpx
import structlog

from dancebot.config import Settings
from dancebot.crm.client import CallRecord, ImpulseClient
from dancebot.storage.audit import Audit
from dancebot.transport import outside_transport

if TYPE_CHECKING:
    from dancebot.crm.fake import FakeImpulse

__all__ = [
    "FAKE_API_KEY",
    "FAKE_BASE_URL",
    "build_impulse_client",
    "current_trace_id",
    "tool_call_recorder",
]

FAKE_BASE_URL: Final = "http://impulse.fake/api/public"
FAKE_API_KEY: Final = "fake-impulse-key"
# The fake has no rate limit to respect; 3 req/s would only slow the console and the suite down.
_FAKE_MAX_RPS: Final = 100.0

OnCall = Callable[[CallRecord], Awaitable[None]]


def build_impulse_client(
    settings: Settings,
    *,
    on_call: OnCall | None,
    tz: ZoneInfo,
    today: dt.date | None = None,
    timeout: float = 10.0,
) -> tuple[ImpulseClient, FakeImpulse | None, httpx.AsyncClient]:
    """(client, the fake or None, the httpx client the caller must `aclose()`).

    `tz` is the studio's zone (`rt.tz`); `today` (default: today there) is the fake's current date,
    pass `rt.now().date()` when the runtime's clock is injected.
    """
    if settings.crm_configured and settings.impulse_api_key is not None:
        http = httpx.AsyncClient(timeout=timeout, transport=outside_transport())
        client = ImpulseClient(
            http,
            base_url=settings.impulse_url,
            api_key=settings.impulse_api_key.get_secret_value(),
            timeout=timeout,
            max_rps=settings.impulse_max_rps,
            on_call=on_call,
            tz=tz,
        )
        return client, None, http
    from dancebot.crm.fake import create_fake_impulse  # FastAPI and the demo seed: only when no CRM is set up

    fake = create_fake_impulse(api_key=FAKE_API_KEY, today=today or dt.datetime.now(tz).date(), tz=tz.key)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app))
    client = ImpulseClient(
        http,
        base_url=FAKE_BASE_URL,
        api_key=FAKE_API_KEY,
        timeout=timeout,
        max_rps=_FAKE_MAX_RPS,
        on_call=on_call,
        tz=tz,
    )
    return client, fake, http


def current_trace_id() -> str | None:
    """The trace id `bind_trace` put into structlog's context for the message being handled."""
    value = structlog.contextvars.get_contextvars().get("trace_id")
    return str(value) if value else None


def tool_call_recorder(audit: Audit, trace_id_getter: Callable[[], str | None] = current_trace_id) -> OnCall:
    """An `on_call` hook writing each CRM call as a `tool_calls` row (string arguments masked again)."""

    async def record(call: CallRecord) -> None:
        await audit.tool_call(
            trace_id=trace_id_getter(),
            function=call.function,
            arguments=dict(call.args),
            status=call.status,
            latency_ms=call.latency_ms,
        )

    return record
