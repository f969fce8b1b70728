"""Cancel, "мои записи" and reschedule (PRODUCT.md §5.3): only the client's own future reservations, an
explicit confirmation, the late-cancel warning (KB: 4 h), reschedule = cancel + a new confirmed booking."""

from __future__ import annotations

import copy
from collections.abc import Callable

import pytest

from dancebot.crm.fake import FakeImpulse
from dancebot.crm.fake_seed import MASTERCLASS_ID, local_midnight, reservation_record
from tests.conversations.harness import GOGOLYA, Booked, Client, assert_summary, text_of
from tests.stack_fixtures import NOW

pytestmark = pytest.mark.e2e

MARIA_PHONE = "+79991234567"  # seeded client 1001, stored in the CRM as «8 (999) 123-45-67»
MARIA_MONDAY = Booked(301, "2026-12-07", "19:00")
ALEXEY_ID, ALEXEY_PHONE = 1002, "+79991234568"  # seeded client 1002, no reservations of his own
EXTRA_CLASS_ID = 390


def booked_at_the_front_desk_for_today_18(crm: FakeImpulse, client_id: int) -> Booked:
    """The admin put a client into today's 18:00 closed extra class by phone (within 4 h of now)."""
    template = copy.deepcopy(crm.templates[MASTERCLASS_ID])
    midnight = local_midnight(NOW.date(), crm.tz)
    template.update(id=EXTRA_CLASS_ID, day=NOW.isoweekday(), minutesBegin=18 * 60, minutesEnd=19 * 60,
                    dateBegin=midnight, dateEnd=midnight,
                    sticker={"id": 2, "name": "НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ", "color": "#e53935", "icon": "lock"})  # fmt: skip
    crm.templates.setdefault(EXTRA_CLASS_ID, template)
    reservation_id = max(crm.reservations) + 1
    crm.reservations[reservation_id] = reservation_record(reservation_id, crm.clients[client_id],
                                                          crm.templates[EXTRA_CLASS_ID], NOW.date())  # fmt: skip
    return Booked(EXTRA_CLASS_ID, NOW.date().isoformat(), "18:00")


async def test_my_bookings_lists_only_the_clients_own(new_client: Callable[..., Client]) -> None:
    c = new_client(phone=MARIA_PHONE, first_name="Мария")
    reply = text_of(await c.say("мои записи"))
    assert "поделитесь" in reply and c.asked_for_contact  # only her own number, shared with the button
    reply = text_of(await c.say("+7 999 123 45 67"))  # typed: could be anyone's
    assert "Пн 07.12" not in reply and "поделиться номером" in reply.lower()
    reply = text_of(await c.share_contact())
    assert "Пн 07.12 19:00" in reply and "High Heels" in reply
    assert len(reply.splitlines()) == 2  # the header and her one upcoming class: not the archived one
    assert c.reservations() == [MARIA_MONDAY]  # listing changes nothing


async def test_my_bookings_for_a_number_without_any(client: Client) -> None:
    c = client
    await c.say("какие у меня записи?")
    reply = text_of(await c.share_contact())
    assert "не нашла" in reply.lower() and c.last_buttons  # offers the admin
    assert c.reservations() == []


async def test_cancel_own_booking_after_confirmation(client: Client) -> None:
    c = client
    await c.say(f"запишите на хилс в чт, меня зовут Анна, {c.phone}")
    await c.say("да")
    assert c.reservations() == [Booked(304, "2026-12-03", "20:00")]
    reply = text_of(await c.say("ой, отмените пожалуйста запись, не смогу"))
    assert "Чт 03.12 20:00" in reply and reply.count("?") == 1  # asks first; the phone is remembered
    assert c.reservations() == [Booked(304, "2026-12-03", "20:00")]
    reply = text_of(await c.say("да"))
    assert "отменена" in reply
    assert c.reservations() == []


async def test_late_cancel_is_warned_first(new_client: Callable[..., Client], crm: FakeImpulse) -> None:
    c = new_client(phone=ALEXEY_PHONE, first_name="Алексей")
    todays = booked_at_the_front_desk_for_today_18(crm, ALEXEY_ID)
    assert c.reservations() == [todays]
    assert "номер" in text_of(await c.say("хочу отменить сегодняшнее занятие"))
    reply = text_of(await c.share_contact())
    assert "18:00" in reply and "меньше 4 ч" in reply and "поздняя отмена" in reply
    assert c.reservations() == [todays]  # nothing cancelled before the answer
    reply = text_of(await c.tap_label("Да"))
    assert "отменена" in reply
    assert c.reservations() == []


async def test_cancel_declined_keeps_the_booking(client: Client) -> None:
    c = client
    await c.say(f"на сальсу в пт, меня зовут Анна, {c.phone}")
    await c.say("да")
    await c.say("хочу отменить запись")
    reply = text_of(await c.say("нет, пусть остаётся"))
    assert "остаётся" in reply
    assert c.reservations() == [Booked(312, "2026-12-04", "20:15")]


async def test_reschedule_cancels_and_books_the_new_day(client: Client) -> None:
    c = client
    await c.say(f"запишите на хилс в чт, меня зовут Анна, {c.phone}")
    await c.say("да")
    reply = text_of(await c.say("можно перенести запись на субботу?"))
    assert "Чт 03.12 20:00" in reply  # which booking moves, confirmed first
    reply = text_of(await c.say("да"))
    assert "отменена" not in reply and c.reservations() == [Booked(304, "2026-12-03", "20:00")]  # kept until…
    if "Всё верно?" not in reply:  # the new day may still need a tap — but only Saturday is on offer
        labels = [label for label, _ in c.last_buttons]
        assert labels and all("Сб" in label for label in labels), f"asked for Saturday, offered {labels}"
        reply = text_of(await c.tap(1))
    assert_summary(reply, name="Анна", phone=c.e164, klass="High Heels", day="05.12", time="14:00", where=GOGOLYA)
    receipt = text_of(await c.say("да"))
    assert "Готово" in receipt and "Прежняя запись отменена" in receipt  # …the new class is booked
    assert c.reservations() == [Booked(323, "2026-12-05", "14:00")]
