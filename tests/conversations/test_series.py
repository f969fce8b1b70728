"""Serial booking (PRODUCT.md §5.4): several dates of one class, one summary listing them all, one yes, one
reservation per date, a receipt per date."""

from __future__ import annotations

import pytest

from tests.conversations.harness import CENTER, Booked, Client, shows_phone, text_of

pytestmark = pytest.mark.e2e


async def test_all_wednesdays(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на все среды на хилс, меня зовут Анна, {c.phone}"))
    assert summary.count("?") == 1 and "Анна" in summary and shows_phone(summary, c.e164)
    assert "02.12" in summary and "09.12" in summary and CENTER in summary  # the window is 14 days
    assert c.reservations() == []
    receipt = text_of(await c.say("да"))
    assert "02.12" in receipt and "09.12" in receipt and CENTER in receipt
    assert c.reservations() == [Booked(302, "2026-12-02", "19:00"), Booked(302, "2026-12-09", "19:00")]


async def test_three_classes_on_mondays_and_wednesdays(client: Client) -> None:
    c = client
    await c.say("хочу на хилс на 3 занятия по пн и ср")
    await c.say("Анна")
    summary = text_of(await c.say(c.phone))
    assert summary.count("?") == 1
    for day in ("02.12", "07.12", "09.12"):
        assert day in summary
    receipt = text_of(await c.tap_label("Да"))
    assert all(day in receipt for day in ("02.12", "07.12", "09.12"))
    assert c.reservations() == [
        Booked(302, "2026-12-02", "19:00"),
        Booked(301, "2026-12-07", "19:00"),
        Booked(302, "2026-12-09", "19:00"),
    ]


async def test_series_declined_books_nothing(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"на все пятницы на контемп, меня зовут Катя, {c.phone}"))
    assert "04.12" in summary and "11.12" in summary
    reply = text_of(await c.say("нет, не надо"))
    assert "ничего не записыва" in reply.lower()
    assert c.reservations() == []
