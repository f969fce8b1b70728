"""The worker's chores for the administrator (PRODUCT.md §11.1), added by the wiring to every worker:

- the CRM watch: every `CRM_WATCH_EVERY` seconds the CRM's health (cached by `CRMService`); down or a
  refused key → an alert saying what the bot does meanwhile and what to check (one per 10 minutes, like
  every alert: `alerts.alert_admin`);
- `/done` notes → the `fallback_requests` rows' status (`fallback.apply_resolutions`);
- the daily digest (`digest.py`);
- in test mode, every audit row written to PostgreSQL is echoed to stdout (`testmode.echo_rows`).
"""

from __future__ import annotations

import time
from typing import Final, Protocol

from dancebot.conversation.fallback import apply_resolutions
from dancebot.conversation.testmode import RowEcho
from dancebot.outbound.alerts import alert_admin
from dancebot.outbound.digest import daily_digest
from dancebot.outbound.service import Chore
from dancebot.runtime import Runtime

__all__ = ["CRM_WATCH_EVERY", "admin_chores", "crm_down_text", "watch_crm"]

CRM_WATCH_EVERY: Final = 30.0


class CRMHealth(Protocol):
    async def health(self) -> str: ...


def crm_down_text(status: str) -> str:
    what = "не принимает ключ API" if status == "auth_error" else "не отвечает"
    check = (
        "проверьте IMPULSE_API_KEY (ключ могли сменить в Impulse)"
        if status == "auth_error"
        else "проверьте, открывается ли Impulse; если да — напишите разработчику"
    )
    return (
        f"🔌 CRM (Impulse) {what}.\n"
        "Пока так: бот отвечает по базе знаний, записи и отмены становятся заявками для вас.\n"
        f"Что сделать: {check}. Заявки — /requests, выполненные отмечайте /done N."
    )


async def watch_crm(rt: Runtime, crm: CRMHealth) -> bool:
    """One look at the CRM; True when an alert was queued."""
    try:
        status = await crm.health()
    except Exception:
        status = "down"
    if status == "ok":
        return False
    return await alert_admin(rt, "crm_down", crm_down_text(status), None)


def admin_chores(rt: Runtime, crm: CRMHealth) -> list[Chore]:
    last_watch = [0.0]

    async def crm_watch() -> None:
        if time.monotonic() - last_watch[0] >= CRM_WATCH_EVERY:
            last_watch[0] = time.monotonic()
            await watch_crm(rt, crm)

    async def resolutions() -> None:
        await apply_resolutions(rt)

    done_on: list[object] = [None]  # the day whose digest is out: no Redis round trip until tomorrow

    async def digest() -> None:
        today = rt.now().date()
        if done_on[0] != today and await daily_digest(rt) in ("sent", "taken"):
            done_on[0] = today

    chores: list[Chore] = [crm_watch, resolutions, digest]
    if rt.settings.test_mode:
        chores.append(RowEcho(rt).chore)
    return chores
