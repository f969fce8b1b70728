"""The chat's lock as a turn holds it (`inbox.ChatLock`), on real Redis: taken together with the chat's first
message, session and profile; excluded by and excluding the sweep's redis-py lock on the same key; released
by the commit of the turn's last message — and never a lock that is no longer the turn's own."""

from __future__ import annotations

import datetime as dt
import itertools

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation import inbox
from dancebot.conversation.session import Profile, Session
from dancebot.runtime import Runtime
from dancebot.storage import keys

_ids = itertools.count(1)


def said(chat_id: int, text: str) -> UnifiedMessage:
    return UnifiedMessage(
        channel="telegram",
        chat_id=chat_id,
        message_id=str(next(_ids)),
        timestamp=dt.datetime.now(dt.UTC),
        text=text,
    )


def chat_lock(rt: Runtime, chat_id: int, lease: float = 15.0) -> inbox.ChatLock:
    return inbox.ChatLock(rt.redis, "telegram", chat_id, lease=lease)


async def accepted_and_opened(
    rt: Runtime, chat_id: int, *texts: str, lease: float = 15.0
) -> tuple[list[UnifiedMessage], inbox.ChatLock, bytes]:
    """The chat's messages accepted, then a turn opening the chat: (the messages, its lock, the head)."""
    msgs = [said(chat_id, t) for t in texts]
    for m in msgs:
        await inbox.accept(rt.redis, m)
    lock = chat_lock(rt, chat_id, lease)
    opened = await lock.open()
    assert opened is not None and opened.head is not None
    return msgs, lock, opened.head


async def test_opening_reads_the_first_message_the_session_and_the_profile(rt: Runtime) -> None:
    first, second = said(301, "привет"), said(301, "а цены?")
    await inbox.accept(rt.redis, first)
    await inbox.accept(rt.redis, second)
    session = Session(channel="telegram", chat_id=301)
    await rt.sessions.save(session)
    await rt.sessions.save_profile("telegram", 301, Profile(name="Оля"))

    opened = await chat_lock(rt, 301).open()

    assert opened is not None and opened.head is not None
    assert UnifiedMessage.model_validate_json(opened.head).text == "привет"  # the oldest first
    parsed_session, profile = rt.sessions.parse("telegram", 301, opened.session, opened.profile)
    assert parsed_session.chat_id == 301 and profile.name == "Оля"


async def test_a_new_chat_opens_with_no_session_and_an_empty_chat_with_nothing(rt: Runtime) -> None:
    await inbox.accept(rt.redis, said(302, "здрасьте"))
    opened = await chat_lock(rt, 302).open()
    assert opened is not None and opened.head is not None
    assert (opened.session, opened.profile) == (None, None)

    empty = await chat_lock(rt, 303).open()
    assert empty is not None and empty.head is None


async def test_a_held_chat_cannot_be_opened_and_the_sweeps_lock_excludes_it_too(rt: Runtime) -> None:
    await inbox.accept(rt.redis, said(304, "привет"))
    holder = chat_lock(rt, 304)
    assert await holder.open() is not None
    assert await chat_lock(rt, 304).open() is None  # another turn: busy
    assert not await rt.redis.lock(keys.lock("telegram", 304), timeout=5).acquire(blocking=False)

    assert await holder.release()
    sweep = rt.redis.lock(keys.lock("telegram", 304), timeout=5)
    assert await sweep.acquire(blocking=False)
    assert await chat_lock(rt, 304).open() is None  # the sweep holds it now
    await sweep.release()
    assert await chat_lock(rt, 304).open(wait=0.2) is not None


async def test_waiting_to_open_gets_the_chat_once_its_holder_lets_go(rt: Runtime) -> None:
    holder = chat_lock(rt, 305, lease=0.3)  # a dead process's lease, not renewed
    assert await holder.open() is not None
    assert await chat_lock(rt, 305).open(wait=1.0) is not None


async def test_the_commit_of_the_last_message_releases_the_lock_in_the_same_step(rt: Runtime) -> None:
    [msg], lock, head = await accepted_and_opened(rt, 306, "запишите на сальсу")

    committed = await inbox.commit(
        rt.redis, channel="telegram", chat_id=306, message=(head, msg.dedup_id), session=None, release=lock
    )

    assert committed and lock.released
    assert await rt.redis.get(keys.lock("telegram", 306)) is None
    assert await rt.redis.llen(keys.buffer("telegram", 306)) == 0
    assert await chat_lock(rt, 306).open() is not None  # the next turn takes the chat at once


