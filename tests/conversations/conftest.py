"""The conversation suite runs on the end-to-end stack (`dancebot serve` + `dancebot worker` processes,
fake Telegram, fake Impulse CRM as an HTTP server) with the clock frozen at Wed 2026-12-02 15:00.

The stack fixtures come from `tests/stack_fixtures.py` (shared with tests/e2e).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from dancebot.crm.fake import FakeImpulse
from dancebot.storage import db
from tests.conftest import Servers
from tests.conversations.harness import CHAT_IDS, Client
from tests.e2e.stack import Stack
from tests.fakes.telegram import FakeTelegram


@pytest.fixture
def new_client(stack: Stack, tg: FakeTelegram, crm: FakeImpulse) -> Iterator[Callable[..., Client]]:
    """A new chat (and phone) per call, never reused in the session, so the shared fake CRM and Redis
    hold nothing of another test's client; a test may open several (others filling a group).

    Transcripts are printed at teardown: pytest shows them for a failing test only.
    """
    made: list[Client] = []

    def make(**kw: object) -> Client:
        made.append(Client(stack, tg, crm, next(CHAT_IDS), **kw))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for c in made:
        print(f"--- chat {c.chat_id} ({c.e164})\n{c.dump()}")


@pytest.fixture
def client(new_client: Callable[..., Client]) -> Client:
    return new_client()


@pytest.fixture
async def database(servers: Servers) -> AsyncIterator[AsyncEngine]:
    """The stack's PostgreSQL, read-only for the test (unlike `rt`, nothing is flushed)."""
    engine = db.create_engine(servers.database_url)
    yield engine
    await engine.dispose()
