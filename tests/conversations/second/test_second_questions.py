"""Issue 8 points 4–6 on the second studio «Волна»: a question about the pending class is answered about
THAT class and the pending question follows (a yes then books exactly it); an elliptic follow-up inherits
the last intent; numbers in a price question are a price, not a series; "пробное" is the KB's trial answer."""

from __future__ import annotations

import pytest

from tests.conversations.harness import Client, assert_summary, text_of
from tests.conversations.schedule_lines import class_lines
from tests.conversations.second.volna import BORISENKO, OKEANSKY, SNEGOVAYA, Booked

pytestmark = pytest.mark.e2e


# ---- point 4: questions while a booking is pending --------------------------------------------------


async def test_where_is_it_in_the_summary_names_that_branch_then_asks_again(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"запишите на пилон в пн в 20, Кира {c.phone}"))
    assert_summary(summary, name="Кира", phone=c.e164, klass="Pole Dance", day="07.12", time="20:00", where=SNEGOVAYA)
    reply = text_of(await c.say("а где это?"))
    assert SNEGOVAYA in reply, f"not the address of the summarised class: {reply!r}"
    assert "Океанский" not in reply and "Борисенко" not in reply, f"other branches, not this class's: {reply!r}"
    assert reply.rstrip().endswith("?"), f"the pending confirmation is not asked again: {reply!r}"
    await c.say("да")
    assert c.reservations() == [Booked(810, "2026-12-07", "20:00")]


async def test_who_teaches_it_in_the_summary_names_that_classs_teacher(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"хочу на вог в пятницу, Рома, {c.phone}"))
    assert_summary(summary, name="Рома", phone=c.e164, klass="Vogue", day="04.12", time="18:30", where=OKEANSKY)
    reply = text_of(await c.say("а кто ведёт?"))
    assert "Саша" in reply or "Александр" in reply, f"not Vogue's teacher: {reply!r}"
    assert reply.rstrip().endswith("?"), f"the pending confirmation is not asked again: {reply!r}"
    await c.say("да, записывайте")
    assert c.reservations() == [Booked(815, "2026-12-04", "18:30")]


async def test_price_and_end_time_of_the_summarised_class_then_yes_books_it(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"запишите на латину в воскресенье, Галина {c.phone}"))
    assert_summary(summary, name="Галина", phone=c.e164, klass="Латина", day="06.12", time="16:00", where=BORISENKO)
    reply = text_of(await c.say("сколько стоит занятие?"))
    assert "700" in reply and "800" not in reply and "400" not in reply, f"not Латина's single price: {reply!r}"
    reply = text_of(await c.say("а во сколько заканчивается?"))
    assert "17:00" in reply, f"Латина on Sunday ends at 17:00: {reply!r}"
    assert c.reservations() == []
    await c.say("да")
    assert c.reservations() == [Booked(817, "2026-12-06", "16:00")]


# ---- point 5: elliptic follow-ups ---------------------------------------------------------------


async def test_and_for_pole_after_a_price_answer_is_a_price(second_client: Client) -> None:
    c = second_client
    assert "800" in text_of(await c.say("сколько стоит бачата?"))
    reply = text_of(await c.say("а пилон?"))
    assert "900" in reply, f"«а пилон?» after a price is Pole Dance's price: {reply!r}"
    assert "зовут" not in reply and "Всё верно?" not in reply
    assert c.reservations() == []


async def test_and_on_saturday_after_a_days_schedule_is_that_days_schedule(second_client: Client) -> None:
    c = second_client
    lines = class_lines(text_of(await c.say("что у вас в четверг?")))
    assert {day for _, day, *_ in lines} == {"03.12"}
    lines = class_lines(text_of(await c.say("а в субботу?")))
    assert {day for _, day, *_ in lines} == {"05.12"}, lines
    assert ("15:00", "Pole Dance") not in {(t, s) for _, _, t, s, _, _ in lines}  # the closed group
    assert c.reservations() == []


async def test_and_zhenya_after_when_does_dasha_teach(second_client: Client) -> None:
    c = second_client
    lines = class_lines(text_of(await c.say("когда занимается Даша?")))
    assert {teacher for *_, teacher, _ in lines} == {"Даша"}, lines
    lines = class_lines(text_of(await c.say("а Женя?")))
    assert {teacher for *_, teacher, _ in lines} == {"Женя"}, lines
    assert {style for *_, style, _, _ in lines} <= {"Pole Dance", "Растяжка"}
    assert c.reservations() == []


# ---- point 6: numbers in prices, the trial class ---------------------------------------------------


async def test_a_subscription_for_8_classes_is_its_price_never_a_series(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say("сколько стоит абонемент на 8 занятий?"))
    assert "4800" in reply.replace(" ", ""), f"not the KB's 8-class subscription: {reply!r}"
    assert "Записать на все" not in reply and "зовут" not in reply and "направлени" not in reply, reply
    assert c.reservations() == []


async def test_a_trial_class_is_the_kbs_trial_answer(second_client: Client) -> None:
    c = second_client
    reply = text_of(await c.say("пробное скок стоит?"))
    assert "400" in reply, f"not the KB's trial answer: {reply!r}"
    assert not any(p in reply for p in ("500", "600", "700", "750", "800", "900")), f"a single price: {reply!r}"
    assert c.reservations() == []
