"""The shared send-rate limits (PRODUCT.md §10.1) as the claim script applies them, on real Redis with the
clock passed in: Telegram 30/s overall and one message a second per chat after a burst of three,
WhatsApp 80/s, button-tap answers outside the per-chat limit, order kept per chat."""

from __future__ import annotations

import itertools

import pytest

from dancebot.outbound.messages import OutboundJob
from dancebot.outbound.queue import Claim, OutboundQueue, enqueue
from dancebot.outbound.ratelimit import TELEGRAM, WHATSAPP
from dancebot.runtime import Runtime

T0 = 1_800_000_000.0


@pytest.fixture
def queue(rt: Runtime) -> OutboundQueue:
    return OutboundQueue(rt.redis, "w1")


async def file_all(rt: Runtime, queue: OutboundQueue, *jobs: OutboundJob, now: float = T0) -> None:
    await enqueue(rt.redis, *jobs)
    assert await queue.route_all(now=now) == (len(jobs), 0)


async def send(queue: OutboundQueue, now: float) -> Claim | float:
    """Claim at `now` and, if a job came, acknowledge it at once (a send that took no time)."""
    got = await queue.claim(now=now)
    if isinstance(got, Claim):
        assert await queue.ack(got, OutboundJob.loads(got.raw).job_id, now=now)
    return got


def text(got: Claim | float) -> str:
    assert isinstance(got, Claim), f"nothing claimable, wait {got}"
    return OutboundJob.loads(got.raw).text


async def test_one_chat_gets_a_burst_of_three_then_one_message_a_second(rt: Runtime, queue: OutboundQueue) -> None:
    await file_all(rt, queue, *(OutboundJob(chat_id=1, text=f"ответ {i}") for i in range(6)))
    spacing = 1 / TELEGRAM.per_second
    sent = [text(await send(queue, T0 + i * spacing)) for i in range(3)]
    assert sent == ["ответ 0", "ответ 1", "ответ 2"]
    wait = await send(queue, T0 + 3 * spacing)
    assert isinstance(wait, float) and wait == pytest.approx(1.0 - 3 * spacing, abs=0.01)
    assert text(await send(queue, T0 + 1.0)) == "ответ 3"
    assert isinstance(await send(queue, T0 + 1.5), float)
    assert text(await send(queue, T0 + 2.0)) == "ответ 4"
    assert text(await send(queue, T0 + 3.0)) == "ответ 5"
    assert await send(queue, T0 + 4.0) == -1.0  # nothing waits


async def test_all_chats_together_get_thirty_a_second(rt: Runtime, queue: OutboundQueue) -> None:
    await file_all(rt, queue, *(OutboundJob(chat_id=100 + i, text="привет") for i in range(90)))
    sent_at: list[float] = []
    now = T0
    while len(sent_at) < 90:
        got = await send(queue, now)
        if isinstance(got, Claim):
            sent_at.append(now)
        else:
            assert got > 0
            now += got
    rate, burst = TELEGRAM.per_second, TELEGRAM.burst
    assert sent_at[-1] - sent_at[0] == pytest.approx((90 - burst) / rate, abs=0.01)
    for i, j in itertools.combinations(range(90), 2):  # any stretch: 30 a second plus the small burst
        assert j - i + 1 <= (sent_at[j] - sent_at[i]) * rate + burst + 1e-3


async def test_whatsapp_has_its_own_eighty_a_second(rt: Runtime, queue: OutboundQueue) -> None:
    telegram = [OutboundJob(chat_id=c, text=f"tg {c}") for c in (1, 2, 3)]
    whatsapp = [OutboundJob(chat_id=79991112200 + i, channel="whatsapp", text=f"wa {i}") for i in range(3)]
    await file_all(rt, queue, *telegram, *whatsapp)
    sent = [text(await send(queue, T0)) for _ in range(4)]
    assert sorted(sent) == ["tg 1", "tg 2", "wa 0", "wa 1"]  # each channel's burst, neither holding the other
    wait = await send(queue, T0)
    assert isinstance(wait, float) and wait == pytest.approx(1 / WHATSAPP.per_second, abs=1e-3)
    assert text(await send(queue, T0 + 1 / WHATSAPP.per_second)) == "wa 2"
    assert text(await send(queue, T0 + 1 / TELEGRAM.per_second)) == "tg 3"


