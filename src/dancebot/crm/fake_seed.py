"""Deterministic demo data of studio «Ритм» for the fake Impulse server, in Impulse's JSON shapes.

Matches the shared demo studio: branches 1 Центр / 2 Гоголя, styles 11–16, teachers 101–105. Dates
are relative to `today` so the demo never goes stale: weekly templates run from today-90d to
today+180d, the High Heels masterclass (a one-off) is on today+4. Template `dateBegin`/`dateEnd` are
local midnights; reservation `date`s are UTC midnights (the tenant convention the client defaults to).

Fixed fixtures the tests and the demo rely on:
- template 318 (group 212, «Стретчинг: мини-группа») has placeCount 2 — the "full" case;
- template 313 has the closed sticker «НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ», 322 «ВЫХОДНОЙ», 310 «НОВАЯ ХОРЕОГРАФИЯ»;
- templates 306 and 320 come without `branch` (their halls identify the branch);
- client 1001 Мария Смирнова «8 (999) 123-45-67» has one upcoming and one archived reservation;
  client 1002 has the near-miss phone +79991234568; client 1003 has two phones.
"""

from __future__ import annotations

import calendar
import datetime as dt
import random
from dataclasses import dataclass
from typing import Any

__all__ = ["MASTERCLASS_ID", "SeedData", "build_seed", "local_midnight", "reservation_record", "utc_midnight"]

MASTERCLASS_ID = 328
VALID_BEFORE_DAYS = 90
VALID_AFTER_DAYS = 180

BRANCHES = [{"id": 1, "name": "Центр"}, {"id": 2, "name": "Гоголя"}]
HALLS = [  # hall id, name, branch id
    (21, "Большой зал", 1),
    (22, "Малый зал", 1),
    (23, "Зал 1", 2),
    (24, "Зал 2", 2),
]
STYLES = [
    {"id": 11, "name": "High Heels"},
    {"id": 12, "name": "Hip-Hop"},
    {"id": 13, "name": "Contemporary"},
    {"id": 14, "name": "Сальса"},
    {"id": 15, "name": "Стретчинг"},
    {"id": 16, "name": "Детские танцы"},
]
TEACHERS = [
    {"id": 101, "name": "Анастасия", "lastName": "Ковалёва", "middleName": "Игоревна"},
    {"id": 102, "name": "Дмитрий", "lastName": "Ли", "middleName": "Сергеевич"},
    {"id": 103, "name": "Екатерина", "lastName": "Орлова", "middleName": "Андреевна"},
    {"id": 104, "name": "Игорь", "lastName": "Ким", "middleName": "Валентинович"},
    {"id": 105, "name": "Ольга", "lastName": "Белова", "middleName": "Николаевна"},
]
GROUPS = [  # id, name, style, teacher, placeCount, age
    (201, "High Heels начинающие", 11, 101, 12, "16+"),
    (202, "High Heels продолжающие", 11, 101, 20, "16+"),  # room for the whole suite booking it
    (203, "Hip-Hop начинающие", 12, 102, 15, "14+"),
    (204, "Hip-Hop подростки", 12, 102, 15, "11-15"),
    (205, "Contemporary", 13, 103, 12, "16+"),
    (206, "Contemporary продолжающие", 13, 103, 10, "16+"),
    (207, "Сальса начинающие", 14, 104, 16, "18+"),
    (208, "Сальса продолжающие", 14, 104, 16, "18+"),
    (209, "Стретчинг утро", 15, 101, 10, "16+"),
    (210, "Стретчинг", 15, 105, 10, "16+"),
    (211, "Детские танцы 5-7 лет", 16, 105, 10, "5-7"),
    (212, "Стретчинг: мини-группа", 15, 105, 2, "16+"),
    (213, "Детские танцы 8-10 лет", 16, 105, 12, "8-10"),
    (214, "Мастер-класс High Heels", 11, 101, 20, "16+"),
]
STICKERS = {
    "open": {"id": 1, "name": "МОЖНО ПРИСОЕДИНИТЬСЯ", "color": "#43a047", "icon": "check"},
    "closed": {"id": 2, "name": "НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ", "color": "#e53935", "icon": "lock"},
    "new": {"id": 3, "name": "НОВАЯ ХОРЕОГРАФИЯ", "color": "#8e24aa", "icon": "star"},
    "off": {"id": 4, "name": "ВЫХОДНОЙ", "color": "#757575", "icon": "moon"},
}
# id, group, weekday (1=Mon), begin, end, hall, sticker key, branch present
WEEKLY = [
    (301, 201, 1, "19:00", "20:00", 21, None, True),
    (302, 201, 3, "19:00", "20:00", 21, None, True),
    (303, 202, 2, "20:00", "21:00", 23, None, True),
    (304, 202, 4, "20:00", "21:00", 23, None, True),
    (305, 203, 1, "18:00", "19:00", 24, None, True),
    (306, 203, 4, "18:00", "19:00", 24, None, False),
    (307, 204, 6, "12:00", "13:00", 22, None, True),
    (308, 205, 2, "19:30", "20:45", 21, None, True),
    (309, 205, 5, "19:30", "20:45", 21, "open", True),
    (310, 206, 7, "13:00", "14:30", 23, "new", True),
    (311, 207, 3, "20:15", "21:15", 23, None, True),
    (312, 207, 5, "20:15", "21:15", 23, None, True),
    (313, 208, 6, "18:00", "19:30", 21, "closed", True),
    (314, 209, 2, "08:00", "09:00", 22, None, True),
    (315, 209, 4, "08:00", "09:00", 22, None, True),
    (316, 210, 1, "10:00", "11:00", 24, None, True),
    (317, 210, 3, "10:00", "11:00", 24, None, True),
    (318, 212, 5, "09:00", "10:00", 22, None, True),
    (319, 211, 6, "10:00", "10:45", 22, None, True),
    (320, 211, 2, "17:00", "17:45", 24, None, False),
    (321, 213, 4, "17:00", "18:00", 22, None, True),
    (322, 213, 7, "11:00", "12:00", 24, "off", True),
    (323, 201, 6, "14:00", "15:00", 23, "open", True),
    (324, 203, 6, "11:00", "12:00", 23, None, True),
    (325, 207, 7, "17:00", "18:00", 21, None, True),
    (326, 205, 1, "09:00", "10:15", 23, None, True),
    (327, 209, 6, "09:00", "10:00", 24, None, True),
]
MASTERCLASS = (MASTERCLASS_ID, 214, "15:00", "17:00", 21, 4)  # id, group, begin, end, hall, today+N

