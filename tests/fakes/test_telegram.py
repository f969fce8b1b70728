"""The fake Bot API driven by a real python-telegram-bot `Bot`.

In-process tests inject the fake's ASGI app as PTB's httpx transport (`fake.bot()`); the last tests
run it on a real port, in a thread and as `python -m …`, as the end-to-end tests will.
"""

from __future__ import annotations

import asyncio
import re
import sys
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from tests.fakes.telegram import FakeTelegram, create_fake_telegram

CLIENT = 500_100_200
OTHER_CLIENT = 500_100_300
ADMIN_CHAT = -1001234567890
ROOT = Path(__file__).resolve().parents[2]  # `python -m tests.fakes.telegram` runs from here


@pytest.fixture
def fake() -> FakeTelegram:
    return create_fake_telegram()


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    async with fake.bot() as bot:  # initialize() calls getMe
        yield bot


def control(fake: FakeTelegram) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app), base_url="http://fake")


def slots_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Сб 19:00, Центр", callback_data="slot:4711")],
            [InlineKeyboardButton("Другое время", callback_data="slot:other")],
        ]
    )


async def test_send_message_round_trip_returns_a_message_and_records_the_keyboard(fake: FakeTelegram, bot: Bot) -> None:
    msg = await bot.send_message(CLIENT, "Есть High Heels в субботу в 19:00. Записать?", reply_markup=slots_keyboard())

    assert bot.username == "ritm_studio_bot"
    assert (msg.chat.id, msg.text, msg.from_user.id) == (CLIENT, "Есть High Heels в субботу в 19:00. Записать?", 123456)
    assert msg.reply_markup == slots_keyboard()
    [sent] = fake.sent
    assert (sent.chat_id, sent.message_id, sent.seq) == (CLIENT, msg.message_id, 1)
    assert sent.reply_markup == {
        "inline_keyboard": [
            [{"text": "Сб 19:00, Центр", "callback_data": "slot:4711"}],
            [{"text": "Другое время", "callback_data": "slot:other"}],
        ]
    }


async def test_message_ids_grow_per_chat(fake: FakeTelegram, bot: Bot) -> None:
    first = await bot.send_message(CLIENT, "Первое")
    await bot.send_message(OTHER_CLIENT, "Другому клиенту")
    second = await bot.send_message(CLIENT, "Второе")
    assert second.message_id == first.message_id + 1
    assert [m.seq for m in fake.sent] == [1, 2, 3]


async def test_contact_keyboard_is_recorded_and_refused_outside_private_chats(fake: FakeTelegram, bot: Bot) -> None:
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton("📱 Отправить номер", request_contact=True)]], resize_keyboard=True, one_time_keyboard=True
    )
    msg = await bot.send_message(CLIENT, "Оставьте, пожалуйста, номер телефона", reply_markup=keyboard)
    assert msg.reply_markup is None  # Telegram echoes inline keyboards only
    assert fake.sent[0].reply_markup["keyboard"] == [[{"text": "📱 Отправить номер", "request_contact": True}]]

    with pytest.raises(BadRequest, match="private chats only"):
        await bot.send_message(ADMIN_CHAT, "Номер?", reply_markup=keyboard)


async def test_callback_data_over_64_bytes_is_refused(fake: FakeTelegram, bot: Bot) -> None:
    # 39 characters but 69 bytes: the classic bug of putting Cyrillic names into callback_data
    data = "book:Анастасия Ковалёва:Хай Хилс:Гоголя"
    fits = InlineKeyboardButton("Настя", callback_data="book:anastasia:high_heels:gogolya")
    with pytest.raises(BadRequest, match="Button_data_invalid"):
        await bot.send_message(
            CLIENT,
            "Выберите",
            reply_markup=InlineKeyboardMarkup([[fits], [InlineKeyboardButton("Настя", callback_data=data)]]),
        )
    await bot.send_message(CLIENT, "Выберите", reply_markup=InlineKeyboardMarkup([[fits]]))
    assert len(fake.sent) == 1


