"""Booking conversations end to end (issue 4): one message, step by step, buttons only, for a child,
a bad phone, a change of mind, a duplicate, a full group, a returning client, the CRM dying mid-way."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.crm.fake import FakeImpulse
from dancebot.storage.tables import fallback_requests
from tests.conversations.harness import (
    CENTER,
    GOGOLYA,
    Booked,
    Client,
    assert_receipt,
    assert_summary,
    shows_phone,
    text_of,
)

pytestmark = pytest.mark.e2e

THU_HEELS = Booked(304, "2026-12-03", "20:00")  # High Heels продолжающие, Гоголя


async def test_everything_in_one_message_goes_straight_to_the_summary(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите меня на хилс в чт в 20 к насте, Анна {c.phone}"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    assert c.reservations() == []  # nothing before the explicit yes
    receipt = text_of(await c.say("да"))
    assert_receipt(receipt, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    assert c.reservations() == [THU_HEELS]


async def test_one_message_for_a_friday_without_heels_offers_the_nearest_and_keeps_the_contacts(
    client: Client,
) -> None:
    c = client
    reply = text_of(await c.say(f"запишите меня на хилс в пт в 20 к насте, Анна {c.phone}"))
    assert "нет" in reply.lower()  # there is no High Heels on Friday: said, not invented
    assert c.last_buttons and not any("Пт" in label for label, _ in c.last_buttons)
    summary = text_of(await c.tap_label("03.12"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    await c.say("да, всё верно")
    assert c.reservations() == [THU_HEELS]


async def test_step_by_step_one_question_at_a_time(client: Client) -> None:
    c = client
    assert "направлени" in text_of(await c.say("здравствуйте, хочу записаться"))
    assert len(c.last_buttons) <= 4
    options = text_of(await c.say("на хилс"))
    assert "High Heels" in options and c.last_buttons
    assert "зовут" in text_of(await c.say("давайте в четверг"))
    assert "телефон" in text_of(await c.say("Анна"))
    assert c.asked_for_contact  # Telegram's "share my number" button
    summary = text_of(await c.say(c.phone_pretty))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    await c.tap(1)  # «Да, записать»
    assert c.reservations() == [THU_HEELS]


async def test_by_buttons_only(client: Client) -> None:
    c = client
    await c.say("хочу записаться")
    labels = [label for label, _ in c.last_buttons]
    assert "High Heels" in labels and len(labels) <= 4
    await c.tap_label("High Heels")
    assert "зовут" in text_of(await c.tap_label("Сб 05.12"))
    await c.tap_label("Анна")  # the Telegram first name offered as a button
    assert c.asked_for_contact
    summary = text_of(await c.share_contact())
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="05.12", time="14:00", where=GOGOLYA)
    receipt = text_of(await c.tap_label("Да"))
    assert_receipt(receipt, klass="High Heels", day="05.12", time="14:00", where=GOGOLYA)
    assert c.reservations() == [Booked(323, "2026-12-05", "14:00")]


async def test_start_command_greets_in_the_clients_language(client: Client) -> None:
    c = client
    reply = text_of(await c.say("/start"))
    assert any("а" <= ch <= "я" for ch in reply.lower()), f"a Russian client was answered in English: {reply!r}"
    assert c.reservations() == []


async def test_a_beginner_who_wants_to_dance_gets_one_narrowing_question(client: Client) -> None:
    c = client
    reply = text_of(await c.say("хочу записаться на танцы, никогда раньше не занималась"))
    assert reply.count("?") == 1
    labels = [label for label, _ in c.last_buttons]
    assert 2 <= len(labels) <= 4 and "High Heels" in labels  # styles to pick from, not a generic menu
    assert c.reservations() == []


async def test_booking_for_a_child(client: Client) -> None:
    c = client
    reply = text_of(await c.say("запишите дочь Машу на детские"))
    assert "Детские танцы" in reply and c.last_buttons
    assert all("Детские" in label or ":" in label for label, _ in c.last_buttons)
    reply = text_of(await c.tap_label("03.12"))
    assert "телефон" in reply and "зовут" not in reply  # the child's name is known, the parent's phone is not
    summary = text_of(await c.say(f"{c.phone}, я мама, Анна"))
    assert_summary(summary, name="Маша", phone=c.e164, klass="Детские танцы", day="03.12", time="17:00", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(321, "2026-12-03", "17:00")]


async def test_invalid_phone_then_valid(client: Client) -> None:
    c = client
    await c.say("хочу на хилс в среду в 19, меня зовут Ольга")
    reply = text_of(await c.say("8914123"))
    assert "«8914123» не похож на телефон" in reply and "+7" in reply  # named once, with an example
    assert "Всё верно?" not in reply
    summary = text_of(await c.say(c.phone))
    assert_summary(summary, name="Ольга", phone=c.e164, klass="High Heels", day="02.12", time="19:00", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(302, "2026-12-02", "19:00")]


async def test_changed_mind_mid_booking_books_nothing(client: Client) -> None:
    c = client
    await c.say("хочу на сальсу в пятницу")
    await c.say("Анна")
    reply = text_of(await c.say("ой, я передумала, не надо"))
    assert "ничего не записыва" in reply.lower()
    assert c.reservations() == []


async def test_changed_mind_at_the_summary_books_nothing(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на сальсу в пт, меня зовут Анна, {c.phone}"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="Сальса", day="04.12", time="20:15", where=GOGOLYA)
    reply = text_of(await c.say("отмена, передумал"))
    assert "ничего не записыва" in reply.lower()
    assert c.reservations() == []


async def test_booking_the_same_class_twice_says_already_booked(client: Client) -> None:
    c = client
    await c.say(f"хочу на хилс в чт, меня зовут Анна, {c.phone}")
    await c.say("да")
    summary = text_of(await c.say("а запишите ещё раз на хилс в четверг"))
    assert "Всё верно?" in summary and "03.12" in summary
    reply = text_of(await c.say("да"))
    assert "Вы уже записаны ✅" in reply
    assert c.reservations() == [THU_HEELS]


async def test_a_returning_client_is_not_asked_again_but_sees_it_in_the_summary(client: Client) -> None:
    c = client
    await c.say(f"на хип-хоп в чт, меня зовут Анна, {c.phone}")
    await c.say("да")
    summary = text_of(await c.say("и ещё на сальсу в пятницу"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="Сальса", day="04.12", time="20:15", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(306, "2026-12-03", "18:00"), Booked(312, "2026-12-04", "20:15")]


async def test_full_group_offers_alternatives(
    client: Client, new_client: Callable[..., Client], crm: FakeImpulse
) -> None:
    friday = dt.date(2026, 12, 4)  # template 318, «Стретчинг: мини-группа», has 2 places
    for name in ("Оля", "Катя", "Вера"):
        if len(crm.active_reservations(schedule_id=318, day=friday)) >= 2:
            break
        other = new_client()
        await other.say(f"хочу на растяжку в пт в 9, меня зовут {name}, {other.phone}")
        await other.say("да")
        assert other.reservations() == [Booked(318, "2026-12-04", "09:00")]
    c = client
    summary = text_of(await c.say(f"хочу на растяжку в пятницу в 9 утра, меня зовут Анна, {c.phone}"))
    assert "пт 04.12" in summary.lower() and "09:00" in summary
    reply = text_of(await c.say("да"))
    assert "мест" in reply and c.last_buttons
    assert not any("04.12 09:00" in label for label, _ in c.last_buttons)
    summary = text_of(await c.tap_label("03.12"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="Стретчинг", day="03.12", time="08:00", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(315, "2026-12-03", "08:00")]
    assert len(crm.active_reservations(schedule_id=318, day=friday)) == 2


async def _fallback_rows(database: AsyncEngine, chat_id: int, timeout: float = 10.0) -> list[object]:
    deadline = time.monotonic() + timeout
    while True:
        async with database.connect() as conn:
            query = select(fallback_requests).where(fallback_requests.c.chat_id == chat_id)
            rows = list((await conn.execute(query)).all())
        if rows or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(0.1)


async def test_crm_dies_mid_booking_request_is_recorded_and_admin_alerted(
    client: Client, crm: FakeImpulse, database: AsyncEngine
) -> None:
    c = client
    summary = text_of(await c.say(f"хочу на хилс в чт, меня зовут Анна, {c.phone}"))
    assert "Всё верно?" in summary
    crm.set_mode("500")
    try:
        reply = text_of(await c.say("да"))
    finally:
        crm.set_mode(None)
    assert "администратор" in reply and "записал" in reply  # the request is recorded, the admin confirms
    rows = await _fallback_rows(database, c.chat_id)
    assert len(rows) == 1 and rows[0].kind == "booking" and rows[0].status == "new"  # type: ignore[attr-defined]
    payload = rows[0].payload  # type: ignore[attr-defined]
    assert payload["phone"] == c.e164 and payload["name"] == "Анна"
    assert payload["occurrence_id"] == "304:2026-12-03"
    alert = text_of(c.admin_messages())
    assert "Заявка" in alert and shows_phone(alert, c.e164) and "03.12" in alert
    assert c.reservations() == []  # nothing was booked behind the client's back


async def test_the_nearest_class_on_request(client: Client) -> None:
    c = client
    await c.say("хочу на хилс")
    reply = text_of(await c.say("запишите на ближайшее"))
    assert "зовут" in reply  # the nearest class is taken, not the same list again
    summary = text_of(await c.say(f"меня зовут Анна, {c.phone}"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="02.12", time="19:00", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(302, "2026-12-02", "19:00")]
