"""Replicas: two `dancebot serve` and two `dancebot worker` processes on one Redis and one PostgreSQL, as
`docker compose up --scale app=2 --scale worker=2` or a Kubernetes Deployment would run them
(docs/ARCHITECTURE.md, Scaling). Clients' messages land on either app — and a webhook Telegram retries may
land on both at once — yet every message is answered once and every booking is made once."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator

import httpx
import pytest
from redis import Redis as SyncRedis

from dancebot.channels.telegram_updates import text_update
from dancebot.crm.fake import FakeImpulse
from dancebot.crm.models import normalize_phone
from dancebot.storage import keys
from tests.conftest import Servers
from tests.deploy.stacks import flush, own_redis_db, stack_env
from tests.e2e.stack import Stack, run_stack
from tests.fakes.telegram import FakeTelegram
from tests.fakes.whatsapp import FakeWhatsApp

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Whole bookings in two messages, in the clients' own words (the first names the class, the name and the phone).
SCRIPTS = [
    "хилс чт 20, Анна {phone}",
    "запишите к Диме на хип-хоп в четверг, меня зовут Артём, {phone}",
    "хип-хоп в пн в 18:00, Егор, {phone}",
    "здраствуйте, хачу на хилз в субботу, меня зовут Настя, {phone}",
    "сальса на следующей неделе в среду, Игорь, {phone}",
    "Здравствуйте! Запишите, пожалуйста, на сальсу в пятницу. Меня зовут Ирина, телефон {phone}",
]
CONFIRM = ["да", "да, всё верно", "ок", "подтверждаю", "да", "верно"]
CLIENTS = 12
_update_ids = itertools.count(7_700_000)


@pytest.fixture(scope="module")
def replicas(
    servers: Servers,
    fake_tg: tuple[FakeTelegram, str],
    fake_impulse: tuple[FakeImpulse, str],
    deploy_wa: tuple[FakeWhatsApp, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Stack, Stack]]:
    redis_url = own_redis_db(servers, 11)
    asyncio.run(flush(redis_url))
    env = stack_env(redis_url, servers, fake_tg[1], fake_impulse[1], deploy_wa[1])
    with (
        run_stack(env, tmp_path_factory.mktemp("replica-a")) as a,
        run_stack(env, tmp_path_factory.mktemp("replica-b")) as b,
    ):
        yield a, b


async def post(client: httpx.AsyncClient, stack: Stack, update: dict[str, object]) -> str:
    r = await client.post(
        f"{stack.base_url}/webhook/telegram", json=update, headers={"X-Telegram-Bot-Api-Secret-Token": stack.secret}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["result"])


async def book(client: httpx.AsyncClient, a: Stack, b: Stack, tg: FakeTelegram, i: int, since: int) -> list[str]:
    """One client: the request is delivered to both apps at once (a retried webhook), the yes to one."""
    chat, phone = 8_300_000_000 + i, f"8953{9_100_000 + i}"
    first = text_update(next(_update_ids), chat, 1, SCRIPTS[i % len(SCRIPTS)].format(phone=phone))
    verdicts = await asyncio.gather(post(client, a, first), post(client, b, first))
    assert sorted(verdicts) == ["duplicate", "pass"], verdicts  # exactly one app takes it
    await tg.wait_for(chat, 1, 20.0, since=since)
    await asyncio.sleep(0.3)  # a summary may come in more than one message
    yes = text_update(next(_update_ids), chat, 2, CONFIRM[i % len(CONFIRM)])
    assert await post(client, b if i % 2 else a, yes) == "pass"
    count = len(tg.sent_to(chat, since)) + 1
    return [m.text for m in await tg.wait_for(chat, count, 20.0, since=since)]


def reservations_of(crm: FakeImpulse, phone: str) -> list[tuple[int, int]]:
    e164 = normalize_phone(phone)
    phones = {cid: {normalize_phone(p) for p in _as_list(c.get("phone"))} for cid, c in list(crm.clients.items())}
    ids = {cid for cid, numbers in phones.items() if e164 in numbers}
    return [
        (r["schedule"]["id"], r["date"])
        for r in list(crm.reservations.values())
        if r["client"]["id"] in ids and not r["deleted"] and not r["archived"]
    ]


def _as_list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


async def test_two_apps_and_two_workers_answer_each_message_once_and_book_once(
    replicas: tuple[Stack, Stack], fake_tg: tuple[FakeTelegram, str], crm: FakeImpulse
) -> None:
    a, b = replicas
    tg = fake_tg[0]
    since = tg.sent[-1].seq if tg.sent else 0
    redis = SyncRedis.from_url(a.redis_url)
    try:
        assert len(list(redis.scan_iter(match=f"{keys.WORKER_ALIVE_PREFIX}*"))) == 2  # both workers heartbeat
    finally:
        redis.close()

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(book(client, a, b, tg, i, since) for i in range(CLIENTS)))
    for _ in range(200):  # up to 20 s for the last sends
        if a.outbound_drained():
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)  # anything sent twice would arrive now

    for i in range(CLIENTS):
        chat, phone = 8_300_000_000 + i, f"8953{9_100_000 + i}"
        texts = [m.text for m in tg.sent_to(chat, since)]
        doubled = [t for t, n in Counter(texts).items() if n > 1]
        assert not doubled, f"client {i} got a reply twice: {doubled}"
        assert len(reservations_of(crm, phone)) == 1, (i, texts, reservations_of(crm, phone))
    for stack in (a, b):  # the load really was shared: each app ran turns
        assert '"inbound.message"' in stack.log_text()
        for name, proc in stack.procs.items():
            assert proc.poll() is None, f"{name} died"
