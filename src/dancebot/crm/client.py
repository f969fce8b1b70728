"""Async client of the Impulse CRM public API (PRODUCT.md §7.1) on an injected `httpx.AsyncClient`.

What it guarantees, and why:
- auth header `Basic <raw key>` (Impulse wants the key itself, not base64);
- at most `max_rps` requests per second per instance, by spacing (no burst), because Impulse's limit
  is unknown;
- a `timeout` (10 s) on every request, enforced with `asyncio.timeout` too because in-process ASGI
  transports ignore httpx timeouts;
- reads (and the idempotent archive) retry once on a connection error (`ConnectError`, or
  `RemoteProtocolError` = the server dropped a kept-alive connection); never on a timeout, which would
  double a 10 s wait. Creates are never retried: a create that may have reached the CRM and got no
  definitive answer raises `CRMUnknownOutcome`;
- `list` filters (`columns`) are not trusted: every list is read page by page and filtered here;
- a client's bookings from a day on (`list_bookings(..., since=)`) are read newest class day first
  (`sort`) and paging stops at the first page reaching older days, but only while every page came
  sorted as asked and the CRM has shown it sorts at all; otherwise every page is read, as without `since`;
- each public call reports exactly one `CallRecord` (phones masked) to `on_call`; a failing `on_call`
  is logged and swallowed, so an audit failure never turns a stored booking into an error.
No cache and no Redis here: callers layer those on top.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import math
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

import httpx
from pydantic import BaseModel, ValidationError

from dancebot import waits
from dancebot.crm.errors import (
    CRMAuthError,
    CRMError,
    CRMProtocolError,
    CRMUnavailable,
    decode_response,
    map_transport_errors,
)
from dancebot.crm.models import (
    Client,
    Group,
    Reservation,
    ReservationItem,
    ScheduleTemplate,
    Teacher,
    normalize_phone,
)
from dancebot.crm.occurrences import DateConvention, reservation_day, reservation_ts
from dancebot.logs import get_logger, mask_text

__all__ = ["CRMHealth", "CallRecord", "ImpulseClient", "RateLimiter"]

log = get_logger(__name__)
M = TypeVar("M", bound=BaseModel)

_MAX_PAGES = 1000
_SORT_PROOF_TTL = 3600.0  # seconds a CRM that was seen sorting reservations is believed to still do so
_DUPLICATE_CLIENT = re.compile(r"client/edit/(\d+)")
_READ_RETRYABLE = (httpx.ConnectError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class CallRecord:
    """One CRM function call, for the `tool_calls` audit table."""

    function: str
    args: Mapping[str, Any]
    status: str  # "ok" or the error class name
    latency_ms: int


@dataclass(frozen=True)
class CRMHealth:
    """Result of `health_check`; truthy when the CRM answered a list with the right key."""

    status: Literal["ok", "auth_error", "unavailable", "protocol_error"]
    latency_ms: int

    def __bool__(self) -> bool:
        return self.status == "ok"


@dataclass
class RateLimiter:
    """Spaces acquisitions at least `1 / rate` seconds apart; clock and sleep are injectable for tests."""

    rate: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _next: float = field(default=-math.inf, init=False)

    async def acquire(self) -> None:
        now = self.clock()
        slot = max(now, self._next)
        self._next = slot + 1.0 / self.rate
        if slot > now:
            await self.sleep(slot - now)


class ImpulseClient:
    """The eight contract functions over Impulse's public API; typed results, typed `CRMError`s."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_url: str,
        api_key: str,
        timeout: float = 10.0,
        max_rps: float = 3.0,
        on_call: Callable[[CallRecord], Awaitable[None]] | None = None,
        tz: dt.tzinfo | str = "Asia/Vladivostok",
        date_convention: DateConvention = "utc_midnight",
        page_size: int = 500,
        new_client_status_id: int = 1,
        limiter: RateLimiter | None = None,
    ) -> None:
        self._http = http
        self._base_url = base_url.rstrip("/")
        self._headers = {"Authorization": f"Basic {api_key}", "Accept": "application/json"}
        self._timeout = timeout
        self._on_call = on_call
        self._tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._convention: DateConvention = date_convention
        self._page_size = min(page_size, 1000)
        self._new_client_status_id = new_client_status_id
        self.max_rps = max_rps  # the CRM's limit, as configured (the limiter keeps it, unless a test injects one)
        self._limiter = limiter or RateLimiter(max_rps)
        self._sort_seen_at: float | None = None  # when reservation/list last proved it honours `sort`
        self._last_schedule: tuple[list[Any], list[ScheduleTemplate]] | None = None  # (as sent, as parsed)

    # ---- contract functions -------------------------------------------------------------------

    async def get_schedule(self) -> list[ScheduleTemplate]:
        """Every schedule template (weekly and one-off), all pages."""
        async with self._record("get_schedule"):
            raw = await self._list_all("schedule")
            if self._last_schedule is not None and self._last_schedule[0] == raw:  # re-read after a booking,
                return list(self._last_schedule[1])  # unchanged: the same (frozen) models, not parsed again
            templates = _parse(ScheduleTemplate, raw)
            self._last_schedule = (raw, templates)
            return list(templates)

    async def get_groups(self) -> list[Group]:
        async with self._record("get_groups"):
            return _parse(Group, await self._list_all("group"))

    async def get_teachers(self) -> list[Teacher]:
        async with self._record("get_teachers"):
            return _parse(Teacher, await self._list_all("teacher"))

    async def list_clients(self) -> list[Client]:
        """All clients, all pages (the caller builds and caches the phone index)."""
        async with self._record("list_clients"):
            return _parse(Client, await self._list_all("client"))

    async def find_client(self, phone_e164: str) -> Client | None:
        """The client (lowest id) having this phone after normalisation; None if nobody has it."""
        async with self._record("find_client", phone=mask_text(phone_e164)):
            wanted = normalize_phone(phone_e164)
            if wanted is None:
                return None
            clients = _parse(Client, await self._list_all("client"))
            matches = [c for c in clients if wanted in c.phones]
            return min(matches, key=lambda c: c.id) if matches else None

    async def create_client(self, name: str, phone_e164: str, last_name: str | None = None) -> int:
        """Create a client and return its id; an existing phone returns the existing client's id.

        An unknown outcome here is harmless to resolve by calling again: the duplicate answer gives the id.
        """
        client_id, _ = await self.register_client(name, phone_e164, last_name)
        return client_id

    async def register_client(self, name: str, phone_e164: str, last_name: str | None = None) -> tuple[int, bool]:
        """`create_client`, telling (id, True) when the CRM stored a new client from (id, False) when it
        answered that the phone is already a client's."""
        async with self._record("create_client", name=name, phone=mask_text(phone_e164)):
            phone = normalize_phone(phone_e164)
            if phone is None:
                raise ValueError("create_client needs a valid phone")
            body: dict[str, Any] = {
                "name": name,
                "phone": [phone],
                "deposit": 0,
                "bonus": 0,
                "status": {"id": self._new_client_status_id},
            }
            if last_name:
                body["lastName"] = last_name
            response = await self._send("POST", "client", "update", json=body, create=True)
            if response.status_code >= 500 and (m := _DUPLICATE_CLIENT.search(response.text)):
                return int(m.group(1)), False
            data = decode_response(response, create=True)
            client_id = data.get("id") if isinstance(data, dict) else None
            if not isinstance(client_id, int):
                raise CRMProtocolError("client/update answered without an integer id")
            return client_id, True

    async def create_booking(self, client_id: int, template: ScheduleTemplate, day: dt.date) -> None:
        """Book `client_id` on `template`'s class on `day`. Timeout → `CRMUnknownOutcome`, never retried."""
        occurrence = f"{template.id}:{day.isoformat()}"
        async with self._record("create_booking", client_id=client_id, occurrence_id=occurrence):
            ts = reservation_ts(day, self._convention, tz=self._tz)
            body = {
                "client": {"id": client_id},
                "schedule": {"id": template.id},
                "type": 0,
                "date": ts,
                "time": [
                    {
                        "minutes": template.minutes_begin,
                        "schedule": template.wire(),
                        "group": template.group.model_dump(by_alias=True, exclude_unset=True, mode="json"),
                        "type": 0,
                        "source": 0,
                        "date": ts,
                    }
                ],
            }
            response = await self._send("POST", "reservation", "update", json=body, create=True)
            data = decode_response(response, create=True)
            if not (isinstance(data, dict) and data.get("success") is True and data.get("count") == 1):
                raise CRMProtocolError(f"reservation/update answered {str(data)[:200]}")

    async def list_bookings(self, client_id: int, *, since: dt.date | None = None) -> list[Reservation]:
        """The client's active reservations (not deleted, not archived), oldest first.

        With `since`, only those on that class day or later, and the CRM is asked for the newest class days
        first so the reading stops once the pages reach older days (see `_reservations_since`): the cost no
        longer grows with the studio's whole history.
        """
        args: dict[str, Any] = {"client_id": client_id}
        if since is not None:
            args["since"] = since.isoformat()
        async with self._record("list_bookings", **args):
            raw = await self._list_all("reservation") if since is None else await self._reservations_since(since)
            # Only this client's records are validated (the CRM sends everyone's); an odd client ref is
            # left to the model to judge.
            items = _parse(ReservationItem, [r for r in raw if _may_be_clients(r, client_id)])
            mine = {r.id: r for r in items if r.client.id == client_id and not r.deleted and not r.archived}
            bookings = [self._reservation(r) for r in mine.values()]
            if since is not None:
                bookings = [b for b in bookings if b.day >= since]
            return sorted(bookings, key=lambda b: (b.day, b.start.time() if b.start else dt.time.min))

    async def cancel_booking(self, reservation_id: int) -> None:
        """Archive a reservation (Impulse's cancel; `reservation/delete` does not exist)."""
        async with self._record("cancel_booking", reservation_id=reservation_id):
            data = await self._post("reservation", "archive", {"id": reservation_id})
            if not (isinstance(data, dict) and data.get("success") is True):
                raise CRMProtocolError(f"reservation/archive answered {str(data)[:200]}")

    async def health_check(self) -> CRMHealth:
        """A one-item list: tells a refused key apart from an unreachable CRM."""
        started = time.perf_counter()
        status: Literal["ok", "auth_error", "unavailable", "protocol_error"] = "ok"
        try:
            async with self._record("health_check"):
                _envelope(await self._post("branch", "list", {"limit": 1, "page": 1}), "branch")
        except CRMAuthError:
            status = "auth_error"
        except CRMUnavailable:
            status = "unavailable"
        except CRMError:
            status = "protocol_error"
        return CRMHealth(status, _ms_since(started))

    # ---- transport --------------------------------------------------------------------------------

    async def _list_all(
        self,
        entity: str,
        *,
        sort: dict[str, str] | None = None,
        enough: Callable[[list[Any]], Awaitable[bool]] | None = None,
    ) -> list[Any]:
        """Every page of `entity/list`, or the pages up to the one after which `enough(page)` holds."""
        items: list[Any] = []
        extra: dict[str, Any] = {} if sort is None else {"sort": sort}
        for page in range(1, _MAX_PAGES + 1):
            body = await self._post(entity, "list", {"limit": self._page_size, "page": page, **extra})
            batch, total = _envelope(body, entity)
            items.extend(batch)
            if not batch or len(items) >= total or (enough is not None and await enough(batch)):
                return items
        raise CRMProtocolError(f"{entity}/list did not end after {_MAX_PAGES} pages")

    async def _reservations_since(self, since: dt.date) -> list[Any]:
        """Raw reservations covering every class day from `since` on (and some older ones).

        Asked newest `date` first; paging stops after a page whose last record is older than `since`, but
        only when the order can be trusted: every record so far came in non-increasing `date` (within
        and across pages), and the CRM has shown it sorts at all (`_sort_honoured`). A page out of order
        means a CRM ignoring `sort`: then every page is read, so no booking is ever missed.
        """
        trusted = True
        newest: int | None = None  # the first date of the descending read
        last: int | None = None  # the last date read so far

        async def enough(batch: list[Any]) -> bool:
            nonlocal trusted, newest, last
            dates = [d for d in map(_raw_date, batch) if d is not None]
            if not trusted or not dates:
                return False
            run = dates if last is None else [last, *dates]
            if any(later > earlier for earlier, later in itertools.pairwise(run)):
                trusted = False
                log.warning("crm_sort_ignored", entity="reservation", field="date")
                return False
            newest = dates[0] if newest is None else newest
            last = dates[-1]
            if reservation_day(last, self._convention, tz=self._tz) >= since:
                return False
            trusted = await self._sort_honoured(newest=newest)  # asked once per read
            return trusted

        return await self._list_all("reservation", sort={"date": "desc"}, enough=enough)

    async def _sort_honoured(self, *, newest: int) -> bool:
        """Has reservation/list shown that it applies `sort`? A CRM ignoring it answers in one fixed order,
        so its first record is the same whichever direction is asked: ascending, the first record must be
        older than `newest` (the first of the descending read). Proven once, believed for an hour."""
        now = time.monotonic()
        if self._sort_seen_at is not None and now - self._sort_seen_at < _SORT_PROOF_TTL:
            return True
        body = await self._post("reservation", "list", {"limit": 1, "page": 1, "sort": {"date": "asc"}})
        batch, _ = _envelope(body, "reservation")
        oldest = _raw_date(batch[0]) if batch else None
        if oldest is not None and oldest < newest:
            self._sort_seen_at = now
            return True
        log.warning("crm_sort_unproven", entity="reservation", field="date")
        return False

    async def _post(self, entity: str, action: str, body: dict[str, Any]) -> Any:
        return decode_response(await self._send("POST", entity, action, json=body))

    async def _send(
        self, method: str, entity: str, action: str, *, json: Any = None, create: bool = False
    ) -> httpx.Response:
        try:
            return await self._send_once(method, entity, action, json=json, create=create)
        except CRMUnavailable as exc:
            if create or not isinstance(exc.__cause__, _READ_RETRYABLE):
                raise
            log.warning("crm_retry", entity=entity, action=action, error=type(exc.__cause__).__name__)
        return await self._send_once(method, entity, action, json=json, create=create)

    async def _send_once(self, method: str, entity: str, action: str, *, json: Any, create: bool) -> httpx.Response:
        with waits.outside():  # a turn waiting on Impulse holds none of the app's turn places
            await self._limiter.acquire()
            with map_transport_errors(create=create):
                async with asyncio.timeout(self._timeout):
                    response = await self._http.request(
                        method,
                        f"{self._base_url}/{entity}/{action}",
                        json=json,
                        headers=self._headers,
                        timeout=self._timeout,
                    )
        return response

    def _reservation(self, item: ReservationItem) -> Reservation:
        day = reservation_day(item.date, self._convention, tz=self._tz)
        minutes = item.schedule.minutes_begin
        start = None
        if minutes is not None:
            start = dt.datetime.combine(day, dt.time(), tzinfo=self._tz) + dt.timedelta(minutes=minutes)
        group = item.schedule.group
        return Reservation(
            id=item.id,
            client_id=item.client.id,
            schedule_id=item.schedule.id,
            day=day,
            start=start,
            group_id=group.id if group else None,
            group_name=group.name if group else "",
        )

    @asynccontextmanager
    async def _record(self, function: str, **args: Any) -> AsyncIterator[None]:
        started = time.perf_counter()
        status = "ok"
        try:
            yield
        except BaseException as exc:
            status = type(exc).__name__
            raise
        finally:
            if self._on_call is not None:
                record = CallRecord(function, args, status, _ms_since(started))
                try:
                    await self._on_call(record)
                except Exception:
                    log.exception("crm_on_call_failed", function=function)


