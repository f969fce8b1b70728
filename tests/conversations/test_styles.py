"""Which class the client means (PRODUCT.md §5.1): aliases, teachers by diminutive, a style the studio lacks
(never invented), two styles at once (one question), a closed group (never offered)."""

from __future__ import annotations

import pytest

from tests.conversations.harness import GOGOLYA, Booked, Client, assert_summary, text_of

pytestmark = pytest.mark.e2e


async def test_unknown_style_is_never_invented(client: Client) -> None:
    c = client
    reply = text_of(await c.say("здравствуйте, а бачата у вас есть? хочу записаться"))
    assert "нет" in reply and "Сальса" in reply  # the nearest thing the studio has, first or among the first
    labels = [label for label, _ in c.last_buttons]
    assert 1 <= len(labels) <= 4 and not any("бачат" in label.lower() for label in labels)
    reply = text_of(await c.tap_label("Сальса"))
    assert "Сальса" in reply and c.last_buttons
    await c.tap_label("Ср 02.12")
    summary = text_of(await c.say(f"меня зовут Анна, {c.phone}"))
    assert_summary(summary, name="Анна", phone=c.e164, klass="Сальса", day="02.12", time="20:15", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(311, "2026-12-02", "20:15")]


async def test_two_styles_in_one_message_get_one_question(client: Client) -> None:
    c = client
    reply = text_of(await c.say("хочу на хилс и на сальсу, можно?"))
    assert reply.count("?") == 1 and "High Heels" in reply and "Сальса" in reply
    assert [label for label, _ in c.last_buttons] == ["High Heels", "Сальса"]
    reply = text_of(await c.tap_label("Сальса"))
    assert "Сальса" in reply and "High Heels" not in reply
    await c.tap_label("Пт 04.12")
    await c.say(f"Анна, {c.phone}")
    await c.say("да")
    assert c.reservations() == [Booked(312, "2026-12-04", "20:15")]


async def test_teacher_by_diminutive_with_one_style(client: Client) -> None:
    c = client
    reply = text_of(await c.say("хочу к Диме на ближайшее"))
    assert "зовут" in reply  # Дима teaches Hip-Hop only, and "ближайшее" takes the nearest class
    summary = text_of(await c.say(f"Вика {c.phone}"))
    assert_summary(summary, name="Вика", phone=c.e164, klass="Hip-Hop", day="03.12", time="18:00", where=GOGOLYA)
    await c.say("ок")
    assert c.reservations() == [Booked(306, "2026-12-03", "18:00")]


async def test_teacher_with_two_styles_asks_which(client: Client) -> None:
    c = client
    reply = text_of(await c.say("запишите к Насте"))
    assert reply.count("?") == 1 and "Наст" in reply and "У Настя" not in reply  # natural Russian
    assert {label for label, _ in c.last_buttons} == {"High Heels", "Стретчинг"}
    await c.tap_label("Стретчинг")
    await c.tap_label("Чт 03.12")
    await c.say(f"Анна {c.phone}")
    await c.say("да")
    assert c.reservations() == [Booked(315, "2026-12-03", "08:00")]


async def test_closed_group_is_never_offered_nor_booked(client: Client) -> None:
    c = client
    # Saturday 18:00 Сальса продолжающие has the sticker «НЕЛЬЗЯ ПРИСОЕДИНИТЬСЯ»
    reply = text_of(await c.say("хочу на сальсу в субботу в 18:00"))
    assert "нет" in reply
    labels = [label for label, _ in c.last_buttons]
    assert labels and not any("Сб 05.12 18:00" in label for label in labels)
    schedule = text_of(await c.say("а что есть в субботу вечером?"))
    assert "18:00 Сальса" not in schedule
    assert c.reservations() == []
