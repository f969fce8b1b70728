"""The second studio's stack: `dancebot serve` + `dancebot worker` with the KB of «Волна» (only the required
keys, tests/studios/second/studio.yaml) and its own fake Impulse tenant (tests/studios/second/crm_seed.py)
as an HTTP server, on a Redis database of its own; the same fake Telegram as the demo's stack, the same
frozen clock (Wed 2026-12-02 15:00 Vladivostok). Nothing here depends on the demo studio's data.

Verification reads of an unknown booking outcome (PRODUCT.md §7.3) run at +3 s, +6 s, +9 s here instead
of minutes (`DANCEBOT_VERIFY_DELAYS`), so a slow-CRM conversation ends within a test's time.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator

import pytest

from dancebot.crm.fake import FakeImpulse, create_fake_impulse
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN, WEBHOOK_SECRET, Servers, with_redis_db
from tests.conversations.harness import Client
from tests.conversations.second.volna import KB_PATH
from tests.e2e.stack import Stack, run_stack, serve_in_thread
from tests.fakes.telegram import FakeTelegram
from tests.stack_fixtures import NOW
from tests.studios.second.crm_seed import build_second_seed

SECOND_CRM_KEY = "impulse-volna-key-5d2e"
VERIFY_DELAYS = "3,6,9"
_chat_ids = itertools.count(6_700_001)  # phones +7 953 670 00 01…: no seeded client of «Волна» has one


def _own_redis_db(servers: Servers) -> str:
    """A Redis database no other stack or test uses: 9 for the embedded server, 8… per xdist worker
    on a shared one (the others use 2w and 2w + 1)."""
    url = servers.stack_redis_url
    found = re.search(r"db=(\d+)", url) or re.search(r"/(\d+)$", url)
    stack_db = int(found.group(1)) if found else 1
    return with_redis_db(servers.redis_url, 9 - stack_db // 2)  # 9, 8: admin takes 15–12, WhatsApp 11, 10


@pytest.fixture(scope="session")
def second_impulse() -> Iterator[tuple[FakeImpulse, str]]:
    fake = create_fake_impulse(api_key=SECOND_CRM_KEY, today=NOW.date(), seed_data=build_second_seed)
    with serve_in_thread(fake.app) as url:
        yield fake, f"{url}/api/public"


@pytest.fixture(scope="session")
def second_stack(
    servers: Servers,
    fake_tg: tuple[FakeTelegram, str],
    second_impulse: tuple[FakeImpulse, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    env = {
        "REDIS_URL": _own_redis_db(servers),
        "DATABASE_URL": servers.database_url,
        "KB_PATH": str(KB_PATH),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": fake_tg[1],
        "ADMIN_CHAT_ID": str(ADMIN_CHAT_ID),
        "IMPULSE_API_KEY": SECOND_CRM_KEY,
        "IMPULSE_BASE_URL": second_impulse[1],
        "DANCEBOT_FROZEN_NOW": NOW.isoformat(),
        "DANCEBOT_VERIFY_DELAYS": VERIFY_DELAYS,
    }
    with run_stack(env, tmp_path_factory.mktemp("second-stack-logs")) as running:
        yield running


@pytest.fixture
def second_crm(second_impulse: tuple[FakeImpulse, str]) -> Iterator[FakeImpulse]:
    """The second studio's CRM; hooks a test sets (slow creates, outages) never outlive it."""
    fake = second_impulse[0]
    yield fake
    fake.reset_hooks()
    fake.hang_seconds = 30.0


@pytest.fixture
def second_client_factory(
    second_stack: Stack, tg: FakeTelegram, second_crm: FakeImpulse
) -> Iterator[Callable[..., Client]]:
    """A new chat (and phone) of the second studio per call; transcripts printed at teardown."""
    made: list[Client] = []

    def make(**kw: object) -> Client:
        made.append(Client(second_stack, tg, second_crm, next(_chat_ids), **kw))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for c in made:
        print(f"--- chat {c.chat_id} ({c.e164}), studio «Волна»\n{c.dump()}")


@pytest.fixture
def second_client(second_client_factory: Callable[..., Client]) -> Client:
    return second_client_factory()
