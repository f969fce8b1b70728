"""Issue 8 point 6 (series) on the second studio «Волна»: "на два следующих вторника", "каждую пятницу до
конца месяца", "3 раза подряд по пн и чт" — that many dates within the 14-day window (the KB has no
`booking` section: the defaults apply), listed in one summary, booked with one yes."""

from __future__ import annotations

import pytest

from tests.conversations.harness import Client, shows_phone, text_of
from tests.conversations.second.volna import BORISENKO, OKEANSKY, SNEGOVAYA, Booked

pytestmark = pytest.mark.e2e


def assert_series_summary(reply: str, *, name: str, phone: str, klass: str, days: list[str], where: str) -> None:
    """One summary listing every date, with name, phone, class and address, and one question."""
    assert reply.count("?") == 1 and "Записать на все" in reply, f"not a series summary: {reply!r}"
    assert name in reply and shows_phone(reply, phone) and klass in reply, f"name/phone/class missing: {reply!r}"
    assert all(day in reply for day in days), f"not every date of {days}: {reply!r}"
    assert where in reply, f"no address: {reply!r}"


async def test_the_next_two_tuesdays_in_the_morning(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"на два следующих вторника на зумбу утром, Лиля {c.phone}"))
    assert_series_summary(summary, name="Лиля", phone=c.e164, klass="Zumba", days=["08.12", "15.12"], where=BORISENKO)
    assert "19:00" not in summary  # the Tuesday evening Zumba is not the morning
    assert c.reservations() == []
    receipt = text_of(await c.say("да"))
    assert "08.12" in receipt and "15.12" in receipt
    assert c.reservations() == [Booked(806, "2026-12-08", "10:00"), Booked(806, "2026-12-15", "10:00")]


async def test_every_friday_until_the_end_of_the_month(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"каждую пятницу до конца месяца на вог, Рома {c.phone}"))
    assert_series_summary(summary, name="Рома", phone=c.e164, klass="Vogue", days=["04.12", "11.12"], where=OKEANSKY)
    await c.say("да")
    assert c.reservations() == [Booked(815, "2026-12-04", "18:30"), Booked(815, "2026-12-11", "18:30")]


async def test_three_times_in_a_row_on_mondays_and_thursdays(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"3 раза подряд по пн и чт на пилон, Вика {c.phone}"))
    days = ["03.12", "07.12", "10.12"]
    assert_series_summary(summary, name="Вика", phone=c.e164, klass="Pole Dance", days=days, where=SNEGOVAYA)
    assert "14.12" not in summary  # three, not every Monday and Thursday
    await c.say("да")
    assert c.reservations() == [
        Booked(811, "2026-12-03", "20:00"),
        Booked(810, "2026-12-07", "20:00"),
        Booked(811, "2026-12-10", "20:00"),
    ]
