"""Whole WhatsApp conversations through the processes (PRODUCT.md §5, §11): the same engine as Telegram, the
phone taken from the sender (never asked), every reply within WhatsApp's 200 characters (the harness checks
each one), buttons as WhatsApp reply buttons or lists, the admin answering `wa:` handles."""

from __future__ import annotations

import pytest

from tests.conversations.harness import GOGOLYA, Booked, assert_receipt, assert_summary, text_of
from tests.whatsapp.harness import WaClient

pytestmark = pytest.mark.e2e

THU_HEELS = Booked(304, "2026-12-03", "20:00")  # High Heels продолжающие, Гоголя


def asked_for_phone(c: WaClient) -> list[str]:
    """Replies asking for a number ("Оставьте номер телефона…"); the summary's "Телефон: …" only shows it."""
    return [m.text for m in c.replies if "номер" in m.text.lower()]


async def test_a_full_russian_booking_never_asks_for_the_phone(wa_client: WaClient) -> None:
    c = wa_client
    first = text_of(await c.say("Здравствуйте! хочу записаться на хилс в четверг вечером к насте"))
    assert "зовут" in first  # the phone is known: only the name is missing
    summary = text_of(await c.say("Анна"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    assert c.reservations() == []  # nothing before the explicit yes
    receipt = text_of(await c.say("да, всё верно"))
    assert_receipt(receipt, klass="High Heels", day="03.12", time="20:00", where=GOGOLYA)
    assert c.reservations() == [THU_HEELS]
    assert asked_for_phone(c) == [], c.dump()


async def test_a_booking_by_reply_buttons_and_lists_only(wa_client: WaClient) -> None:
    c = wa_client
    await c.say("хочу записаться")
    assert "High Heels" in [title for _, title in c.last_choices]  # four styles: a list
    await c.tap_label("High Heels")
    assert c.last_choices, c.dump()  # the nearest classes to choose from
    await c.tap_label("Сб 05.12")
    assert "зовут" in text_of([m.text for m in c.last_replies])
    summary = text_of(await c.tap_label("Анна"))  # the WhatsApp profile name offered as a button
    assert_summary(summary, name="Анна", phone=c.e164, klass="High Heels", day="05.12", time="14:00", where=GOGOLYA)
    await c.tap_label("Да, записать")
    assert [b.day for b in c.reservations()] == ["2026-12-05"]
    assert asked_for_phone(c) == [], c.dump()


async def test_a_whatsapp_client_talks_to_the_administrator_by_handle(wa_client: WaClient) -> None:
    c = wa_client
    assert "Передаю администратору" in text_of(await c.say("позовите администратора пожалуйста"))
    (handoff,) = c.admin_messages()
    assert f"/reply wa:{c.number}" in handoff and "WhatsApp" in handoff.replace("whatsapp", "WhatsApp")
    answer = await c.admin(f"/reply wa:{c.number} Здравствуйте! Да, в субботу есть места")
    assert answer == ["Администратор: Здравствуйте! Да, в субботу есть места"]
    await c.say("спасибо! а во сколько начало?", silent=True)  # relayed, the bot says nothing itself
    relayed = c.admin_messages()[-1]
    assert "во сколько начало" in relayed and f"wa:{c.number}" in relayed
    closed = text_of(await c.admin(f"/close wa:{c.number}"))
    assert "завершил диалог" in closed


async def test_questions_are_answered_within_200_characters(wa_client: WaClient) -> None:
    c = wa_client
    assert "Светланская, 29" in text_of(await c.say("где вы находитесь?"))
    schedule = text_of(await c.say("какое расписание на субботу?"))
    assert "Сб 05.12" in schedule
    assert "₽" in text_of(await c.say("сколько стоит абонемент на месяц?"))
    assert text_of(await c.say("что взять на первое занятие?"))


async def test_a_series_over_whatsapp_fits_and_keeps_its_question(wa_client: WaClient) -> None:
    c = wa_client
    await c.say(f"запишите меня на хилс на все четверги, меня зовут Анна, тел {c.e164}")  # (typed: not the point)
    summary = text_of([m.text for m in c.last_replies])
    assert "Записать?" in summary and "10.12" in summary, c.dump()  # the WhatsApp form (≤ 200 characters)
    receipt = text_of(await c.tap_label("Да, записать"))
    assert "Готово" in receipt and "С собой" in receipt
    assert c.reservations() == [THU_HEELS, Booked(304, "2026-12-10", "20:00")]


async def test_cancelling_uses_the_senders_own_number(wa_client: WaClient) -> None:
    c = wa_client
    await c.say(f"хочу на хилс в четверг в 20 к насте, Анна, {c.e164}")  # booked with the number typed in
    await c.say("да")
    assert c.reservations() == [THU_HEELS]
    reply = text_of(await c.say("хочу отменить запись"))
    assert "03.12" in reply and "номер" not in reply.lower(), c.dump()  # the sender is the proof of the phone
    if len(c.last_choices) > 2:  # a list of bookings: this one
        reply = text_of(await c.tap_label("03.12"))
    assert "Отменить" in reply or "отменить" in reply, c.dump()
    await c.say("да")
    assert c.reservations() == []