_FEMALE = "Анна Мария Дарья Алина Полина Виктория Софья Анастасия Ксения Елена Ольга Юлия Валерия Арина \
Вероника Кристина Татьяна Наталья Ирина Екатерина Алёна Евгения Диана Милана".split()
_MALE = "Александр Дмитрий Максим Иван Артём Никита Михаил Егор Андрей Кирилл Сергей Павел Роман".split()
_SURNAMES = "Иванов Смирнов Кузнецов Попов Васильев Петров Соколов Михайлов Новиков Фёдоров Морозов Волков \
Алексеев Лебедев Семёнов Егоров Павлов Козлов Степанов Николаев Орлов Андреев Макаров Никитин Захаров \
Зайцев Соловьёв Борисов Яковлев Григорьев".split()
_INVARIANT_SURNAMES = ["Ким", "Пак", "Ли", "Цой", "Шевчук"]
_PREFIXES = ["914", "924", "902", "908", "964", "984", "950", "999"]


@dataclass
class SeedData:
    branches: list[dict[str, Any]]
    halls: list[dict[str, Any]]
    styles: list[dict[str, Any]]
    teachers: list[dict[str, Any]]
    groups: list[dict[str, Any]]
    templates: list[dict[str, Any]]
    clients: list[dict[str, Any]]
    reservations: list[dict[str, Any]]


def build_seed(today: dt.date, tz: dt.tzinfo, seed: int = 42, clients: int = 220) -> SeedData:
    """The whole demo tenant; the same `today` and `seed` always give the same data."""
    rng = random.Random(seed)
    groups = [_group(*g) for g in GROUPS]
    by_group = {g["id"]: g for g in groups}
    valid = (
        local_midnight(today - dt.timedelta(VALID_BEFORE_DAYS), tz),
        local_midnight(today + dt.timedelta(VALID_AFTER_DAYS), tz),
    )
    templates = [_weekly(row, by_group, valid) for row in WEEKLY]
    templates.append(_masterclass(by_group, today, tz))
    people = _clients(rng, clients)
    return SeedData(
        branches=[dict(b) for b in BRANCHES],
        halls=[{"id": h, "name": n, "branch": {"id": b}} for h, n, b in HALLS],
        styles=[dict(s) for s in STYLES],
        teachers=[dict(t) for t in TEACHERS],
        groups=groups,
        templates=templates,
        clients=people,
        reservations=_reservations(rng, today, templates, people),
    )


def local_midnight(day: dt.date, tz: dt.tzinfo) -> int:
    return int(dt.datetime.combine(day, dt.time(), tzinfo=tz).timestamp())


def utc_midnight(day: dt.date) -> int:
    return calendar.timegm(day.timetuple())


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def _group(gid: int, name: str, style_id: int, teacher_id: int, places: int, age: str) -> dict[str, Any]:
    style = next(s for s in STYLES if s["id"] == style_id)
    teacher = next(t for t in TEACHERS if t["id"] == teacher_id)
    return {
        "id": gid,
        "name": name,
        "style": dict(style),
        "teacher1": {"id": teacher["id"], "name": teacher["name"], "lastName": teacher["lastName"]},
        "placeCount": places,
        "age": age,
    }


def _place(hall_id: int) -> dict[str, Any]:
    hid, name, branch_id = next(h for h in HALLS if h[0] == hall_id)
    branch = next(b for b in BRANCHES if b["id"] == branch_id)
    return {"hall": {"id": hid, "name": name}, "branch": dict(branch)}


