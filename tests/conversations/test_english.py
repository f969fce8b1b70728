"""A client who writes English gets English (PRODUCT.md §2): the same booking flow, the same facts."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.conversations.harness import CENTER, GOGOLYA, Booked, Client, assert_receipt, assert_summary, text_of

pytestmark = pytest.mark.e2e


async def test_english_booking(new_client: Callable[..., Client]) -> None:
    c = new_client(first_name="Kate", language_code="en")
    reply = text_of(await c.say("Hi! I'd like to book high heels tomorrow"))
    assert "name" in reply.lower()
    reply = text_of(await c.say("Kate"))
    assert "phone" in reply.lower()
    summary = text_of(await c.say(c.phone))
    assert_summary(summary, name="Kate", phone=c.e164, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    assert "Thu" in summary and "Всё" not in summary
    receipt = text_of(await c.say("yes"))
    assert_receipt(receipt, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    assert c.reservations() == [Booked(304, "2026-12-03", "20:00")]


async def test_english_schedule_then_booking_in_one_go(new_client: Callable[..., Client]) -> None:
    c = new_client(first_name="John", language_code="en")
    reply = text_of(await c.say("what classes do you have on saturday?"))
    assert "Sat 05.12" in reply and "Shall I book" in reply
    summary = text_of(await c.say(f"book me for hip hop on Saturday at 12, my name is John, {c.phone}"))
    assert_summary(summary, name="John", phone=c.e164, klass="Hip-Hop", day="05.12", time="12:00", where=CENTER)
    await c.say("yes")
    assert c.reservations() == [Booked(307, "2026-12-05", "12:00")]
