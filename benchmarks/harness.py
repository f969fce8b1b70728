"""What the benchmarks that run `dancebot serve` + `dancebot worker` share: the servers and the bot's
environment. (Their process launchers and fakes come from tests/, like the end-to-end tests'.)"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from dancebot.storage.embedded import configured_or_embedded

__all__ = ["DEMO_KB", "bot_env", "servers"]

DEMO_KB = Path(__file__).resolve().parents[1] / "knowledge" / "studio.yaml"


@contextlib.contextmanager
def servers(tmp: Path) -> Iterator[tuple[str, str]]:
    """(Redis URL, PostgreSQL URL): REDIS_URL and DATABASE_URL when both are set, else embedded in `tmp`."""
    with configured_or_embedded(os.environ.get("REDIS_URL"), os.environ.get("DATABASE_URL"), tmp / "servers") as srv:
        yield srv.redis_url, srv.database_url


def bot_env(
    redis_url: str,
    database_url: str,
    telegram_url: str,
    *,
    token: str,
    secret: str,
    admin_chat_id: int | None = None,
    kb_path: Path = DEMO_KB,
    **extra: str,
) -> dict[str, str]:
    """The environment of `serve` and `worker` against the fake Bot API at `telegram_url`; `extra` adds or
    overrides variables (the CRM's, TEST_MODE, the frozen clock)."""
    env = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": database_url,
        "KB_PATH": str(kb_path),
        "TELEGRAM_BOT_TOKEN": token,
        "TELEGRAM_WEBHOOK_SECRET": secret,
        "TELEGRAM_API_BASE_URL": telegram_url,
    }
    if admin_chat_id is not None:
        env["ADMIN_CHAT_ID"] = str(admin_chat_id)
    return env | extra
