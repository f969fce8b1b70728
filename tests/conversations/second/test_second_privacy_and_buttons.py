"""Issue 8 points 8 and 9 on the second studio «Волна»: bookings are shown and cancelled only for the
client's own phone (a number typed into the chat reveals nothing; the shared contact works), and a button
whose step is over gets a short answer and never a second CRM action."""

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


def polinas_classes(crm: FakeImpulse) -> int:
    return len(crm.active_reservations(client_id=POLINA_ID))


async def test_a_typed_phone_reveals_nobodys_bookings(second_client: Client, second_crm: FakeImpulse) -> None:
    c = second_client
    before = polinas_classes(second_crm)
    await c.say("покажи мои записи")
    reply = text_of(await c.say("89147001122"))  # Полина's number, typed by a stranger
    assert "07.12" not in reply and "Pole" not in reply and "20:00" not in reply, f"revealed a booking: {reply!r}"
    assert not any(data.startswith("bk:") for _, data in c.last_buttons), f"cancel buttons: {c.last_buttons}"
    assert c.asked_for_contact, f"does not ask to share the contact: {reply!r}"
    assert polinas_classes(second_crm) == before


async def test_cancel_for_a_typed_phone_cancels_nothing(second_client: Client, second_crm: FakeImpulse) -> None:
    c = second_client
    before = polinas_classes(second_crm)
    reply = text_of(await c.say("отмените мою запись на понедельник, номер +7 914 700-11-22"))
    assert "07.12" not in reply and "Pole" not in reply, f"revealed a booking: {reply!r}"
    reply = text_of(await c.say("да, отменяйте"))
    assert "отменена" not in reply, f"cancelled for a typed phone: {reply!r}"
    assert polinas_classes(second_crm) == before
    assert c.crm_requests("reservation", "archive") == [] and not any(
        r.action == "archive" and isinstance(r.body, dict) and r.body.get("id") == 6001 for r in second_crm.requests
    ), "an archive request was sent for Полина's class"


async def test_the_shared_contact_shows_the_clients_own_bookings(
    second_client_factory: Callable[..., Client], second_crm: FakeImpulse
) -> None:
    c = second_client_factory(phone=POLINA_PHONE, first_name="Полина")
    await c.say("какие у меня записи?")
    assert c.asked_for_contact
    reply = text_of(await c.share_contact())
    assert "Пн 07.12 20:00" in reply and "Pole Dance" in reply, f"her own booking is not listed: {reply!r}"
    assert c.reservations() == [POLINA_MONDAY]  # listing changes nothing


async def test_yes_tapped_again_after_the_receipt_books_nothing_more(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"запишите на бачату в пн в 19, Кира {c.phone}"))
    assert_summary(summary, name="Кира", phone=c.e164, klass="Бачата", day="07.12", time="19:00", where=OKEANSKY)
    summary_message = next(m for m in reversed(c.last_replies) if m.reply_markup)
    await c.tap_label("Да")
    assert c.reservations() == [Booked(801, "2026-12-07", "19:00")]
    answer = await c.tap_stale(summary_message, "Да")
    assert len(answer) <= 120 and ("уже" in answer.lower() or "✅" in answer), f"not a short «already»: {answer!r}"
    assert "Всё верно?" not in answer
    assert len(c.crm_requests("reservation", "update")) == 1, "the second tap sent a second create"
    assert c.reservations() == [Booked(801, "2026-12-07", "19:00")]
