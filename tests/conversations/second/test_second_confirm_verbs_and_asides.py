"""The second studio «Волна»: a yes/no answered with the action's own verb does what it says, its negation
keeps things as they are (PRODUCT.md §5.1, §5.3); insisting on a booking the bot did not find reaches the
administrator (§11.2); an unanswerable question mid-booking is promised to the administrator and the booking
goes on (§5, §5.5). Nothing here relies on the demo studio's data."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dancebot.crm.fake import FakeImpulse
from tests.conversations.harness import Client, assert_summary, text_of
from tests.conversations.second.volna import OKEANSKY, Booked
from tests.studios.second.crm_seed import POLINA

pytestmark = pytest.mark.e2e

POLINA_ID, POLINA_PHONE = POLINA
POLINA_MONDAY = Booked(810, "2026-12-07", "20:00")  # seeded: Pole Dance, Снеговая
BACHATA_MONDAY = Booked(801, "2026-12-07", "19:00")


async def test_booked_with_verno_zapisyvajte_cancelled_with_ugu_otmenyaj(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"запишите на бачату в пн в 19 кира {c.phone}"))
    assert_summary(summary, name="Кира", phone=c.e164, klass="Бачата", day="07.12", time="19:00", where=OKEANSKY)
    await c.say("верно записывайте")
    assert c.reservations() == [BACHATA_MONDAY]
    reply = text_of(await c.say("отмените эту запись пож"))
    assert "Отменить запись" in reply and "07.12" in reply, reply
    reply = text_of(await c.say("угу отменяй"))
    assert "отменена" in reply and "остаётся" not in reply, reply
    assert c.reservations() == []


async def test_ostavte_keeps_polinas_booking(
    second_client_factory: Callable[..., Client], second_crm: FakeImpulse
) -> None:
    c = second_client_factory(phone=POLINA_PHONE, first_name="Полина")
    await c.say("хочу отменить запись")
    reply = text_of(await c.share_contact())
    assert "Отменить запись" in reply and "07.12 20:00" in reply, reply
    reply = text_of(await c.say("хотя нет, оставьте"))
    assert "остаётся" in reply, reply
    assert POLINA_MONDAY in c.reservations()
    assert not any(
        r.action == "archive" and isinstance(r.body, dict) and r.body.get("id") == 6001 for r in second_crm.requests
    ), "an archive request was sent for Полина's class"


async def test_insisting_after_no_bookings_were_found_reaches_the_admin(second_client: Client) -> None:
    c = second_client
    await c.say("куда я записана?")
    reply = text_of(await c.share_contact())
    assert "не нашла" in reply.lower(), reply
    reply = text_of(await c.say("я же записана! на пилон в понедельник"))
    assert "Передаю администратору" in reply, reply
    handoff = [m for m in c.admin_messages() if f"/reply {c.chat_id}" in m and "настаивает" in m]
    assert handoff, c.admin_messages()
    assert c.reservations() == []


async def test_an_unanswerable_question_mid_booking_is_promised_to_the_admin(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say("хочу на бачату в понедельник"))
    assert "зовут" in reply, reply
    reply = text_of(await c.say("а кулер с водой у вас есть?"))
    assert "Уточню у администратора" in reply and "зовут" in reply, reply
    assert [m for m in c.admin_messages() if "кулер" in m and f"/reply {c.chat_id}" in m], c.admin_messages()
    reply = text_of(await c.say("а парковка есть?"))  # the KB answers this one
    assert "Борисенко" in reply and "Уточню" not in reply and "зовут" in reply, reply
    summary = text_of(await c.say(f"Лиза {c.phone}"))
    assert_summary(summary, name="Лиза", phone=c.e164, klass="Бачата", day="07.12", time="19:00", where=OKEANSKY)
    await c.say("да, записывайте")
    assert c.reservations() == [BACHATA_MONDAY]