async def test_a_commit_without_release_keeps_the_lock_for_the_next_message(rt: Runtime) -> None:
    [first, _], lock, head = await accepted_and_opened(rt, 307, "привет", "а где вы?")
    await inbox.commit(rt.redis, channel="telegram", chat_id=307, message=(head, first.dedup_id), session=None)

    assert not lock.released and await rt.redis.get(keys.lock("telegram", 307)) == lock.token
    following = await lock.read()
    assert following.head is not None and UnifiedMessage.model_validate_json(following.head).text == "а где вы?"


async def test_a_lock_that_expired_and_was_taken_by_another_is_neither_released_nor_renewed(rt: Runtime) -> None:
    [msg], slow, head = await accepted_and_opened(rt, 308, "привет", lease=0.2)
    await rt.redis.delete(keys.lock("telegram", 308))  # the lease ran out…
    other = chat_lock(rt, 308)
    assert await other.open() is not None  # …and another process took the chat

    assert not await slow.extend()
    await inbox.commit(
        rt.redis, channel="telegram", chat_id=308, message=(head, msg.dedup_id), session=None, release=slow
    )
    assert not await slow.release()
    assert await rt.redis.get(keys.lock("telegram", 308)) == other.token  # still the other's


async def test_opening_marks_the_turn_of_a_new_message_and_knows_a_copy_committed_before(rt: Runtime) -> None:
    msg = said(309, "хочу на бачату")
    await inbox.accept(rt.redis, msg)
    lock = chat_lock(rt, 309)
    opened = await lock.open()
    assert opened is not None and opened.head is not None
    assert opened.begun is True  # what `begin` does, done by the same round trip…
    assert await rt.redis.get(keys.inbox_turn("telegram", 309)) == msg.dedup_id.encode()  # …the turn marked
    await inbox.commit(
        rt.redis, channel="telegram", chat_id=309, message=(opened.head, msg.dedup_id), session=None, release=lock
    )

    await inbox.accept(rt.redis, msg)  # the same message accepted again, after its dedup window
    again = await chat_lock(rt, 309).open()
    assert again is not None and again.begun is False  # committed before: only the copy is dropped
    assert await rt.redis.get(keys.inbox_turn("telegram", 309)) is None


async def test_an_edit_is_left_to_begin_which_needs_its_timestamp(rt: Runtime) -> None:
    edit = said(310, "не в пятницу, а в субботу").model_copy(update={"is_edit": True})
    await inbox.accept(rt.redis, edit)
    opened = await chat_lock(rt, 310).open()
    assert opened is not None and opened.begun is None
    assert await inbox.begin(rt.redis, "telegram", 310, edit.dedup_id) is True


async def test_a_commit_sent_again_after_the_chat_passed_on_leaves_the_new_turn_alone(rt: Runtime) -> None:
    """Its first run released the lock and another process opened the chat's next message; the same
    commit sent again (its answer was lost) must neither take that turn's marker nor its lock."""
    [first, second], ours, head = await accepted_and_opened(rt, 311, "да, записывайте", "а во сколько?")
    commit_args = {"channel": "telegram", "chat_id": 311, "message": (head, first.dedup_id), "session": None}
    assert await inbox.commit(rt.redis, release=ours, **commit_args)  # type: ignore[arg-type]
    theirs = chat_lock(rt, 311)
    assert (await theirs.open()) is not None  # another process: the second message's turn is marked

    assert not await inbox.commit(rt.redis, release=ours, **commit_args)  # type: ignore[arg-type]

    assert await rt.redis.get(keys.inbox_turn("telegram", 311)) == second.dedup_id.encode()
    assert await rt.redis.get(keys.lock("telegram", 311)) == theirs.token
    assert await rt.redis.llen(keys.buffer("telegram", 311)) == 1  # the second message still waits


async def test_an_opening_sent_again_finds_the_lock_its_own(rt: Runtime) -> None:
    """The first call took the lock but its answer was lost; the call sent again must not see "busy"."""
    await inbox.accept(rt.redis, said(312, "привет"))
    lock = chat_lock(rt, 312)
    assert await lock.open() is not None
    again = await lock.open()  # the same token
    assert again is not None and again.head is not None
    assert await chat_lock(rt, 312).open() is None  # still busy for anyone else
