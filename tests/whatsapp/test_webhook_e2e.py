"""`/webhook/whatsapp` of the running `dancebot serve` + `dancebot worker` (PRODUCT.md §3.2, §4): Meta's
verification, the body signature, non-text messages, two messages in one payload, a duplicate wamid, an
old redelivery, statuses coming back from the fake Graph API."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.channels import whatsapp_payloads as wa
from dancebot.conversation.session import SessionStore
from dancebot.outbound.whatsapp_status import status_key
from dancebot.runtime import connect_redis
from dancebot.storage import db
from dancebot.storage.tables import errors, messages
from tests.conftest import ADMIN_CHAT_ID, Servers
from tests.e2e.stack import Stack
from tests.fakes.whatsapp import FakeWhatsApp
from tests.whatsapp.harness import WA_VERIFY, WaClient, new_number, post_signed, wa_redis_url

pytestmark = pytest.mark.e2e

TEXT_ONLY = "Я понимаю только текст"


@pytest.fixture
async def database(servers: Servers) -> AsyncIterator[AsyncEngine]:
    engine = db.create_engine(servers.database_url)
    yield engine
    await engine.dispose()


async def rows_of(engine: AsyncEngine, table: object, where: object, count: int) -> list[object]:
    """Rows once the worker has written at least `count` of them (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        async with engine.connect() as conn:
            found = list((await conn.execute(select(table).where(where))).all())  # type: ignore[call-overload]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


# ---- verification ----------------------------------------------------------------------------------


def verify(stack: Stack, **params: str) -> httpx.Response:
    return httpx.get(f"{stack.base_url}/webhook/whatsapp", params=params, timeout=10)


def test_verification_echoes_the_challenge_for_the_right_token(wa_stack: Stack) -> None:
    response = verify(
        wa_stack, **{"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200 and response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong-token", "hub.challenge": "1158201444"},
        {"hub.mode": "subscribe", "hub.verify_token": WA_VERIFY[:-1], "hub.challenge": "1158201444"},
        {"hub.mode": "unsubscribe", "hub.verify_token": WA_VERIFY, "hub.challenge": "1158201444"},
        {"hub.challenge": "1158201444"},
    ],
)
def test_verification_is_refused_otherwise(wa_stack: Stack, params: dict[str, str]) -> None:
    response = verify(wa_stack, **params)
    assert response.status_code == 403 and "1158201444" not in response.text


# ---- signatures ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["wrong secret", "modified body", "missing header"])
async def test_a_bad_signature_is_refused_and_nothing_is_stored(
    wa_stack: Stack, fake_wa: FakeWhatsApp, servers: Servers, wa_sessions: SessionStore, case: str
) -> None:
    number = new_number()
    body = json.dumps(wa.payload([wa.text(number, "хочу записаться на хилс")]), ensure_ascii=False).encode()
    signature: str | None = wa.sign(body, "not-the-app-secret")
    if case == "modified body":
        signature = wa.sign(body, "whatsapp-app-secret-for-tests-9d2e")
        body = body.replace("хилс".encode(), "сальсу".encode())
    elif case == "missing header":
        signature = None
    response = await asyncio.to_thread(post_signed, wa_stack, body, signature)
    assert response.status_code == 401
    await asyncio.sleep(0.5)
    assert fake_wa.sent_to(number) == []
    redis = connect_redis(wa_redis_url(servers))
    try:
        assert [k async for k in redis.scan_iter(match=f"*{number}*")] == []  # no session, dedup mark or window
    finally:
        await redis.aclose()
    assert (await wa_sessions.load("whatsapp", int(number))).history == []


@pytest.mark.parametrize(
    "body", [{"object": "page", "entry": []}, {"entry": "not a list"}, {"object": "whatsapp_business_account"}]
)
async def test_a_signed_payload_we_cannot_read_is_acknowledged_and_kept(
    wa_stack: Stack, database: AsyncEngine, body: dict[str, object]
) -> None:
    """200, or Meta redelivers it for days; its body is kept in an `errors` row for inspection (SPEC §4)."""
    marker = f"unreadable-{time.monotonic_ns()}"
    raw = json.dumps({**body, "marker": marker}).encode()
    response = await asyncio.to_thread(post_signed, wa_stack, raw, wa.sign(raw, "whatsapp-app-secret-for-tests-9d2e"))
    assert response.status_code == 200 and response.json()["ignored"] is True
    mine: list[object] = []
    for _ in range(100):
        found = await rows_of(database, errors, errors.c.kind == "unreadable_payload", 0)
        mine = [r for r in found if marker in r.details["raw"]]  # type: ignore[attr-defined]
        if mine:
            break
        await asyncio.sleep(0.1)
    assert len(mine) == 1 and mine[0].source == "whatsapp"  # type: ignore[attr-defined]


# ---- messages --------------------------------------------------------------------------------------


async def test_a_greeting_is_answered_within_200_characters(wa_client: WaClient, database: AsyncEngine) -> None:
    (greeting,) = await wa_client.say("Здравствуйте!")
    assert "Ритм" in greeting  # the harness checked ≤ 200 characters and the other rules
    found = await rows_of(database, messages, messages.c.chat_id == int(wa_client.number), 2)
    assert [(r.channel, r.direction) for r in found] == [("whatsapp", "in"), ("whatsapp", "out")]  # type: ignore[attr-defined]


