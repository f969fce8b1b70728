"""User messages per completed booking over a scripted corpus of client styles (PRODUCT.md §16.3, issue 4).

    python benchmarks/messages_per_booking.py [--parallel 6] [--show-transcripts]

Starts embedded Redis and PostgreSQL in a temp dir (or uses REDIS_URL and DATABASE_URL when both are set),
the fake Telegram Bot API and the fake Impulse CRM (an HTTP server) in threads, and `dancebot serve` +
`dancebot worker` as processes with the conversation clock frozen at Wed 2026-12-02 15:00 Vladivostok —
the same stack as the conversation tests — then plays every conversation of `CORPUS` through the
webhook with the tests' `Client` (each in its own chat, with its own phone).

A conversation is a fixed list of client turns: a text, `tap:N` (press button N of the last reply) or
`contact` (share the phone); taps and the shared contact count as messages. It is completed when the
fake CRM holds a reservation for the client's phone afterwards. A script is what a client would answer a
bot that behaves as PRODUCT.md says; when the bot asks something else, the script runs out or goes astray,
and the conversation shows up as not completed. Figures are printed next to the targets; the exit code is
0 either way (benchmarks are never timed assertions).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.*: the same launcher and client as the conversation tests

from dancebot.crm.fake import FakeImpulse, create_fake_impulse  # noqa: E402
from dancebot.storage.embedded import configured_or_embedded  # noqa: E402
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN, KB_PATH, WEBHOOK_SECRET  # noqa: E402
from tests.conversations.harness import Client  # noqa: E402
from tests.e2e.stack import Stack, run_stack, serve_in_thread  # noqa: E402
from tests.fakes.telegram import FakeTelegram, create_fake_telegram  # noqa: E402
from tests.stack_fixtures import CRM_KEY, NOW  # noqa: E402

TARGET_AVERAGE, CONTRACT_MAX, TARGET_COMPLETION = 4.0, 8.0, 100.0
FIRST_CHAT_ID = 8_100_001

# (client style, turns); {phone} is the client's number as typed (8953…), {pretty} as «8 (953) 123-45-67».
CORPUS: list[tuple[str, list[str]]] = [
    ("all-in-one, terse", ["хилс чт 20, Анна {phone}", "да"]),
    ("all-in-one, polite", ["Здравствуйте! Запишите, пожалуйста, на сальсу в пятницу. Меня зовут Ирина, "
                            "телефон {pretty}", "да, всё верно"]),
    ("all-in-one, teacher", ["запишите к Диме на хип-хоп в четверг, меня зовут Артём, {phone}", "ок"]),
    ("all-in-one, English", ["Hi, can I book salsa on Friday? My name is Emma, {phone}", "yes"]),
    ("all-in-one, weekday + time", ["хип-хоп в пн в 18:00, Егор, {phone}", "да"]),
    ("all-in-one, typos", ["здраствуйте, хачу на хилз в субботу, меня зовут Настя, {phone}", "да"]),
    ("for a child", ["запишите сына Тимура на детские в субботу", "{phone}", "да"]),
    ("step by step, terse", ["хилс", "tap:2", "Маша", "{phone}", "да"]),
    ("step by step, day then time", ["хочу на контемп", "во вторник", "Оля", "{pretty}", "да"]),
    ("buttons only", ["хочу записаться", "tap:1", "tap:1", "tap:1", "contact", "tap:1"]),
    ("price first", ["сколько стоит хип-хоп?", "ок, запишите на четверг", "Денис", "{phone}", "да"]),
    ("schedule first", ["что есть в субботу?", "tap:3", "Юля {phone}", "да"]),
    ("when can I come", ["когда можно прийти на стретчинг?", "tap:1", "Алла, {phone}", "да"]),
    ("branch first", ["что у вас на Гоголя есть вечером?", "tap:1", "меня зовут Вика, {phone}", "да"]),
    ("unknown style", ["а бачата есть?", "tap:1", "tap:1", "Марина, {phone}", "да"]),
    ("two styles", ["хочу на хип хоп и контемп", "tap:2", "tap:1", "Лера {phone}", "да"]),
    ("changes style", ["хочу на хилс", "хотя нет, лучше на контемп в пятницу", "Софья {phone}", "да"]),
    ("correction in the summary", ["контемп в пт, меня зовут Оля, {phone}", "нет, лучше во вторник", "да"]),
    ("wrong phone first", ["сальса в среду, меня зовут Олег", "8914", "{phone}", "да"]),
    ("chatty beginner", ["Добрый день! Давно хочу попробовать хай хилс, но я совсем новичок, можно?",
                         "запишите на ближайшее", "Света", "{phone}", "подтверждаю"]),
    ("side question", ["на сальсу в пятницу", "а что с собой взять?", "Инна {phone}", "да"]),
    ("shared contact", ["хочу на растяжку в четверг утром", "Лена", "contact", "да"]),
    ("evening, after work", ["после работы, часов в 8 вечера, можно на хилс? я Кристина, {phone}", "tap:1",
                             "да"]),
    ("next week", ["сальса на следующей неделе в среду, Игорь, {phone}", "да"]),
]  # fmt: skip


@dataclass
class Outcome:
    style: str
    messages: int
    booked: bool
    note: str
    transcript: str


async def play(client: Client, turns: list[str]) -> tuple[int, str]:
    """Run the script; the number of client messages sent and, if it broke off, why."""
    sent = 0
    for turn in turns:
        sent += 1
        if turn.startswith("tap:"):
            await client.tap(int(turn[4:]))
        elif turn == "contact":
            await client.share_contact()
        else:
            await client.say(turn.format(phone=client.phone, pretty=client.phone_pretty))
        if client.reservations():
            return sent, ""
    return sent, "script ran out without a booking"


async def run_corpus(stack: Stack, tg: FakeTelegram, crm: FakeImpulse, parallel: int) -> list[Outcome]:
    gate = asyncio.Semaphore(parallel)

    async def one(index: int, style: str, turns: list[str]) -> Outcome:
        client = Client(stack, tg, crm, FIRST_CHAT_ID + index, first_name="Клиент")
        async with gate:
            try:
                sent, note = await play(client, turns)
            except AssertionError as exc:  # a contract rule broken or no reply: the conversation failed
                sent, note = len(client.transcript), str(exc).splitlines()[0]
        return Outcome(style, sent, bool(client.reservations()), note, client.dump())

    return list(await asyncio.gather(*(one(i, style, turns) for i, (style, turns) in enumerate(CORPUS))))


def percentile(values: list[int], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))])


def report(outcomes: list[Outcome], *, show_transcripts: bool) -> None:
    print(f"user messages per booking — {len(outcomes)} scripted conversations (taps count as messages)")
    for o in outcomes:
        status = "booked" if o.booked else "NOT booked"
        print(f"  {o.style:<30} {o.messages:>2} msg   {status}{'   — ' + o.note if o.note and not o.booked else ''}")
        if show_transcripts or not o.booked:
            print("    " + o.transcript.replace("\n", "\n    "))
    done = [o.messages for o in outcomes if o.booked]
    average = sum(done) / len(done) if done else math.nan
    p90 = percentile(done, 90)
    completion = 100.0 * len(done) / len(outcomes)
    print(f"  {'average':<20} {average:>6.2f}   target ≤ {TARGET_AVERAGE:g} (contract ≤ {CONTRACT_MAX:g})")
    print(f"  {'p90':<20} {p90:>6.1f}")
    print(f"  {'completion':<20} {completion:>5.0f} %   target {TARGET_COMPLETION:g} %")
    ok = average <= TARGET_AVERAGE and completion >= TARGET_COMPLETION
    print("verdict: all targets met" if ok else "verdict: missed")


@contextlib.contextmanager
def servers(tmp: Path) -> Iterator[tuple[str, str]]:
    with configured_or_embedded(os.environ.get("REDIS_URL"), os.environ.get("DATABASE_URL"), tmp / "servers") as srv:
        yield srv.redis_url, srv.database_url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parallel", type=int, default=6, help="conversations played at once")
    parser.add_argument("--show-transcripts", action="store_true", help="print every conversation")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="dancebot-bench-", dir="/tmp") as tmp_dir:
        tmp = Path(tmp_dir)
        tg = create_fake_telegram(BOT_TOKEN)
        crm = create_fake_impulse(api_key=CRM_KEY, today=NOW.date())
        with servers(tmp) as (redis_url, database_url), tg.serve_in_thread() as tg_url, \
                serve_in_thread(crm.app) as crm_url:  # fmt: skip
            env = {
                "REDIS_URL": redis_url,
                "DATABASE_URL": database_url,
                "KB_PATH": str(KB_PATH),
                "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
                "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
                "TELEGRAM_API_BASE_URL": tg_url,
                "ADMIN_CHAT_ID": str(ADMIN_CHAT_ID),
                "IMPULSE_API_KEY": CRM_KEY,
                "IMPULSE_BASE_URL": f"{crm_url}/api/public",
                "DANCEBOT_FROZEN_NOW": NOW.isoformat(),
            }
            with run_stack(env, tmp) as stack:
                outcomes = asyncio.run(run_corpus(stack, tg, crm, args.parallel))
        report(outcomes, show_transcripts=args.show_transcripts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
