"""Issue 8 point 7: the KB of «Волна» gives no `crm_teacher_id`; its CRM knows teachers only as «Дарья
Соколова», «Евгения Миронова»… Questions and bookings by teacher — diminutive, full name, a declined
surname — work by matching those names (PRODUCT.md §8)."""

from __future__ import annotations

import pytest

from tests.conversations.harness import Client, assert_summary, text_of
from tests.conversations.schedule_lines import class_lines
from tests.conversations.second.volna import BORISENKO, OKEANSKY, Booked, assert_receipt

pytestmark = pytest.mark.e2e


async def test_schedule_by_a_declined_surname(second_client: Client) -> None:
    c = second_client
    lines = class_lines(text_of(await c.say("у Мироновой есть что-нибудь в субботу?")))
    assert [(day, time, style, teacher) for _, day, time, style, teacher, _ in lines] == [
        ("05.12", "10:00", "Растяжка", "Женя")
    ], lines  # her Saturday Pole Dance at 15:00 is closed
    assert c.reservations() == []


async def test_booking_by_a_diminutive_with_style_and_day(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"хочу к Тане на зумбу в четверг, Инна {c.phone}"))
    assert_summary(summary, name="Инна", phone=c.e164, klass="Zumba", day="03.12", time="10:00", where=BORISENKO)
    assert "Таня" in summary, f"the summary does not say who teaches: {summary!r}"
    receipt = text_of(await c.say("да"))
    assert_receipt(receipt, klass="Zumba", day="03.12", time="10:00", where=BORISENKO)
    assert c.reservations() == [Booked(807, "2026-12-03", "10:00")]


async def test_a_teacher_of_two_styles_asks_which_one(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say("запишите к Саше"))
    assert reply.count("?") == 1, reply
    assert {label for label, _ in c.last_buttons} == {"Бачата", "Vogue"}, c.last_buttons
    reply = text_of(await c.tap_label("Vogue"))
    assert c.last_buttons and all("Океанский" in label for label, _ in c.last_buttons), reply
    await c.tap_label("Пт 04.12")
    summary = text_of(await c.say(f"Рома {c.phone}"))
    assert_summary(summary, name="Рома", phone=c.e164, klass="Vogue", day="04.12", time="18:30", where=OKEANSKY)
    await c.say("да")
    assert c.reservations() == [Booked(815, "2026-12-04", "18:30")]


async def test_who_teaches_a_style_names_both_teachers(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say("кто ведёт бачату?"))
    assert ("Даша" in reply or "Дарья" in reply) and ("Саша" in reply or "Александр" in reply), reply
    assert c.reservations() == []


async def test_booking_by_surname_in_the_genitive(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"запишите к Соколовой на латину в воскресенье, Вера {c.phone}"))
    assert_summary(summary, name="Вера", phone=c.e164, klass="Латина", day="06.12", time="16:00", where=BORISENKO)
    await c.say("да")
    assert c.reservations() == [Booked(817, "2026-12-06", "16:00")]


async def test_booking_by_an_affectionate_name_and_a_time(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"к Дашеньке на бачату в субботу в 13, Юля {c.phone}"))
    assert_summary(summary, name="Юля", phone=c.e164, klass="Бачата", day="05.12", time="13:00", where=OKEANSKY)
    await c.say("да")
    assert c.reservations() == [Booked(804, "2026-12-05", "13:00")]