def _ms_since(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _envelope(body: Any, entity: str) -> tuple[list[Any], int]:
    if not isinstance(body, dict):
        raise CRMProtocolError(f"{entity}/list answered {type(body).__name__}, not an object")
    items, total = body.get("items"), body.get("total")
    if not isinstance(items, list) or not isinstance(total, int):
        raise CRMProtocolError(f"{entity}/list answered without items/total")
    return items, total


def _raw_date(item: Any) -> int | None:
    """A raw reservation's `date` (unix seconds) when it is a plain integer, else None."""
    value = item.get("date") if isinstance(item, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _may_be_clients(item: Any, client_id: int) -> bool:
    """False only for a record plainly someone else's (an integer client id that is not `client_id`)."""
    ref = item.get("client") if isinstance(item, dict) else None
    owner = ref.get("id") if isinstance(ref, dict) else None
    return owner == client_id or not isinstance(owner, int) or isinstance(owner, bool)


def _parse(model: type[M], items: list[Any]) -> list[M]:
    """Validate list items one by one: a malformed record is logged and skipped, not fatal."""
    parsed: list[M] = []
    for raw in items:
        try:
            parsed.append(model.model_validate(raw))
        except ValidationError as exc:
            item_id = raw.get("id") if isinstance(raw, dict) else None
            log.warning("crm_item_skipped", model=model.__name__, id=item_id, errors=exc.error_count())
    return parsed
