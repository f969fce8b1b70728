"""Issue 8 point 4: questions never derail a pending booking. While a summary or a slot question is pending,
a question about that class ("а где это?", "кто ведёт?", "во сколько заканчивается?", "сколько стоит?",
"что взять?") is answered about THAT class, the pending question follows, and a yes books exactly the
summarised class."""

from __future__ import annotations

import pytest

from tests.conversations.harness import CENTER, GOGOLYA, Booked, Client, assert_summary, text_of

pytestmark = pytest.mark.e2e

OTHER_PRICES = ("600", "650", "700", "500")  # single prices of the styles other than Стретчинг (550)


def asks_again(reply: str) -> bool:
    """The pending question is asked again in the same turn (PRODUCT.md §5.6)."""
    return reply.rstrip().endswith("?") or "Всё верно?" in reply


async def test_where_is_it_names_the_summarised_classs_branch(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на хилс во вторник в 20, Ира {c.phone}"))
    assert_summary(summary, name="Ира", phone=c.e164, klass="High Heels", day="08.12", time="20:00", where=GOGOLYA)
    reply = text_of(await c.say("а где это?"))
    assert GOGOLYA in reply and "Светланская" not in reply, f"not the address of the summarised class: {reply!r}"
    assert asks_again(reply), f"the pending confirmation is not asked again: {reply!r}"
    await c.say("да")
    assert c.reservations() == [Booked(303, "2026-12-08", "20:00")]


async def test_who_teaches_it_names_the_summarised_classs_teacher(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на контемп в пт, Соня {c.phone}"))
    assert_summary(summary, name="Соня", phone=c.e164, klass="Contemporary", day="04.12", time="19:30", where=CENTER)
    reply = text_of(await c.say("кто ведёт?"))
    assert "Катя" in reply or "Екатерина" in reply, f"not Contemporary's teacher: {reply!r}"
    assert asks_again(reply), f"the pending confirmation is not asked again: {reply!r}"
    await c.say("да")
    assert c.reservations() == [Booked(309, "2026-12-04", "19:30")]


async def test_when_does_it_end(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на сальсу сегодня вечером, Марк {c.phone}"))
    assert_summary(summary, name="Марк", phone=c.e164, klass="Сальса", day="02.12", time="20:15", where=GOGOLYA)
    reply = text_of(await c.say("а во сколько заканчивается?"))
    assert "21:15" in reply, f"today's Сальса ends at 21:15: {reply!r}"
    assert asks_again(reply), f"the pending confirmation is not asked again: {reply!r}"
    await c.say("да")
    assert c.reservations() == [Booked(311, "2026-12-02", "20:15")]


async def test_how_much_is_it_gives_that_styles_price(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на стретчинг во вторник в 8 утра, Алла {c.phone}"))
    assert_summary(summary, name="Алла", phone=c.e164, klass="Стретчинг", day="08.12", time="08:00", where=CENTER)
    reply = text_of(await c.say("сколько стоит?"))
    assert "550" in reply and not any(p in reply for p in OTHER_PRICES), f"not Стретчинг's price: {reply!r}"
    assert asks_again(reply), f"the pending confirmation is not asked again: {reply!r}"
    await c.say("да")
    assert c.reservations() == [Booked(314, "2026-12-08", "08:00")]


async def test_what_to_bring_for_heels(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на хилс в понедельник, Карина {c.phone}"))
    assert_summary(summary, name="Карина", phone=c.e164, klass="High Heels", day="07.12", time="19:00", where=CENTER)
    reply = text_of(await c.say("а что взять с собой?"))
    assert "туфли" in reply or "каблук" in reply, f"not what to bring for High Heels: {reply!r}"
    assert asks_again(reply), f"the pending confirmation is not asked again: {reply!r}"
    await c.say("да")
    assert c.reservations() == [Booked(301, "2026-12-07", "19:00")]


async def test_an_unrelated_question_keeps_the_summary(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите дочь Соню на детские в четверг, я Анна, {c.phone}"))
    assert_summary(summary, name="Соня", phone=c.e164, klass="Детские танцы", day="03.12", time="17:00", where=CENTER)
    reply = text_of(await c.say("а парковка у вас есть?"))
    assert "парковк" in reply.lower(), f"the question is not answered: {reply!r}"
    assert asks_again(reply), f"the pending confirmation is not asked again: {reply!r}"
    await c.say("да")
    assert c.reservations() == [Booked(321, "2026-12-03", "17:00")]


async def test_who_teaches_while_the_time_buttons_are_pending(client: Client) -> None:
    c = client
    await c.say("хочу на хип-хоп")
    offered = c.last_buttons
    assert offered
    reply = text_of(await c.say("а кто ведёт?"))
    assert "Дима" in reply or "Дмитрий" in reply, f"not Hip-Hop's teacher: {reply!r}"
    assert c.last_buttons == offered, "the pending choice is not offered again"
    await c.tap_label("Чт 03.12")
    summary = text_of(await c.say(f"Рита {c.phone}"))
    assert_summary(summary, name="Рита", phone=c.e164, klass="Hip-Hop", day="03.12", time="18:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(306, "2026-12-03", "18:00")]


async def test_two_questions_in_a_row_then_yes_books_the_summarised_class(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на сальсу в вс, Эля {c.phone}"))
    assert_summary(summary, name="Эля", phone=c.e164, klass="Сальса", day="06.12", time="17:00", where=CENTER)
    reply = text_of(await c.say("где это находится?"))
    assert CENTER in reply and "Гоголя, 41" not in reply, f"not the address of the summarised class: {reply!r}"
    reply = text_of(await c.say("а по деньгам сколько?"))
    assert "650" in reply, f"not Сальса's price: {reply!r}"
    assert c.reservations() == []
    await c.say("да")
    assert c.reservations() == [Booked(325, "2026-12-06", "17:00")]
