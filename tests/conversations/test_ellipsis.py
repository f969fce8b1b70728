"""Issue 8 point 5: elliptic follow-ups inherit the last intent. After a price answer "а на сальсу?" is a
price question; after a day's schedule "а в воскресенье?" is that day's schedule; after "когда занимается
Настя?", "а Дима?" is his schedule; after a branch's schedule, "а в центре?" is the other branch's."""

from __future__ import annotations

import pytest

from tests.conversations.harness import Client, text_of
from tests.conversations.schedule_lines import class_lines

pytestmark = pytest.mark.e2e


def not_a_booking(reply: str) -> bool:
    return "зовут" not in reply and "Всё верно?" not in reply and "выберите удобное" not in reply


async def test_and_for_salsa_after_a_price_is_a_price(client: Client) -> None:
    c = client
    assert "700" in text_of(await c.say("сколько стоит хилс?"))
    reply = text_of(await c.say("а на сальсу?"))
    assert "650" in reply and "Сальса" in reply, f"«а на сальсу?» after a price is Сальса's price: {reply!r}"
    assert not_a_booking(reply), reply
    assert c.reservations() == []


async def test_and_kids_with_a_typo_after_a_price_is_a_price(client: Client) -> None:
    c = client
    assert "650" in text_of(await c.say("скок стоит контемп?"))
    reply = text_of(await c.say("а детски?"))
    assert "500" in reply, f"«а детски?» after a price is Детские танцы's price: {reply!r}"
    assert not_a_booking(reply), reply
    assert c.reservations() == []


async def test_and_on_sunday_after_a_days_schedule_is_that_days_schedule(client: Client) -> None:
    c = client
    lines = class_lines(text_of(await c.say("какое расписание в субботу?")))
    assert {day for _, day, *_ in lines} == {"05.12"}
    lines = class_lines(text_of(await c.say("а в воскресенье?")))
    assert {day for _, day, *_ in lines} == {"06.12"}, lines
    assert c.reservations() == []


async def test_and_dima_after_when_does_nastya_teach(client: Client) -> None:
    c = client
    lines = class_lines(text_of(await c.say("когда занимается Настя?")))
    assert {teacher for *_, teacher, _ in lines} == {"Настя"}
    lines = class_lines(text_of(await c.say("а Дима?")))
    assert {teacher for *_, teacher, _ in lines} == {"Дима"}, lines
    assert {style for *_, style, _, _ in lines} == {"Hip-Hop"}
    assert c.reservations() == []


async def test_and_in_the_centre_after_a_branchs_schedule_for_a_day(client: Client) -> None:
    c = client
    lines = class_lines(text_of(await c.say("что есть на Гоголя в пятницу?")))
    assert {(day, branch) for _, day, *_, branch in lines} == {("04.12", "Гоголя")}
    lines = class_lines(text_of(await c.say("а в центре?")))
    assert {(day, branch) for _, day, *_, branch in lines} == {("04.12", "Центр")}, lines
    assert c.reservations() == []
