"""The Impulse tenant of the second test studio «Волна» (tests/studios/second/studio.yaml), in the same JSON
shapes as the demo's `dancebot.crm.fake_seed`, for `create_fake_impulse(seed_data=build_second_seed)`.

Nothing here is the demo's: other branches (7 Океанский, 8 Снеговая, 9 Борисенко), styles 41–46, teachers
701–705 known by name only (the KB has no `crm_teacher_id`: the bot matches «Дарья Соколова» to «Даша»),
a teacher the KB does not describe (705 Ирина Лаптева), other times and prices.

The week, as clients see it (weekday start style — teacher, branch [template id]):

    Пн 09:00 Растяжка — Таня, Борисенко [818]; 19:00 Бачата — Даша, Океанский [801];
       20:00 Pole Dance — Женя, Снеговая [810]
    Вт 10:00 Zumba — Таня, Борисенко [806]; 19:00 Zumba — Таня, Снеговая [808];
       20:30 Vogue — Саша, Океанский [814]
    Ср 18:00 Растяжка — Женя, Снеговая [819]; 19:00 Бачата — Даша, Океанский [802]
    Чт 08:30 Растяжка — Таня, Борисенко [821]; 10:00 Zumba — Таня, Борисенко [807];
       19:00 Латина — Даша, Борисенко [816]; 20:00 Pole Dance — Женя, Снеговая [811]
    Пт 18:30 Vogue — Саша, Океанский [815]; 20:00 Бачата — Саша, Снеговая [803]
    Сб 10:00 Растяжка — Женя, Снеговая [820]; 13:00 Бачата — Даша, Океанский [804];
       15:00 Pole Dance продолжающие, closed [813]; 17:00 Бачата — Саша, Снеговая [805]
    Вс 11:00 Zumba — Ирина Лаптева (not in the KB), Океанский [809]; 12:00 Pole Dance — Женя, Снеговая [812];
       16:00 Латина — Даша, Борисенко [817]. Sunday 13.12 is a KB holiday.

Fixed fixtures: client 2001 Полина Руденко «+7 (914) 700-11-22» holds Pole Dance on Mon (today + the
days to the next Monday) 20:00 (template 810); client 2002 Игорь Зуев «8 924 555-66-77» has no bookings.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from dancebot.crm.fake_seed import SeedData, local_midnight, reservation_record

__all__ = ["POLINA", "build_second_seed"]

POLINA = (2001, "+79147001122")  # client id, phone (E.164) of the seeded client with an upcoming class

BRANCHES = [{"id": 7, "name": "Океанский"}, {"id": 8, "name": "Снеговая"}, {"id": 9, "name": "Борисенко"}]
HALLS = [(71, "Зеркальный зал", 7), (81, "Зал А", 8), (82, "Зал Б", 8), (91, "Студия", 9)]
STYLES = [
    {"id": 41, "name": "Бачата"},
    {"id": 42, "name": "Zumba"},
    {"id": 43, "name": "Pole Dance"},
    {"id": 44, "name": "Vogue"},
    {"id": 45, "name": "Латиноамериканские танцы"},
    {"id": 46, "name": "Растяжка"},
]
TEACHERS = [
    {"id": 701, "name": "Дарья", "lastName": "Соколова", "middleName": "Олеговна"},
    {"id": 702, "name": "Александр", "lastName": "Цой", "middleName": "Викторович"},
    {"id": 703, "name": "Евгения", "lastName": "Миронова", "middleName": "Павловна"},
    {"id": 704, "name": "Татьяна", "lastName": "Белых", "middleName": "Сергеевна"},
    {"id": 705, "name": "Ирина", "lastName": "Лаптева", "middleName": None},
]
GROUPS = [  # id, name, style, teacher, placeCount, age
    (601, "Бачата начинающие", 41, 701, 16, "18+"),
    (602, "Бачата продолжающие", 41, 702, 14, "18+"),
    (603, "Zumba", 42, 704, 20, "16+"),
    (604, "Pole Dance с нуля", 43, 703, 6, "18+"),
    (605, "Pole Dance продолжающие", 43, 703, 6, "18+"),
    (606, "Vogue", 44, 702, 12, "14+"),
    (607, "Латина соло", 45, 701, 15, "16+"),
    (608, "Растяжка вечер", 46, 703, 12, "16+"),
    (609, "Растяжка утро", 46, 704, 12, "16+"),
    (610, "Zumba выходного дня", 42, 705, 20, "16+"),
]
CLOSED = {"id": 12, "name": "НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ", "color": "#e53935", "icon": "lock"}
# id, group, weekday (1 = Monday), begin, end, hall, closed
WEEKLY = [
    (801, 601, 1, "19:00", "20:00", 71, False),
    (802, 601, 3, "19:00", "20:00", 71, False),
    (803, 602, 5, "20:00", "21:00", 81, False),
    (804, 601, 6, "13:00", "14:00", 71, False),
    (805, 602, 6, "17:00", "18:00", 82, False),
    (806, 603, 2, "10:00", "11:00", 91, False),
    (807, 603, 4, "10:00", "11:00", 91, False),
    (808, 603, 2, "19:00", "20:00", 82, False),
    (809, 610, 7, "11:00", "12:00", 71, False),
    (810, 604, 1, "20:00", "21:30", 81, False),
    (811, 604, 4, "20:00", "21:30", 81, False),
    (812, 604, 7, "12:00", "13:30", 81, False),
    (813, 605, 6, "15:00", "16:30", 81, True),
    (814, 606, 2, "20:30", "21:30", 71, False),
    (815, 606, 5, "18:30", "19:30", 71, False),
    (816, 607, 4, "19:00", "20:00", 91, False),
    (817, 607, 7, "16:00", "17:00", 91, False),
    (818, 609, 1, "09:00", "10:00", 91, False),
    (819, 608, 3, "18:00", "19:00", 82, False),
    (820, 608, 6, "10:00", "11:00", 82, False),
    (821, 609, 4, "08:30", "09:30", 91, False),
]
_FIRST = "Алина Вера Галина Дина Ева Жанна Зоя Инга Лада Майя Нелли Рита Стелла Ульяна Эмма Яна".split()
_LAST = "Руденко Ткаченко Бондаренко Шевченко Лысенко Мельник Коваль Гончар Кравец Ковальчук".split()


def build_second_seed(today: dt.date, tz: dt.tzinfo) -> SeedData:
    """The whole tenant of «Волна»; the same `today` always gives the same data."""
    groups = {gid: _group(gid, name, style, teacher, places, age) for gid, name, style, teacher, places, age in GROUPS}
    valid = (local_midnight(today - dt.timedelta(60), tz), local_midnight(today + dt.timedelta(120), tz))
    templates = [_weekly(row, groups, valid) for row in WEEKLY]
    people = _clients()
    return SeedData(
        branches=[dict(b) for b in BRANCHES],
        halls=[{"id": h, "name": n, "branch": {"id": b}} for h, n, b in HALLS],
        styles=[dict(s) for s in STYLES],
        teachers=[dict(t) for t in TEACHERS],
        groups=list(groups.values()),
        templates=templates,
        clients=people,
        reservations=_reservations(today, templates, people),
    )


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


def _weekly(row: tuple[Any, ...], groups: dict[int, dict[str, Any]], valid: tuple[int, int]) -> dict[str, Any]:
    tid, gid, weekday, begin, end, hall_id, closed = row
    hid, hall_name, branch_id = next(h for h in HALLS if h[0] == hall_id)
    return {
        "id": tid,
        "regular": True,
        "day": weekday,
        "minutesBegin": _minutes(begin),
        "minutesEnd": _minutes(end),
        "dateBegin": valid[0],
        "dateEnd": valid[1],
        "group": groups[gid],
        "hall": {"id": hid, "name": hall_name},
        "branch": dict(next(b for b in BRANCHES if b["id"] == branch_id)),
        "sticker": dict(CLOSED) if closed else None,
        "comment": "",
        "online": False,
    }


def _client(cid: int, name: str, last: str, phone: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "name": name,
        "lastName": last,
        "middleName": None,
        "phone": phone,
        "email": None,
        "status": {"id": 3, "name": "Клиент"},
        "deposit": 0,
        "bonus": 0,
    }


def _clients() -> list[dict[str, Any]]:
    """Two fixed clients and 40 more with numbers no test client has (tests use +7 953…)."""
    rng = random.Random(8)
    people = [
        _client(POLINA[0], "Полина", "Руденко", "+7 (914) 700-11-22"),
        _client(2002, "Игорь", "Зуев", "8 924 555-66-77"),
    ]
    used = {"9147001122", "9245556677"}
    for cid in range(2003, 2043):
        national = rng.choice(["914", "924", "902"]) + f"{rng.randrange(10**7):07d}"
        while national in used:
            national = rng.choice(["914", "924", "902"]) + f"{rng.randrange(10**7):07d}"
        used.add(national)
        people.append(_client(cid, rng.choice(_FIRST), rng.choice(_LAST), f"8{national}"))
    return people


def _reservations(
    today: dt.date, templates: list[dict[str, Any]], people: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Polina's Monday pole class, and a few bookings of others in the big groups (never filling one)."""
    rng = random.Random(9)
    by_id = {t["id"]: t for t in templates}
    next_monday = today + dt.timedelta(days=7 - today.weekday())
    records = [reservation_record(6001, people[0], by_id[810], next_monday)]
    roomy = [t for t in templates if t["sticker"] is None and t["group"]["placeCount"] >= 12]
    for rid in range(6002, 6022):
        template = rng.choice(roomy)
        day = today + dt.timedelta(days=(template["day"] - today.isoweekday()) % 7 + 7 * rng.randrange(2))
        records.append(reservation_record(rid, rng.choice(people[2:]), template, day))
    return records
