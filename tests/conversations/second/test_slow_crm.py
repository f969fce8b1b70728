"""Issue 8 point 1: exactly one booking when the CRM is slow (PRODUCT.md §7.3). The CRM stores the
reservation after the bot's 10 s request timeout, stores it and then hangs, or never stores it: in every
case the studio holds at most ONE reservation, the bot sends ONE create, and the client gets exactly one
receipt or one honest "the administrator will confirm" — never two, never a receipt for nothing.

The second studio's stack re-reads at +3 s, +6 s, +9 s (`DANCEBOT_VERIFY_DELAYS`), so each case ends in
well under a minute.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.crm.fake import FakeImpulse
from dancebot.storage.tables import fallback_requests
from tests.conversations.harness import Client, assert_summary, text_of
from tests.conversations.second.volna import BORISENKO, SNEGOVAYA, Booked, assert_receipt

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

CLIENT_TIMEOUT = 10.0  # the CRM client's own limit per request (PRODUCT.md §7.1)
LATE = CLIENT_TIMEOUT + 2  # the CRM commits 2 s after the bot gave up waiting
SETTLE = 30.0  # the last verification read (+9 s) and its message, with room to spare


def receipts(c: Client) -> list[str]:
    return [m for m in c.received() if "записан" in m or "Готово" in m]


def admin_will_confirm(c: Client) -> list[str]:
    return [m for m in c.received() if "дминистратор" in m and ("подтверд" in m or "провер" in m)]


async def _pole_thursday(c: Client, name: str) -> None:
    summary = text_of(await c.say(f"запишите на пилон в чт в 20, {name}, {c.phone}"))
    assert_summary(summary, name=name, phone=c.e164, klass="Pole Dance", day="03.12", time="20:00", where=SNEGOVAYA)


async def test_stored_after_the_timeout_one_reservation_and_one_receipt(
    second_client: Client, second_crm: FakeImpulse
) -> None:
    c = second_client
    await _pole_thursday(c, "Лена")
    second_crm.store_late(1, after=LATE)
    since = c.mark()
    reply = text_of(await c.say("да"))
    assert "провер" in reply.lower(), f"the client is not told the booking is being checked: {reply!r}"
    assert not receipts(c), f"a receipt before the CRM stored anything: {reply!r}"
    await c.wait_for_message("записан", SETTLE, since=since)
    await asyncio.sleep(2)  # anything else the bot would still do
    assert len(c.crm_requests("reservation", "update")) == 1, "a second create was sent"
    assert c.reservations() == [Booked(811, "2026-12-03", "20:00")]
    assert len(receipts(c)) == 1 and not admin_will_confirm(c), c.dump()
    assert_receipt(receipts(c)[0], klass="Pole Dance", day="03.12", time="20:00", where=SNEGOVAYA)


async def test_stored_then_the_crm_hangs_one_reservation_and_one_receipt(
    second_client: Client, second_crm: FakeImpulse
) -> None:
    c = second_client
    summary = text_of(await c.say(f"запишите на зумбу во вторник в 10, Нина {c.phone}"))
    assert_summary(summary, name="Нина", phone=c.e164, klass="Zumba", day="08.12", time="10:00", where=BORISENKO)
    second_crm.hang_seconds = 20.0
    second_crm.store_then_hang(1)
    since = c.mark()
    await c.say("да")
    if not receipts(c):  # told it is being checked first: the receipt follows
        await c.wait_for_message("записан", SETTLE, since=since)
    await asyncio.sleep(2)
    assert len(c.crm_requests("reservation", "update")) == 1, "a second create was sent"
    assert c.reservations() == [Booked(806, "2026-12-08", "10:00")]
    assert len(receipts(c)) == 1 and not admin_will_confirm(c), c.dump()
    assert_receipt(receipts(c)[0], klass="Zumba", day="08.12", time="10:00", where=BORISENKO)


async def _fallback_rows(database: AsyncEngine, chat_id: int, timeout: float = 10.0) -> list[object]:
    deadline = time.monotonic() + timeout
    while True:
        async with database.connect() as conn:
            query = select(fallback_requests).where(fallback_requests.c.chat_id == chat_id)
            rows = list((await conn.execute(query)).all())
        if rows or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def test_never_stored_one_create_no_receipt_and_the_admin_verifies(
    second_client: Client, second_crm: FakeImpulse, database: AsyncEngine
) -> None:
    c = second_client
    await _pole_thursday(c, "Майя")
    second_crm.hang_seconds = LATE
    second_crm.lose_next_creates(1)
    since = c.mark()
    reply = text_of(await c.say("да"))
    assert "провер" in reply.lower(), f"the client is not told the booking is being checked: {reply!r}"
    await c.wait_for_message("дминистратор", SETTLE, since=since)
    assert len(admin_will_confirm(c)) == 1 and not receipts(c), c.dump()
    assert len(c.crm_requests("reservation", "update")) == 1, "a second create was sent"
    assert c.reservations() == []
    rows = await _fallback_rows(database, c.chat_id)
    assert [r.status for r in rows] == ["verify"], rows  # type: ignore[attr-defined]


async def test_a_client_who_insists_while_it_is_checked_gets_no_second_create(
    second_client: Client, second_crm: FakeImpulse
) -> None:
    c = second_client
    await _pole_thursday(c, "Злата")
    second_crm.store_late(1, after=LATE)
    since = c.mark()
    await c.say("да")
    await c.say("ну что там, записали? да, записывайте!")
    if not any("Готово" in m.text for m in c.tg.sent_to(c.chat_id, since)):
        await c.wait_for_message("Готово", SETTLE, since=since)
    await asyncio.sleep(2)
    assert len(c.crm_requests("reservation", "update")) == 1, "the client's insistence sent a second create"
    assert c.reservations() == [Booked(811, "2026-12-03", "20:00")]
    assert len(receipts(c)) == 1, f"told twice that it is booked (once before the CRM stored it?):\n{c.dump()}"


async def test_a_series_with_one_slow_create_books_each_date_once(
    second_client: Client, second_crm: FakeImpulse
) -> None:
    """The first date's create is stored late. Whatever the series does with the rest (books it, or stops
    and passes it to the admin, PRODUCT.md §5.4), no date is created twice, the client confirms once, and
    is never left believing a date that IS booked failed."""
    c = second_client
    summary = text_of(await c.say(f"запишите на два следующих вторника на зумбу в 10 утра, Дина {c.phone}"))
    assert "08.12" in summary and "15.12" in summary and "Записать на все" in summary, summary
    second_crm.store_late(1, after=LATE)
    await c.say("да")
    for _ in range(int(SETTLE * 2)):  # until the late create has landed
        if c.reservations():
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(SETTLE / 2)  # the verification reads and their messages
    booked = c.reservations()
    assert Booked(806, "2026-12-08", "10:00") in booked and len(set(booked)) == len(booked), booked
    dates = [body.get("date") for body in c.crm_requests("reservation", "update")]
    assert len(dates) == len(set(dates)), f"a date was created twice: {dates}"
    assert sum("Записать на все?" in m for m in c.received()) == 1, f"the summary was sent again:\n{c.dump()}"
    about_first = [m for m in c.received() if "08.12" in m][-1]
    assert "не получилось" not in about_first, f"last told that 08.12 failed, yet it is booked:\n{c.dump()}"
    if Booked(806, "2026-12-15", "10:00") not in booked:
        told = [m for m in c.received() if "15.12" in m][-1]
        assert "администратор" in told, f"15.12 neither booked nor passed to the admin:\n{c.dump()}"
