"""Competing events (PRODUCT.md §5): a side question mid-booking is answered and the pending
question asked again in the same message; a booking plus a question: booking first; in the summary only
an explicit yes confirms — anything else is a correction."""

from __future__ import annotations

import pytest

from tests.conversations.harness import GOGOLYA, Booked, Client, assert_summary, text_of

pytestmark = pytest.mark.e2e


async def test_price_question_mid_booking_then_continue(client: Client) -> None:
    c = client
    await c.say("хочу на хилс")
    offered = c.last_buttons
    reply = text_of(await c.say("а сколько стоит?"))
    assert "700" in reply and "High Heels" in reply  # the KB price of this style
    assert "А по записи" in reply and reply.count("?") <= 1
    assert c.last_buttons == offered  # the same choice is still on the buttons
    await c.tap_label("Чт 03.12")
    summary = text_of(await c.say(f"Анна {c.phone}"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(304, "2026-12-03", "20:00")]


async def test_faq_mid_booking_then_continue(client: Client) -> None:
    c = client
    await c.say("на сальсу в пятницу хочу")
    reply = text_of(await c.say("а что с собой брать?"))
    assert "одежд" in reply and "зовут" in reply  # the answer, then the pending question again
    summary = text_of(await c.say(f"Дарья, {c.phone}"))
    assert_summary(summary, name="Дарья", phone=c.e164, klass="Сальса", day="04.12", time="20:15", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(312, "2026-12-04", "20:15")]


async def test_booking_and_a_question_in_one_message_books_first(client: Client) -> None:
    c = client
    reply = text_of(await c.say("запишите на хилс в чт, и сколько стоит разовое?"))
    assert "700" in reply and "зовут" in reply and reply.count("?") == 1
    summary = text_of(await c.say(f"меня зовут Анна, {c.phone}"))
    assert "03.12" in summary and "20:00" in summary
    await c.say("да")
    assert c.reservations() == [Booked(304, "2026-12-03", "20:00")]


async def test_no_at_19_in_the_summary_is_a_correction(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"хилс в 20, меня зовут Анна, {c.phone}"))
    assert "03.12" in summary and "20:00" in summary
    summary = text_of(await c.say("нет, на 19"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="02.12", time="19:00", where="Центр")
    assert c.reservations() == []
    await c.say("да")
    assert c.reservations() == [Booked(302, "2026-12-02", "19:00")]


async def test_wanting_another_day_in_the_summary_is_never_a_yes(client: Client) -> None:
    c = client
    await c.say(f"запишите на хилс в чт, меня зовут Анна, {c.phone}")
    summary = text_of(await c.say("хочу в субботу"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="05.12", time="14:00", where=GOGOLYA)
    assert c.reservations() == []  # "хочу в субботу" booked nothing
    await c.say("подтверждаю")
    assert c.reservations() == [Booked(323, "2026-12-05", "14:00")]


async def test_edited_message_corrects_the_day_without_starting_over(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"хочу на сальсу в среду, меня зовут Анна, {c.phone}"))
    assert "02.12" in summary
    first = c.message_ids[-1]
    summary = text_of(await c.edit(first, f"хочу на сальсу в пятницу, меня зовут Анна, {c.phone}"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="Сальса", day="04.12", time="20:15", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(312, "2026-12-04", "20:15")]


async def test_edited_message_while_collecting_contacts(client: Client) -> None:
    c = client
    await c.say("на хип хоп в субботу в 11")
    await c.say("меня зовут Анна")
    typo = c.message_ids[-1]
    summary = text_of(await c.say(c.phone))
    assert "Анна" in summary
    summary = text_of(await c.edit(typo, "меня зовут Алина"))
    assert_summary(summary, name="Алина", phone=c.e164, klass="Hip-Hop", day="05.12", time="11:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(324, "2026-12-05", "11:00")]


async def test_style_from_a_price_question_carries_into_the_booking(client: Client) -> None:
    c = client
    assert "600" in text_of(await c.say("сколько стоит хип-хоп?"))
    reply = text_of(await c.say("ок, запишите на четверг"))
    assert "направлени" not in reply  # Hip-Hop was just named: not asked again
    summary = text_of(await c.say(f"меня зовут Денис, {c.phone}"))
    assert_summary(summary, name="Денис", phone=c.e164, klass="Hip-Hop", day="03.12", time="18:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(306, "2026-12-03", "18:00")]