async def test_non_text_gets_the_text_only_reply_one_each_in_order(new_wa_client: type[WaClient]) -> None:
    one, two = new_wa_client(), new_wa_client()
    first = [wa.media(one.number, k) for k in ("voice", "audio", "image", "sticker")]
    second = [wa.media(two.number, k, caption="что это?") for k in ("video", "document")] + [wa.location(two.number)]
    replies = await one.send_many(first, "> [voice, audio, image, sticker]")
    replies += await two.send_many(second, "> [video, document, location]")
    assert len(replies) == 7 and all(TEXT_ONLY in r for r in replies)


async def test_two_messages_in_one_payload_are_each_answered_in_order(wa_client: WaClient) -> None:
    replies = await wa_client.send_many(
        [wa.text(wa_client.number, "привет"), wa.text(wa_client.number, "что взять на первое занятие?")],
        "> привет / что взять на первое занятие?",
    )
    assert len(replies) == 2
    assert "Ритм" in replies[0] and "удобную одежду" in replies[1].lower()


async def test_a_duplicate_wamid_is_processed_once(wa_client: WaClient, fake_wa: FakeWhatsApp) -> None:
    item = wa.text(wa_client.number, "что взять на первое занятие?")
    await wa_client.send(item, "> что взять на первое занятие?")
    again = await wa_client.post(wa.payload([item]))  # Meta redelivers the same message
    assert again.status_code == 200 and again.json()["results"] == ["duplicate"]
    await asyncio.sleep(1.0)
    assert len(fake_wa.sent_to(wa_client.number)) == 1


async def test_an_old_redelivery_is_dropped_not_answered(wa_client: WaClient, fake_wa: FakeWhatsApp) -> None:
    old = wa.text(wa_client.number, "привет", ts=int(time.time()) - 600)
    response = await wa_client.post(wa.payload([old]))
    assert response.status_code == 200 and response.json()["results"] == ["replay"]
    await asyncio.sleep(1.0)
    assert fake_wa.sent_to(wa_client.number) == []


async def test_statuses_of_our_replies_come_back_and_are_recorded(
    wa_client: WaClient, fake_wa: FakeWhatsApp, servers: Servers
) -> None:
    await wa_client.say("привет")
    (reply,) = wa_client.last_replies
    redis = connect_redis(wa_redis_url(servers))
    try:
        deadline = time.monotonic() + 10
        while (record := await redis.hgetall(status_key(reply.wamid))).get(b"last") != b"delivered":
            assert time.monotonic() < deadline, f"no delivered status recorded: {record}"
            await asyncio.sleep(0.05)
    finally:
        await redis.aclose()
    assert b"sent" in record
    assert all(code == 200 for _, code in fake_wa.webhooks)  # the fake's status webhooks were accepted


async def test_a_failed_status_is_kept_with_its_code(wa_client: WaClient, database: AsyncEngine) -> None:
    await wa_client.say("привет")
    wamid = wa_client.last_replies[0].wamid
    failed = wa.status(wamid, wa_client.number, "failed", code=131026, title="Message undeliverable")
    assert (await wa_client.post(wa.payload(statuses=[failed]))).status_code == 200
    (row,) = await rows_of(database, errors, errors.c.details["wamid"].astext == wamid, 1)
    assert (row.source, row.kind, row.message) == ("whatsapp.status", "131026", "Message undeliverable")  # type: ignore[attr-defined]


async def test_a_reply_meta_refuses_as_out_of_window_reaches_the_admin(
    wa_client: WaClient, fake_wa: FakeWhatsApp
) -> None:
    """Our record says the window is open, Meta's does not (131047 in a failed status): the reply has no
    template and the client no Telegram, so it is recorded and the admin told."""
    item = wa.text(wa_client.number, "что взять на первое занятие?")
    raw = json.dumps(wa.payload([item]), ensure_ascii=False).encode()
    response = await asyncio.to_thread(post_signed, wa_client.stack, raw, wa.sign(raw, wa_client.app_secret))
    assert response.status_code == 200  # the fake never noted this message: for Meta the window is closed
    deadline = time.monotonic() + 15
    while not any(wa_client.number in m.text for m in wa_client.tg.sent_to(ADMIN_CHAT_ID, 0)):
        assert time.monotonic() < deadline, "the admin was not told"
        await asyncio.sleep(0.05)
    assert [f.code for f in fake_wa.failed if f.to == wa_client.number] == [131047]
    assert fake_wa.sent_to(wa_client.number) == []
    (alert,) = wa_client.admin_messages()
    assert "Не доставлено в WhatsApp" in alert and "удобную одежду" in alert.lower()


async def test_a_long_wamid_still_leaves_its_audit_row(wa_client: WaClient, database: AsyncEngine) -> None:
    """Meta's wamids are not of one length: ids of 80+ characters occur (a 32-hex-digit inner id)."""
    raw = (
        b"\x1c\x18\x0b"
        + wa_client.number.encode()
        + b"\x15\x02\x00\x12\x18\x20"
        + b"3EB0C767D71D4A5F9B2E1C8A7F6D5E4B"
        + b"\x00"
    )
    wamid = "wamid." + base64.b64encode(raw).decode()
    assert len(wamid) > 64
    await wa_client.send(wa.text(wa_client.number, "привет", wamid=wamid), "> привет (long wamid)")
    found = await rows_of(database, messages, messages.c.chat_id == int(wa_client.number), 2)
    assert [r.message_id for r in found if r.direction == "in"] == [wamid]  # type: ignore[attr-defined]
