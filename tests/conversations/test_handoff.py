"""Human handoff (PRODUCT.md §11) and what goes to the admin chat: the context and the exact
/reply command; while a human is on it the bot relays and stays quiet; /close hands back to the bot.
Lateness is acknowledged and the admin told; an unknown question goes to the admin, never guessed."""

from __future__ import annotations

import pytest

from tests.conversations.harness import Booked, Client, shows_phone, text_of

pytestmark = pytest.mark.e2e


async def test_admin_handoff_reply_relay_and_close(client: Client) -> None:
    c = client
    reply = text_of(await c.say("позовите администратора, пожалуйста"))
    assert "Передаю администратору" in reply
    [context] = c.admin_messages()
    assert f"/reply {c.chat_id}" in context and "позовите администратора" in context
    await c.say("хочу заморозить абонемент на две недели", silent=True)  # relayed, the bot says nothing
    assert "заморозить абонемент" in c.admin_messages()[-1]
    reply = text_of(await c.admin(f"/reply {c.chat_id} Да, заморозим с понедельника"))
    assert reply == "Администратор: Да, заморозим с понедельника"
    await c.say("спасибо большое", silent=True)
    assert "спасибо большое" in c.admin_messages()[-1]
    reply = text_of(await c.admin(f"/close {c.chat_id}"))
    assert "завершил" in reply
    summary = text_of(await c.say(f"запишите на хилс в чт, меня зовут Анна, {c.phone}"))
    assert "Всё верно?" in summary  # the bot is back
    assert c.reservations() == []


async def test_handoff_mid_booking_carries_the_context(client: Client) -> None:
    c = client
    await c.say("хочу на хилс в субботу")
    reply = text_of(await c.say("а можно поговорить с живым человеком?"))
    assert "Передаю администратору" in reply
    context = c.admin_messages()[-1]
    assert "хилс в субботу" in context and f"/reply {c.chat_id}" in context
    assert c.reservations() == []


async def test_lateness_is_acknowledged_and_the_admin_told(client: Client) -> None:
    c = client
    await c.say(f"запишите на хилс в 19, меня зовут Анна, {c.phone}")
    await c.say("да")
    reply = text_of(await c.say("ой, опаздываю минут на 10, пробки"))
    assert "предупредили" in reply and "10 минут" in reply
    alert = c.admin_messages()[-1]
    assert "опаздыва" in alert and "Анна" in alert and shows_phone(alert, c.e164)
    assert c.reservations() == [Booked(302, "2026-12-02", "19:00")]  # being late cancels nothing


async def test_unknown_question_goes_to_the_admin_never_guessed(client: Client) -> None:
    c = client
    reply = text_of(await c.say("а можно у вас арендовать зал на вечер для дня рождения?"))
    assert "Уточню у администратора" in reply
    question = c.admin_messages()[-1]
    assert "арендовать зал" in question and f"/reply {c.chat_id}" in question
    assert c.reservations() == []


async def test_gibberish_three_times_goes_to_the_admin(client: Client) -> None:
    c = client
    await c.say("ывапролд")
    await c.say("фывфыв")
    reply = text_of(await c.say("щшзщшз"))
    assert "администратор" in reply.lower()
    alert = c.admin_messages()[-1]
    assert "щшзщшз" in alert and f"/reply {c.chat_id}" in alert
    assert c.reservations() == []


async def test_the_same_question_is_not_asked_a_third_time(client: Client) -> None:
    c = client
    first = text_of(await c.say("хочу записаться"))
    second = text_of(await c.say("Денис"))
    third = text_of(await c.say("я же сказал, Денис"))
    assert not first == second == third, "the same question three times in a row"
    assert "администратор" in third.lower() and c.last_buttons  # the reprompt limit offers the admin
    assert c.reservations() == []
