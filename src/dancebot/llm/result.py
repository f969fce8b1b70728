"""The client's plain data: its configuration (from `Settings`), the outcome of a request, and the result.

`LLMResult.outcome` is also the `status` of the `llm_calls` row: `ok`, `bad_json` (an answer, but no JSON
object in it), `budget` (refused by the Budget Guard, no request made), or an error kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from dancebot.config import Settings

__all__ = [
    "DEFAULT_MODEL",
    "ERROR_OUTCOMES",
    "LLMConfig",
    "LLMResult",
    "Outcome",
    "combine",
    "estimate_tokens",
]

DEFAULT_MODEL = "gpt-4o-mini"
Outcome = Literal[
    "ok",
    "bad_json",
    "budget",
    "timeout",
    "rate_limited",
    "server_error",
    "client_error",
    "connection_error",
    "bad_response",
    "error",
]
ERROR_OUTCOMES: frozenset[str] = frozenset(
    {"timeout", "rate_limited", "server_error", "client_error", "connection_error", "bad_response", "error"}
)


@dataclass(frozen=True)
class LLMConfig:
    base_url: str | None
    api_key: str
    model: str = DEFAULT_MODEL
    price_input_per_1m_usd: float = 0.0
    price_output_per_1m_usd: float = 0.0
    timeout_s: float = 8.0
    max_tokens: int = 400
    json_mode: bool = False  # send response_format=json_object (not every compatible server accepts it)
    data_role: Literal["system", "user"] = "system"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> LLMConfig | None:
        """The configured LLM, or `None` when no key is set (rules-only mode, PRODUCT.md §6)."""
        if not settings.llm_configured or settings.llm_api_key is None:
            return None
        values: dict[str, Any] = {
            "base_url": settings.llm_base_url,
            "api_key": settings.llm_api_key.get_secret_value(),
            "model": settings.llm_model or DEFAULT_MODEL,
            "price_input_per_1m_usd": settings.llm_price_input_per_1m_usd,
            "price_output_per_1m_usd": settings.llm_price_output_per_1m_usd,
            "timeout_s": settings.llm_timeout_s,
        }
        return cls(**{**values, **overrides})

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return round(
            (prompt_tokens * self.price_input_per_1m_usd + completion_tokens * self.price_output_per_1m_usd) / 1e6, 8
        )


@dataclass(frozen=True)
class LLMResult:
    """What came back. `content` only for `ok`/`bad_json`; `data` only for an `ok` JSON request.

    Tokens, cost, latency and `calls` add up every HTTP request made (a JSON retry is a second one).
    """

    outcome: Outcome
    content: str | None = None
    data: dict[str, Any] | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: int = 0
    calls: int = 0
    breached: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"


def estimate_tokens(chars: int) -> int:
    """About four characters a token: for replies that come without `usage`."""
    return math.ceil(chars / 4)


def combine(first: LLMResult, second: LLMResult | None, data: dict[str, Any] | None) -> LLMResult:
    """The result of a JSON request that needed a retry: the last outcome, the sums of both requests."""
    if second is None:  # the retry was not made (cannot happen with `parse_or_retry`, kept total)
        return first
    return LLMResult(
        outcome="ok" if data is not None else second.outcome,
        content=second.content,
        data=data,
        prompt_tokens=first.prompt_tokens + second.prompt_tokens,
        completion_tokens=first.completion_tokens + second.completion_tokens,
        cost_usd=round(first.cost_usd + second.cost_usd, 8),
        latency_ms=first.latency_ms + second.latency_ms,
        calls=first.calls + second.calls,
        breached=second.breached,
    )
