"""L3 through the real runner (PRODUCT.md §9.3): the client's "да" or cancel confirmation reaches the CRM as
an effect, the CRM is down, and its outcome comes back as a system event — which must still know that the
LLM was down when the client answered. Real Redis and PostgreSQL, the in-process fake Impulse failing with
500s; the LLM being down is what the LLM layer's `WithLLMHealth` marks on every understanding."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.session import Session
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.wiring import Conversation
from tests.engine.conftest import NOW
from tests.engine.test_degradation_l3 import TECHNICAL, LLMDown

PHONE = "+79141234567"


class Client:
    def __init__(self, rt: Runtime, conv: Conversation, chat_id: int) -> None:
        self.rt, self.conv, self.n = rt, conv, 0
        self.session = Session(channel="telegram", chat_id=chat_id, language="ru")

    async def say(self, text: str) -> str:
        self.n += 1
        msg = UnifiedMessage(
            channel="telegram", chat_id=self.session.chat_id, message_id=str(self.n), timestamp=NOW, text=text
        )
        jobs: list[OutboundJob] = await self.conv.runner.handle(msg, self.session)
        return "\n".join(j.text for j in jobs if j.chat_id == self.session.chat_id and j.kind == "message")


async def fallback_items(rt: Runtime) -> list[dict[str, Any]]:
    return [json.loads(x) for x in reversed(await rt.redis.lrange(keys.FALLBACK_QUEUE, 0, -1))]


def llm_down(conv: Conversation) -> None:
    conv.engine.understander = LLMDown(conv.engine.understander)


@pytest.mark.parametrize("yes", ["да", "да, всё верно", "подтверждаю"])
async def test_l3_the_crm_down_at_the_yes_is_technical_issues_and_one_l3_request(
    rt: Runtime, conv: Conversation, yes: str
) -> None:
    assert conv.fake_crm is not None
    llm_down(conv)
    c = Client(rt, conv, 31)
    await c.say("хочу на хилс в субботу")
    assert "Проверьте" in await c.say("Анна 89141234567")
    conv.fake_crm.set_mode("500")
    try:
        reply = await c.say(yes)
    finally:
        conv.fake_crm.set_mode(None)
    assert TECHNICAL in reply and "Заявку записала" not in reply
    [item] = await fallback_items(rt)
    assert item["kind"] == "l3" and item["details"]["phone"] == PHONE and "High Heels" in item["details"]["class"]
    assert c.session.state == "IDLE"


async def test_l1_the_crm_down_at_the_yes_keeps_the_booking_request(rt: Runtime, conv: Conversation) -> None:
    assert conv.fake_crm is not None
    c = Client(rt, conv, 32)
    await c.say("хочу на хилс в субботу")
    await c.say("Анна 89141234567")
    conv.fake_crm.set_mode("500")
    try:
        reply = await c.say("да")
    finally:
        conv.fake_crm.set_mode(None)
    assert "Заявку записала" in reply and TECHNICAL not in reply
    assert [i["kind"] for i in await fallback_items(rt)] == ["booking"]


async def test_l3_a_cancel_the_crm_fails_at_the_confirmation_is_one_l3_request(rt: Runtime, conv: Conversation) -> None:
    assert conv.fake_crm is not None
    c = Client(rt, conv, 33)
    await c.say("хочу на хилс в субботу")
    await c.say("Анна 89141234567")
    assert "записаны" in await c.say("да")
    llm_down(conv)
    assert "Отменить запись" in await c.say("отмените мою запись")
    conv.fake_crm.set_mode("500")
    try:
        reply = await c.say("да")
    finally:
        conv.fake_crm.set_mode(None)
    assert TECHNICAL in reply and "Не получилось отменить" not in reply
    [item] = await fallback_items(rt)
    assert item["kind"] == "l3" and item["details"]["request"] == "отменить запись"
    assert item["details"]["phone"] == PHONE and item["details"]["reservation_id"]


@pytest.mark.parametrize("wish", ["мои записи", "отмените мою запись", "на что я записана?"])
async def test_l3_my_bookings_with_the_crm_down_is_one_l3_request(rt: Runtime, conv: Conversation, wish: str) -> None:
    assert conv.fake_crm is not None
    c = Client(rt, conv, 34)
    await c.say("хочу на хилс в субботу")
    await c.say("Анна 89141234567")
    assert "записаны" in await c.say("да")
    llm_down(conv)
    conv.fake_crm.set_mode("500")
    try:
        reply = await c.say(wish)
    finally:
        conv.fake_crm.set_mode(None)
    assert TECHNICAL in reply
    [item] = await fallback_items(rt)
    assert item["kind"] == "l3" and item["details"]["phone"] == PHONE and wish in item["details"]["request"]
