"""The booking flow (PRODUCT.md §7.2, §7.3): one reservation per phone and class, even under retries.

    fingerprint = sha256(phone_e164 + occurrence_id)   the occurrence, so next week's class is no duplicate
    SET idempotency:{fp} NX EX 600 before any CRM call   not set → "duplicate" (reason "recent")
    ensure the client; its reservations already hold the class (schedule id + date) → "duplicate"
    create → "booked"
      CRM said no → "rejected" with its reason; the key is released so another class can be picked
      outcome unknown (timeout / 5xx / odd answer after the create was sent) → one re-read at once:
        stored → "booked"; not stored yet, or the re-read failed → "unknown": NEVER a second create (the
        first request may still land seconds later); the caller verifies later (`verify`, at growing
        intervals) and the key is held for the whole verification window
    CRM unavailable / refused key / odd answer before the create → "unavailable", key released
    a class that has already started → "rejected" ("past") without asking the CRM

The key is kept after "booked", "duplicate" and "unknown" (for "unknown", `VERIFY_HOLD` seconds, longer
than the verification takes): a retry in that time must not POST again. Every call writes one
`booking_attempts` row — also when the caller's timeout cancels the flow midway (outcome "unknown", the
key kept); a success invalidates the cached schedule.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from dancebot.crm.cache import CRMCache
from dancebot.crm.client import ImpulseClient
from dancebot.crm.errors import CRMAuthError, CRMError, CRMProtocolError, CRMRejected, CRMUnknownOutcome
from dancebot.crm.models import Occurrence, ScheduleTemplate, normalize_phone
from dancebot.logs import get_logger, mask_text
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["IDEMPOTENCY_TTL", "VERIFY_HOLD", "BookingFlow", "BookingResult", "BookingStatus", "booking_fingerprint"]

log = get_logger(__name__)

IDEMPOTENCY_TTL: Final = 600
VERIFY_HOLD: Final = 30 * 60  # the key outlives every verification read of an unknown outcome
BookingStatus = Literal["booked", "duplicate", "rejected", "unavailable", "unknown"]
_Outcome = tuple[BookingStatus, str | None]


class BookingResult(BaseModel):
    """What happened to one booking request.

    `reason`: booked → None; duplicate → "recent" (booked or being booked in the last 10 min) or
    "already_booked" (found in the CRM); rejected → the CRM's `RejectReason` ("full", "closed", "past",
    "not_found", "invalid"); unavailable → "unavailable" / "auth_error" / "protocol_error" /
    "not_attempted" (a series stopped early); unknown → "unverified" (record a "verify" fallback).
    """

    model_config = ConfigDict(frozen=True)

    status: BookingStatus
    reason: str | None
    client_id: int | None
    occurrence: Occurrence


def booking_fingerprint(phone_e164: str, occurrence_id: str) -> str:
    return hashlib.sha256(f"{phone_e164}{occurrence_id}".encode()).hexdigest()


@dataclass
class _Trail:
    """One booking request and what was done for it (the `booking_attempts` row)."""

    occurrence: Occurrence
    phone: str
    channel: str
    chat_id: int
    trace_id: str
    client_id: int | None = None
    steps: list[str] = field(default_factory=list)

    @property
    def fingerprint(self) -> str:
        return booking_fingerprint(self.phone, self.occurrence.occurrence_id)

    def note(self, step: str) -> None:
        self.steps.append(step)


class BookingFlow:
    def __init__(
        self,
        rt: Runtime,
        client: ImpulseClient,
        cache: CRMCache,
        ensure_client: Callable[[str, str], Awaitable[tuple[int, bool]]],
    ) -> None:
        self._rt = rt
        self._client = client
        self._cache = cache
        self._ensure_client = ensure_client

    async def book(
        self, *, occurrence: Occurrence, name: str, phone_e164: str, channel: str, chat_id: int, trace_id: str
    ) -> BookingResult:
        trail = _Trail(occurrence, _e164(phone_e164), channel, chat_id, trace_id)
        key = keys.idempotency(trail.fingerprint)
        if not await self._rt.redis.set(key, trace_id or "-", nx=True, ex=IDEMPOTENCY_TTL):
            trail.note("idempotency key held: booked or being booked in the last 10 minutes")
            outcome: _Outcome = ("duplicate", "recent")
        else:
            try:
                outcome = await self._attempt(occurrence, name, trail)
            except BaseException as exc:  # cancelled (the caller's timeout), a bug, Redis trouble: keep the key
                trail.note(f"aborted: {type(exc).__name__}")
                await asyncio.shield(self._hold_for_verification(key, trail))
                raise
            if outcome[0] in ("rejected", "unavailable"):
                await self._rt.redis.delete(key)
            elif outcome[0] == "unknown":
                await self._rt.redis.expire(key, VERIFY_HOLD)
        result = await self._record(outcome, trail)
        if result.status == "booked":
            self._cache.refresh_schedule()
        return result

    async def _hold_for_verification(self, key: str, trail: _Trail) -> None:
        await self._rt.redis.expire(key, VERIFY_HOLD)
        await self._record(("unknown", "unverified"), trail)

    async def verify(
        self, *, occurrence: Occurrence, phone_e164: str, channel: str, chat_id: int, trace_id: str, attempt: int
    ) -> bool | None:
        """One verification read after an unknown outcome: does the client's CRM record now hold the class?
        None when the CRM could not be read. Never creates anything; writes a `booking_attempts` row."""
        trail = _Trail(occurrence, _e164(phone_e164), channel, chat_id, trace_id)
        try:
            client = await self._cache.client_by_phone(trail.phone)
            trail.client_id = client.id if client else None
            stored = client is not None and await self._holds(client.id, occurrence)
        except CRMError as exc:
            trail.note(f"verification read #{attempt} failed ({type(exc).__name__})")
            await self._record(("unknown", "unverified"), trail)
            return None
        trail.note(f"verification read #{attempt}: {'stored' if stored else 'not stored'}")
        await self._record(("booked", None) if stored else ("unknown", "unverified"), trail)
        if stored:
            self._cache.refresh_schedule()
        return stored

    async def skip(
        self, *, occurrence: Occurrence, phone_e164: str, channel: str, chat_id: int, trace_id: str
    ) -> BookingResult:
        """Record a booking not sent because the CRM just failed (a series stops early)."""
        trail = _Trail(occurrence, _e164(phone_e164), channel, chat_id, trace_id)
        trail.note("not attempted: the CRM failed on an earlier class of the series")
        return await self._record(("unavailable", "not_attempted"), trail)

    async def _attempt(self, occurrence: Occurrence, name: str, trail: _Trail) -> _Outcome:
        if occurrence.start <= self._rt.now():  # a stale offer: the CRM would still take today's class
            trail.note("the class has already started")
            return "rejected", "past"
        try:
            trail.client_id, new = await self._ensure_client(name, trail.phone)
            if new:  # created by this booking: nothing to find in the CRM's reservations (and no pages to read)
                trail.note("a client new to the CRM: no reservations to check")
            elif await self._holds(trail.client_id, occurrence):
                trail.note("the client's CRM reservations already hold this class")
                return "duplicate", "already_booked"
            template = next((t for t in await self._cache.templates() if t.id == occurrence.schedule_id), None)
            if template is None:
                trail.note("schedule template no longer in the CRM")
                return "rejected", "not_found"
            return await self._create(trail.client_id, template, occurrence, trail)
        except CRMRejected as exc:
            trail.note(f"CRM rejected: {exc}")
            return ("duplicate", "already_booked") if exc.reason == "already_booked" else ("rejected", exc.reason)
        except CRMError as exc:
            trail.note(f"{type(exc).__name__}: {exc}")
            return "unavailable", _unavailable_reason(exc)

    async def _create(
        self, client_id: int, template: ScheduleTemplate, occurrence: Occurrence, trail: _Trail
    ) -> _Outcome:
        """ONE create. An unknown outcome is re-read once at once; not there (yet) → "unknown", and the
        caller verifies later: a slow CRM may still store the first request, so there is no second."""
        try:
            await self._client.create_booking(client_id, template, occurrence.date)
        except (CRMUnknownOutcome, CRMProtocolError) as exc:
            trail.note(f"create: outcome unknown ({type(exc).__name__})")
        else:
            trail.note("create: stored")
            return "booked", None
        try:
            stored = await self._holds(client_id, occurrence)
        except CRMError as exc:
            trail.note(f"re-read failed ({type(exc).__name__})")
            return "unknown", "unverified"
        trail.note("re-read: stored" if stored else "re-read: not stored yet")
        return ("booked", None) if stored else ("unknown", "unverified")

    async def _holds(self, client_id: int, occurrence: Occurrence) -> bool:
        bookings = await self._client.list_bookings(client_id, since=occurrence.date)
        return any(b.schedule_id == occurrence.schedule_id and b.day == occurrence.date for b in bookings)

    async def _record(self, outcome: _Outcome, trail: _Trail) -> BookingResult:
        status, reason = outcome
        occurrence = trail.occurrence
        await self._rt.audit.booking_attempt(
            trace_id=trail.trace_id,
            channel=trail.channel,
            chat_id=trail.chat_id,
            occurrence_id=occurrence.occurrence_id,
            fingerprint=trail.fingerprint,
            client_id=trail.client_id,
            phone_masked=mask_text(trail.phone),
            outcome=status,
            detail=mask_text("; ".join(trail.steps)) or None,
        )
        log.info("booking.outcome", outcome=status, reason=reason, occurrence_id=occurrence.occurrence_id)
        return BookingResult(status=status, reason=reason, client_id=trail.client_id, occurrence=occurrence)


def _e164(phone: str) -> str:
    normalised = normalize_phone(phone)
    if normalised is None:
        raise ValueError("booking needs a valid phone")
    return normalised


def _unavailable_reason(exc: CRMError) -> str:
    if isinstance(exc, CRMAuthError):
        return "auth_error"
    if isinstance(exc, CRMProtocolError):
        return "protocol_error"
    return "unavailable"
