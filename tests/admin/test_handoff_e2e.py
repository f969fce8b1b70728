"""The administrator's side of a conversation, through the webhook of the running stack (PRODUCT.md §11):
what reaches the admin chat, /reply and /close, and what a client typing admin commands can (not) do.
Freeze, complaint and a miss the client insists on are handed over with the facts the admin needs."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from dancebot.conversation.session import SessionStore
from dancebot.conversation.states import State
from tests.conftest import ADMIN_CHAT_ID
from tests.conversations.harness import Client, shows_phone, text_of

pytestmark = pytest.mark.e2e


async def admin_reply(c: Client, command: str) -> tuple[str, list[str]]:
    """The administrator types `command`: (what the admin chat got back, what reached the client)."""
    since = c.mark()
    to_client = await c.admin(command)
    return "\n".join(m.text for m in c.tg.sent_to(ADMIN_CHAT_ID, since)), to_client


async def test_full_round_trip_with_the_context_the_admin_needs(new_client: Callable[..., Client]) -> None:
    c = new_client(first_name="Марина")
    summary = text_of(await c.say(f"хочу на хилс в субботу, меня зовут Марина, {c.phone}"))
    assert "Всё верно?" in summary
    reply = text_of(await c.say("а можно поговорить с живым человеком?"))
    assert "Передаю администратору" in reply
    context = c.admin_messages()[-1]
    assert "Марина" in context and shows_phone(context, c.e164)  # the unfinished booking's name and phone
    assert "telegram" in context and "CONFIRM_BOOKING" in context  # channel and state
    assert "Запись не закончена" in context and "High Heels" in context
    assert "хилс в субботу" in context and "живым человеком" in context  # last messages, the reason
    assert f"/reply {c.chat_id} текст" in context and f"/close {c.chat_id}" in context
    said, to_client = await admin_reply(c, f"/reply {c.chat_id} Здравствуйте, Марина! Чем помочь?")
    assert to_client == ["Администратор: Здравствуйте, Марина! Чем помочь?"]
    assert f"Отправлено клиенту {c.chat_id}" in said
    await c.say("хочу узнать, можно ли перенести оплату на следующую неделю", silent=True)
    relayed = c.admin_messages()[-1]
    assert "перенести оплату" in relayed and f"/reply {c.chat_id}" in relayed
    said, to_client = await admin_reply(c, f"/close {c.chat_id}")
    assert "завершил" in text_of(to_client) and "закрыт" in said
    again = text_of(await c.say("сколько стоит разовое занятие?"))
    assert "₽" in again  # the bot answers again
    assert c.reservations() == []  # the summary was never confirmed


async def test_a_client_typing_admin_commands_does_nothing_admin_like(
    new_client: Callable[..., Client], stack_sessions: SessionStore
) -> None:
    waiting, other = new_client(), new_client()
    await waiting.say("позовите администратора пожалуйста")
    before = len(waiting.received())
    admin_before = len(other.admin_messages())
    for text in (
        f"/reply {waiting.chat_id} вам отказано",
        f"/close {waiting.chat_id}",
        "/requests",
        "/done 1",
        "/dlq",
    ):
        reply = text_of(await other.say(text))
        assert "Администратор:" not in reply and "Отправлено" not in reply and "Открытых заявок" not in reply
    assert len(waiting.received()) == before  # nothing reached the other client
    session = await stack_sessions.load("telegram", waiting.chat_id)
    assert session.state == State.HANDOFF_TO_ADMIN  # still waiting for a human
    new_admin = other.admin_messages()[admin_before:]
    assert not any("Отправлено клиенту" in m or "закрыт" in m or "Открытые заявки" in m for m in new_admin)


async def test_malformed_admin_commands_get_a_usage_reply_and_change_nothing(
    new_client: Callable[..., Client], stack_sessions: SessionStore
) -> None:
    c = new_client()
    await c.say("позовите администратора")
    expected = {
        "/reply": "Не понял команду",
        f"/reply {c.chat_id}": "Не понял команду",  # no text
        "/reply abc привет": "Не понял команду",  # not a chat id
        "/close": "Не понял команду",
        f"/close {c.chat_id} спасибо": "Не понял команду",  # /close takes no text
        "/reply 999999999 привет": "Нет диалога с 999999999",
        "/done": "Укажите номер заявки",
        "/done два": "Укажите номер заявки",
        "/done 99": "нет в последнем списке",
        "/requests все": "Не понял команду",
        "/frobnicate": "Не понял команду",
        "просто текст без команды": "Не понял команду",
    }
    for command, answer in expected.items():
        said, to_client = await admin_reply(c, command)
        assert answer in said, (command, said)
        assert to_client == [], command
    assert (await stack_sessions.load("telegram", c.chat_id)).state == State.HANDOFF_TO_ADMIN
    said, _ = await admin_reply(c, "/help")
    assert "/requests" in said and "/done N" in said and "/dlq" in said


async def test_a_freeze_is_handed_over_with_its_reason_and_dates(new_client: Callable[..., Client]) -> None:
    c = new_client()
    question = text_of(await c.say("хочу заморозить абонемент"))
    assert "причину" in question and "с какого по какое" in question
    assert not any("заморозк" in m for m in c.admin_messages())  # not yet: the facts first
    reply = text_of(await c.say("заболела, с 7 по 20 декабря"))
    assert "Передаю администратору" in reply
    context = c.admin_messages()[-1]
    assert "заморозка абонемента" in context and "заболела" in context and "07.12–20.12" in context
    assert f"/reply {c.chat_id}" in context


async def test_a_refund_goes_to_the_admin_at_once_never_as_a_price(new_client: Callable[..., Client]) -> None:
    c = new_client()
    reply = text_of(await c.say("верните деньги за абонемент, занятия отменили"))
    assert "Передаю администратору" in reply and "₽" not in reply
    context = c.admin_messages()[-1]
    assert "возврат денег" in context and "верните деньги" in context


async def test_a_question_the_kb_cannot_answer_asked_again_is_handed_over(new_client: Callable[..., Client]) -> None:
    c = new_client()
    first = text_of(await c.say("а можно у вас арендовать зал на вечер для дня рождения?"))
    assert "Уточню у администратора" in first
    again = text_of(await c.say("ну так что, можно арендовать зал?"))
    assert "Передаю администратору" in again
    context = c.admin_messages()[-1]
    assert "настаивает" in context and "арендовать зал" in context and f"/reply {c.chat_id}" in context
