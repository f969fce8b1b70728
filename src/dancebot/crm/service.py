"""What the conversation engine asks of the CRM: occurrences, clients, bookings, cancellation, health.

Reads go through `CRMCache`; CRM errors (`CRMUnavailable`, `CRMAuthError`, `CRMProtocolError`) reach
the caller from the read methods, which turns them into "can't check now" plus the fallback queue.
`book` never raises a CRM error: every outcome is a `BookingResult` (the flow is in `crm/booking.py`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Literal

from dancebot import waits
from dancebot.crm.booking import BookingFlow, BookingResult, booking_fingerprint
from dancebot.crm.cache import CRMCache
from dancebot.crm.client import ImpulseClient
from dancebot.crm.errors import CRMUnknownOutcome
from dancebot.crm.models import BookedClass, Client, Occurrence, Reservation, normalize_phone
from dancebot.crm.occurrences import expand
from dancebot.kb.schema import StickerRules
from dancebot.runtime import Runtime
from dancebot.storage import keys

__all__ = ["HEALTH_TTL", "BookedClass", "CRMService", "HealthStatus", "bookings_at_once", "sticker_classifier"]

HEALTH_TTL = 10
BOOKINGS_AT_ONCE = 2  # per process at Impulse's 3 requests/s; see `CRMService.book` and `bookings_at_once`
HealthStatus = Literal["ok", "down", "auth_error"]
_HEALTH = keys.cache("crm_health")
_HEALTH_VALUES: dict[str, HealthStatus] = {"ok": "ok", "down": "down", "auth_error": "auth_error"}


def sticker_classifier(rules: StickerRules) -> Callable[[str | None], str]:
    """Sticker name → "cancelled" / "closed" / "open" by the KB's case-insensitive substrings.

    Cancelled wins over closed, closed over open; a sticker matching nothing is informational ("open";
    its name stays on the occurrence).
    """
    ordered = [
        (status, [p.casefold() for p in patterns if p.strip()])
        for status, patterns in (("cancelled", rules.cancelled), ("closed", rules.closed), ("open", rules.open))
    ]

    def classify(name: str | None) -> str:
        text = (name or "").casefold()
        return next((status for status, patterns in ordered if any(p in text for p in patterns)), "open")

    return classify


def bookings_at_once(max_rps: float) -> int:
    """How many bookings of one process talk to the CRM at a time: `BOOKINGS_AT_ONCE` at Impulse's 3
    requests/s, one more per 1.5 requests/s a faster CRM allows (a booking is about 3 requests and should
    take about a second), at most 32."""
    return max(BOOKINGS_AT_ONCE, min(32, int(max_rps / 1.5)))


class CRMService:
    """The CRM as the conversation engine sees it; one instance per process."""

    def __init__(self, rt: Runtime, client: ImpulseClient) -> None:
        self._rt = rt
        self._client = client
        self.cache = CRMCache(rt.redis, client)
        self._stickers = sticker_classifier(rt.kb.stickers)
        self._flow = BookingFlow(rt, client, self.cache, self.ensure_client)
        self._booking_slots = asyncio.Semaphore(bookings_at_once(client.max_rps))
        self._expanded: tuple[object, list[Occurrence], object] | None = None  # the last expansion, reused while valid

    # ---- schedule -------------------------------------------------------------------------------

    async def occurrences(self, now: dt.datetime | None = None) -> list[Occurrence]:
        """Every class from now over `kb.booking.lookahead_days`, holidays removed, in the studio's zone."""
        kb = self._rt.kb
        now_local = self._local(now)
        templates = await self.cache.templates()
        today = now_local.date()
        # The cache hands out the same models until the schedule changes; the memo keeps them alive, so
        # their ids cannot be reused by new ones.
        key = (tuple(id(t) for t in templates), today)
        if self._expanded is None or self._expanded[0] != key:
            whole_days = expand(
                templates,
                today_local=today,
                now_local=dt.datetime.combine(today, dt.time(), tzinfo=now_local.tzinfo) - dt.timedelta.resolution,
                days=kb.booking.lookahead_days,
                holidays=lambda day: kb.holiday_on(day) is not None,
                sticker_status=self._stickers,
            )
            self._expanded = (key, whole_days, templates)  # today's classes included; past ones dropped below
        return [o for o in self._expanded[1] if o.start > now_local]

    async def occurrence(self, occurrence_id: str, now: dt.datetime | None = None) -> Occurrence | None:
        """One upcoming class by id (e.g. from a session slot); None when it is gone or past."""
        return next((o for o in await self.occurrences(now) if o.occurrence_id == occurrence_id), None)

    async def invalidate_schedule(self) -> None:
        await self.cache.invalidate_schedule()

    async def aclose(self) -> None:
        """Stop a schedule refresh still running (the process is closing)."""
        await self.cache.aclose()

    # ---- clients --------------------------------------------------------------------------------

    async def find_client(self, phone_e164: str) -> Client | None:
        """The client with this phone (any format the CRM kept), or None; never someone else's."""
        return await self.cache.client_by_phone(phone_e164)

    async def ensure_client(self, name: str, phone_e164: str) -> tuple[int, bool]:
        """(the client id for this phone, whether the CRM created the client just now), creating the client
        if the CRM has none. A client created just now holds no reservations yet.

        A create with an unknown outcome is simply sent again: if the first one was stored, the CRM's
        duplicate-phone answer gives its id (and "not created just now": the answer can't tell whose).
        """
        phone = normalize_phone(phone_e164)
        if phone is None:
            raise ValueError("ensure_client needs a valid phone")
        if (existing := await self.find_client(phone)) is not None:
            return existing.id, False
        first, _, last = " ".join(name.split()).partition(" ")
        try:
            client_id, new = await self._client.register_client(first, phone, last_name=last or None)
        except CRMUnknownOutcome:
            client_id, new = await self._client.register_client(first, phone, last_name=last or None)
        created = Client.model_validate({"id": client_id, "name": first, "lastName": last or None, "phone": [phone]})
        await self.cache.remember_client(created)
        return client_id, new

    # ---- bookings -------------------------------------------------------------------------------

    async def book(
        self, *, occurrence: Occurrence, name: str, phone_e164: str, channel: str, chat_id: int, trace_id: str
    ) -> BookingResult:
        """Book one class exactly once (PRODUCT.md §7.2); see `BookingFlow.book`.

        At most `bookings_at_once` (2 at Impulse's 3 requests/s) of this process talk to the CRM at a
        time. A booking is a few requests in a row and Impulse allows 3 a second: interleaved, a burst of
        bookings would each wait on all the others and none would finish in time; one after another, each
        finishes in a second or two and the rest wait their turn (their chats hold later messages meanwhile,
        PRODUCT.md §5)."""
        with waits.outside():  # waiting for a booking's turn at the CRM, then on the CRM
            async with self._booking_slots:
                return await self._flow.book(
                    occurrence=occurrence,
                    name=name,
                    phone_e164=phone_e164,
                    channel=channel,
                    chat_id=chat_id,
                    trace_id=trace_id,
                )

    async def verify_booking(
        self, *, occurrence: Occurrence, phone_e164: str, channel: str, chat_id: int, trace_id: str, attempt: int
    ) -> bool | None:
        """After an unknown outcome: is the class now in the client's reservations? None: couldn't read."""
        return await self._flow.verify(
            occurrence=occurrence,
            phone_e164=phone_e164,
            channel=channel,
            chat_id=chat_id,
            trace_id=trace_id,
            attempt=attempt,
        )

    async def book_series(
        self,
        *,
        occurrences: Sequence[Occurrence],
        name: str,
        phone_e164: str,
        channel: str,
        chat_id: int,
        trace_id: str,
    ) -> list[BookingResult]:
        """Book several classes one after another (at most `kb.booking.max_serial`); one result each.

        After an `unavailable` or `unknown` result the rest are not sent (the CRM just failed; each would
        wait out its own timeout): they come back `unavailable` with reason "not_attempted".
        """
        if len(occurrences) > self._rt.kb.booking.max_serial:
            raise ValueError(f"at most {self._rt.kb.booking.max_serial} classes in a series")
        results: list[BookingResult] = []
        for occurrence in occurrences:
            if results and results[-1].status in ("unavailable", "unknown"):
                result = await self._flow.skip(
                    occurrence=occurrence, phone_e164=phone_e164, channel=channel, chat_id=chat_id, trace_id=trace_id
                )
            else:
                result = await self.book(
                    occurrence=occurrence,
                    name=name,
                    phone_e164=phone_e164,
                    channel=channel,
                    chat_id=chat_id,
                    trace_id=trace_id,
                )
            results.append(result)
        return results

    async def client_bookings(self, phone_e164: str, now: dt.datetime | None = None) -> list[BookedClass]:
        """The client's future, non-archived reservations, soonest first; [] for an unknown phone."""
        client = await self.find_client(phone_e164)
        if client is None:
            return []
        now_local = self._local(now)
        bookings = await self._client.list_bookings(client.id, since=now_local.date())
        upcoming = [r for r in bookings if _is_future(r, now_local)]
        if not upcoming:
            return []
        last = max(r.day for r in upcoming)
        # Every sticker counts as "open" and no holiday applies: a booked class is shown whatever its label.
        known = {
            o.occurrence_id: o
            for o in expand(
                await self.cache.templates(),
                today_local=now_local.date(),
                now_local=now_local,
                days=(last - now_local.date()).days + 1,
                holidays=lambda _: False,
                sticker_status=lambda _: "open",
            )
        }
        booked = [_booked_class(r, known.get(r.occurrence_id)) for r in upcoming]
        return sorted(booked, key=lambda b: (b.date, b.start or now_local))

    async def cancel(self, reservation_id: int, *, phone_e164: str, occurrence_id: str) -> None:
        """Archive the reservation (Impulse's cancel); CRM errors reach the caller for the fallback queue.

        The booking's idempotency key goes too: re-booking the class after a cancel is a new booking."""
        await self._client.cancel_booking(reservation_id)
        await self._rt.redis.delete(keys.idempotency(booking_fingerprint(phone_e164, occurrence_id)))
        self.cache.refresh_schedule()

    # ---- health ---------------------------------------------------------------------------------

    async def health(self) -> HealthStatus:
        """ "ok" / "down" / "auth_error", cached for `HEALTH_TTL` seconds so /health stays cheap."""
        cached = await self._rt.redis.get(_HEALTH)
        if isinstance(cached, bytes) and (known := _HEALTH_VALUES.get(cached.decode())) is not None:
            return known
        result = await self._client.health_check()
        status = _HEALTH_VALUES.get(result.status, "down")
        await self._rt.redis.set(_HEALTH, status, ex=HEALTH_TTL)
        return status

    def _local(self, now: dt.datetime | None) -> dt.datetime:
        return (now or self._rt.now()).astimezone(self._rt.tz)


def _is_future(reservation: Reservation, now_local: dt.datetime) -> bool:
    if reservation.start is not None:
        return reservation.start > now_local
    return reservation.day >= now_local.date()


def _booked_class(reservation: Reservation, occurrence: Occurrence | None) -> BookedClass:
    """Joined with its occurrence when the template still runs that day, else from the reservation alone."""
    return BookedClass(
        reservation_id=reservation.id,
        occurrence_id=reservation.occurrence_id,
        schedule_id=reservation.schedule_id,
        date=reservation.day,
        start=occurrence.start if occurrence else reservation.start,
        end=occurrence.end if occurrence else None,
        group_name=occurrence.group_name if occurrence else reservation.group_name,
        style_name=occurrence.style_name if occurrence else "",
        teacher_name=occurrence.teacher_name if occurrence else "",
        branch_crm_id=occurrence.branch_crm_id if occurrence else None,
        hall_name=occurrence.hall_name if occurrence else "",
    )
