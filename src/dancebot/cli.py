"""`dancebot` console script: serve, worker, chat, migrate, kb-check (PRODUCT.md §3).

Configuration problems (a missing or invalid variable, an invalid KB) print one clear line per problem
to stderr and exit with code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
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


def _check_kb(settings: Settings) -> None:
    """Refuse to start with an invalid KB before anything else happens (PRODUCT.md §8)."""
    loaded = load_kb(settings.kb_path)
    for warning in loaded.warnings:
        print(f"kb warning: {warning}", file=sys.stderr)


def cmd_kb_check(args: argparse.Namespace) -> int:
    path = Path(args.path) if args.path else load_settings().kb_path
    loaded = load_kb(path)
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

    asyncio.run(runner())


def cmd_worker(args: argparse.Namespace) -> int:
    from dancebot.outbound.senders import TelegramSender
    from dancebot.outbound.service import run_worker
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
            senders = {"telegram": TelegramSender(token, settings.telegram_api_base_url)}
            await run_worker(rt, senders, stop, extra_chores=worker_chores(rt, conversation.runner))

    _run_until_signal(main)
    return 0


def cmd_chat(args: argparse.Namespace) -> int:
    from dancebot.console import run_chat

    settings = load_settings()
    _check_kb(settings)
    return run_chat(settings, fresh=args.fresh, debug=args.debug)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dancebot", description="DanceBot — a dance studio's chatbot backend")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the FastAPI app (webhooks, /health)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(func=cmd_serve)
    sub.add_parser("worker", help="run the worker (outbound queue, retries, chores)").set_defaults(func=cmd_worker)
    chat = sub.add_parser("chat", help="talk to the bot in this console (embedded servers, no setup)")
    chat.add_argument("--fresh", action="store_true", help="forget the previous console conversation")
    chat.add_argument("--debug", action="store_true", help="print the JSON log lines too")
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