async def test_429_surfaces_as_retry_after_once_then_the_send_goes_through(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next(CLIENT, kind="429", retry_after=7)

    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(CLIENT, "Напоминаем: завтра в 19:00 High Heels")
    with warnings.catch_warnings():  # PTB 22 announces the int → timedelta change of this property
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        retry_after = caught.value.retry_after
    assert retry_after in (7, timedelta(seconds=7))
    assert fake.sent == []

    await bot.send_message(CLIENT, "Напоминаем: завтра в 19:00 High Heels")
    assert len(fake.sent) == 1
    assert [c.status for c in fake.calls if c.method == "sendMessage"] == [429, 200]


async def test_faults_target_their_chat_and_method_only(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next(CLIENT, n=2, kind="500")

    await bot.send_chat_action(CLIENT, "typing")
    await bot.send_message(OTHER_CLIENT, "Вам — без сбоев")
    for _ in range(2):
        with pytest.raises(NetworkError, match="Internal Server Error"):
            await bot.send_message(CLIENT, "Попытка")
    await bot.send_message(CLIENT, "Третья попытка")
    assert [m.text for m in fake.sent] == ["Вам — без сбоев", "Третья попытка"]


async def test_502_from_the_front_proxy_is_a_network_error(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next(kind="502")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(CLIENT, "Привет")


async def test_blocked_user_gives_forbidden_until_unblocked(fake: FakeTelegram, bot: Bot) -> None:
    fake.block(CLIENT)

    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(CLIENT, "Напоминание о занятии")
    with pytest.raises(Forbidden):
        await bot.send_chat_action(CLIENT, "typing")
    await bot.send_message(OTHER_CLIENT, "А этому клиенту можно")

    fake.unblock(CLIENT)
    await bot.send_message(CLIENT, "Снова можно")
    assert [m.chat_id for m in fake.sent] == [OTHER_CLIENT, CLIENT]


async def test_wrong_token_is_rejected(fake: FakeTelegram) -> None:
    with pytest.raises(InvalidToken):
        async with fake.bot("999999:WRONG"):
            pass
    bot = fake.bot("999999:WRONG")
    with pytest.raises(InvalidToken, match="Unauthorized"):
        await bot.send_message(CLIENT, "Привет")
    assert fake.sent == []


@pytest.mark.parametrize(
    ("text", "error"),
    [("", "Message text is empty"), ("  \n ", "Message text is empty"), ("я" * 4097, "Message is too long")],
)
async def test_bad_text_is_refused(fake: FakeTelegram, bot: Bot, text: str, error: str) -> None:
    with pytest.raises(BadRequest, match=error):
        await bot.send_message(CLIENT, text)
    assert fake.sent == []


async def test_length_limit_counts_what_the_user_sees(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(CLIENT, "я" * 4096)
    await bot.send_message(CLIENT, "<b>" + "я" * 4096 + "</b>", parse_mode=ParseMode.HTML)
    assert [len(m.visible_text) for m in fake.sent] == [4096, 4096]


async def test_formatting_errors_come_back_as_telegram_words_them(fake: FakeTelegram, bot: Bot) -> None:
    msg = await bot.send_message(CLIENT, "Ждём вас, <b>Анна</b> &amp; Ко!", parse_mode=ParseMode.HTML)
    assert msg.text == "Ждём вас, Анна & Ко!"
    assert fake.sent[0].text == "Ждём вас, <b>Анна</b> &amp; Ко!"

    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: unsupported start tag"):
        await bot.send_message(CLIENT, "Цена: <600 ₽ за разовое", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(CLIENT, "Занятие в 19.00, ждём!", parse_mode=ParseMode.MARKDOWN_V2)
    with pytest.raises(BadRequest, match=r"(?i)unsupported parse_mode"):
        await bot.send_message(CLIENT, "Привет", parse_mode="Textile")
    assert len(fake.sent) == 1


async def test_callback_answers_and_chat_actions_are_recorded(fake: FakeTelegram, bot: Bot) -> None:
    assert await bot.answer_callback_query("cbq-77", text="Записали!", show_alert=True)
    assert await bot.answer_callback_query("cbq-78")
    assert await bot.send_chat_action(CLIENT, "typing")
    with pytest.raises(BadRequest, match="Wrong parameter action"):
        await bot.send_chat_action(CLIENT, "dancing")

    assert [(a.callback_query_id, a.text, a.show_alert) for a in fake.callback_answers] == [
        ("cbq-77", "Записали!", True),
        ("cbq-78", None, False),
    ]
    assert [(a.chat_id, a.action) for a in fake.chat_actions] == [(CLIENT, "typing")]


async def test_webhook_needs_https_and_is_reported(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
        await bot.set_webhook("http://127.0.0.1:8000/webhook/telegram")
    assert await bot.set_webhook("https://bot.ritm.example/webhook/telegram", secret_token="s3cret")
    assert (await bot.get_webhook_info()).url == "https://bot.ritm.example/webhook/telegram"
    assert fake.webhook["secret_token"] == "s3cret"
    assert await bot.delete_webhook()
    assert (await bot.get_webhook_info()).url == ""


async def test_wait_for_returns_once_the_messages_arrive(fake: FakeTelegram, bot: Bot) -> None:
    async def reply_later() -> None:
        await asyncio.sleep(0.02)
        await bot.send_message(CLIENT, "Записала вас!")
        await bot.send_message(CLIENT, "Напомню за 2 часа")

    task = asyncio.create_task(reply_later())
    sent = await fake.wait_for(CLIENT, 2, timeout=2)
    await task
    assert [m.text for m in sent] == ["Записала вас!", "Напомню за 2 часа"]

    with pytest.raises(TimeoutError, match=r"2/3 messages"):
        await fake.wait_for(CLIENT, 3, timeout=0.05)
    assert await fake.wait_for(CLIENT, 1, timeout=0.05, since=sent[0].seq) == sent[1:]


async def test_wire_errors_have_telegrams_exact_bodies(fake: FakeTelegram) -> None:
    fake.fail_next(kind="429", retry_after=3)
    async with control(fake) as http:
        limited = await http.post("/bot123456:TEST/sendMessage", json={"chat_id": CLIENT, "text": "Привет"})
        unknown = await http.post("/bot123456:TEST/sendMessages", data={"chat_id": CLIENT, "text": "Привет"})
        wrong = await http.post("/bot123456:WRONG/sendMessage", data={"chat_id": CLIENT, "text": "Привет"})
        malformed = await http.get("/botnot-a-token/getMe")
        via_get = await http.get("/bot123456:TEST/SENDMESSAGE", params={"chat_id": CLIENT, "text": "Через GET"})

    assert (limited.status_code, limited.json()) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 3",
            "parameters": {"retry_after": 3},
        },
    )
    assert (unknown.status_code, unknown.json()) == (404, {"ok": False, "error_code": 404, "description": "Not Found"})
    assert (wrong.status_code, wrong.json()) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    assert malformed.status_code == 404
    assert via_get.json()["result"]["text"] == "Через GET"  # query strings and any method-name case work


async def test_control_api_reads_state_and_injects_faults(fake: FakeTelegram, bot: Bot) -> None:
    async with control(fake) as http:
        await http.post("/_fake/fail", json={"chat_id": CLIENT, "n": 1, "kind": "429", "retry_after": 2})
        await http.post("/_fake/block", json={"chat_id": OTHER_CLIENT})
        with pytest.raises(RetryAfter):
            await bot.send_message(CLIENT, "Раз")
        with pytest.raises(Forbidden):
            await bot.send_message(OTHER_CLIENT, "Два")
        await bot.send_message(CLIENT, "Три", reply_markup=slots_keyboard())
        await bot.send_message(CLIENT, "Четыре")
        await bot.answer_callback_query("cbq-1")

        sent = (await http.get("/_fake/sent", params={"chat_id": CLIENT})).json()
        later = (await http.get("/_fake/sent", params={"since": 1})).json()
        answers = (await http.get("/_fake/callback_answers")).json()
        stats = (await http.get("/_fake/stats")).json()
        bad_fault = await http.post("/_fake/fail", json={"kind": "418"})
        await http.post("/_fake/reset")
        after_reset = (await http.get("/_fake/stats")).json()

    assert [(m["chat_id"], m["text"], m["seq"]) for m in sent] == [(CLIENT, "Три", 1), (CLIENT, "Четыре", 2)]
    assert sent[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "slot:4711"
    assert isinstance(sent[0]["received_at"], float) and sent[0]["message_id"] > 0
    assert [m["text"] for m in later] == ["Четыре"]
    assert [a["callback_query_id"] for a in answers] == ["cbq-1"]
    assert stats["calls"]["sendMessage"] == 4 and stats["errors"] == {"429": 1, "403": 1}
    assert stats["blocked"] == [OTHER_CLIENT] and stats["sent"] == 2
    assert bad_fault.status_code == 422
    assert after_reset["sent"] == 0 and after_reset["blocked"] == [] and after_reset["calls"] == {}


async def test_control_api_can_wait_for_messages(fake: FakeTelegram, bot: Bot) -> None:
    async def reply_later() -> None:
        await asyncio.sleep(0.02)
        await bot.send_message(CLIENT, "Готово")

    async with control(fake) as http:
        task = asyncio.create_task(reply_later())
        waited = await http.get("/_fake/sent", params={"chat_id": CLIENT, "min_count": 1, "timeout": 2})
        await task
        gave_up = await http.get("/_fake/sent", params={"chat_id": CLIENT, "min_count": 5, "timeout": 0.05})
    assert [m["text"] for m in waited.json()] == ["Готово"]
    assert len(gave_up.json()) == 1


async def test_a_default_ptb_bot_talks_to_the_fake_served_on_a_port(fake: FakeTelegram) -> None:
    """Exactly how the worker builds its bot: `Bot(token, base_url=f"{TELEGRAM_API_BASE_URL}/bot")`."""
    with fake.serve_in_thread() as base_url:
        async with Bot("123456:TEST", base_url=f"{base_url}/bot") as bot:
            await bot.send_message(CLIENT, "Через настоящий сокет", reply_markup=slots_keyboard())
        sent = await fake.wait_for(CLIENT, 1, timeout=2)
    assert sent[0].reply_markup["inline_keyboard"][1][0]["text"] == "Другое время"


async def test_runs_as_its_own_process_and_is_read_through_the_control_api() -> None:
    proc = await asyncio.create_subprocess_exec(
        *[sys.executable, "-m", "tests.fakes.telegram", "--port", "0", "--token", "777:PROC"],
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=20)).decode()
        match = re.fullmatch(r"fake telegram listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, line
        async with Bot("777:PROC", base_url=f"{match[1]}/bot") as bot, httpx.AsyncClient(base_url=match[1]) as http:
            await http.post("/_fake/fail", json={"kind": "429", "retry_after": 1})
            with pytest.raises(RetryAfter):
                await bot.send_message(CLIENT, "Первая попытка")
            await bot.send_message(CLIENT, "Вторая попытка")
            sent = (await http.get("/_fake/sent", params={"chat_id": CLIENT})).json()
        assert [m["text"] for m in sent] == ["Вторая попытка"]
    finally:
        proc.terminate()
        await proc.wait()
