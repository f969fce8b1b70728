"""User messages per completed booking over a scripted corpus of client styles (PRODUCT.md §16.3, issues 4, 8).

    python benchmarks/messages_per_booking.py [--studio demo|second|both] [--parallel 6] [--show-transcripts]

Starts embedded Redis and PostgreSQL in a temp dir (or uses REDIS_URL and DATABASE_URL when both are set),
the fake Telegram Bot API and the fake Impulse CRM (an HTTP server) in threads, and `dancebot serve` +
`dancebot worker` as processes with the conversation clock frozen at Wed 2026-12-02 15:00 Vladivostok —
the same stack as the conversation tests — then plays every conversation of `CORPUS` through the
webhook with the tests' `Client` (each in its own chat, with its own phone).

Two studios: the demo «Ритм» (knowledge/studio.yaml and the demo CRM) and the second test studio «Волна»
(tests/studios/second: a KB with only the required keys, teachers without CRM ids, another schedule), each
on its own stack. Conversations are grouped by phrasing class — classic (issue 4), question and wish forms,
corrections, side questions, series (issue 8) — and every group's average is printed next to the overall one.

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
import math
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # for tests.*: the same launcher and client as the conversation tests

from benchmarks.harness import bot_env, servers  # noqa: E402

from dancebot.crm.fake import FakeImpulse, SeedBuilder, create_fake_impulse  # noqa: E402
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN, KB_PATH, WEBHOOK_SECRET, with_redis_db  # noqa: E402
from tests.conversations.harness import Client  # noqa: E402
from tests.e2e.stack import Stack, run_stack, serve_in_thread  # noqa: E402
from tests.fakes.telegram import FakeTelegram, create_fake_telegram  # noqa: E402
from tests.stack_fixtures import CRM_KEY, NOW  # noqa: E402
from tests.studios.second.crm_seed import build_second_seed  # noqa: E402

TARGET_AVERAGE, CONTRACT_MAX, TARGET_COMPLETION = 3.0, 8.0, 100.0  # issue 8: ≤ 3.0 messages, 100 %
SECOND_KB_PATH = ROOT / "tests" / "studios" / "second" / "studio.yaml"

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

# Issue 8: the same requests worded as questions and wishes, corrected mid-way, interrupted by a question about
# the class, or asking for a series — each class should take no more messages than the imperative form.
QUESTIONS: list[tuple[str, list[str]]] = [
    ("question, teacher + time", ["а можно к Кате на контемп в пятницу в 19:30? Лена, {phone}", "да"]),
    ("will you book me?", ["запишешь меня на сальсу в воскресенье? я Оксана, {phone}", "да"]),
    ("question, pretty phone", ["можно записаться к Диме в субботу в 11? Кирилл, телефон {pretty}", "да"]),
    ("are there places? then book", ["а есть места на хилс во вторник в 20? если есть — запишите: Ира, {phone}", "да"]),
    ("full booking after «which style?»", ["хочу записаться", "контемп во вторник в 19:30, меня зовут Алиса, {phone}",
                                          "да"]),
]  # fmt: skip
WISHES: list[tuple[str, list[str]]] = [
    ("wish, morning", ["хотела бы на стретчинг в субботу утром", "Вера {phone}", "да"]),
    ("wish, child", ["Можно на детские в субботу сына Тимура? мой номер {phone}", "да"]),
    ("wish, run-on with typos", ["здрасти!! хочу к оле на стрейчинг в пн утром меня марина зовут тел {pretty} спасибо",
                                 "да"]),
]  # fmt: skip
CORRECTIONS: list[tuple[str, list[str]]] = [
    ("another day, one class", ["запишите на контемп во вторник в 19:30, Оля {phone}", "а давай в понедельник", "да"]),
    ("another day, several", ["запишите на хип-хоп в пн в 18, Артём {phone}", "давай в субботу", "tap:1", "да"]),
    ("another style, same day", ["запишите на сальсу в воскресенье, Инна {phone}", "хотя нет, давай на контемп", "да"]),
    ("another branch, same day", ["запишите на хип-хоп в субботу в 12, Артём {phone}", "а на гоголя можно?", "да"]),
    ("bad phone in the message", ["запишите на хилс в сб в 14, Катя, тел 12345", "{phone}", "да"]),
]  # fmt: skip
SIDE_QUESTIONS: list[tuple[str, list[str]]] = [
    ("where is it?", ["запишите на хилс во вторник в 20, Ира {phone}", "а где это?", "да"]),
    ("who teaches?", ["запишите на контемп в пт, Соня {phone}", "кто ведёт?", "да"]),
    ("how much?", ["запишите на стретчинг во вторник в 8 утра, Алла {phone}", "сколько стоит?", "да"]),
]  # fmt: skip
SERIES: list[tuple[str, list[str]]] = [
    ("two next Tuesdays", ["на два следующих вторника на контемп, Вика {phone}", "да"]),
    ("every Wednesday this month", ["запишите на сальсу каждую среду до конца месяца, Лена {phone}", "да"]),
    ("3 times on Mon and Thu", ["хип-хоп 3 раза подряд по пн и чт, Юра {phone}", "да"]),
]  # fmt: skip

# The second studio «Волна» (tests/studios/second): another schedule, teachers known to the CRM by name only.
SECOND_CLASSIC: list[tuple[str, list[str]]] = [
    ("all-in-one, terse", ["зумба во вторник утром, Нина {phone}", "да"]),
    ("teacher by surname", ["запишите к Соколовой на латину в воскресенье, Вера {phone}", "да"]),
    ("teacher of two styles", ["запишите к Саше", "tap:2", "tap:1", "Рома {phone}", "да"]),
    ("step by step", ["хочу на вог", "tap:1", "Маша", "{phone}", "да"]),
    ("buttons only", ["хочу записаться", "tap:1", "tap:1", "tap:1", "contact", "tap:1"]),
]  # fmt: skip
SECOND_NEW: dict[str, list[tuple[str, list[str]]]] = {
    "question": [
        ("question, teacher + time", ["а можно к Даше на бачату в понедельник в 19? Ксюша {phone}", "да"]),
        ("will you book me tomorrow?", ["запишешь меня на зумбу завтра?", "Лиля {phone}", "да"]),
    ],
    "wish": [("wish, morning", ["хотела бы на растяжку в субботу утром", "Оля, {phone}", "да"])],
    "correction": [
        ("another day, one class", ["запишите на бачату в среду в 19, Ксения, {phone}", "а давай в пятницу", "да"]),
        ("another branch", ["запишите на растяжку в субботу в 10, Вера {phone}", "а на борисенко можно?", "tap:1",
                            "да"]),
    ],
    "side question": [("where is it?", ["запишите на пилон в пн в 20, Кира {phone}", "а где это?", "да"])],
    "series": [("every Friday this month", ["каждую пятницу до конца месяца на вог, Рома {phone}", "да"])],
}  # fmt: skip

Case = tuple[str, str, list[str]]  # (phrasing class, client style, turns)


def _cases(group: str, corpus: list[tuple[str, list[str]]]) -> list[Case]:
    return [(group, style, turns) for style, turns in corpus]


@dataclass(frozen=True)
class Studio:
    name: str
    kb_path: Path
    seed_data: SeedBuilder | None
    cases: list[Case]
    first_chat_id: int


STUDIOS = {
    "demo": Studio(
        "demo «Ритм»",
        KB_PATH,
        None,
        [
            *_cases("classic", CORPUS),
            *_cases("question", QUESTIONS),
            *_cases("wish", WISHES),
            *_cases("correction", CORRECTIONS),
            *_cases("side question", SIDE_QUESTIONS),
            *_cases("series", SERIES),
        ],
        8_100_001,
    ),
    "second": Studio(
        "second «Волна»",
        SECOND_KB_PATH,
        build_second_seed,
        [*_cases("classic", SECOND_CLASSIC), *(c for g, corpus in SECOND_NEW.items() for c in _cases(g, corpus))],
        8_200_001,
    ),
}


@dataclass
class Outcome:
    group: str
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


async def run_corpus(stack: Stack, tg: FakeTelegram, crm: FakeImpulse, studio: Studio, parallel: int) -> list[Outcome]:
    gate = asyncio.Semaphore(parallel)

    async def one(index: int, group: str, style: str, turns: list[str]) -> Outcome:
        client = Client(stack, tg, crm, studio.first_chat_id + index, first_name="Клиент")
        async with gate:
            try:
                sent, note = await play(client, turns)
            except AssertionError as exc:  # a contract rule broken or no reply: the conversation failed
                sent, note = len(client.transcript), str(exc).splitlines()[0]
        return Outcome(group, style, sent, bool(client.reservations()), note, client.dump())

    cases = studio.cases
    return list(await asyncio.gather(*(one(i, g, style, turns) for i, (g, style, turns) in enumerate(cases))))


def percentile(values: list[int], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))])


def report(title: str, outcomes: list[Outcome], *, show_transcripts: bool, each: bool = True) -> None:
    print(f"{title}: user messages per booking — {len(outcomes)} scripted conversations (taps count as messages)")
    for o in outcomes if each else []:
        status = "booked" if o.booked else "NOT booked"
        label = f"[{o.group}] {o.style}"
        print(f"  {label:<48} {o.messages:>2} msg   {status}{'   — ' + o.note if o.note and not o.booked else ''}")
        if show_transcripts or not o.booked:
            print("    " + o.transcript.replace("\n", "\n    "))
    for group in dict.fromkeys(o.group for o in outcomes):
        mine = [o for o in outcomes if o.group == group]
        booked = [o.messages for o in mine if o.booked]
        mean = sum(booked) / len(booked) if booked else math.nan
        print(f"  {'class ' + group:<28} average {mean:>5.2f}   completion {len(booked)}/{len(mine)}")
    new = [o.messages for o in outcomes if o.booked and o.group != "classic"]
    if new:
        print(f"  {'issue 8 classes':<28} average {sum(new) / len(new):>5.2f}   (questions, wishes, corrections, …)")
    done = [o.messages for o in outcomes if o.booked]
    average = sum(done) / len(done) if done else math.nan
    p90 = percentile(done, 90)
    completion = 100.0 * len(done) / len(outcomes)
    print(f"  {'average':<20} {average:>6.2f}   target ≤ {TARGET_AVERAGE:g} (contract ≤ {CONTRACT_MAX:g})")
    print(f"  {'p90':<20} {p90:>6.1f}")
    print(f"  {'completion':<20} {completion:>5.0f} %   target {TARGET_COMPLETION:g} %")
    ok = average <= TARGET_AVERAGE and completion >= TARGET_COMPLETION
    print("verdict: all targets met" if ok else "verdict: missed")


def run_studio(studio: Studio, redis_url: str, database_url: str, tmp: Path, parallel: int) -> list[Outcome]:
    """One studio's stack (fake Telegram, its fake CRM, serve + worker), its corpus played through it."""
    tg = create_fake_telegram(BOT_TOKEN)
    crm = create_fake_impulse(api_key=CRM_KEY, today=NOW.date(), seed_data=studio.seed_data)
    with tg.serve_in_thread() as tg_url, serve_in_thread(crm.app) as crm_url:
        env = bot_env(redis_url, database_url, tg_url, token=BOT_TOKEN, secret=WEBHOOK_SECRET,
                      admin_chat_id=ADMIN_CHAT_ID, kb_path=studio.kb_path, IMPULSE_API_KEY=CRM_KEY,
                      IMPULSE_BASE_URL=f"{crm_url}/api/public", DANCEBOT_FROZEN_NOW=NOW.isoformat())  # fmt: skip
        logs = tmp / studio.kb_path.parent.name
        logs.mkdir(exist_ok=True)
        with run_stack(env, logs) as stack:
            return asyncio.run(run_corpus(stack, tg, crm, studio, parallel))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studio", choices=["demo", "second", "both"], default="both")
    parser.add_argument("--parallel", type=int, default=6, help="conversations played at once")
    parser.add_argument("--show-transcripts", action="store_true", help="print every conversation")
    args = parser.parse_args(argv)

    chosen = ["demo", "second"] if args.studio == "both" else [args.studio]
    results: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="dancebot-bench-", dir="/tmp") as tmp_dir:
        tmp = Path(tmp_dir)
        with servers(tmp) as (redis_url, database_url):
            for i, key in enumerate(chosen):
                studio = STUDIOS[key]
                # each stack on a Redis database of its own, so no worker takes the other stack's jobs
                outcomes = run_studio(studio, with_redis_db(redis_url, 10 + i), database_url, tmp, args.parallel)
                report(studio.name, outcomes, show_transcripts=args.show_transcripts)
                results += outcomes
        if len(chosen) > 1:
            report("both studios", results, show_transcripts=False, each=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
