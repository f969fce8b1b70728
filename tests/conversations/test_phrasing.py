"""Issue 8 point 2: every slot the message gives is taken, whatever the sentence form. A booking asked as a
question or a wish, with everything needed, goes straight to the summary like the imperative does; so does a
full booking sent while another question is pending; a value that cannot be right is named in the same reply
with an example, and the rest of the message (name, class) is kept."""

from __future__ import annotations

import pytest

from tests.conversations.harness import CENTER, GOGOLYA, Booked, Client, assert_receipt, assert_summary, text_of

pytestmark = pytest.mark.e2e


async def test_a_question_with_teacher_day_time_and_contacts(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"а можно к Кате на контемп в пятницу в 19:30? Лена, {c.phone}"))
    assert_summary(summary, name="Лена", phone=c.e164, klass="Contemporary", day="04.12", time="19:30", where=CENTER)
    assert c.reservations() == []
    receipt = text_of(await c.say("да"))
    assert_receipt(receipt, klass="Contemporary", day="04.12", time="19:30", where=CENTER)
    assert c.reservations() == [Booked(309, "2026-12-04", "19:30")]


async def test_a_wish_for_a_morning_without_contacts_asks_only_for_the_name(client: Client) -> None:
    c = client
    reply = text_of(await c.say("хотела бы на стретчинг в субботу утром"))
    assert "зовут" in reply, f"Saturday morning has one Стретчинг (09:00): expected the name question, got {reply!r}"
    summary = text_of(await c.say(f"Вера {c.phone}"))
    assert_summary(summary, name="Вера", phone=c.e164, klass="Стретчинг", day="05.12", time="09:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(327, "2026-12-05", "09:00")]


async def test_will_you_book_me_is_a_booking_not_a_schedule_question(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишешь меня на сальсу в воскресенье? я Оксана, {c.phone}"))
    assert_summary(summary, name="Оксана", phone=c.e164, klass="Сальса", day="06.12", time="17:00", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(325, "2026-12-06", "17:00")]


async def test_can_i_sign_up_with_a_teacher_and_a_pretty_phone(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"можно записаться к Диме в субботу в 11? Кирилл, телефон {c.phone_pretty}"))
    assert_summary(summary, name="Кирилл", phone=c.e164, klass="Hip-Hop", day="05.12", time="11:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(324, "2026-12-05", "11:00")]


async def test_are_there_places_and_if_so_book_me(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"а есть места на хилс во вторник в 20? если есть — запишите: Ира, {c.phone}"))
    assert_summary(summary, name="Ира", phone=c.e164, klass="High Heels", day="08.12", time="20:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(303, "2026-12-08", "20:00")]


async def test_tomorrow_as_a_question_asks_only_for_the_name(client: Client) -> None:
    c = client
    reply = text_of(await c.say("запишешь на хип-хоп завтра?"))
    assert "зовут" in reply, f"Thursday has one Hip-Hop (18:00): expected the name question, got {reply!r}"
    summary = text_of(await c.say(f"Гоша, {c.phone}"))
    assert_summary(summary, name="Гоша", phone=c.e164, klass="Hip-Hop", day="03.12", time="18:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(306, "2026-12-03", "18:00")]


async def test_a_child_asked_for_as_a_question(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"Можно на детские в субботу сына Тимура? мой номер {c.phone}"))
    assert_summary(summary, name="Тимур", phone=c.e164, klass="Детские танцы", day="05.12", time="10:00", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(319, "2026-12-05", "10:00")]


async def test_a_full_booking_while_the_style_question_is_pending(client: Client) -> None:
    c = client
    assert "направлени" in text_of(await c.say("хочу записаться"))
    summary = text_of(await c.say(f"контемп во вторник в 19:30, меня зовут Алиса, {c.phone}"))
    assert_summary(summary, name="Алиса", phone=c.e164, klass="Contemporary", day="08.12", time="19:30", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(308, "2026-12-08", "19:30")]


async def test_a_full_booking_of_another_style_while_the_time_question_is_pending(client: Client) -> None:
    c = client
    await c.say("хочу на сальсу")
    assert c.last_buttons  # Сальса's nearest classes
    summary = text_of(await c.say(f"ой, лучше запишите на хип-хоп в понедельник в 18, Таня {c.phone}"))
    assert_summary(summary, name="Таня", phone=c.e164, klass="Hip-Hop", day="07.12", time="18:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(305, "2026-12-07", "18:00")]


async def test_a_bad_phone_is_named_and_name_and_class_are_kept(client: Client) -> None:
    c = client
    reply = text_of(await c.say("запишите на хилс в сб в 14, Катя, тел 12345"))
    assert "+7" in reply and ("номер" in reply or "телефон" in reply), f"the bad phone is not named: {reply!r}"
    assert "зовут" not in reply and "направлени" not in reply, f"asks again what the message said: {reply!r}"
    summary = text_of(await c.say(c.phone))
    assert_summary(summary, name="Катя", phone=c.e164, klass="High Heels", day="05.12", time="14:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(323, "2026-12-05", "14:00")]


async def test_an_impossible_time_is_named_and_name_and_class_are_kept(client: Client) -> None:
    c = client
    reply = text_of(await c.say(f"хочу на стретчинг в понедельник в 25:00, меня зовут Лиза, {c.phone}"))
    assert "«25:00»" in reply and "врем" in reply.lower(), f"the impossible time is not named: {reply!r}"
    assert "зовут" not in reply, f"asks for the name the message gave: {reply!r}"
    if "Всё верно?" in reply:  # Monday's one Стретчинг taken at once
        summary = reply
    elif c.last_buttons:  # or offered as a button
        summary = text_of(await c.tap_label("07.12"))
    else:
        summary = text_of(await c.say("давайте в 10"))
    assert_summary(summary, name="Лиза", phone=c.e164, klass="Стретчинг", day="07.12", time="10:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(316, "2026-12-07", "10:00")]


async def test_a_run_on_message_with_typos_and_lowercase(client: Client) -> None:
    c = client
    summary = text_of(
        await c.say(f"здрасти!! хочу к оле на стрейчинг в пн утром меня марина зовут тел {c.phone_pretty} спасибо")
    )
    assert_summary(summary, name="Марина", phone=c.e164, klass="Стретчинг", day="07.12", time="10:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(316, "2026-12-07", "10:00")]
