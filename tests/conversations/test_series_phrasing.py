"""Issue 8 point 6 (series): "на два следующих вторника", "каждую среду до конца месяца", "3 раза подряд по
пн и чт", "на ближайшие три четверга" → that many dates (≤ `max_serial`, within the 14-day `lookahead_days`),
all listed in one summary, booked with one yes."""

from __future__ import annotations

import pytest

from tests.conversations.harness import CENTER, GOGOLYA, Booked, Client, shows_phone, text_of

pytestmark = pytest.mark.e2e


def assert_series_summary(reply: str, *, name: str, phone: str, klass: str, days: list[str], where: str) -> None:
    """One summary listing every date, with name, phone, class and address, and one question."""
    assert reply.count("?") == 1 and "Записать на все" in reply, f"not a series summary: {reply!r}"
    assert name in reply and shows_phone(reply, phone) and klass in reply, f"name/phone/class missing: {reply!r}"
    assert all(day in reply for day in days), f"not every date of {days}: {reply!r}"
    assert where in reply, f"no address: {reply!r}"


async def test_the_next_two_tuesdays(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"на два следующих вторника на контемп, Вика {c.phone}"))
    days = ["08.12", "15.12"]
    assert_series_summary(summary, name="Вика", phone=c.e164, klass="Contemporary", days=days, where=CENTER)
    assert c.reservations() == []
    receipt = text_of(await c.say("да"))
    assert all(day in receipt for day in days), receipt
    assert c.reservations() == [Booked(308, "2026-12-08", "19:30"), Booked(308, "2026-12-15", "19:30")]


async def test_every_wednesday_until_the_end_of_the_month(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на сальсу каждую среду до конца месяца, Лена {c.phone}"))
    days = ["02.12", "09.12"]  # the later Wednesdays are beyond the 14 days the schedule is open
    assert_series_summary(summary, name="Лена", phone=c.e164, klass="Сальса", days=days, where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(311, "2026-12-02", "20:15"), Booked(311, "2026-12-09", "20:15")]


async def test_three_times_in_a_row_on_mondays_and_thursdays(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"хип-хоп 3 раза подряд по пн и чт, Юра {c.phone}"))
    days = ["03.12", "07.12", "10.12"]
    assert_series_summary(summary, name="Юра", phone=c.e164, klass="Hip-Hop", days=days, where=GOGOLYA)
    assert "14.12" not in summary  # three, not every Monday and Thursday
    await c.say("да")
    assert c.reservations() == [
        Booked(306, "2026-12-03", "18:00"),
        Booked(305, "2026-12-07", "18:00"),
        Booked(306, "2026-12-10", "18:00"),
    ]


async def test_twice_in_a_row_on_mondays_with_a_teacher(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"2 раза подряд по пн на стретчинг к Оле, Оля {c.phone}"))
    assert_series_summary(summary, name="Оля", phone=c.e164, klass="Стретчинг", days=["07.12", "14.12"], where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(316, "2026-12-07", "10:00"), Booked(316, "2026-12-14", "10:00")]


async def test_three_thursdays_when_the_window_holds_two_says_so(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"на ближайшие три четверга на стретчинг, Зоя {c.phone}"))
    days = ["03.12", "10.12"]  # 17.12 is beyond the 14 days the schedule is open
    assert_series_summary(summary, name="Зоя", phone=c.e164, klass="Стретчинг", days=days, where=CENTER)
    assert "17.12" not in summary
    assert "14" in summary.replace("14.12", ""), f"does not say the schedule is open 14 days ahead: {summary!r}"
    await c.say("да")
    assert c.reservations() == [Booked(315, "2026-12-03", "08:00"), Booked(315, "2026-12-10", "08:00")]
