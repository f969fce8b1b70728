"""Issue 8 point 8: bookings are private (PRODUCT.md §5.3). "мои записи", cancel and reschedule use only
the client's own phone — booked from this chat, or shared with the contact button. A phone typed into the
chat, or someone else's contact card, reveals and cancels nothing: the bot asks to share the contact."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dancebot.crm.fake import FakeImpulse
from tests.conversations.harness import GOGOLYA, Booked, Client, assert_summary, text_of

pytestmark = pytest.mark.e2e

MARIA_ID, MARIA_PHONE = 1001, "+79991234567"  # seeded, stored in the CRM as «8 (999) 123-45-67»
MARIA_RESERVATION = 5001  # High Heels, Monday 07.12 19:00
MARIA_MONDAY = Booked(301, "2026-12-07", "19:00")


def reveals_marias_class(reply: str) -> bool:
    return "07.12" in reply or "High Heels" in reply or "19:00" in reply


def maria_still_booked(crm: FakeImpulse) -> bool:
    return any(r["id"] == MARIA_RESERVATION for r in crm.active_reservations(client_id=MARIA_ID))


def archive_requests_for_maria(crm: FakeImpulse) -> list[object]:
    return [
        r.body
        for r in list(crm.requests)
        if (r.entity, r.action) == ("reservation", "archive")
        and isinstance(r.body, dict)
        and r.body.get("id") == MARIA_RESERVATION
    ]


async def test_my_bookings_with_a_typed_stranger_phone_reveals_nothing(client: Client, crm: FakeImpulse) -> None:
    c = client
    await c.say("мои записи")
    reply = text_of(await c.say("+7 999 123 45 67"))
    assert not reveals_marias_class(reply), f"a typed phone revealed a booking: {reply!r}"
    assert not any(data.startswith("bk:") for _, data in c.last_buttons), f"cancel buttons: {c.last_buttons}"
    assert c.asked_for_contact, f"does not ask to share the contact: {reply!r}"
    assert maria_still_booked(crm)


async def test_cancel_with_a_typed_stranger_phone_cancels_nothing(client: Client, crm: FakeImpulse) -> None:
    c = client
    reply = text_of(await c.say("отмените мою запись пожалуйста, мой номер 8 999 123-45-67"))
    assert not reveals_marias_class(reply), f"a typed phone revealed a booking: {reply!r}"
    reply = text_of(await c.say("да"))
    assert "отменена" not in reply, f"cancelled for a typed phone: {reply!r}"
    assert c.asked_for_contact or "поделит" in reply.lower(), f"does not ask to share the contact: {reply!r}"
    assert maria_still_booked(crm) and archive_requests_for_maria(crm) == []


async def test_reschedule_with_a_typed_stranger_phone_reveals_nothing(client: Client, crm: FakeImpulse) -> None:
    c = client
    reply = text_of(await c.say("хочу перенести свою запись на среду, телефон +79991234567"))
    assert not reveals_marias_class(reply), f"a typed phone revealed a booking: {reply!r}"
    if "телефон" in reply or "номер" in reply:
        reply = text_of(await c.say("89991234567"))
        assert not reveals_marias_class(reply), f"a typed phone revealed a booking: {reply!r}"
    assert maria_still_booked(crm) and archive_requests_for_maria(crm) == []


async def test_someone_elses_contact_card_reveals_nothing(client: Client, crm: FakeImpulse) -> None:
    c = client
    await c.say("покажите мои записи")
    reply = text_of(await c.share_contact_card(MARIA_PHONE))  # Мария's card from the address book
    assert not reveals_marias_class(reply), f"someone else's contact revealed a booking: {reply!r}"
    assert not any(data.startswith("bk:") for _, data in c.last_buttons), f"cancel buttons: {c.last_buttons}"
    assert maria_still_booked(crm)


async def test_the_clients_own_shared_contact_lists_her_bookings(new_client: Callable[..., Client]) -> None:
    c = new_client(phone=MARIA_PHONE, first_name="Мария")
    await c.say("какие у меня записи?")
    assert c.asked_for_contact
    reply = text_of(await c.share_contact())
    assert "Пн 07.12 19:00" in reply and "High Heels" in reply, f"her own booking is not listed: {reply!r}"
    assert c.reservations() == [MARIA_MONDAY]  # listing changes nothing


async def test_a_phone_booked_from_this_chat_needs_no_contact(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на контемп в воскресенье, Ася {c.phone}"))
    assert_summary(summary, name="Ася", phone=c.e164, klass="Contemporary", day="06.12", time="13:00", where=GOGOLYA)
    await c.say("да")
    reply = text_of(await c.say("мои записи"))
    assert "Вс 06.12 13:00" in reply and "Contemporary" in reply, f"her booking is not listed: {reply!r}"
    assert not c.asked_for_contact
    assert c.reservations() == [Booked(310, "2026-12-06", "13:00")]


@pytest.mark.parametrize(
    "wish",
    [
        "запишите на хилс в понедельник в 19:00, Анна 8 999 123-45-67",
        "хочу на хай хилс пн 19:00. аня, +7 (999) 123 45 67",
    ],
)
async def test_a_typed_phone_the_crm_already_has_booked_reveals_nothing_later(
    client: Client, crm: FakeImpulse, wish: str
) -> None:
    """Found by review: a stranger booking Мария's very class with her typed phone got "Вы уже записаны",
    and the phone was then kept as the chat's own: "мои записи" listed Мария's booking with a cancel button."""
    c = client
    await c.say(wish)
    reply = text_of(await c.say("да"))
    assert "уже записаны" in reply, reply
    for ask in ("мои записи", "отмените мою запись"):
        reply = text_of(await c.say(ask))
        assert not reveals_marias_class(reply), f"a duplicate revealed a booking: {reply!r}"
        assert not any(data.startswith("bk:") for _, data in c.last_buttons), f"cancel buttons: {c.last_buttons}"
        assert c.asked_for_contact, f"does not ask to share the contact: {reply!r}"
    assert maria_still_booked(crm) and archive_requests_for_maria(crm) == []


async def test_a_typed_phone_left_for_the_admin_reveals_nothing_later(client: Client, crm: FakeImpulse) -> None:
    """The CRM was down at the booking: the request went to the admin, nothing was booked from this chat, so
    the typed phone (Мария's) proves nothing once the CRM is back."""
    c = client
    await c.say("запишите на контемп в воскресенье, Ася 89991234567")
    crm.set_mode("500")
    try:
        reply = text_of(await c.say("да"))
    finally:
        crm.set_mode(None)
    assert "администратор" in reply, reply
    reply = text_of(await c.say("какие у меня записи?"))
    assert not reveals_marias_class(reply), f"a fallback phone revealed a booking: {reply!r}"
    assert not any(data.startswith("bk:") for _, data in c.last_buttons), f"cancel buttons: {c.last_buttons}"
    assert maria_still_booked(crm)
