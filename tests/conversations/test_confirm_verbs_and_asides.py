"""Whole conversations, written as clients type: a yes/no answered with the action's own verb ("да,
отмените", "верно, запишите", "угу отменяй") does what it says, and its negation keeps things as they are
(PRODUCT.md §5.1, §5.3); insisting on a booking the bot did not find goes to the administrator (§11.2); an
unanswerable question in the middle of a booking is promised to the administrator, and the booking goes on
(§5, §5.5)."""

from __future__ import annotations

import pytest

from tests.conversations.harness import GOGOLYA, Booked, Client, assert_summary, text_of

pytestmark = pytest.mark.e2e

HEELS_THURSDAY = Booked(304, "2026-12-03", "20:00")


async def test_booked_with_da_zapisyvaj_and_cancelled_with_da_otmenite(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на хилс в чт вечером меня зовут анна {c.phone}"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    await c.say("да записывай")
    assert c.reservations() == [HEELS_THURSDAY]
    reply = text_of(await c.say("ой отмените пожалуйста эту запись"))
    assert "Отменить запись" in reply and "Чт 03.12 20:00" in reply
    reply = text_of(await c.say("да, отмените"))
    assert "отменена" in reply and "остаётся" not in reply, reply
    assert c.reservations() == []


async def test_ne_otmenyajte_keeps_the_booking(client: Client) -> None:
    c = client
    await c.say(f"хочу на хилс в четверг в 20 Оля {c.phone}")
    await c.say("верно, запишите")
    assert c.reservations() == [HEELS_THURSDAY]
    await c.say("хочу отменить запись")
    reply = text_of(await c.say("нет не отменяйте"))
    assert "остаётся" in reply, reply
    assert c.reservations() == [HEELS_THURSDAY]
    await c.say("отмените запись на четверг")
    reply = text_of(await c.say("угу отменяйте"))
    assert "отменена" in reply
    assert c.reservations() == []


async def test_insisting_on_a_booking_that_was_not_found_reaches_the_admin(client: Client) -> None:
    c = client
    await c.say("покажите мои записи")
    reply = text_of(await c.share_contact())
    assert "не нашла" in reply.lower()
    reply = text_of(await c.say("как это, я точно записывалась на вторник"))
    assert "Передаю администратору" in reply, reply
    assert "На какое направление" not in reply and "Ближайшие" not in reply  # not a new booking
    handoff = [m for m in c.admin_messages() if f"/reply {c.chat_id}" in m and "настаивает" in m]
    assert handoff, c.admin_messages()
    assert c.reservations() == []


async def test_an_unanswerable_question_mid_booking_is_promised_to_the_admin(client: Client) -> None:
    c = client
    reply = text_of(await c.say("хочу на растяжку в субботу утром"))
    assert "Как вас зовут?" in reply
    reply = text_of(await c.say("а вайфай у вас есть?"))
    assert "Уточню у администратора" in reply and "как вас зовут?" in reply.lower(), reply
    question = [m for m in c.admin_messages() if "вайфай" in m and f"/reply {c.chat_id}" in m]
    assert question, c.admin_messages()
    reply = text_of(await c.say("можно с собакой прийти"))
    assert "Уточню у администратора" in reply and "как вас зовут?" in reply.lower(), reply
    summary = text_of(await c.say(f"Вера {c.phone}"))
    assert_summary(summary, name="Вера", phone=c.e164, klass="Стретчинг", day="05.12", time="09:00", where=GOGOLYA)
    await c.say("да, бронируйте")
    assert len(c.reservations()) == 1
