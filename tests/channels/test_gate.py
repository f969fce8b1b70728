"""The gate against real Redis: replay window, per-chat dedup, spam limit (PRODUCT.md §4).

Every check gets an explicit `now`, so window boundaries are exact and no test sleeps. Each test runs
twice: against `gate.check` (admin commands, tools) and against `inbox.accept_checked`, the webhook's
one-round-trip check-and-accept, which must give the same verdicts and accept only what passes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest

from dancebot.channels import gate
from dancebot.channels.gate import Verdict
from dancebot.channels.message import MessageType, UnifiedMessage
from dancebot.conversation import inbox
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.storage import keys

CHAT = 700_000_001
OTHER_CHAT = 700_000_002


def message(
    chat_id: int,
    message_id: int | str,
    *,
    sent_at: float,
    kind: MessageType = "text",
    is_edit: bool = False,
) -> UnifiedMessage:
    return UnifiedMessage(
        channel="telegram",
        chat_id=chat_id,
        message_id=str(message_id),
        timestamp=datetime.fromtimestamp(sent_at, UTC),
        text="привет" if kind == "text" else None,
        message_type=kind,
        is_edit=is_edit,
        callback_data="menu:prices" if kind == "callback" else None,
    )


Check = Callable[[Runtime, UnifiedMessage, float], Awaitable[tuple[Verdict, bool]]]


async def _gate(rt: Runtime, msg: UnifiedMessage, now: float) -> tuple[Verdict, bool]:
    return await gate.check(rt.redis, msg, now=now)


async def _accept_checked(rt: Runtime, msg: UnifiedMessage, now: float) -> tuple[Verdict, bool]:
    before = await rt.redis.llen(keys.buffer(msg.channel, msg.chat_id))
    result, first, waiting = await inbox.accept_checked(rt.redis, msg, now=now)
    after = await rt.redis.llen(keys.buffer(msg.channel, msg.chat_id))
    assert after == before + (result is Verdict.PASS)  # accepted exactly when it passes
    assert waiting == (after if result is Verdict.PASS else 0)
    return result, first


_check: Check = _gate


@pytest.fixture(autouse=True, params=["gate.check", "inbox.accept_checked"])
def _implementation(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(f"{__name__}._check", _gate if request.param == "gate.check" else _accept_checked)


async def verdict(rt: Runtime, msg: UnifiedMessage, now: float) -> Verdict:
    return (await _check(rt, msg, now))[0]


async def test_replay_window_is_five_minutes(rt: Runtime) -> None:
    now = time.time()
    assert await verdict(rt, message(CHAT, 1, sent_at=now - 299), now) is Verdict.PASS
    assert await verdict(rt, message(CHAT, 2, sent_at=now - 301), now) is Verdict.REPLAY


async def test_a_replayed_message_leaves_no_dedup_mark(rt: Runtime) -> None:
    now = time.time()
    old = message(CHAT, 3, sent_at=now - 400)
    assert await verdict(rt, old, now) is Verdict.REPLAY
    assert await verdict(rt, old, now - 200) is Verdict.PASS  # seen from a clock where it is still fresh


async def test_redelivered_message_is_a_duplicate(rt: Runtime) -> None:
    now = time.time()
    msg = message(CHAT, 10, sent_at=now)
    assert await verdict(rt, msg, now) is Verdict.PASS
    assert await verdict(rt, msg, now + 1) is Verdict.DUPLICATE
    assert await verdict(rt, msg.model_copy(update={"trace_id": "another-delivery"}), now + 2) is Verdict.DUPLICATE


async def test_dedup_mark_expires_after_its_ttl(rt: Runtime) -> None:
    now = time.time()
    await verdict(rt, message(CHAT, 11, sent_at=now), now)
    ttl = await rt.redis.ttl(keys.seen("telegram", CHAT, 11))
    assert 0 < ttl <= gate.DEDUP_TTL


async def test_the_same_message_id_in_two_chats_passes_both(rt: Runtime) -> None:
    now = time.time()
    assert await verdict(rt, message(CHAT, 7, sent_at=now), now) is Verdict.PASS
    assert await verdict(rt, message(OTHER_CHAT, 7, sent_at=now), now) is Verdict.PASS


async def test_edits_are_deduplicated_apart_from_the_original(rt: Runtime) -> None:
    now = time.time()
    original = message(CHAT, 20, sent_at=now - 60)
    edit = message(CHAT, 20, sent_at=now - 10, is_edit=True)
    later_edit = message(CHAT, 20, sent_at=now, is_edit=True)
    assert await verdict(rt, original, now) is Verdict.PASS
    assert await verdict(rt, edit, now) is Verdict.PASS
    assert await verdict(rt, edit, now) is Verdict.DUPLICATE
    assert await verdict(rt, later_edit, now) is Verdict.PASS


async def test_sixth_message_in_ten_seconds_is_spam_and_flagged_once(rt: Runtime) -> None:
    now = time.time()
    results = [await _check(rt, message(CHAT, i, sent_at=now), now + i) for i in range(8)]
    assert [v for v, _ in results] == [Verdict.PASS] * 5 + [Verdict.SPAM] * 3
    assert [first for _, first in results] == [False] * 5 + [True, False, False]


async def test_spam_limit_counts_one_chat_only(rt: Runtime) -> None:
    now = time.time()
    for i in range(6):
        await verdict(rt, message(CHAT, i, sent_at=now), now)
    assert await verdict(rt, message(OTHER_CHAT, 1, sent_at=now), now) is Verdict.PASS


async def test_chat_is_heard_again_once_the_window_has_passed(rt: Runtime) -> None:
    now = time.time()
    for i in range(6):
        await verdict(rt, message(CHAT, i, sent_at=now), now)
    assert await verdict(rt, message(CHAT, 100, sent_at=now), now + gate.SPAM_WINDOW + 1) is Verdict.PASS


async def test_button_taps_are_never_spam_nor_counted_as_messages(rt: Runtime) -> None:
    now = time.time()
    taps = [await verdict(rt, message(CHAT, f"cb:{i}", sent_at=now, kind="callback"), now) for i in range(10)]
    assert taps == [Verdict.PASS] * 10
    texts = [await verdict(rt, message(CHAT, i, sent_at=now), now) for i in range(5)]
    assert texts == [Verdict.PASS] * 5


async def test_forget_lets_the_redelivery_through(rt: Runtime) -> None:
    now = time.time()
    msg = message(CHAT, 30, sent_at=now)
    assert await verdict(rt, msg, now) is Verdict.PASS
    await gate.forget(rt.redis, msg)
    assert await verdict(rt, msg, now + 1) is Verdict.PASS
    assert await verdict(rt, msg, now + 2) is Verdict.DUPLICATE


async def test_forget_leaves_other_chats_marks_alone(rt: Runtime) -> None:
    now = time.time()
    await verdict(rt, message(CHAT, 31, sent_at=now), now)
    await verdict(rt, message(OTHER_CHAT, 31, sent_at=now), now)
    await gate.forget(rt.redis, message(CHAT, 31, sent_at=now))
    assert await verdict(rt, message(OTHER_CHAT, 31, sent_at=now), now) is Verdict.DUPLICATE


async def test_a_tap_answer_goes_out_only_with_an_accepted_message(rt: Runtime) -> None:
    now = time.time()
    tap = message(CHAT, "cb:1", sent_at=now, kind="callback")
    answer = OutboundJob(kind="callback_answer", chat_id=CHAT, callback_query_id="q1", trace_id=tap.trace_id)
    assert (await inbox.accept_checked(rt.redis, tap, jobs=[answer], now=now))[0] is Verdict.PASS
    assert await rt.redis.llen(keys.OUTBOUND_QUEUE) == 1
    assert (await inbox.accept_checked(rt.redis, tap, jobs=[answer], now=now))[0] is Verdict.DUPLICATE
    assert await rt.redis.llen(keys.OUTBOUND_QUEUE) == 1  # the redelivery is not answered twice
    assert await rt.redis.zscore(keys.INBOX_READY, inbox.chat_member("telegram", CHAT)) is not None
