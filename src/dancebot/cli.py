"""`dancebot` console script: serve, worker, chat, migrate, kb-check, dlq, report (PRODUCT.md §3).

Configuration problems (a missing or invalid variable, an invalid KB) print one clear line per problem
to stderr and exit with code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import signal
import subprocess
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from dancebot.config import Settings, SettingsError, load_settings
from dancebot.kb import KBInvalid, load_kb
from dancebot.logs import configure_logging

__all__ = ["main"]

EXIT_CONFIG = 2


def _fail(message: str) -> int:
    print(message, file=sys.stderr)
    return EXIT_CONFIG


def _known_messages() -> set[str]:
    """Every message key the bot says: a KB `messages:` key outside it is a typo, reported as a warning."""
    from dancebot.conversation.catalogue import TEXTS

    return {key for texts in TEXTS.values() for key in texts}


def _check_kb(settings: Settings) -> None:
    """Refuse to start with an invalid KB before anything else happens (PRODUCT.md §8)."""
    loaded = load_kb(settings.kb_path, known_messages=_known_messages())
    for warning in loaded.warnings:
        print(f"kb warning: {warning}", file=sys.stderr)


def cmd_kb_check(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else load_settings().kb_path
    loaded = load_kb(path, known_messages=_known_messages())
    for warning in loaded.warnings:
        print(f"warning: {warning}")
    kb = loaded.kb
    print(
        f"OK: {path} — «{kb.studio.name}», {len(kb.studio.branches)} branches, {len(kb.services)} styles, "
        f"{len(kb.teachers)} teachers, {len(kb.faq)} FAQ entries, {len(kb.holidays)} holidays"
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from dancebot.storage import db

    settings = load_settings()
    settings.require("database_url")

    async def run() -> None:
        engine = db.create_engine(settings.database_url or "")
        try:
            await db.migrate(engine)
        finally:
            await engine.dispose()

    asyncio.run(run())
    print("migrations applied")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from dancebot.web.app import create_app

    settings = load_settings()
    settings.require("redis_url", "database_url", "telegram_webhook_secret")
    settings.require_crm()
    _check_kb(settings)
    configure_logging()
    app = create_app(settings)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0


def _run_until_signal(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    import uvloop  # the same loop uvicorn picks for `serve`: cheaper I/O for every Redis call and send

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as loop_runner:
        loop_runner.run(runner())


def cmd_worker(args: argparse.Namespace) -> int:
    from dancebot.outbound.senders import Sender, TelegramSender
    from dancebot.outbound.service import run_worker
    from dancebot.outbound.whatsapp import WhatsAppSender
    from dancebot.runtime import open_runtime
    from dancebot.wiring import open_conversation, worker_chores

    settings = load_settings()
    settings.require("redis_url", "database_url", "telegram_bot_token")
    settings.require_crm()
    _check_kb(settings)
    configure_logging()
    token = settings.required_secret("telegram_bot_token")
    # Migrations in a child process: Alembic would otherwise stay in this long-running process's memory.
    migrated = subprocess.run([sys.executable, "-m", "dancebot.cli", "migrate"], capture_output=True, text=True)
    if migrated.returncode != 0:
        return _fail(f"migrations failed:\n{migrated.stderr.strip()}")

    async def main(stop: asyncio.Event) -> None:
        async with open_runtime(settings, run_migrations=False) as rt, open_conversation(rt) as conversation:
            senders: dict[str, Sender] = {"telegram": TelegramSender(token, settings.telegram_api_base_url)}
            if settings.whatsapp_configured:
                senders["whatsapp"] = WhatsAppSender(rt)
            await run_worker(
                rt, senders, stop, extra_chores=worker_chores(rt, conversation.runner), limits=_limits(args)
            )

    _run_until_signal(main)
    return 0


def _limits(args: argparse.Namespace) -> dict[str, Any]:
    """The send-rate limits, with the overall rates the operator raised (e.g. Telegram's paid broadcasts)."""
    from dancebot.outbound.ratelimit import DEFAULT_LIMITS, with_rate

    limits = dict(DEFAULT_LIMITS)
    for channel in ("telegram", "whatsapp"):
        rate = getattr(args, f"{channel}_rate", None)
        if rate is not None:
            limits = with_rate(limits, channel, rate)
    return limits


def cmd_dlq(args: argparse.Namespace) -> int:
    """`dancebot dlq`: list dead letters; `requeue ID…|--all` sends them again; `drop ID…` forgets them."""
    from dancebot.outbound import dlq
    from dancebot.runtime import connect_redis

    settings = load_settings()
    settings.require("redis_url")

    async def run() -> int:
        redis = connect_redis(settings.redis_url or "")
        try:
            letters = await dlq.list_dead(redis)
            chosen = [d.job.job_id for d in letters] if getattr(args, "all", False) else list(args.ids or [])
            if args.action == "requeue":
                done = await dlq.requeue(redis, chosen)
                for job_id in chosen:
                    print(f"{job_id}: {'re-queued' if job_id in done else 'not found'}")
                return 0 if len(done) == len(chosen) else 1
            if args.action == "drop":
                print(f"dropped {await dlq.drop(redis, chosen)} of {len(chosen)}")
                return 0
            if not letters:
                print("no dead letters")
            for d in letters:
                text = " ".join(d.job.text.split())[:60] or f"({d.job.kind})"
                print(f"{d.job.job_id}  {d.when}  {d.job.channel}:{d.job.chat_id}  {d.job.purpose}  "
                      f"attempts={d.attempts}  {d.error[:80]}  «{text}»")  # fmt: skip
            return 0
        finally:
            await redis.aclose()

    return asyncio.run(run())


def cmd_report(args: argparse.Namespace) -> int:
    """`dancebot report [--from DATE] [--to DATE] [--json]`: the studio's numbers from PostgreSQL."""
    from dancebot.storage import db, report

    settings = load_settings()
    settings.require("database_url")
    kb = load_kb(settings.kb_path).kb
    try:
        first = dt.date.fromisoformat(args.date_from) if args.date_from else None
        last = dt.date.fromisoformat(args.date_to) if args.date_to else None
    except ValueError as exc:
        return _fail(f"--from/--to: {exc} (use YYYY-MM-DD)")
    when = report.period(kb.tz, dt.datetime.now(kb.tz).date(), first, last)
    if when.first > when.last:
        return _fail("--from is after --to")

    async def run() -> dict[str, Any]:
        engine = db.create_engine(settings.database_url or "")
        try:
            return await report.compute(engine, when, admin_chat_id=settings.admin_chat_id)
        finally:
            await engine.dispose()

    figures = asyncio.run(run())
    print(report.as_json(figures) if args.json else report.render(figures))
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from dancebot.console import run_chat

    settings = load_settings()
    _check_kb(settings)
    return run_chat(settings, fresh=args.fresh, debug=args.debug, channel=args.channel)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dancebot", description="DanceBot — a dance studio's chatbot backend")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the FastAPI app (webhooks, /health)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    worker = sub.add_parser("worker", help="run the worker (outbound queue, retries, chores)")
    worker.add_argument("--telegram-rate", type=float, help="Telegram sends per second overall (default 30)")
    worker.add_argument("--whatsapp-rate", type=float, help="WhatsApp sends per second overall (default 80)")
    worker.set_defaults(func=cmd_worker)
    dead = sub.add_parser("dlq", help="list dead letters (messages the worker gave up on); re-queue or drop them")
    dead.add_argument("action", nargs="?", choices=("list", "requeue", "drop"), default="list")
    dead.add_argument("ids", nargs="*", help="job ids (as listed)")
    dead.add_argument("--all", action="store_true", help="every dead letter")
    dead.set_defaults(func=cmd_dlq)
    numbers = sub.add_parser("report", help="the studio's numbers for a period, from PostgreSQL")
    numbers.add_argument(
        "--from", dest="date_from", metavar="DATE", help="first day, YYYY-MM-DD (default: 29 days before --to)"
    )
    numbers.add_argument("--to", dest="date_to", metavar="DATE", help="last day, YYYY-MM-DD (default: today)")
    numbers.add_argument("--json", action="store_true", help="the same figures as JSON")
    numbers.set_defaults(func=cmd_report)
    chat = sub.add_parser("chat", help="talk to the bot in this console (embedded servers, no setup)")
    chat.add_argument("--fresh", action="store_true", help="forget the previous console conversation")
    chat.add_argument("--debug", action="store_true", help="print the JSON log lines too")
    chat.add_argument("--channel", choices=("telegram", "whatsapp"), default="telegram", help="play a client of it")
    chat.set_defaults(func=cmd_chat)
    sub.add_parser("migrate", help="apply the PostgreSQL migrations").set_defaults(func=cmd_migrate)
    kb = sub.add_parser("kb-check", help="validate a knowledge base file")
    kb.add_argument("path", nargs="?", help="KB file (default: KB_PATH or knowledge/studio.yaml)")
    kb.set_defaults(func=cmd_kb_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SettingsError as exc:
        return _fail(str(exc))
    except KBInvalid as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
