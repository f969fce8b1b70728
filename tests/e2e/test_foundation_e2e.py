"""The foundation end to end: real webhook JSON over HTTP into `dancebot serve`, replies delivered by
`dancebot worker` to a fake Telegram Bot API, audit rows in real PostgreSQL (issue 2)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dancebot.channels.telegram_updates import (
    callback_update,
    contact_update,
    edited_update,
    my_chat_member_update,
    sticker_update,
    text_update,
    voice_update,
)
from dancebot.conversation.session import SessionStore
from dancebot.runtime import Runtime
from dancebot.storage.tables import dead_letter_messages, errors
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN, WEBHOOK_SECRET
from tests.e2e.helpers import message_rows, quiet, replies
from tests.e2e.stack import Stack
from tests.fakes.telegram import FakeTelegram
from tests.stack_fixtures import CRM_KEY

pytestmark = pytest.mark.e2e


async def test_greeting_and_faq_are_answered_from_the_kb(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    assert stack.post(text_update(stack.next_id(), chat_id, 1, "Привет!")).status_code == 200
    first = await replies(tg, chat_id, 1)
    assert "Ритм" in first[0]
    stack.post(text_update(stack.next_id(), chat_id, 2, "что взять на первое занятие?"))
    second = await replies(tg, chat_id, 2)
    assert "удобную одежду" in second[1].lower()


async def test_unknown_question_gets_the_admin_placeholder(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    stack.post(text_update(stack.next_id(), chat_id, 1, "а у вас можно арендовать зал под свадьбу?"))
    assert "Уточню у администратора" in (await replies(tg, chat_id))[0]


async def test_every_inbound_and_outbound_text_is_a_row_with_its_trace(
    stack: Stack, tg: FakeTelegram, chat_id: int, rt: Runtime
) -> None:
    stack.post(text_update(stack.next_id(), chat_id, 1, "здравствуйте"))
    await replies(tg, chat_id)
    rows = await message_rows(rt.db, chat_id, 2)
    assert [(r.direction, r.text is not None) for r in rows] == [("in", True), ("out", True)]
    assert rows[0].text == "здравствуйте"
    assert rows[0].trace_id and rows[0].trace_id == rows[1].trace_id


@pytest.mark.parametrize(
    ("secret", "status"), [(None, 401), ("wrong-secret", 401), ("", 401)], ids=["missing", "wrong", "empty"]
)
async def test_bad_secret_is_401_and_nothing_is_stored(
    stack: Stack, tg: FakeTelegram, chat_id: int, rt: Runtime, secret: str | None, status: int
) -> None:
    headers = {} if secret is None else {"X-Telegram-Bot-Api-Secret-Token": secret}
    r = httpx.post(
        f"{stack.base_url}/webhook/telegram", json=text_update(stack.next_id(), chat_id, 1, "привет"), headers=headers
    )
    assert r.status_code == status
    assert await quiet(tg, chat_id, 0.5) == []
    assert await message_rows(rt.db, chat_id, 1, timeout=1.0) == []


async def test_garbage_bodies_get_specific_4xx(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    assert stack.post(b"{not json").status_code == 400
    huge = json.dumps(text_update(stack.next_id(), chat_id, 1, "х" * (1024 * 1024)))
    assert stack.post(huge).status_code == 413
    assert await quiet(tg, chat_id, 0.3) == []


@pytest.mark.parametrize(
    "body",
    [
        {"hello": "world", "marker": None},
        {"update_id": 5, "message": {"text": "no chat", "marker": None}},
        {"update_id": 6, "message": {"message_id": {"text": {}}, "date": 1, "chat": {"id": 1}, "marker": None}},
        [{"marker": None}, "not an update"],
    ],
    ids=["foreign-json", "message-without-chat", "message-id-object", "list"],
)
async def test_json_that_is_no_update_is_acknowledged_and_kept_for_inspection(
    stack: Stack, rt: Runtime, body: object
) -> None:
    """SPEC §4: with the right secret, an unreadable update gets 200 (a 4xx would make Telegram retry it and
    hold the chat's later updates back), is logged, and its body is kept in an `errors` row."""
    marker = f"unreadable-{time.monotonic_ns()}"
    sent = json.loads(json.dumps(body).replace("null", json.dumps(marker)))
    r = stack.post(sent)
    assert r.status_code == 200 and r.json()["ignored"] is True
    rows: list[Any] = []
    for _ in range(100):
        async with rt.db.connect() as conn:
            found = await conn.execute(select(errors).where(errors.c.kind == "unreadable_update"))
            rows = [row for row in found.all() if marker in row.details["raw"]]
        if rows:
            break
        await asyncio.sleep(0.1)
    assert len(rows) == 1 and rows[0].source == "telegram" and rows[0].message.startswith(("not a", "malformed"))


async def test_update_kinds_we_dont_handle_are_acknowledged_and_ignored(
    stack: Stack, tg: FakeTelegram, chat_id: int
) -> None:
    r = stack.post(my_chat_member_update(stack.next_id(), chat_id))
    assert r.status_code == 200 and r.json()["ignored"] is True
    assert await quiet(tg, chat_id, 0.5) == []


async def test_replayed_old_message_is_dropped_silently(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    r = stack.post(text_update(stack.next_id(), chat_id, 1, "привет", date=int(time.time()) - 301))
    assert r.status_code == 200 and r.json()["result"] == "replay"
    assert await quiet(tg, chat_id, 0.5) == []


async def test_dedup_is_per_chat(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    other = chat_id + 500_000
    update = text_update(stack.next_id(), chat_id, 7, "привет")
    assert stack.post(update).json()["result"] == "pass"
    assert stack.post(update).json()["result"] == "duplicate"  # Telegram redelivers the same update
    assert stack.post(text_update(stack.next_id(), other, 7, "привет")).json()["result"] == "pass"
    await replies(tg, other)
    assert len(await quiet(tg, chat_id, 0.5)) == 1


async def test_more_than_five_messages_in_ten_seconds_are_dropped(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    results = [stack.post(text_update(stack.next_id(), chat_id, i, f"привет {i}")).json()["result"] for i in range(8)]
    assert results == ["pass"] * 5 + ["spam"] * 3
    await replies(tg, chat_id, 5)
    assert len(await quiet(tg, chat_id, 0.5)) == 5


@pytest.mark.parametrize("builder", [sticker_update, voice_update], ids=["sticker", "voice"])
async def test_non_text_gets_the_text_only_reply(stack: Stack, tg: FakeTelegram, chat_id: int, builder: object) -> None:
    stack.post(builder(stack.next_id(), chat_id, 1))  # type: ignore[operator]
    assert (await replies(tg, chat_id))[0].startswith("Я понимаю только текст")


async def test_edits_and_contacts_are_recorded_as_such(
    stack: Stack, tg: FakeTelegram, chat_id: int, rt: Runtime
) -> None:
    stack.post(text_update(stack.next_id(), chat_id, 1, "привет"))
    await replies(tg, chat_id, 1)
    stack.post(edited_update(stack.next_id(), chat_id, 1, "привет!!"))
    stack.post(contact_update(stack.next_id(), chat_id, 2, "79991234567"))
    await replies(tg, chat_id, 3)
    rows = [r for r in await message_rows(rt.db, chat_id, 6) if r.direction == "in"]
    assert [(r.message_type, r.is_edit) for r in rows] == [("text", False), ("text", True), ("contact", False)]
    assert rows[2].text == "+79991234567"


async def test_button_taps_are_answered(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    cb_id = f"cb-{chat_id}"
    stack.post(callback_update(stack.next_id(), chat_id, 100, "menu:prices", callback_id=cb_id))
    await replies(tg, chat_id)
    assert any(a.callback_query_id == cb_id for a in tg.callback_answers)


async def test_admin_chat_commands_reach_the_client(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    stack.post(text_update(stack.next_id(), chat_id, 1, "привет"))
    await replies(tg, chat_id, 1)
    since = tg.sent[-1].seq
    stack.post(text_update(stack.next_id(), ADMIN_CHAT_ID, stack.next_id(), f"/reply {chat_id} Да, можно перенести"))
    assert (await replies(tg, chat_id, 2))[1] == "Администратор: Да, можно перенести"
    stack.post(text_update(stack.next_id(), ADMIN_CHAT_ID, stack.next_id(), "/reply"))
    admin = await replies(tg, ADMIN_CHAT_ID, 2, since=since)
    assert "/reply" in admin[-1] and "/close" in admin[-1]


async def test_one_chat_is_processed_one_message_at_a_time(
    stack: Stack, tg: FakeTelegram, chat_id: int, stack_sessions: SessionStore
) -> None:
    updates = [text_update(stack.next_id(), chat_id, i, f"вопрос номер {i}") for i in range(1, 5)]
    await asyncio.gather(*(asyncio.to_thread(stack.post, u) for u in updates))
    await replies(tg, chat_id, 4)
    session = await stack_sessions.load("telegram", chat_id)
    assert sorted(session.history) == sorted(f"вопрос номер {i}" for i in range(1, 5))  # no update lost


async def test_429_is_retried_after_retry_after_and_403_goes_to_dead_letters(
    stack: Stack, tg: FakeTelegram, chat_id: int, rt: Runtime
) -> None:
    tg.fail_next(chat_id, n=1, kind="429", retry_after=1)
    stack.post(text_update(stack.next_id(), chat_id, 1, "привет"))
    delivered = await tg.wait_for(chat_id, 1, timeout=10)
    failed = [c for c in tg.calls if c.status == 429 and str(c.params.get("chat_id")) == str(chat_id)]
    assert failed and delivered[0].received_at - failed[0].received_at >= 0.9

    blocked = chat_id + 1_000_000
    tg.block(blocked)
    stack.post(text_update(stack.next_id(), blocked, 1, "привет"))
    deadline = time.monotonic() + 10
    rows: list[object] = []
    while not rows and time.monotonic() < deadline:
        async with rt.db.connect() as conn:
            rows = list(
                (
                    await conn.execute(select(dead_letter_messages).where(dead_letter_messages.c.chat_id == blocked))
                ).all()
            )
        await asyncio.sleep(0.2)
    assert len(rows) == 1 and rows[0].attempts == 1 and "blocked" in rows[0].last_error
    assert len([c for c in tg.calls if c.status == 403 and str(c.params.get("chat_id")) == str(blocked)]) == 1


async def test_health_reports_components(stack: Stack) -> None:
    r = httpx.get(f"{stack.base_url}/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok" and body["redis"] == "ok" and "crm" in body


async def test_logs_never_hold_secrets_or_a_full_phone(stack: Stack, tg: FakeTelegram, chat_id: int) -> None:
    stack.post(text_update(stack.next_id(), chat_id, 1, "мой телефон 8 (999) 765-43-21, перезвоните"))
    stack.post(contact_update(stack.next_id(), chat_id, 2, "79997654321"))
    await replies(tg, chat_id, 2)
    await asyncio.sleep(0.5)
    logs = stack.log_text()
    assert '"trace_id"' in logs
    for secret in (BOT_TOKEN, BOT_TOKEN.split(":")[1], WEBHOOK_SECRET, CRM_KEY, "79997654321", "999) 765-43-21"):
        assert secret not in logs, secret
    assert "+7999****321" in logs
