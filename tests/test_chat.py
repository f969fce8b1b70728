"""`dancebot chat` as a user runs it: no configuration, embedded servers in the state folder, stdin in,
replies out — and the conversation kept between runs (README "Two commands")."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from dancebot.config import Settings
from dancebot.console import BANNER, CHAT_ID
from dancebot.runtime import open_runtime
from dancebot.storage.embedded import embedded_servers
from dancebot.storage.tables import messages

FIRST_RUN = ["привет", "что взять на первое занятие?"]
SECOND_RUN = ["здрасте, а где вы находитесь?"]


def chat(state_dir: Path, lines: list[str], *flags: str) -> subprocess.CompletedProcess[str]:
    """One console session; the working directory is empty so no `.env` or `knowledge/` is picked up."""
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "KB_PATH"}}
    env["DANCEBOT_STATE_DIR"] = str(state_dir)
    return subprocess.run(
        [sys.executable, "-m", "dancebot.cli", "chat", *flags],
        input="".join(f"{line}\n" for line in [*lines, "/quit"]),
        capture_output=True, text=True, env=env, cwd=state_dir.parent, timeout=120,
    )  # fmt: skip


async def kept_state(state_dir: Path) -> tuple[list[str], list[str | None]]:
    """What the embedded servers remember: the session's client history and the inbound audit rows."""
    with embedded_servers(state_dir, persist=True) as servers:
        settings = Settings(_env_file=None, redis_url=servers.redis_url, database_url=servers.database_url)  # type: ignore[call-arg]
        async with open_runtime(settings, run_migrations=False) as rt:
            session = await rt.sessions.load("telegram", CHAT_ID)
            async with rt.db.connect() as conn:
                query = select(messages.c.text).where(messages.c.chat_id == CHAT_ID, messages.c.direction == "in")
                inbound = list((await conn.execute(query.order_by(messages.c.id))).scalars())
    return session.history, inbound


def test_console_chat_answers_and_keeps_the_conversation_between_runs(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"

    first = chat(state_dir, FIRST_RUN, "--fresh")
    assert first.returncode == 0, first.stderr
    assert BANNER.splitlines()[0] in first.stdout
    greeting, bring = [line for line in first.stdout.splitlines() if "🤖" in line][:2]
    assert "Ритм" in greeting
    assert "удобную одежду" in bring.lower() and "сменную обувь" in bring.lower()

    second = chat(state_dir, SECOND_RUN)
    assert second.returncode == 0, second.stderr
    assert "Светланская, 29" in second.stdout and "Гоголя, 41" in second.stdout

    history, inbound = asyncio.run(kept_state(state_dir))
    assert history == [*FIRST_RUN, *SECOND_RUN]
    assert inbound == [*FIRST_RUN, *SECOND_RUN]
