"""A booking's reminders carry the phone it was booked with (PRODUCT.md §10.2): before sending, the worker
re-checks that very reservation in the CRM — not whatever phone the chat's profile holds by then (the
client may have booked since with another number, or for someone else). Through the real runner, real
Redis, the in-process fake CRM."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.session import Profile, Session
from dancebot.outbound import reminders
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys
from dancebot.wiring import Conversation
from tests.engine.conftest import NOW


async def talk(conv: Conversation, session: Session, *lines: str) -> list[OutboundJob]:
    jobs: list[OutboundJob] = []
    for n, text in enumerate(lines, 1):
        msg = UnifiedMessage(channel="telegram", chat_id=session.chat_id, message_id=f"m{n}", timestamp=NOW, text=text)
        jobs += await conv.runner.handle(msg, session)
    return jobs


async def scheduled(rt: Runtime) -> list[dict[str, Any]]:
    return [json.loads(m) for m in await rt.redis.zrange(keys.REMINDERS, 0, -1)]


@pytest.mark.parametrize(
    ("lines", "phone"),
    [
        (("хочу на хилс в субботу", "Анна 89141234567", "да"), "+79141234567"),
        (("запишите дочку на хилс в субботу", "Маша, мой номер +7 914 765-43-21", "да"), "+79147654321"),
    ],
)
async def test_the_reminders_carry_the_booking_phone_and_check_that_reservation(
    rt: Runtime, conv: Conversation, lines: tuple[str, ...], phone: str
) -> None:
    session = Session(channel="telegram", chat_id=71, language="ru")
    replies = await talk(conv, session, *lines)
    assert "записаны" in replies[-1].text.lower() or "записал" in replies[-1].text.lower(), replies[-1].text
    members = await scheduled(rt)
    assert members and {m["phone"] for m in members} == {phone}

    # Later the chat's profile holds another number (another booking, another person)…
    await rt.sessions.save_profile("telegram", 71, Profile(name="Анна", phone="+79140000099"))
    start = await _start_of(conv, members[0]["occurrence_id"])
    due = (start - dt.timedelta(hours=24)).timestamp() + 60
    # …and the reservation made with `phone` still stands: the reminder goes.
    assert await reminders.send_due(rt, now=due, crm=conv.crm) == 1


async def test_a_reservation_gone_from_the_crm_drops_its_reminder(rt: Runtime, conv: Conversation) -> None:
    assert conv.fake_crm is not None
    session = Session(channel="telegram", chat_id=72, language="ru")
    await talk(conv, session, "хочу на хилс в субботу", "Анна 89141234567", "да")
    [first, *_] = await scheduled(rt)
    client = await conv.crm.find_client("+79141234567")
    assert client is not None
    for r in conv.fake_crm.active_reservations(client_id=client.id):
        r["archived"] = True  # the administrator cancelled it in the CRM itself
    start = await _start_of(conv, first["occurrence_id"])
    assert await reminders.send_due(rt, now=(start - dt.timedelta(hours=24)).timestamp() + 60, crm=conv.crm) == 0


async def _start_of(conv: Conversation, occurrence_id: str) -> dt.datetime:
    occ = await conv.crm.occurrence(occurrence_id, NOW)
    assert occ is not None
    return occ.start
