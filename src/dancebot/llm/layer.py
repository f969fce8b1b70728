"""The LLM layer of one process, built from the settings (PRODUCT.md §6.2, §9): the client, the Budget Guard
(a breach alerts the admin chat), the health breaker, the extractor behind the rules and, with
`LLM_REWRITE=true`, the rewriter. No `LLM_API_KEY` → no layer: the bot runs on rules alone.

`budget_report(rt)` and `budget_text(report)` are what the administrator's `/budget` shows: the counters,
their limits and windows, the LLM's status and whether the bot is in static KB mode.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from dancebot.llm.budget import COST, ERRORS, REQUESTS, TOKENS, BudgetGuard, BudgetLimits
from dancebot.llm.client import LLMClient
from dancebot.llm.extract import LLMUnderstander
from dancebot.llm.health import LLMHealth, LLMStatus
from dancebot.llm.result import LLMConfig
from dancebot.llm.rewrite import Rewriter
from dancebot.outbound.alerts import alert_admin
from dancebot.runtime import Runtime

__all__ = ["LLMLayer", "budget_guard", "budget_report", "budget_text", "open_llm"]

_LIMIT_WORDS = {
    TOKENS: "токенов за час",
    COST: "расходов за сутки, $",
    REQUESTS: "запросов за минуту",
    ERRORS: "ошибок за час",
}


@dataclass
class LLMLayer:
    client: LLMClient
    guard: BudgetGuard
    health: LLMHealth
    extractor: LLMUnderstander
    rewriter: Rewriter | None

    async def status(self) -> LLMStatus:
        return await self.health.status()


def budget_guard(rt: Runtime) -> BudgetGuard:
    """The guard on the shared Redis counters; a breach tells the admin chat (once per window)."""

    async def on_breach(name: str, value: float, limit: float) -> None:
        text = (
            f"💸 Бюджет LLM: {_LIMIT_WORDS.get(name, name)} — {value:g} при лимите {limit:g}.\n"
            "Бот отвечает без LLM (статичный режим по базе знаний), пока не кончится окно; "
            "записи идут по правилам или через заявки администратору."
        )
        await alert_admin(rt, f"budget:{name}", text, None)

    return BudgetGuard(rt.redis, BudgetLimits.from_settings(rt.settings), on_breach=on_breach, day_tz=rt.tz)


@contextlib.asynccontextmanager
async def open_llm(rt: Runtime, **config: Any) -> AsyncIterator[LLMLayer | None]:
    """The layer, or None without a key; `config` overrides `LLMConfig` fields (tests: a short timeout)."""
    settings = LLMConfig.from_settings(rt.settings, **config)
    if settings is None:
        yield None
        return
    guard = budget_guard(rt)
    health = LLMHealth(rt.redis, guard)
    async with LLMClient(settings, audit=rt.audit, guard=guard) as client:
        rewriter = Rewriter(rt.kb, client, health) if rt.settings.llm_rewrite else None
        yield LLMLayer(client, guard, health, LLMUnderstander(rt.kb, client, health), rewriter)


async def budget_report(rt: Runtime) -> dict[str, Any]:
    """Everything `/budget` shows: `{"llm": status, "static_kb_mode", "at", <limit>: {value, limit, …}}`."""
    guard = budget_guard(rt)
    snapshot = await guard.snapshot()
    status: LLMStatus = "not_configured"
    if rt.settings.llm_configured:
        status = await LLMHealth(rt.redis, guard).status()
    return {"llm": status, **snapshot, "static_kb_mode": status in ("down", "over_budget")}


def budget_text(report: dict[str, Any]) -> str:
    """The report in the admin's words, one line per counter."""
    lines = [f"LLM: {report['llm']}" + (" — статичный режим по базе знаний" if report["static_kb_mode"] else "")]
    for name in (TOKENS, COST, REQUESTS, ERRORS):
        counter = report[name]
        mark = " ⛔" if counter["breached"] else ""
        lines.append(f"{_LIMIT_WORDS[name]}: {counter['value']:g} / {counter['limit']:g}{mark}")
    return "\n".join(lines)