async def test_a_button_answer_does_not_use_the_chats_allowance(rt: Runtime, queue: OutboundQueue) -> None:
    jobs = [OutboundJob(kind="callback_answer", chat_id=5, callback_query_id="cb")]
    jobs += [OutboundJob(chat_id=5, text=f"ответ {i}") for i in range(3)]
    await file_all(rt, queue, *jobs)
    kinds = []
    for i in range(4):
        got = await send(queue, T0 + i * 0.04)
        assert isinstance(got, Claim)
        kinds.append(OutboundJob.loads(got.raw).kind)
    assert kinds == ["callback_answer", "message", "message", "message"]


async def test_only_one_job_of_a_chat_is_in_flight(rt: Runtime, queue: OutboundQueue) -> None:
    other = OutboundQueue(rt.redis, "w2")
    await file_all(rt, queue, OutboundJob(chat_id=7, text="первое"), OutboundJob(chat_id=7, text="второе"))
    first = await queue.claim(now=T0)
    assert text(first) == "первое"
    assert await other.claim(now=T0 + 5) == -1.0  # the chat is busy until the first is acknowledged
    assert isinstance(first, Claim)
    await queue.ack(first, OutboundJob.loads(first.raw).job_id, now=T0 + 0.1)
    assert text(await other.claim(now=T0 + 5)) == "второе"


async def test_a_chat_filed_after_its_burst_waits_its_turn(rt: Runtime, queue: OutboundQueue) -> None:
    await file_all(rt, queue, *(OutboundJob(chat_id=9, text=f"ответ {i}") for i in range(3)))
    for i in range(3):
        await send(queue, T0 + i * 0.04)
    await file_all(rt, queue, OutboundJob(chat_id=9, text="ещё"), now=T0 + 0.2)
    wait = await send(queue, T0 + 0.2)
    assert isinstance(wait, float) and wait == pytest.approx(0.8, abs=0.01)
    assert text(await send(queue, T0 + 1.0)) == "ещё"


async def test_claiming_many_at_once_gives_each_chat_one_job_within_the_shared_limit(
    rt: Runtime, queue: OutboundQueue
) -> None:
    """The worker claims as many jobs as it has free places in one call: never two of one chat, never more
    than the channel's burst at one instant, and the next call sees the limit the batch used up."""
    jobs = [OutboundJob(chat_id=200 + i, text=f"привет {i}") for i in range(10)]
    jobs += [OutboundJob(chat_id=200, text="второе в тот же чат")]
    await file_all(rt, queue, *jobs)

    batch = await queue.claim_many(32, now=T0)

    assert isinstance(batch, list) and len(batch) == TELEGRAM.burst  # the channel's burst, not 32
    assert len({c.member for c in batch}) == len(batch)  # one job per chat
    assert [text(c) for c in batch] == [f"привет {i}" for i in range(len(batch))]  # oldest chats first
    wait = await queue.claim_many(32, now=T0)
    assert isinstance(wait, float) and wait == pytest.approx(1 / TELEGRAM.per_second, abs=1e-3)
    later = await queue.claim_many(2, now=T0 + 1.0)  # at most what was asked for
    assert isinstance(later, list) and len(later) == 2


async def test_claiming_many_never_hands_out_a_chats_next_job_while_one_is_in_flight(
    rt: Runtime, queue: OutboundQueue
) -> None:
    await file_all(rt, queue, *(OutboundJob(chat_id=300, text=f"ответ {i}") for i in range(3)))
    batch = await queue.claim_many(10, now=T0)
    assert isinstance(batch, list) and [text(c) for c in batch] == ["ответ 0"]
    assert await OutboundQueue(rt.redis, "w2").claim_many(10, now=T0 + 5) == -1.0  # the chat is busy
