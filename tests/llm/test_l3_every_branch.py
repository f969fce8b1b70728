"""L3 (PRODUCT.md §9.3, contract §13) in the branches the first L3 test does not reach: the booking's
"да", a cancel's confirmation, "мои записи" and a schedule question asked while a booking waits. The LLM
layer is real — the fake OpenAI-compatible server answers 500s until its breaker opens — and the CRM is
the in-process fake Impulse failing with 500s. The client reads "Технические неполадки, администратор
свяжется с вами" and exactly one `l3` request is recorded; the admin chat hears of it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import pytest

from dancebot.llm.health import FAILURE_THRESHOLD, degradation_level
from dancebot.runtime import Runtime
from dancebot.wiring import Conversation
from tests.fakes.llm import FakeLLM
from tests.llm.test_llm_conversations import fallback_items, unsettled
from tests.prompt_regression.driver import Chat, Turn

OpenConv = Callable[..., contextlib.AbstractAsyncContextManager[Conversation]]
TECHNICAL = "Технические неполадки, администратор свяжется с вами"


@contextlib.asynccontextmanager
async def llm_down(rt: Runtime, open_llm_conv: OpenConv, fake_llm: FakeLLM) -> AsyncIterator[Conversation]:
    async with open_llm_conv() as conv:
        fake_llm.default = FakeLLM.error(500)
        assert conv.llm is not None and conv.fake_crm is not None
        for _ in range(FAILURE_THRESHOLD):  # three failed calls open the breaker: L2
            await unsettled(rt, conv)
        assert await conv.llm.status() == "down"
        yield conv


@contextlib.asynccontextmanager
async def crm_down(conv: Conversation) -> AsyncIterator[None]:
    assert conv.fake_crm is not None
    conv.fake_crm.set_mode("500")
    await conv.crm.invalidate_schedule()  # no schedule from the cache: the CRM is asked, and fails
    try:
        assert degradation_level(await conv.crm.health(), "down") == "L3"
        yield
    finally:
        conv.fake_crm.set_mode(None)


async def assert_l3(rt: Runtime, turn: Turn, c: Chat) -> dict[str, object]:
    assert TECHNICAL in turn.text, turn.text
    items = await fallback_items(rt)
    assert [i["kind"] for i in items] == ["l3"], items  # exactly one request, of kind l3
    assert items[0]["chat_id"] == c.chat_id and items[0]["details"]["phone"] == c.e164
    assert any("технические неполадки" in a for a in turn.admin)  # the admin chat is told
    return dict(items[0]["details"])


@pytest.mark.parametrize("yes", ["да", "да, записывайте", "всё верно"])
async def test_l3_at_the_booking_yes(rt: Runtime, open_llm_conv: OpenConv, fake_llm: FakeLLM, yes: str) -> None:
    async with llm_down(rt, open_llm_conv, fake_llm) as conv:
        c = Chat(rt, conv, 9_300_001)
        assert "Проверьте" in (await c.say("запишите на хилс в чт в 20, Анна {phone}")).text
        async with crm_down(conv):
            turn = await c.say(yes)
        details = await assert_l3(rt, turn, c)
        assert "High Heels" in str(details["class"]) and await c.state() == "IDLE"
        assert c.bookings() == []


@pytest.mark.parametrize("aside", ["а что есть в субботу?", "какое расписание на пятницу?"])
async def test_l3_at_a_schedule_question_aside(
    rt: Runtime, open_llm_conv: OpenConv, fake_llm: FakeLLM, aside: str
) -> None:
    async with llm_down(rt, open_llm_conv, fake_llm) as conv:
        c = Chat(rt, conv, 9_300_002)
        assert "Проверьте" in (await c.say("запишите на хилс в чт в 20, Анна {phone}")).text
        async with crm_down(conv):
            turn = await c.say(aside)
        details = await assert_l3(rt, turn, c)
        assert "High Heels" in str(details["class"]) and aside in str(details["request"])
        assert "Проверьте" not in turn.text and await c.state() == "IDLE"


@pytest.mark.parametrize("wish", ["мои записи", "отмените мою запись", "на что я записана?"])
async def test_l3_at_my_bookings_and_a_cancel(
    rt: Runtime, open_llm_conv: OpenConv, fake_llm: FakeLLM, wish: str
) -> None:
    async with llm_down(rt, open_llm_conv, fake_llm) as conv:
        c = Chat(rt, conv, 9_300_003)
        await c.say("запишите на хилс в чт в 20, Анна {phone}")
        assert "записаны" in (await c.say("да")).text
        async with crm_down(conv):
            turn = await c.say(wish)
        details = await assert_l3(rt, turn, c)
        assert wish in str(details["request"])


async def test_l3_at_a_cancel_confirmation(rt: Runtime, open_llm_conv: OpenConv, fake_llm: FakeLLM) -> None:
    async with llm_down(rt, open_llm_conv, fake_llm) as conv:
        c = Chat(rt, conv, 9_300_004)
        await c.say("запишите на хилс в чт в 20, Анна {phone}")
        assert "записаны" in (await c.say("да")).text
        assert "Отменить запись" in (await c.say("отмените мою запись")).text
        async with crm_down(conv):
            turn = await c.say("да")
        details = await assert_l3(rt, turn, c)
        assert details["request"] == "отменить запись" and details["reservation_id"]
        assert len(c.bookings()) == 1  # not cancelled: the admin does it


async def test_l2_alone_keeps_the_booking_and_the_cancel_working(
    rt: Runtime, open_llm_conv: OpenConv, fake_llm: FakeLLM
) -> None:
    async with llm_down(rt, open_llm_conv, fake_llm) as conv:
        c = Chat(rt, conv, 9_300_005)
        await c.say("запишите на хилс в чт в 20, Анна {phone}")
        assert "записаны" in (await c.say("да")).text
        await c.say("отмените мою запись")
        done = await c.say("да")
        assert TECHNICAL not in done.text and "отмен" in done.text.lower() and c.bookings() == []
    assert await fallback_items(rt) == []
