"""Issue 8 point 9: stale buttons. A tap on a button whose step is over (a booking already made, a cancel
already done, an old list, an outdated summary) gets a short answer and never a second CRM action; once a
choice is taken its inline keyboard is removed or updated, so the chat shows only what is current."""

from __future__ import annotations

import pytest

from tests.conversations.harness import CENTER, GOGOLYA, Booked, Client, assert_summary, text_of
from tests.fakes.telegram import SentMessage

pytestmark = pytest.mark.e2e

SHORT = 150  # "already done" is a line, not a new conversation


def with_keyboard(c: Client) -> SentMessage:
    return next(m for m in reversed(c.last_replies) if (m.reply_markup or {}).get("inline_keyboard"))


async def test_yes_tapped_again_after_the_receipt(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на контемп в пн, Ася {c.phone}"))
    assert_summary(summary, name="Ася", phone=c.e164, klass="Contemporary", day="07.12", time="09:00", where=GOGOLYA)
    summary_message = with_keyboard(c)
    await c.tap_label("Да")
    assert c.reservations() == [Booked(326, "2026-12-07", "09:00")]
    answer = await c.tap_stale(summary_message, "Да")
    assert len(answer) <= SHORT and ("уже" in answer.lower() or "✅" in answer), f"not a short «already»: {answer!r}"
    assert len(c.crm_requests("reservation", "update")) == 1, "the second tap sent a second create"
    assert c.reservations() == [Booked(326, "2026-12-07", "09:00")]


async def test_cancel_confirmed_twice_archives_once(client: Client) -> None:
    c = client
    await c.say(f"запишите на сальсу в вс, Эля {c.phone}")
    await c.say("да")
    assert c.reservations() == [Booked(325, "2026-12-06", "17:00")]
    reply = text_of(await c.say("отмените запись, не получится прийти"))
    assert "Вс 06.12 17:00" in reply, reply
    confirm = with_keyboard(c)
    assert "отменена" in text_of(await c.tap_label("Да"))
    assert c.reservations() == []
    answer = await c.tap_stale(confirm, "Да")
    assert len(answer) <= SHORT and "уже" in answer.lower(), f"not a short «already cancelled»: {answer!r}"
    assert len(c.crm_requests("reservation", "archive")) == 1, "the second tap sent a second cancel"


async def test_an_old_list_after_the_booking_is_done_books_nothing(client: Client) -> None:
    c = client
    await c.say("хочу на стретчинг")
    old_list = with_keyboard(c)
    await c.tap_label("Сб 05.12")
    await c.say(f"Ася {c.phone}")
    await c.say("да")
    assert c.reservations() == [Booked(327, "2026-12-05", "09:00")]
    answer = await c.tap_stale(old_list, "Чт 03.12")
    assert len(answer) <= SHORT and "Всё верно?" not in answer, f"not a short answer: {answer!r}"
    assert len(c.crm_requests("reservation", "update")) == 1
    assert c.reservations() == [Booked(327, "2026-12-05", "09:00")]


async def test_an_outdated_summarys_yes_does_not_book_it(client: Client) -> None:
    c = client
    old = text_of(await c.say(f"запишите на сальсу в следующую среду, Лика {c.phone}"))
    assert_summary(old, name="Лика", phone=c.e164, klass="Сальса", day="09.12", time="20:15", where=GOGOLYA)
    old_summary = with_keyboard(c)
    new = text_of(await c.say("хочу в пятницу"))
    assert_summary(new, name="Лика", phone=c.e164, klass="Сальса", day="04.12", time="20:15", where=GOGOLYA)
    answer = await c.tap_stale(old_summary, "Да")
    assert "записан" not in answer.lower(), f"the outdated summary's yes booked something: {answer!r}"
    assert c.reservations() == [], "the outdated summary's yes booked a class"
    await c.say("да")
    assert c.reservations() == [Booked(312, "2026-12-04", "20:15")]


async def test_the_list_keyboard_is_updated_once_a_day_is_chosen(client: Client) -> None:
    c = client
    await c.say("хочу на хип-хоп")
    options = with_keyboard(c)
    assert len(c.keyboard_now(options)) >= 2
    await c.tap_label("Сб 05.12 12:00")
    left = [label for label, _ in c.keyboard_now(options) if "05.12 12:00" not in label]
    assert left == [], f"the old choices are still on the list after the choice: {left}"
    await c.say(f"Рита {c.phone}")
    await c.say("да")
    assert c.reservations() == [Booked(307, "2026-12-05", "12:00")]


async def test_the_summary_keyboard_is_removed_after_yes(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на стретчинг в четверг в 8, Вера {c.phone}"))
    assert_summary(summary, name="Вера", phone=c.e164, klass="Стретчинг", day="03.12", time="08:00", where=CENTER)
    summary_message = with_keyboard(c)
    await c.tap_label("Да")
    assert c.reservations() == [Booked(315, "2026-12-03", "08:00")]
    assert c.keyboard_now(summary_message) == [], "the summary still shows Yes/No after the booking"
