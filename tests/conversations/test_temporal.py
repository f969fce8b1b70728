"""Every temporal form of PRODUCT.md §6.3 that the demo schedule can show, as clients write them, resolved
against real classes (now = Wed 2026-12-02 15:00) and booked, or refused with the nearest options."""

from __future__ import annotations

import pytest

from tests.conversations.harness import CENTER, GOGOLYA, Booked, Client, assert_summary, text_of

pytestmark = pytest.mark.e2e

# (what the client writes, the class it must land on, its branch address, its style)
ONE_CLASS = [
    pytest.param("хочу на хилс завтра", Booked(304, "2026-12-03", "20:00"), GOGOLYA, "High Heels", id="завтра"),
    pytest.param("на сальсу послезавтра", Booked(312, "2026-12-04", "20:15"), GOGOLYA, "Сальса", id="послезавтра"),
    pytest.param("контемп в пятницу", Booked(309, "2026-12-04", "19:30"), CENTER, "Contemporary", id="в пятницу"),
    pytest.param("на сальсу через неделю", Booked(311, "2026-12-09", "20:15"), GOGOLYA, "Сальса", id="через неделю"),
    pytest.param(
        "контемп в следующую пт", Booked(309, "2026-12-11", "19:30"), CENTER, "Contemporary", id="в следующую пт"
    ),
    pytest.param(
        "хочу на хилс в 19", Booked(302, "2026-12-02", "19:00"), CENTER, "High Heels", id="в 19 (today, still ahead)"
    ),
    pytest.param("хилс в пн в 7 вечера", Booked(301, "2026-12-07", "19:00"), CENTER, "High Heels", id="в 7 вечера"),
    pytest.param(
        "стретчинг в 8", Booked(315, "2026-12-03", "08:00"), CENTER, "Стретчинг", id="в 8 → 08:00 has a class"
    ),
    pytest.param("контемп вечером", Booked(309, "2026-12-04", "19:30"), CENTER, "Contemporary", id="вечером"),
    pytest.param(
        "сальсу 9 декабря в 20.15", Booked(311, "2026-12-09", "20:15"), GOGOLYA, "Сальса", id="9 декабря в 20.15"
    ),
]


@pytest.mark.parametrize(("when", "expected", "where", "style"), ONE_CLASS)
async def test_a_day_or_time_that_names_one_class_goes_to_the_summary(
    client: Client, when: str, expected: Booked, where: str, style: str
) -> None:
    c = client
    summary = text_of(await c.say(f"{when}, меня зовут Анна, {c.phone}"))
    day = f"{expected.day[8:]}.{expected.day[5:7]}"
    assert_summary(summary, name="Анна", phone=c.e164, klass=style, day=day, time=expected.time, where=where)
    await c.say("да")
    assert c.reservations() == [expected]


# (what the client writes, labels of the offered buttons, which one to tap, the class it books)
SEVERAL = [
    pytest.param("на хип-хоп 5-го", ["11:00", "12:00"], "11:00", Booked(324, "2026-12-05", "11:00"), id="5-го"),
    pytest.param("на хилс на выходных", ["Сб 05.12", "Вс 06.12"], "Вс 06.12", Booked(328, "2026-12-06", "15:00"),
                 id="на выходных"),
    pytest.param("хилс пн/ср 19:00", ["Ср 02.12", "Пн 07.12", "Ср 09.12"], "Пн 07.12",
                 Booked(301, "2026-12-07", "19:00"), id="пн/ср"),
    pytest.param("стретчинг утром", ["Чт 03.12 08:00"], "Чт 03.12", Booked(315, "2026-12-03", "08:00"), id="утром"),
]  # fmt: skip


@pytest.mark.parametrize(("when", "offered", "pick", "expected"), SEVERAL)
async def test_several_matching_classes_are_offered_as_buttons(
    client: Client, when: str, offered: list[str], pick: str, expected: Booked
) -> None:
    c = client
    reply = text_of(await c.say(f"{when}, меня зовут Анна, {c.phone}"))
    labels = [label for label, _ in c.last_buttons]
    assert reply.count("?") <= 1 and 1 < len(labels) <= 3, reply
    for part in offered:
        assert any(part in label for label in labels), (part, labels)
    summary = text_of(await c.tap_label(pick))
    assert "Всё верно?" in summary and expected.time in summary
    await c.say("да")
    assert c.reservations() == [expected]


async def test_holiday_is_named_and_never_offered(client: Client) -> None:
    c = client
    reply = text_of(await c.say("запишите на стретчинг 12.12"))
    assert "отчётный концерт" in reply.lower() and "12 декабря" in reply  # the studio's own words (KB message)
    assert c.last_buttons and not any("12.12" in label for label, _ in c.last_buttons)
    schedule = text_of(await c.say("а что вообще есть 12 декабря?"))
    assert "12 декабря занятий не будет" in schedule and "Сб 12.12" not in schedule  # said in the studio's words
    assert c.reservations() == []


async def test_a_time_already_past_today_is_refused_with_the_nearest(client: Client) -> None:
    c = client
    reply = text_of(await c.say("хочу на стретчинг сегодня в 10 утра"))
    assert "прошло" in reply
    labels = [label for label, _ in c.last_buttons]
    assert labels and not any("02.12 10:00" in label for label in labels)
    await c.tap(1)
    await c.say(f"Анна {c.phone}")
    await c.say("да")
    [booked] = c.reservations()
    assert booked.day > "2026-12-02"


async def test_a_time_that_does_not_exist_is_named_with_an_example(client: Client) -> None:
    c = client
    reply = text_of(await c.say("хип хоп в 25:00"))
    assert "«25:00» не бывает" in reply and "19:00" in reply  # named once, with an example
    assert c.last_buttons  # the nearest real classes instead
    assert c.reservations() == []


async def test_a_date_beyond_the_booking_window_says_so(client: Client) -> None:
    c = client
    reply = text_of(await c.say("запишите на хилс 20-го января"))  # 1 января is a holiday: its words come first
    assert "14 дней" in reply and c.last_buttons
    assert not any("20.01" in label for label, _ in c.last_buttons)
    assert c.reservations() == []
