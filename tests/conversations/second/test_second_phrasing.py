"""Issue 8 point 2 on the second studio «Волна»: every slot a message gives is taken, whatever the sentence
form — a question, a wish, a full booking sent while another question is pending — and a value that cannot
be right is named at once while the rest of the message is kept."""

from __future__ import annotations

import pytest

from tests.conversations.harness import Client, assert_summary, text_of
from tests.conversations.second.volna import BORISENKO, OKEANSKY, SNEGOVAYA, Booked, assert_receipt

pytestmark = pytest.mark.e2e


async def test_a_question_with_teacher_day_time_and_contacts_goes_straight_to_the_summary(
    second_client: Client,
) -> None:
    c = second_client
    summary = text_of(await c.say(f"а можно к Даше на бачату в понедельник в 19? Ксюша {c.phone}"))
    assert_summary(summary, name="Ксюша", phone=c.e164, klass="Бачата", day="07.12", time="19:00", where=OKEANSKY)
    assert c.reservations() == []
    receipt = text_of(await c.say("да"))
    assert_receipt(receipt, klass="Бачата", day="07.12", time="19:00", where=OKEANSKY)
    assert c.reservations() == [Booked(801, "2026-12-07", "19:00")]


async def test_a_wish_without_contacts_asks_only_for_the_name(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say("хотела бы на растяжку в субботу утром"))
    assert "зовут" in reply, f"Saturday morning has one Растяжка (10:00): expected the name question, got {reply!r}"
    summary = text_of(await c.say(f"Оля, {c.phone}"))
    assert_summary(summary, name="Оля", phone=c.e164, klass="Растяжка", day="05.12", time="10:00", where=SNEGOVAYA)
    await c.say("да")
    assert c.reservations() == [Booked(820, "2026-12-05", "10:00")]


async def test_will_you_book_me_for_tomorrow_is_a_booking(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say("запишешь меня на зумбу завтра?"))
    assert "зовут" in reply, f"Thursday has one Zumba (10:00): expected the name question, got {reply!r}"
    summary = text_of(await c.say(f"Лиля {c.phone}"))
    assert_summary(summary, name="Лиля", phone=c.e164, klass="Zumba", day="03.12", time="10:00", where=BORISENKO)
    await c.say("ага, да")
    assert c.reservations() == [Booked(807, "2026-12-03", "10:00")]


async def test_a_full_booking_sent_while_the_style_question_is_pending_keeps_the_name(second_client: Client) -> None:
    c = second_client
    assert "направлени" in text_of(await c.say("хочу записаться"))
    summary = text_of(await c.say(f"пилон в четверг в 20, меня Настя зовут, {c.phone}"))
    assert_summary(summary, name="Настя", phone=c.e164, klass="Pole Dance", day="03.12", time="20:00", where=SNEGOVAYA)
    await c.say("да")
    assert c.reservations() == [Booked(811, "2026-12-03", "20:00")]


async def test_a_bad_phone_is_named_at_once_and_name_and_class_are_kept(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say("запишите на вог во вторник, Рома, тел 12345"))
    assert "+7" in reply and ("номер" in reply or "телефон" in reply), f"the bad phone is not named: {reply!r}"
    assert "зовут" not in reply and "направлени" not in reply, f"asks again what the message said: {reply!r}"
    summary = text_of(await c.say(c.phone))
    assert_summary(summary, name="Рома", phone=c.e164, klass="Vogue", day="08.12", time="20:30", where=OKEANSKY)
    await c.say("да")
    assert c.reservations() == [Booked(814, "2026-12-08", "20:30")]


async def test_an_impossible_time_is_named_and_name_and_class_are_kept(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say(f"хочу на латину в воскресенье в 25:00, Галя {c.phone}"))
    assert "«25:00»" in reply and "врем" in reply.lower(), f"the impossible time is not named: {reply!r}"
    assert "зовут" not in reply, f"asks for the name the message gave: {reply!r}"
    if "Всё верно?" in reply:  # Sunday's one Латина taken at once
        summary = reply
    elif c.last_buttons:  # or offered as a button
        summary = text_of(await c.tap_label("06.12"))
    else:
        summary = text_of(await c.say("тогда в 16:00"))
    assert_summary(summary, name="Галя", phone=c.e164, klass="Латина", day="06.12", time="16:00", where=BORISENKO)
    await c.say("да")
    assert c.reservations() == [Booked(817, "2026-12-06", "16:00")]


async def test_a_terse_message_with_a_time_of_day_and_contacts(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"зумба во вторник утром, Нина {c.phone}"))
    # Tuesday morning has one Zumba (10:00; the other is at 19:00): name and phone say it is a booking
    assert_summary(summary, name="Нина", phone=c.e164, klass="Zumba", day="08.12", time="10:00", where=BORISENKO)
    await c.say("да")
    assert c.reservations() == [Booked(806, "2026-12-08", "10:00")]
