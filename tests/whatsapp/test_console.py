"""`dancebot chat --channel whatsapp` (issue 11): the console plays a WhatsApp client — each line a real Cloud
API payload from its own number, replies within 200 characters, buttons and list rows as numbered choices."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dancebot.console import WA_PHONE, ConsoleChat, WhatsAppConsoleSender
from dancebot.outbound.senders import ConsoleSender
from dancebot.runtime import Runtime
from dancebot.wiring import open_conversation


@pytest.fixture
async def console(rt: Runtime) -> AsyncIterator[tuple[ConsoleChat, list[str]]]:
    printed: list[str] = []
    async with open_conversation(rt) as conversation:
        chat = ConsoleChat(
            rt, conversation, ConsoleSender(100_000_001, printed.append), channel="whatsapp",
            wa_sender=WhatsAppConsoleSender(printed.append),
        )  # fmt: skip
        yield chat, printed


def replies(printed: list[str]) -> list[str]:
    """The bot's texts to the client (the numbered choices under them left out)."""
    return [
        block.split("\n   [")[0].split("\n   ☰")[0].removeprefix("🤖 ") for block in printed if block.startswith("🤖")
    ]


async def test_the_console_plays_a_whatsapp_client(console: tuple[ConsoleChat, list[str]], rt: Runtime) -> None:
    chat, printed = console
    await chat.say("привет")
    assert "Ритм" in replies(printed)[0]
    printed.clear()
    await chat.say("хочу записаться")
    (choices,) = printed
    assert "☰ Выбрать" in choices and "   [1] " in choices  # four styles: a WhatsApp list, numbered
    first_style = choices.split("   [1] ")[1].split("\n")[0]
    printed.clear()
    await chat.say("1")  # a tap on the first row
    assert f"«{first_style}»" in replies(printed)[0]
    session = await rt.sessions.load("whatsapp", int(WA_PHONE))
    assert session.slots.style is not None and session.state == "COLLECTING_DATETIME"
    assert (await rt.sessions.load("telegram", 100_000_001)).history == []  # not the Telegram console chat


async def test_the_consoles_whatsapp_number_is_the_phone_of_the_booking(console: tuple[ConsoleChat, list[str]]) -> None:
    chat, printed = console
    await chat.say("хочу на хилс в четверг в 20 к насте")
    await chat.say("Анна")
    summary = replies(printed)[-1]
    assert "Всё верно?" in summary and "+7 914 000-00-01" in summary  # WA_PHONE, never asked
    assert not any("номер" in r.lower() for r in replies(printed))


async def test_every_console_reply_fits_200_characters(console: tuple[ConsoleChat, list[str]]) -> None:
    chat, printed = console
    for line in ("где вы находитесь?", "какое расписание на субботу?", "сколько стоит абонемент?",
                 "что взять на первое занятие?", "можно прийти с ребёнком 7 лет?"):  # fmt: skip
        await chat.say(line)
    texts = replies(printed)
    assert len(texts) >= 5 and all(len(t) <= 200 for t in texts), [(len(t), t) for t in texts if len(t) > 200]


@pytest.mark.slow
def test_dancebot_chat_channel_whatsapp_from_the_command_line(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "KB_PATH"}}
    env["DANCEBOT_STATE_DIR"] = str(tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-m", "dancebot.cli", "chat", "--channel", "whatsapp", "--fresh"],
        input="привет\nхочу записаться\n1\n/quit\n", capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"клиент WhatsApp (+{WA_PHONE})" in done.stdout
    assert "   [1] " in done.stdout and "«" in done.stdout.split("   [1] ", 1)[1]  # the tap led on
