"""Helpers of the deploy tests' stacks: Redis databases of their own, the environment of a production-shaped
`dancebot serve` + `dancebot worker` with both channels configured."""

from __future__ import annotations

import os

from dancebot.channels import whatsapp_payloads as wa
from dancebot.runtime import connect_redis
from tests.conftest import ADMIN_CHAT_ID, BOT_TOKEN, KB_PATH, WEBHOOK_SECRET, Servers, with_redis_db
from tests.stack_fixtures import CRM_KEY, NOW

WA_TOKEN = "EAAGm0PX4ZCpsBAdeploy-whatsapp-access-token"
WA_SECRET = "whatsapp-app-secret-for-deploy-tests-3c8a"
WA_VERIFY = "whatsapp-verify-token-for-deploy-tests-77e0"


def xdist_worker() -> int:
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def own_redis_db(servers: Servers, base: int) -> str:
    """Databases the other stacks never use: 0–5 are the shared stacks', 15 and 14 WhatsApp's."""
    return with_redis_db(servers.redis_url, base - xdist_worker())


async def flush(url: str) -> None:
    redis = connect_redis(url)
    await redis.flushdb()
    await redis.aclose()


def stack_env(redis_url: str, servers: Servers, tg_url: str, impulse_url: str, wa_url: str) -> dict[str, str]:
    return {
        "REDIS_URL": redis_url,
        "DATABASE_URL": servers.database_url,
        "KB_PATH": str(KB_PATH),
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": tg_url,
        "ADMIN_CHAT_ID": str(ADMIN_CHAT_ID),
        "IMPULSE_API_KEY": CRM_KEY,
        "IMPULSE_BASE_URL": impulse_url,
        "DANCEBOT_FROZEN_NOW": NOW.isoformat(),
        "WHATSAPP_ACCESS_TOKEN": WA_TOKEN,
        "WHATSAPP_PHONE_NUMBER_ID": wa.PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": WA_SECRET,
        "WHATSAPP_VERIFY_TOKEN": WA_VERIFY,
        "WHATSAPP_API_BASE_URL": wa_url,
        "WHATSAPP_APPROVED_TEMPLATES": "lesson_reminder_24h,lesson_reminder_2h",
    }
