"""A fake Impulse CRM (ASGI app) that behaves like the real public API, quirks included (PRODUCT.md §7.1).

It serves TEST_MODE in-process (mount `.app` with `httpx.ASGITransport`) and the test suite;
`python -m dancebot.crm.fake --port 8765` serves it over HTTP for manual runs and benchmarks.

Behaviour:
- `/api/public/{entity}/{action}`; any other path (e.g. `/api/...` without `public`) answers 200 with
  the web app's HTML. Auth is `Authorization: Basic <raw key>`; a wrong or missing key answers
  **HTTP 200 with the HTML login page**.
- `list` (POST `{limit, page, columns, sort}`) → `{"total", "items"}`. `limit` is **clamped** to
  1…1000 (default 25), `page` counts from 1. `columns` (exact value, any-of for a list, a nested object
  matches on its `id`) is honoured by every entity **except `client` and `reservation`, which ignore
  it**. Items come by id unless `sort {field: "asc"|"desc"}` asks otherwise (several fields: the first
  decides, the next break ties, then the id); a field no item has, or a direction other than asc/desc,
  is ignored. A nested object sorts by its `id`; missing/null values come last ascending, first descending.
- `load` (GET `?id=`) → the item, or 404 HTML. `delete` and every unknown action → 404 HTML.
- `client/update` without `id` creates and answers the client (with `id`); a phone that already exists
  (compared after normalisation) → **HTTP 500 HTML containing `client/edit/{id}`**.
- `reservation/update` creates and answers `{"success": true, "count": 1}` with **no id**.
  Malformed requests (no `time[]`, `date` not a UTC midnight, `time[0]` not matching the template)
  → HTTP 400 `{"success": false, "message": "..."}`. Business rejections → **HTTP 200**
  `{"success": false, "message": "<Russian text>"}`: unknown client, client without a status, unknown
  template, date before `today`, a date the template does not run, a closed sticker (НЕЛЬЗ…/…ЗАКРЫТ…)
  or «ВЫХОДНОЙ», no places left (`placeCount`), and — only with `reject_duplicates` — the same client
  already booked (the real CRM stores duplicates; the bot must prevent them).
- `reservation/archive {id}` → `{"success": true}` (the reservation stays listed, `archived: true`).

Test hooks: `ignore_sort` (a CRM that ignores `sort`: items always by id), `fail_next(n, mode)`,
`set_mode(mode | None)` (a persistent outage), `hang_seconds`,
`store_then_hang(n)` (the next n creates are stored, then the answer is delayed by `hang_seconds`),
`reject_duplicates`, and `requests` (every request seen). A slow CRM that commits late:
`store_late(n, after)` (the next n creates are answered and stored only `after` seconds later, whether or
not the caller is still waiting), `lose_next_creates(n)` (the next n creates are never stored; answered
after `hang_seconds` with a 504); `reset_hooks()` clears every pending hook. Another tenant's data:
`create_fake_impulse(seed_data=...)` takes a builder of `SeedData` instead of the demo studio.
Failure modes: "500" = HTTP 500 HTML; "html" = 200 login page; "hang" = wait `hang_seconds`, then
answer normally; "timeout" = wait `hang_seconds`, then HTTP 504 HTML (a proxy gave up).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
from collections import UserDict, deque
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from dancebot.crm.fake_seed import SeedData, build_seed, reservation_record
from dancebot.crm.models import normalize_phone

__all__ = ["FailMode", "FakeImpulse", "RecordedRequest", "SeedBuilder", "create_fake_impulse", "main"]

FailMode = Literal["500", "html", "hang", "timeout"]
SeedBuilder = Callable[[dt.date, dt.tzinfo], SeedData]  # a tenant's data for `today` in the studio's zone
_FILTERS_IGNORED = {"client", "reservation"}

LOGIN_PAGE = """<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Impulse CRM — Вход</title>
</head><body><form method="post" action="/login"><h1>Вход в Impulse CRM</h1>
<input name="login" placeholder="Логин"><input name="password" type="password" placeholder="Пароль">
<button type="submit">Войти</button></form></body></html>"""
APP_PAGE = """<!DOCTYPE html><html lang="ru"><head><meta charset="utf-8"><title>Impulse CRM</title></head>
<body><div id="app">Загрузка…</div><script src="/static/app.js"></script></body></html>"""
NOT_FOUND_PAGE = """<!DOCTYPE html><html lang="ru"><head><title>404</title></head>
<body><h1>Страница не найдена</h1></body></html>"""
ERROR_PAGE = """<!DOCTYPE html><html lang="ru"><head><title>500</title></head>
<body><h1>Внутренняя ошибка сервера</h1></body></html>"""
GATEWAY_TIMEOUT_PAGE = """<html><head><title>504 Gateway Time-out</title></head>
<body><center><h1>504 Gateway Time-out</h1></center><hr><center>nginx</center></body></html>"""


def _duplicate_client_page(client_id: int) -> str:
    return (
        '<!DOCTYPE html><html lang="ru"><head><title>Ошибка</title></head><body>'
        f'<p>Клиент с таким телефоном уже существует: <a href="/client/edit/{client_id}">открыть карточку'
        "</a></p></body></html>"
    )


class ClientTable(UserDict[int, dict[str, Any]]):
    """The fake's clients by id, with an index of normalised phone → client ids.

    The index follows every `table[id] = record` and `del table[id]` (the fake's own creates and updates
    store through them, and so may tests), so finding a phone's owner never scans the clients. Editing a
    stored record's phone in place is not seen: store the record again after such an edit.
    """

    def __init__(self, clients: Iterable[dict[str, Any]] = ()) -> None:
        self._by_phone: dict[str, set[int]] = {}
        self._phones_of: dict[int, frozenset[str]] = {}
        self.max_id: int | None = None
        super().__init__()
        for client in clients:
            self[client["id"]] = client

    def __setitem__(self, client_id: int, client: dict[str, Any]) -> None:
        self._unindex(client_id)
        self.data[client_id] = client
        raw = client.get("phone")
        phones = frozenset(p for p in map(normalize_phone, raw if isinstance(raw, list) else [raw]) if p)
        self._phones_of[client_id] = phones
        for phone in phones:
            self._by_phone.setdefault(phone, set()).add(client_id)
        self.max_id = client_id if self.max_id is None else max(self.max_id, client_id)

    def __delitem__(self, client_id: int) -> None:
        del self.data[client_id]
        self._unindex(client_id)

    def with_phone(self, phones: Iterable[Any]) -> int | None:
        """The lowest id among the clients having any of `phones` (compared after normalisation)."""
        owners: set[int] = set()
        for phone in {p for p in map(normalize_phone, phones) if p}:
            owners |= self._by_phone.get(phone, set())
        return min(owners, default=None)

    def _unindex(self, client_id: int) -> None:
        for phone in self._phones_of.pop(client_id, frozenset()):
            owners = self._by_phone[phone]
            owners.discard(client_id)
            if not owners:
                del self._by_phone[phone]


class ReservationTable(UserDict[int, dict[str, Any]]):
    """The fake's reservations by id, with the ids of each schedule template's reservations, so that the
    places left in a class are counted without scanning every reservation (a load run makes thousands).

    Like `ClientTable`, the index follows `table[id] = record` and `del table[id]`; moving a stored record
    to another template in place is not seen (Impulse's API cannot do it either). Dates, flags and clients
    may be edited in place: they are checked on every read."""

    def __init__(self, reservations: Iterable[dict[str, Any]] = ()) -> None:
        self._by_schedule: dict[int, set[int]] = {}
        self.max_id: int | None = None
        super().__init__()
        for reservation in reservations:
            self[reservation["id"]] = reservation

    def __setitem__(self, reservation_id: int, reservation: dict[str, Any]) -> None:
        self._unindex(reservation_id)
        self.data[reservation_id] = reservation
        self._by_schedule.setdefault(reservation["schedule"]["id"], set()).add(reservation_id)
        self.max_id = reservation_id if self.max_id is None else max(self.max_id, reservation_id)

    def __delitem__(self, reservation_id: int) -> None:
        self._unindex(reservation_id)
        del self.data[reservation_id]

    def next_id(self) -> int:
        return (5000 if self.max_id is None else self.max_id) + 1  # ids never reused

    def of_schedule(self, schedule_id: int) -> list[dict[str, Any]]:
        return [self.data[i] for i in sorted(self._by_schedule.get(schedule_id, ()))]

    def _unindex(self, reservation_id: int) -> None:
        old = self.data.get(reservation_id)
        if old is not None:
            self._by_schedule.get(old["schedule"]["id"], set()).discard(reservation_id)


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    entity: str
    action: str
    body: Any


class FakeImpulse:
    """State (plain JSON dicts keyed by id) plus the ASGI `app` serving it."""

    def __init__(
        self, *, api_key: str, today: dt.date, seed: int, tz: dt.tzinfo, seed_data: SeedBuilder | None = None
    ) -> None:
        data = seed_data(today, tz) if seed_data is not None else build_seed(today, tz, seed)
        self.api_key = api_key
        self.today = today
        self.tz = tz
        self.hang_seconds = 30.0
        self.reject_duplicates = False
        self.ignore_sort = False
        self.requests: list[RecordedRequest] = []
        self._clients = ClientTable(data.clients)
        self._reservations = ReservationTable(data.reservations)
        self.collections: dict[str, MutableMapping[int, dict[str, Any]]] = {
            "branch": _by_id(data.branches),
            "hall": _by_id(data.halls),
            "style": _by_id(data.styles),
            "teacher": _by_id(data.teachers),
            "group": _by_id(data.groups),
            "schedule": _by_id(data.templates),
            "client": self._clients,
            "reservation": self._reservations,
        }
        self._failures: deque[FailMode] = deque()
        self._mode: FailMode | None = None
        self._hang_after_store = 0
        self._late_stores: deque[float] = deque()
        self._lost_creates = 0
        self._background: set[asyncio.Task[None]] = set()
        self.app = self._build_app()

    @property
    def templates(self) -> MutableMapping[int, dict[str, Any]]:
        return self.collections["schedule"]

    @property
    def clients(self) -> ClientTable:
        return self._clients

    @property
    def reservations(self) -> ReservationTable:
        return self._reservations

    # ---- test hooks -----------------------------------------------------------------------------

    def fail_next(self, n: int = 1, mode: FailMode = "500") -> None:
        """The next `n` requests fail in `mode` (before auth, like a broken proxy)."""
        self._failures.extend([mode] * n)

    def set_mode(self, mode: FailMode | None) -> None:
        """Every request fails in `mode` until `set_mode(None)`."""
        self._mode = mode

    def store_then_hang(self, n: int = 1) -> None:
        """The next `n` creates are stored, then answered only after `hang_seconds`."""
        self._hang_after_store += n

    def store_late(self, n: int = 1, after: float = 12.0) -> None:
        """The next `n` creates are stored `after` seconds after they arrive (and only then answered): a CRM
        that commits after the caller's timeout. The store happens even if the caller hung up."""
        self._late_stores.extend([after] * n)

    def lose_next_creates(self, n: int = 1) -> None:
        """The next `n` creates are never stored; each is answered after `hang_seconds` with a 504."""
        self._lost_creates += n

    def reset_hooks(self) -> None:
        """Forget every pending failure, outage and slow-create hook (stores already scheduled still land)."""
        self._failures.clear()
        self._mode = None
        self._hang_after_store = 0
        self._late_stores.clear()
        self._lost_creates = 0

    def active_reservations(
        self, *, client_id: int | None = None, schedule_id: int | None = None, day: dt.date | None = None
    ) -> list[dict[str, Any]]:
        ts = None if day is None else int(dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp())
        candidates = self.reservations.values() if schedule_id is None else self.reservations.of_schedule(schedule_id)
        return [
            r
            for r in candidates
            if not r["deleted"]
            and not r["archived"]
            and (client_id is None or r["client"]["id"] == client_id)
            and (schedule_id is None or r["schedule"]["id"] == schedule_id)
            and (ts is None or r["date"] == ts)
        ]

    # ---- HTTP -----------------------------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(title="fake Impulse CRM", docs_url=None, redoc_url=None, openapi_url=None)
        app.add_api_route("/api/public/{entity}/{action}", self._public, methods=["GET", "POST"])
        app.add_api_route("/{path:path}", _web_page, methods=["GET", "POST"])
        return app

    async def _public(self, request: Request, entity: str, action: str) -> Response:
        body = _json_or_none(await request.body())
        self.requests.append(RecordedRequest(request.method, entity, action, body))
        mode = self._failures.popleft() if self._failures else self._mode
        if mode is not None and (failure := await self._fail(mode)) is not None:
            return failure
        if request.headers.get("authorization") != f"Basic {self.api_key}":
            return HTMLResponse(LOGIN_PAGE)
        collection = self.collections.get(entity)
        if collection is None:
            return HTMLResponse(NOT_FOUND_PAGE, 404)
        if action == "load" and request.method == "GET":
            return _load(collection, request.query_params.get("id"))
        if request.method != "POST" or action not in ("list", "update", "archive"):
            return HTMLResponse(NOT_FOUND_PAGE, 404)
        if not isinstance(body, dict):
            return _error(400, "Некорректный JSON в теле запроса")
        if action == "list":
            return self._list(entity, collection, body)
        if (entity, action) == ("client", "update"):
            return await self._update_client(body)
        if (entity, action) == ("reservation", "update"):
            return await self._create_reservation(body)
        if (entity, action) == ("reservation", "archive"):
            return self._archive(body)
        return HTMLResponse(NOT_FOUND_PAGE, 404)

    async def _fail(self, mode: FailMode) -> Response | None:
        if mode == "500":
            return HTMLResponse(ERROR_PAGE, 500)
        if mode == "html":
            return HTMLResponse(LOGIN_PAGE)
        await asyncio.sleep(self.hang_seconds)
        return HTMLResponse(GATEWAY_TIMEOUT_PAGE, 504) if mode == "timeout" else None

    def _list(self, entity: str, collection: Mapping[int, dict[str, Any]], body: dict[str, Any]) -> Response:
        limit = min(max(_int(body.get("limit"), 25), 1), 1000)
        page = max(_int(body.get("page"), 1), 1)
        items = [collection[k] for k in sorted(collection)]
        columns = body.get("columns")
        if isinstance(columns, dict) and entity not in _FILTERS_IGNORED:
            items = [i for i in items if all(_matches(i.get(k), v) for k, v in columns.items())]
        sort = body.get("sort")
        if isinstance(sort, dict) and not self.ignore_sort:
            items = _sorted(items, sort)
        start = (page - 1) * limit
        return JSONResponse({"total": len(items), "items": items[start : start + limit]})

    async def _update_client(self, body: dict[str, Any]) -> Response:
        if "id" in body:
            client = self.clients.get(_int(body["id"], 0))
            if client is None:
                return _error(200, "Клиент не найден")
            editable = ("name", "lastName", "middleName", "phone", "email", "status")
            client.update({k: v for k, v in body.items() if k in editable})
            self.clients[client["id"]] = client  # stored again: the phone index follows the edit
            return JSONResponse(client)
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            return _error(400, "Не заполнено обязательное поле «Имя»")
        phone = body.get("phone")
        phones = phone if isinstance(phone, list) else [phone]
        if (existing := self.clients.with_phone(phones)) is not None:
            return HTMLResponse(_duplicate_client_page(existing), 500)
        client_id = (1000 if self.clients.max_id is None else self.clients.max_id) + 1  # ids never reused
        client = {
            "id": client_id,
            "name": name.strip(),
            "lastName": body.get("lastName"),
            "middleName": body.get("middleName"),
            "phone": phones,
            "email": body.get("email"),
            "status": body.get("status"),
            "deposit": body.get("deposit", 0),
            "bonus": body.get("bonus", 0),
        }
        self.clients[client_id] = client
        await self._delay_after_store()
        return JSONResponse(client)

    async def _create_reservation(self, body: dict[str, Any]) -> Response:
        if "id" in body:
            return _error(400, "Изменение записи через API не поддерживается")
        times = body.get("time")
        if not isinstance(times, list) or not times or not isinstance(times[0], dict):
            return _error(400, "Не указано время занятия (time)")
        ts = body.get("date")
        if not isinstance(ts, int) or ts % 86400:
            return _error(400, "Некорректная дата записи")
        client = self.clients.get(_ref_id(body.get("client")))
        if client is None:
            return _error(200, "Клиент не найден")
        if not client.get("status"):
            return _error(200, "У клиента не указан статус воронки")
        template = self.templates.get(_ref_id(body.get("schedule")))
        if template is None:
            return _error(200, "Занятие не найдено в расписании")
        if times[0].get("date") != ts or times[0].get("minutes") != template["minutesBegin"]:
            return _error(400, "Время записи не совпадает с расписанием")
        day = dt.datetime.fromtimestamp(ts, dt.UTC).date()
        if rejection := self._booking_rejection(client["id"], template, day):
            return _error(200, rejection)
        if self._lost_creates > 0:
            self._lost_creates -= 1
            await asyncio.sleep(self.hang_seconds)
            return HTMLResponse(GATEWAY_TIMEOUT_PAGE, 504)
        if self._late_stores:
            stored = asyncio.create_task(self._store_later(self._late_stores.popleft(), client, template, day))
            self._background.add(stored)  # a task of its own: it lands even if this request is cancelled
            stored.add_done_callback(self._background.discard)
            await asyncio.shield(stored)
            return JSONResponse({"success": True, "count": 1})
        reservation_id = self.reservations.next_id()
        self.reservations[reservation_id] = reservation_record(reservation_id, client, template, day)
        await self._delay_after_store()
        return JSONResponse({"success": True, "count": 1})

    def _booking_rejection(self, client_id: int, template: dict[str, Any], day: dt.date) -> str | None:
        if day < self.today:
            return "Нельзя записаться на прошедшее занятие"
        if not self._runs_on(template, day):
            return "Занятие не проводится в эту дату"
        sticker = str((template.get("sticker") or {}).get("name") or "").upper()
        if sticker.startswith("НЕЛЬЗ") or "ЗАКРЫТ" in sticker:
            return "Запись в группу закрыта"
        if "ВЫХОДНОЙ" in sticker:
            return "Занятие отменено: выходной"
        booked = self.active_reservations(schedule_id=template["id"], day=day)
        if self.reject_duplicates and any(r["client"]["id"] == client_id for r in booked):
            return "Клиент уже записан на это занятие"
        places = template["group"].get("placeCount")
        if isinstance(places, int) and len(booked) >= places:
            return "Нет свободных мест в группе"
        return None

    def _runs_on(self, template: dict[str, Any], day: dt.date) -> bool:
        def local(ts: int) -> dt.date:
            return dt.datetime.fromtimestamp(ts, self.tz).date()

        begin, end = template.get("dateBegin"), template.get("dateEnd")
        if not template.get("regular", True):
            return begin is not None and local(begin) == day
        return (
            template.get("day") == day.isoweekday()
            and (begin is None or local(begin) <= day)
            and (end is None or day <= local(end))
        )

    def _archive(self, body: dict[str, Any]) -> Response:
        reservation = self.reservations.get(_int(body.get("id"), 0))
        if reservation is None:
            return _error(200, "Запись не найдена")
        reservation["archived"] = True
        return JSONResponse({"success": True})

    async def _store_later(self, after: float, client: dict[str, Any], template: dict[str, Any], day: dt.date) -> None:
        await asyncio.sleep(after)
        reservation_id = self.reservations.next_id()
        self.reservations[reservation_id] = reservation_record(reservation_id, client, template, day)

    async def _delay_after_store(self) -> None:
        if self._hang_after_store > 0:
            self._hang_after_store -= 1
            await asyncio.sleep(self.hang_seconds)


async def _web_page(path: str) -> Response:
    return HTMLResponse(APP_PAGE)


def _load(collection: Mapping[int, dict[str, Any]], raw_id: str | None) -> Response:
    item = collection.get(_int(raw_id, 0))
    return JSONResponse(item) if item is not None else HTMLResponse(NOT_FOUND_PAGE, 404)


def _error(status: int, message: str) -> Response:
    return JSONResponse({"success": False, "message": message}, status_code=status)


def _by_id(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in items}


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ref_id(ref: Any) -> int:
    return _int(ref.get("id") if isinstance(ref, dict) else ref, 0)


def _sorted(items: list[dict[str, Any]], sort: dict[str, Any]) -> list[dict[str, Any]]:
    """`items` ordered by `sort` ({field: "asc"|"desc"}, first field first); unknown fields are ignored."""
    keys = [(k, d) for k, d in sort.items() if d in ("asc", "desc") and any(k in i for i in items)]
    for field_name, direction in reversed(keys):  # stable sorts, least significant key first
        items = sorted(items, key=lambda i: _sort_key(i.get(field_name)), reverse=direction == "desc")
    return items


def _sort_key(value: Any) -> tuple[int, Any]:
    """Numbers, then strings, then anything else (null last ascending); an object sorts by its id."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, int | float) and not isinstance(value, bool):
        return 0, value
    if isinstance(value, str):
        return 1, value
    return 2, 0


def _matches(value: Any, expected: Any) -> bool:
    if isinstance(value, dict):
        value = value.get("id")
    return value in expected if isinstance(expected, list) else value == expected


def create_fake_impulse(
    *,
    api_key: str = "test-key",
    today: dt.date | None = None,
    seed: int = 42,
    tz: str = "Asia/Vladivostok",
    seed_data: SeedBuilder | None = None,
) -> FakeImpulse:
    """A fresh fake tenant with the demo studio (or `seed_data`'s); `today` defaults to the studio's date."""
    zone = ZoneInfo(tz)
    today = today or dt.datetime.now(zone).date()
    return FakeImpulse(api_key=api_key, today=today, seed=seed, tz=zone, seed_data=seed_data)


def main(argv: list[str] | None = None) -> None:
    """`python -m dancebot.crm.fake --port 8765`: serve the fake over HTTP with uvicorn."""
    import uvicorn

    parser = argparse.ArgumentParser(description="Fake Impulse CRM with the demo studio")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--api-key", default="test-key")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=None, help="YYYY-MM-DD")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    fake = create_fake_impulse(api_key=args.api_key, today=args.today, seed=args.seed)
    print(f"fake Impulse: http://{args.host}:{args.port}/api/public")
    uvicorn.run(fake.app, host=args.host, port=args.port, log_level="info")


if __name__ == "__main__":
    main()
