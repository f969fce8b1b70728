"""The WhatsApp sender through the real worker against the fake Graph API (PRODUCT.md §10): text, reply
buttons or a list where Telegram has inline buttons, Meta's error codes — on real Redis and PostgreSQL.
(The 80 sends a second are the queue's shared limit, `ratelimit.py`: one job is one send.)"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dancebot.outbound import window
from dancebot.outbound.messages import Button, OutboundJob
from dancebot.outbound.queue import enqueue
from dancebot.outbound.senders import Sender, TelegramSender
from dancebot.outbound.whatsapp import WhatsAppSender
from dancebot.outbound.whatsapp_status import sent_key
from dancebot.outbound.worker import OutboundWorker
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import dead_letter_messages
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp
from tests.whatsapp.harness import WA_TOKEN

NUMBER = "79537100001"
CHAT = int(NUMBER)


@pytest.fixture
def fake() -> FakeWhatsApp:
    return FakeWhatsApp(access_token=WA_TOKEN)


@pytest.fixture
async def worker(
    wa_rt: Runtime, fake: FakeWhatsApp, fake_tg: tuple[FakeTelegram, str]
) -> AsyncIterator[OutboundWorker]:
    senders: dict[str, Sender] = {
        "whatsapp": WhatsAppSender(wa_rt, transport=httpx.ASGITransport(app=fake.app)),
        "telegram": TelegramSender(BOT_TOKEN, fake_tg[1]),
    }
    for s in senders.values():
        await s.start()
    try:
        yield OutboundWorker(wa_rt.redis, senders, wa_rt.audit)
    finally:
        for s in senders.values():
            await s.close()


async def client_wrote(rt: Runtime, fake: FakeWhatsApp, hours_ago: float = 0.0) -> None:
    at = time.time() - hours_ago * 3600
    await window.touch(rt.redis, CHAT, at)
    fake.note_inbound(NUMBER, at)


def job(text: str, **fields: Any) -> OutboundJob:
    return OutboundJob(channel="whatsapp", chat_id=CHAT, text=text, trace_id="trace-wa-sender", **fields)


async def deliver(rt: Runtime, worker: OutboundWorker, *jobs: OutboundJob) -> None:
    await enqueue(rt.redis, *jobs)
    await worker.drain()


async def dead_letters(rt: Runtime) -> list[Any]:
    await flush_audit(rt.redis, rt.db)
    async with rt.db.connect() as conn:
        return list((await conn.execute(select(dead_letter_messages).order_by(dead_letter_messages.c.id))).all())


def style_buttons(*names: str) -> tuple[tuple[Button, ...], ...]:
    return tuple((Button(text=n, data=f"style:{n.lower()}"),) for n in names)


async def test_a_reply_in_the_window_is_a_text_and_its_wamid_is_remembered(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker
) -> None:
    await client_wrote(wa_rt, fake)
    await deliver(wa_rt, worker, job("Здравствуйте! Это «Ритм» 💃", request_contact=True))  # no such button here
    (sent,) = fake.sent_to(NUMBER)
    assert (sent.kind, sent.text) == ("text", "Здравствуйте! Это «Ритм» 💃")
    assert await wa_rt.redis.get(sent_key(sent.wamid))  # statuses can be matched to the job


async def test_up_to_three_short_choices_are_reply_buttons(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker
) -> None:
    await client_wrote(wa_rt, fake)
    yes_no = ((Button(text="Да, записать", data="yes"), Button(text="Нет, изменить", data="no")),)
    await deliver(wa_rt, worker, job("Проверьте, пожалуйста:\n…\nВсё верно?", buttons=yes_no))
    (sent,) = fake.sent_to(NUMBER)
    assert sent.kind == "button" and sent.choices == (("yes", "Да, записать"), ("no", "Нет, изменить"))


async def test_four_choices_or_long_labels_become_a_list(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker
) -> None:
    await client_wrote(wa_rt, fake)
    dates = (  # as render.occ_button labels them: 22 characters, too long for a reply button
        (Button(text="Сб 05.12 19:00, Гоголя", data="pick:303:2026-12-05"),),
        (Button(text="Ср 09.12 19:00, Гоголя", data="pick:303:2026-12-09"),),
        (Button(text="Сб 05.12 12:00 Contemporary, Центр", data="pick:310:2026-12-05"),),  # with the style
    )
    await deliver(
        wa_rt,
        worker,
        job("На какое направление хотите?", buttons=style_buttons("High Heels", "Hip-Hop", "Contemporary", "Сальса")),
        job("Нашла несколько вариантов — какой подходит?", buttons=dates),
    )
    styles, times = fake.sent_to(NUMBER)
    assert styles.kind == "list" and [t for _, t in styles.choices] == [
        "High Heels",
        "Hip-Hop",
        "Contemporary",
        "Сальса",
    ]
    assert styles.body["interactive"]["action"]["button"] == "Выбрать"
    rows = times.body["interactive"]["action"]["sections"][0]["rows"]
    assert times.kind == "list" and rows == [
        {"id": "pick:303:2026-12-05", "title": "Сб 05.12 19:00, Гоголя"},
        {"id": "pick:303:2026-12-09", "title": "Ср 09.12 19:00, Гоголя"},
        {"id": "pick:310:2026-12-05", "title": "Сб 05.12 12:00…", "description": "Сб 05.12 12:00 Contemporary, Центр"},
    ]


async def test_more_than_ten_choices_show_the_first_ten(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker
) -> None:
    await client_wrote(wa_rt, fake)
    await deliver(wa_rt, worker, job("Выберите:", buttons=style_buttons(*(f"Стиль {i}" for i in range(12)))))
    (sent,) = fake.sent_to(NUMBER)
    assert len(sent.choices) == 10 and sent.choices[0][1] == "Стиль 0"


async def test_a_throughput_limit_is_retried_a_second_later(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker
) -> None:
    await client_wrote(wa_rt, fake)
    fake.fail_next(130429)
    await deliver(wa_rt, worker, job("Ближайшие занятия:"))  # the burst waits the second out
    refused, accepted = fake.calls
    assert (refused.status, accepted.status) == (400, 200) and accepted.at - refused.at >= 1.0
    assert [m.text for m in fake.sent_to(NUMBER)] == ["Ближайшие занятия:"] and await dead_letters(wa_rt) == []


async def test_a_pair_rate_limit_waits_six_seconds_for_that_client(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker
) -> None:
    await client_wrote(wa_rt, fake)
    fake.fail_next(131056)
    before = time.time()
    await deliver(wa_rt, worker, job("Ближайшие занятия:"))  # gives up waiting: 6 s is beyond its patience
    assert fake.sent_to(NUMBER) == [] and await dead_letters(wa_rt) == []
    due = await wa_rt.redis.zscore(keys.OUTBOUND_READY, f"whatsapp:{CHAT}")
    assert due is not None and due >= before + 6.0  # still queued, for later


@pytest.mark.parametrize("code", [131026, 132001, 100])
async def test_permanent_errors_are_dead_letters_at_once(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker, code: int
) -> None:
    await client_wrote(wa_rt, fake)
    fake.fail_next(code)
    await deliver(wa_rt, worker, job("Готово, вы записаны ✅"))
    assert len(fake.calls) == 1  # never tried again
    (row,) = await dead_letters(wa_rt)
    assert row.channel == "whatsapp" and row.chat_id == CHAT and row.attempts == 1
    assert f"whatsapp {code}" in row.last_error and row.payload["text"] == "Готово, вы записаны ✅"


async def test_a_server_error_follows_the_retry_ladder(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker
) -> None:
    await client_wrote(wa_rt, fake)
    fake.fail_next(131000)
    await deliver(wa_rt, worker, job("Ближайшие занятия:"))  # the first retry is due at once (0 s)
    assert [c.status for c in fake.calls] == [500, 200]
    assert [m.text for m in fake.sent_to(NUMBER)] == ["Ближайшие занятия:"]


async def test_meta_closing_the_window_131047_means_no_free_text_goes_out(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker, fake_tg: tuple[FakeTelegram, str]
) -> None:
    await client_wrote(wa_rt, fake)  # our record says open…
    fake.fail_next(131047)  # …Meta says closed
    since = fake_tg[0].sent[-1].seq if fake_tg[0].sent else 0
    await deliver(wa_rt, worker, job("Администратор: да, места есть", purpose="relay"))
    assert not await window.is_open(wa_rt.redis, CHAT)
    (row,) = await dead_letters(wa_rt)  # no template for a relayed answer, no Telegram: recorded…
    assert "24 h" in row.last_error
    (alert,) = await fake_tg[0].wait_for(ADMIN_CHAT_ID, 1, since=since)  # …and the admin told
    assert f"wa:{NUMBER}" in alert.text and "Администратор: да, места есть" in alert.text


async def test_a_tap_acknowledgement_is_nothing_on_whatsapp(
    wa_rt: Runtime, fake: FakeWhatsApp, worker: OutboundWorker
) -> None:
    await client_wrote(wa_rt, fake)
    await deliver(wa_rt, worker, job("", kind="callback_answer", callback_query_id="x"))
    assert fake.calls == [] and await dead_letters(wa_rt) == []
