"""A question the studio's FAQ answers is answered, even when it starts like a booking ("можно прийти
без опыта?"): "можно прийти" with nothing to book (no class, day, name or phone) is a question, and a
client asking it twice gets the answer twice — never the booking flow, never the administrator. Run
against both studios' KBs: every FAQ question, as a client would type it, and the "можно прийти…" forms."""

from __future__ import annotations

import pytest

from dancebot.conversation.session import Profile, Session
from dancebot.kb import KnowledgeBase, load_kb
from tests.engine.pure import demo_kb, make_engine, say

SECOND = "tests/studios/second/studio.yaml"
# Questions the engine acts on instead of quoting the FAQ (PRODUCT.md §5, §11): a freeze is collected and
# handed over, "как отменить запись?" starts the cancel, "как записаться?" the booking.
ACTED_ON = ("заморо", "отмен", "перенес", "записат")


def _kbs() -> list[tuple[str, KnowledgeBase]]:
    return [("demo", demo_kb()), ("second", load_kb(SECOND).kb)]


def _typed(question: str) -> list[str]:
    """How clients type a question: as written, lower case without the question mark, with "а" first."""
    q = question.strip()
    return [q, q.lower().rstrip("?"), "а " + q[0].lower() + q[1:]]


@pytest.mark.parametrize(("studio", "kb"), _kbs(), ids=lambda v: v if isinstance(v, str) else "")
async def test_every_faq_question_is_answered_from_the_faq_twice(studio: str, kb: KnowledgeBase) -> None:
    engine, _ = make_engine(kb)
    for i, entry in enumerate(kb.faq):
        if any(word in entry.q.lower() for word in ACTED_ON):
            continue
        for j, text in enumerate(_typed(entry.q)):
            session = Session(chat_id=1000 * i + j + 1, channel="telegram")
            profile = Profile()
            for attempt in range(2):
                step = await say(engine, session, text, profile)
                replies = [job.text for job in step.jobs if job.kind == "message" and job.chat_id == session.chat_id]
                assert len(replies) == 1, (studio, text, attempt, replies)
                first_words = entry.a.split(".")[0][:25]
                assert first_words in replies[0], (studio, text, attempt, replies[0])
                assert session.state in ("IDLE", "COLLECTING_INTENT"), (studio, text, session.state)


@pytest.mark.parametrize(
    "text",
    [
        "можно прийти без опыта?",
        "можно прийти совсем без опыта? я деревянная))",
        "а можно прийти совсем без опыта",
        "Можно прийти совсем без опыта???",
    ],
)
async def test_may_i_come_without_experience_is_a_question_not_a_booking(text: str) -> None:
    engine, _ = make_engine()
    session = Session(chat_id=77, channel="telegram")
    step = await say(engine, session, text, Profile())
    reply = " ".join(job.text for job in step.jobs)
    assert "с нуля" in reply and "направление" not in reply.lower()
    assert session.state == "IDLE"


@pytest.mark.parametrize(
    "text",
    [
        "можно прийти на хилс в чт в 20? Аня 89141234567",
        "а можно прийти в пятницу на сальсу?",
        "можно к вам записаться без опыта на хип-хоп?",
    ],
)
async def test_may_i_come_with_something_to_book_still_books(text: str) -> None:
    engine, _ = make_engine()
    session = Session(chat_id=78, channel="telegram")
    await say(engine, session, text, Profile())
    assert session.state != "IDLE"  # the booking goes on: a class to book was named