def _weekly(row: tuple[Any, ...], groups: dict[int, dict[str, Any]], valid: tuple[int, int]) -> dict[str, Any]:
    tid, gid, weekday, begin, end, hall_id, sticker, with_branch = row
    place = _place(hall_id)
    if not with_branch:
        del place["branch"]
    return {
        "id": tid,
        "regular": True,
        "day": weekday,
        "minutesBegin": _minutes(begin),
        "minutesEnd": _minutes(end),
        "dateBegin": valid[0],
        "dateEnd": valid[1],
        "group": groups[gid],
        **place,
        "sticker": dict(STICKERS[sticker]) if sticker else None,
        "comment": "",
        "online": False,
    }


def _masterclass(groups: dict[int, dict[str, Any]], today: dt.date, tz: dt.tzinfo) -> dict[str, Any]:
    tid, gid, begin, end, hall_id, offset = MASTERCLASS
    day = today + dt.timedelta(days=offset)
    return {
        "id": tid,
        "regular": False,
        "day": day.isoweekday(),
        "minutesBegin": _minutes(begin),
        "minutesEnd": _minutes(end),
        "dateBegin": local_midnight(day, tz),
        "dateEnd": local_midnight(day, tz),
        "group": groups[gid],
        **_place(hall_id),
        "sticker": None,
        "comment": "Мастер-класс: постановка на каблуках",
        "online": False,
    }


def _phone_text(national: str, style: int) -> str:
    a, b, c, d = national[:3], national[3:6], national[6:8], national[8:]
    return [f"8 ({a}) {b}-{c}-{d}", f"+7{national}", f"7{national}", f"+7 {a} {b}-{c}-{d}", f"8{national}"][style]


def _clients(rng: random.Random, count: int) -> list[dict[str, Any]]:
    fixed = [
        (1001, "Мария", "Смирнова", "8 (999) 123-45-67"),
        (1002, "Алексей", "Петров", "+79991234568"),
        (1003, "Светлана", "Ким", ["+79147654321", "8 (924) 111-22-33"]),
    ]
    used = {"9991234567", "9991234568", "9147654321", "9241112233"}
    people = [_client(cid, name, last, phone) for cid, name, last, phone in fixed]
    for cid in range(1001 + len(fixed), 1001 + count):
        female = rng.random() < 0.75
        first = rng.choice(_FEMALE if female else _MALE)
        last = rng.choice(_SURNAMES + _INVARIANT_SURNAMES)
        if female and last not in _INVARIANT_SURNAMES:
            last += "а"
        numbers = []
        for _ in range(2 if rng.random() < 0.1 else 1):
            national = rng.choice(_PREFIXES) + f"{rng.randrange(10**7):07d}"
            while national in used:
                national = rng.choice(_PREFIXES) + f"{rng.randrange(10**7):07d}"
            used.add(national)
            numbers.append(_phone_text(national, rng.randrange(5)))
        phone: Any = numbers if len(numbers) > 1 else numbers[0]
        if cid % 97 == 0:
            phone = None  # the CRM has clients without a phone
        people.append(_client(cid, first, last, phone))
    return people


def _client(cid: int, name: str, last: str, phone: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "lastName": last,
        "middleName": None,
        "phone": phone,
        "email": f"client{cid}@mail.ru" if cid % 3 == 0 else None,
        "status": {"id": 2, "name": "Постоянный клиент"},
        "deposit": 0,
        "bonus": 0,
    }


def reservation_record(rid: int, client: dict[str, Any], template: dict[str, Any], day: dt.date) -> dict[str, Any]:
    """A stored reservation as `reservation/list` returns it."""
    return {
        "id": rid,
        "client": {"id": client["id"], "name": client["name"], "lastName": client.get("lastName")},
        "schedule": {"id": template["id"], "minutesBegin": template["minutesBegin"], "group": template["group"]},
        "date": utc_midnight(day),
        "type": 0,
        "deleted": False,
        "archived": False,
    }


def _reservations(
    rng: random.Random, today: dt.date, templates: list[dict[str, Any]], people: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Client 1001's fixtures plus other clients' bookings, so lists need filtering and paging."""
    by_id = {t["id"]: t for t in templates}
    maria = people[0]
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    upcoming = reservation_record(5001, maria, by_id[301], next_monday)
    past = reservation_record(5002, maria, by_id[302], today - dt.timedelta(days=(today.weekday() - 2) % 7 + 7))
    past["archived"] = True
    records = [upcoming, past]
    bookable = [t for t in templates if t["regular"] and t["sticker"] is None and t["group"]["placeCount"] > 2]
    for rid in range(5003, 5063):
        template = rng.choice(bookable)
        day = today + dt.timedelta(days=(template["day"] - today.isoweekday()) % 7 + 7 * rng.randrange(2))
        records.append(reservation_record(rid, rng.choice(people[3:]), template, day))
    return records
