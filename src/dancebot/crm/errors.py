"""Typed errors of the Impulse CRM boundary, and the one place that maps HTTP outcomes into them.

    CRMError
    ├── CRMUnavailable     5xx, timeout, connection failure: the CRM cannot answer now (degradation L1)
    ├── CRMAuthError       401/403, or ANY non-JSON body (Impulse answers a bad key with a 200 login page)
    ├── CRMRejected        the CRM understood the request and said no; `.reason` says why
    ├── CRMProtocolError   JSON of a shape we do not understand
    └── CRMUnknownOutcome  a create was sent but no definitive answer came back: it may be stored

`CRMUnknownOutcome` is deliberately not a `CRMUnavailable`: a caller must never treat it as "nothing
happened" and re-POST. It re-reads the client's reservations instead (PRODUCT.md §7.2).

Impulse has no documented error format. Business rejections are read from a JSON body
`{"success": false, "message": "..."}` (any status); the reason is guessed from the Russian message by
keyword and defaults to "invalid".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal, get_args

import httpx

__all__ = [
    "CRMAuthError",
    "CRMError",
    "CRMProtocolError",
    "CRMRejected",
    "CRMUnavailable",
    "CRMUnknownOutcome",
    "RejectReason",
    "decode_response",
    "map_transport_errors",
    "reason_from_message",
]

RejectReason = Literal["full", "closed", "past", "not_found", "already_booked", "invalid"]
REJECT_REASONS: tuple[RejectReason, ...] = get_args(RejectReason)


class CRMError(Exception):
    """Base of every error the CRM layer raises."""


class CRMUnavailable(CRMError):
    """The CRM did not answer usefully (5xx, timeout, connection): try later, use the fallback queue."""


class CRMAuthError(CRMError):
    """The key was refused, or the CRM answered with a non-JSON page (its login page)."""


class CRMProtocolError(CRMError):
    """The CRM answered JSON of a shape this client does not understand."""


class CRMUnknownOutcome(CRMError):
    """A create was sent and timed out or failed mid-way: it may or may not have been stored."""


class CRMRejected(CRMError):
    """The CRM refused the request for a business reason (full, closed, past, …)."""

    def __init__(self, reason: RejectReason, message: str = "") -> None:
        if reason not in REJECT_REASONS:
            raise ValueError(f"unknown reject reason {reason!r}")
        self.reason: RejectReason = reason
        self.message = message
        super().__init__(f"{reason}: {message}" if message else reason)


# Order matters: "прошедш…" messages may also contain "нельзя".
_REASON_KEYWORDS: tuple[tuple[RejectReason, tuple[str, ...]], ...] = (
    ("past", ("прошедш", "прошло", "в прошлом")),
    ("already_booked", ("уже записан", "already")),
    ("full", ("нет свободных мест", "мест нет", "группа заполнена", "full")),
    ("closed", ("закрыт", "нельзя", "отменен", "отменён", "closed")),
    ("not_found", ("не найден", "не проводится", "not found")),
)


def reason_from_message(message: str) -> RejectReason:
    """Best-effort reason from the CRM's (Russian) error text; unknown texts are "invalid"."""
    low = message.lower()
    for reason, keywords in _REASON_KEYWORDS:
        if any(k in low for k in keywords):
            return reason
    return "invalid"


def _is_connect_phase(exc: Exception) -> bool:
    """True when the request certainly never reached the server (safe to call it "not stored")."""
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


@contextmanager
def map_transport_errors(*, create: bool = False) -> Iterator[None]:
    """Map httpx/asyncio transport failures to CRM errors.

    For a create (`create=True`) any failure after the request may have reached the server becomes
    `CRMUnknownOutcome`; only connect-phase failures are plain `CRMUnavailable`.
    """
    try:
        yield
    except (httpx.TransportError, TimeoutError) as exc:
        if create and not _is_connect_phase(exc):
            raise CRMUnknownOutcome(f"create sent, no answer: {type(exc).__name__}") from exc
        raise CRMUnavailable(f"CRM transport failure: {type(exc).__name__}") from exc


def decode_response(response: httpx.Response, *, create: bool = False) -> Any:
    """Return the JSON body of a successful answer, or raise the matching CRM error.

    5xx/408 → unavailable (unknown outcome for a create); 429 → unavailable (nothing was processed);
    401/403 → auth; 404 → rejected "not_found";
    non-JSON body → auth; JSON `success: false` or other 4xx → rejected with a reason from the message.
    """
    status = response.status_code
    if status == 429:
        raise CRMUnavailable("CRM rate limit (HTTP 429)")
    if status >= 500 or status == 408:
        if create:
            raise CRMUnknownOutcome(f"create answered HTTP {status}")
        raise CRMUnavailable(f"CRM answered HTTP {status}")
    if status in (401, 403):
        raise CRMAuthError(f"CRM answered HTTP {status}")
    if status == 404:
        raise CRMRejected("not_found", "HTTP 404")
    try:
        body = json.loads(response.content)
    except ValueError as exc:
        kind = response.headers.get("content-type", "unknown content")
        raise CRMAuthError(f"CRM answered non-JSON ({kind}); login page?") from exc
    if isinstance(body, dict) and body.get("success") is False:
        message = str(body.get("message") or body.get("error") or "")
        raise CRMRejected(reason_from_message(message), message)
    if status >= 400:
        raise CRMRejected("invalid", f"HTTP {status}")
    return body
