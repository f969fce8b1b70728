"""Reminders to WhatsApp clients and the 24-hour window (PRODUCT.md §10.2, §10.3): inside it the reminder is
a plain message; outside it the approved template, else the client's Telegram chat (linked by phone), else
a dead letter and the admin told — through reminders.send_due and the real worker, on real Redis/Postgres."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from dancebot.conversation.session import Profile
from dancebot.outbound import reminders, window
from dancebot.outbound.senders import Sender, TelegramSender
from dancebot.outbound.whatsapp import WhatsAppSender
from dancebot.outbound.worker import OutboundWorker
from dancebot.runtime import Runtime
from dancebot.storage.audit import flush_audit
from dancebot.storage.tables import dead_letter_messages, messages
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN
from tests.factories import TZ, occ
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp
from tests.whatsapp.harness import WA_TOKEN

NUMBER = "79537200001"
CHAT = int(NUMBER)
TG_CHAT = 7_200_001  # the same client's Telegram chat
CLASS = occ(303, "2026-12-05", "19:00", 11, 101, 2)  # Sat 19:00, High Heels with Настя, Гоголя
KLASS = "High Heels (Настя), Гоголя, ул. Гоголя, 41, ТЦ «Гоголь», 2 этаж"  # the class and where it is
BOOKED_AT = dt.datetime(2026, 12, 2, 15, 0, tzinfo=TZ)
DAY_BEFORE = (CLASS.start - dt.timedelta(hours=24)).timestamp()
TWO_HOURS = (CLASS.start - dt.timedelta(hours=2)).timestamp()


@pytest.fixture
def fake() -> FakeWhatsApp:
    return FakeWhatsApp(access_token=WA_TOKEN)


@pytest.fixture
def tg(fake_tg: tuple[FakeTelegram, str]) -> FakeTelegram:
    return fake_tg[0]


def approving(rt: Runtime, names: str) -> Runtime:
    import dataclasses

    return dataclasses.replace(rt, settings=rt.settings.model_copy(update={"whatsapp_approved_templates": names}))


async def run(rt: Runtime, fake: FakeWhatsApp, tg_url: str, now: float) -> None:
    """Due reminders queued, then one burst of the worker (a Telegram fallback job included)."""
    senders: dict[str, Sender] = {
        "whatsapp": WhatsAppSender(rt, transport=httpx.ASGITransport(app=fake.app)),
        "telegram": TelegramSender(BOT_TOKEN, tg_url),
    }
    for s in senders.values():
        await s.start()
    try:
        assert await reminders.send_due(rt, now=now) == 1
        worker = OutboundWorker(rt.redis, senders, rt.audit)
        await worker.drain()
        await worker.drain()  # what the first burst queued (the Telegram copy, the admin alert)
    finally:
        for s in senders.values():
            await s.close()
    await flush_audit(rt.redis, rt.db)


async def booked(rt: Runtime) -> None:
    await reminders.schedule(rt, channel="whatsapp", chat_id=CHAT, occurrence=CLASS, name="Анна", lang="ru",
                             now=BOOKED_AT)  # fmt: skip


async def wrote(rt: Runtime, fake: FakeWhatsApp, hours_ago: float) -> None:
    at = time.time() - hours_ago * 3600
    await window.touch(rt.redis, CHAT, at)
    fake.note_inbound(NUMBER, at)


async def rows(rt: Runtime, table: Any) -> list[Any]:
    async with rt.db.connect() as conn:
        return list((await conn.execute(select(table).order_by(table.c.id))).all())


@pytest.fixture
async def seq(tg: FakeTelegram) -> AsyncIterator[int]:
    yield tg.sent[-1].seq if tg.sent else 0


async def test_inside_the_window_the_reminder_is_a_plain_message(
    wa_rt: Runtime, fake: FakeWhatsApp, fake_tg: tuple[FakeTelegram, str]
) -> None:
    rt = approving(wa_rt, "lesson_reminder_24h,lesson_reminder_2h")
    await booked(rt)
    await wrote(rt, fake, hours_ago=3)
    await run(rt, fake, fake_tg[1], DAY_BEFORE + 60)
    (sent,) = fake.sent_to(NUMBER)
    assert sent.kind == "text" and "завтра" in sent.text and "Гоголя, 41" in sent.text


async def test_outside_the_window_the_approved_template_goes_out_with_its_parameters(
    wa_rt: Runtime, fake: FakeWhatsApp, fake_tg: tuple[FakeTelegram, str]
) -> None:
    rt = approving(wa_rt, "lesson_reminder_24h,lesson_reminder_2h")
    await booked(rt)
    await wrote(rt, fake, hours_ago=30)
    await run(rt, fake, fake_tg[1], DAY_BEFORE + 60)
    await run(rt, fake, fake_tg[1], TWO_HOURS + 10)
    day, soon = fake.sent_to(NUMBER)
    assert (day.template, day.params) == ("lesson_reminder_24h", ("Анна", "19:00", KLASS))
    assert day.text == f"Здравствуйте, Анна! Напоминаем: завтра в 19:00 у вас занятие — {KLASS}. Ждём вас!"
    assert (soon.template, soon.params) == ("lesson_reminder_2h", ("Анна", KLASS))
    assert fake.failed == [] and await rows(rt, dead_letter_messages) == []


async def test_without_approval_the_reminder_reaches_the_clients_telegram(
    wa_rt: Runtime, fake: FakeWhatsApp, fake_tg: tuple[FakeTelegram, str], tg: FakeTelegram, seq: int
) -> None:
    rt = approving(wa_rt, "lesson_reminder_2h")  # the 24 h template still awaits Meta
    await booked(rt)
    await wrote(rt, fake, hours_ago=30)
    # a chat where someone merely typed Анна's number (a duplicate, a request left for the admin) is not hers
    await rt.sessions.save_profile("telegram", TG_CHAT - 1, Profile(name="Кто-то", phone=f"+{NUMBER}"))
    await rt.sessions.save_profile(
        "telegram", TG_CHAT, Profile(name="Анна", phone=f"+{NUMBER}", own_phone=f"+{NUMBER}")
    )
    await rt.sessions.save_profile("telegram", TG_CHAT + 1, Profile(name="Оля", phone="+79537299999"))
    await run(rt, fake, fake_tg[1], DAY_BEFORE + 60)
    assert tg.sent_to(TG_CHAT - 1, seq) == []
    assert fake.sent_to(NUMBER) == [] and fake.calls == []  # nothing was even tried on WhatsApp
    (reminder,) = await tg.wait_for(TG_CHAT, 1, since=seq)
    assert "завтра" in reminder.text and "High Heels" in reminder.text and "Гоголя, 41" in reminder.text
    assert tg.sent_to(ADMIN_CHAT_ID, seq) == []
    logged = [r for r in await rows(rt, messages) if r.chat_id == TG_CHAT]
    assert [(r.channel, r.direction, r.state) for r in logged] == [("telegram", "out", "WA_FALLBACK")]


async def test_without_approval_or_telegram_it_is_recorded_and_the_admin_told(
    wa_rt: Runtime, fake: FakeWhatsApp, fake_tg: tuple[FakeTelegram, str], tg: FakeTelegram, seq: int
) -> None:
    await booked(wa_rt)  # WHATSAPP_APPROVED_TEMPLATES is empty
    await wrote(wa_rt, fake, hours_ago=30)
    await run(wa_rt, fake, fake_tg[1], DAY_BEFORE + 60)
    assert fake.calls == []
    (dead,) = await rows(wa_rt, dead_letter_messages)
    assert (dead.channel, dead.chat_id, dead.payload["purpose"]) == ("whatsapp", CHAT, "reminder")
    assert "lesson_reminder_24h not approved" in dead.last_error
    (alert,) = await tg.wait_for(ADMIN_CHAT_ID, 1, since=seq)
    assert f"wa:{NUMBER}" in alert.text and "lesson_reminder_24h" in alert.text and "Гоголя, 41" in alert.text


async def test_a_client_who_never_wrote_on_whatsapp_is_outside_the_window(
    wa_rt: Runtime, fake: FakeWhatsApp, fake_tg: tuple[FakeTelegram, str]
) -> None:
    rt = approving(wa_rt, "lesson_reminder_24h")
    await booked(rt)
    await run(rt, fake, fake_tg[1], DAY_BEFORE + 60)
    assert [m.template for m in fake.sent_to(NUMBER)] == ["lesson_reminder_24h"]


async def test_the_window_follows_the_last_message_and_ignores_older_redeliveries(wa_rt: Runtime) -> None:
    now = time.time()
    assert not await window.is_open(wa_rt.redis, CHAT)
    await window.touch(wa_rt.redis, CHAT, now - 23 * 3600)
    assert await window.is_open(wa_rt.redis, CHAT)
    assert not await window.is_open(wa_rt.redis, CHAT, now=now + 3600)  # 24 h after that message
    await window.touch(wa_rt.redis, CHAT, now - 60)
    await window.touch(wa_rt.redis, CHAT, now - 20 * 3600)  # a late redelivery of an older message
    assert await window.last_inbound(wa_rt.redis, CHAT) == pytest.approx(now - 60)
    await window.close(wa_rt.redis, CHAT)
    assert not await window.is_open(wa_rt.redis, CHAT)
