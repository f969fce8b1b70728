"""The LLM client (PRODUCT.md §9): any OpenAI-compatible chat-completions endpoint through the `openai` SDK.

Short and bounded on purpose: temperature 0, a `max_tokens` cap (a caller may ask for less), one deadline
(`LLM_TIMEOUT_S`, 8 s by default) shared by a request and its JSON retry, and no SDK retries — a
conversation never waits long for a model. Message layout (PRODUCT.md §9.1): the short system prompt, then
the data block (KB passages, tool results) in a message of its own, then the client's text, alone, in the
`user` role.

Every request first asks the Budget Guard (refused → outcome `budget`, no HTTP call), then writes one
`llm_calls` row through the audit queue (tokens from `usage`, cost from `LLM_PRICE_*`, latency, outcome)
and updates the guard. Nothing raises out of `complete`/`complete_json`: timeouts, 4xx/5xx, 429, refused
connections and garbage bodies all come back as an `LLMResult` with an outcome and no content.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dancebot import waits
from dancebot.llm.budget import BudgetGuard
from dancebot.llm.jsonparse import JSON_ONLY_INSTRUCTION, parse_json_object, parse_or_retry
from dancebot.llm.result import ERROR_OUTCOMES, LLMConfig, LLMResult, Outcome, combine, estimate_tokens
from dancebot.logs import get_logger
from dancebot.storage.audit import Audit

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

# The `openai` SDK (≈ 16 MB of modules) is imported when a client is made, not with this module: in
# rules-only mode (no LLM key) neither the app nor the worker ever loads it.

__all__ = ["LLMClient", "LLMConfig", "LLMResult", "Outcome"]

log = get_logger(__name__)

RETRY_ECHO_CHARS = 2_000  # how much of a non-JSON reply is shown back to the model in the retry
MIN_RETRY_S = 1.0  # the JSON retry is made only with this much of the deadline left (a quarter of a short one)


def _classify(exc: Exception) -> Outcome:
    from openai import APIConnectionError, APIStatusError, APITimeoutError, RateLimitError

    if isinstance(exc, APITimeoutError | TimeoutError):
        return "timeout"
    if isinstance(exc, RateLimitError):
        return "rate_limited"
    if isinstance(exc, APIStatusError):
        return "server_error" if exc.status_code >= 500 else "client_error"
    if isinstance(exc, APIConnectionError):
        return "connection_error"
    if isinstance(exc, ValueError | TypeError | AttributeError | KeyError | IndexError):
        return "bad_response"  # a body that is not a chat completion (the SDK hands back text or a partial model)
    return "error"


def _reply(response: object) -> tuple[str | None, int | None, int | None]:
    """Content and usage of a chat completion; a body that is not one raises `TypeError`."""
    from openai.types.chat import ChatCompletion

    if not isinstance(response, ChatCompletion) or not response.choices:
        raise TypeError("not a chat completion")
    content = response.choices[0].message.content
    usage = response.usage
    if usage is None:
        return content, None, None
    return content, usage.prompt_tokens, usage.completion_tokens


class LLMClient:
    def __init__(
        self,
        config: LLMConfig,
        *,
        audit: Audit | None = None,
        guard: BudgetGuard | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.config = config
        self._audit = audit
        self._guard = guard
        self._clock = clock or (lambda: datetime.now(UTC))
        from openai import AsyncOpenAI

        self._openai = AsyncOpenAI(
            api_key=config.api_key, base_url=config.base_url, timeout=config.timeout_s, max_retries=0
        )

    async def aclose(self) -> None:
        await self._openai.close()

    async def __aenter__(self) -> LLMClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    def messages(self, system: str, data_block: str | None, user_text: str) -> list[ChatCompletionMessageParam]:
        """System prompt, data block (own message), then the client's text — the only `user`-role text of ours."""
        out: list[ChatCompletionMessageParam] = [{"role": "system", "content": system}]
        if data_block:
            if self.config.data_role == "user":
                out.append({"role": "user", "content": data_block})
            else:
                out.append({"role": "system", "content": data_block})
        out.append({"role": "user", "content": user_text})
        return out

    async def complete(
        self,
        purpose: str,
        system: str,
        data_block: str | None,
        user_text: str,
        trace_id: str | None,
        *,
        max_tokens: int | None = None,
    ) -> LLMResult:
        """One free-text completion (e.g. rephrasing); the caller runs the policy enforcer on the content."""
        messages = self.messages(system, data_block, user_text)
        return await self._call(messages, purpose, trace_id, expect_json=False, max_tokens=max_tokens)

    async def complete_json(
        self,
        purpose: str,
        system: str,
        data_block: str | None,
        user_text: str,
        trace_id: str | None,
        *,
        max_tokens: int | None = None,
    ) -> LLMResult:
        """A JSON object via the 3-step parser: parse, extract a block, one retry asking for JSON only.

        Outcome `ok` with `data`, `bad_json` when the retry did not help either, or the error/budget outcome
        of the request that failed (an error on the first request is not retried: we never wait long). The
        two requests share one deadline (`timeout_s`): the retry gets what the first left, and is not made
        when too little is left (`MIN_RETRY_S`; the outcome stays `bad_json`).
        """
        messages = self.messages(system, data_block, user_text)
        started = time.monotonic()
        first = await self._call(messages, purpose, trace_id, expect_json=True, max_tokens=max_tokens)
        if first.outcome != "bad_json":
            return first
        left = self.config.timeout_s - (time.monotonic() - started)
        if left < min(MIN_RETRY_S, self.config.timeout_s / 4):
            log.info("llm.retry_skipped", trace_id=trace_id, purpose=purpose, left_s=round(left, 2))
            return first
        retry_messages: list[ChatCompletionMessageParam] = [
            *messages,
            {"role": "assistant", "content": (first.content or "")[:RETRY_ECHO_CHARS]},
            {"role": "user", "content": JSON_ONLY_INSTRUCTION},
        ]
        second: LLMResult | None = None

        async def retry() -> str | None:
            nonlocal second
            second = await self._call(
                retry_messages, f"{purpose}_retry", trace_id, expect_json=True, max_tokens=max_tokens, timeout_s=left
            )
            return second.content

        data, _ = await parse_or_retry(first.content, retry)
        return combine(first, second, data)

    async def _allowed(self) -> tuple[bool, str | None]:
        if self._guard is None:
            return True, None
        try:
            decision = await self._guard.allow(self._clock())
        except Exception as exc:  # fail closed: no unchecked spending
            log.error("llm.budget_check_failed", error=type(exc).__name__)
            return False, "budget_unavailable"
        return decision.allowed, decision.breached

    async def _call(
        self,
        messages: Sequence[ChatCompletionMessageParam],
        purpose: str,
        trace_id: str | None,
        *,
        expect_json: bool,
        max_tokens: int | None = None,
        timeout_s: float | None = None,
    ) -> LLMResult:
        allowed, breached = await self._allowed()
        if not allowed:
            await self._row(trace_id, purpose, 0, 0, 0.0, 0, "budget")
            log.info("llm.call", trace_id=trace_id, purpose=purpose, outcome="budget", breached=breached)
            return LLMResult(outcome="budget", breached=breached)
        from openai import omit

        started = time.perf_counter()
        content: str | None = None
        usage: tuple[int | None, int | None] = (None, None)
        outcome: Outcome = "ok"
        try:
            with waits.outside():  # a turn waiting on the LLM holds none of the app's turn places
                async with asyncio.timeout(timeout_s or self.config.timeout_s):
                    response = await self._openai.chat.completions.create(
                        model=self.config.model,
                        messages=list(messages),
                        temperature=0,
                        max_tokens=min(max_tokens or self.config.max_tokens, self.config.max_tokens),
                        response_format={"type": "json_object"} if self.config.json_mode else omit,
                    )
            content, prompt_used, completion_used = _reply(response)
            usage = (prompt_used, completion_used)
            if not isinstance(content, str) or not content.strip():
                outcome, content = "bad_response", None
        except Exception as exc:
            outcome = _classify(exc)
            log.warning(
                "llm.call_failed", trace_id=trace_id, purpose=purpose, outcome=outcome, error=type(exc).__name__
            )
        latency_ms = int((time.perf_counter() - started) * 1000)
        data = parse_json_object(content) if expect_json and content is not None else None
        if expect_json and outcome == "ok" and data is None:
            outcome = "bad_json"
        prompt_tokens, completion_tokens = self._tokens(messages, content, usage, outcome)
        cost = self.config.cost(prompt_tokens, completion_tokens)
        await self._record(prompt_tokens + completion_tokens, cost, outcome in ERROR_OUTCOMES)
        await self._row(trace_id, purpose, prompt_tokens, completion_tokens, cost, latency_ms, outcome)
        log.info(
            "llm.call",
            trace_id=trace_id,
            purpose=purpose,
            model=self.config.model,
            outcome=outcome,
            latency_ms=latency_ms,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
        )
        return LLMResult(
            outcome=outcome,
            content=content if outcome in ("ok", "bad_json") else None,
            data=data if outcome == "ok" else None,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            cost_usd=cost,
            latency_ms=latency_ms,
            calls=1,
        )

    @staticmethod
    def _tokens(
        messages: Sequence[ChatCompletionMessageParam],
        content: str | None,
        usage: tuple[int | None, int | None],
        outcome: Outcome,
    ) -> tuple[int, int]:
        """From `usage`; a reply without it is estimated (≈ 4 characters a token) so the budget still counts."""
        if usage[0] is not None and usage[1] is not None:
            return max(0, usage[0]), max(0, usage[1])
        if outcome not in ("ok", "bad_json"):
            return 0, 0
        prompt_chars = sum(len(str(m.get("content") or "")) for m in messages)
        return estimate_tokens(prompt_chars), estimate_tokens(len(content or ""))

    async def _record(self, tokens: int, cost: float, error: bool) -> None:
        if self._guard is None:
            return
        try:
            await self._guard.record(tokens=tokens, cost_usd=cost, error=error, now=self._clock())
        except Exception as exc:
            log.error("llm.budget_record_failed", error=type(exc).__name__)

    async def _row(
        self,
        trace_id: str | None,
        purpose: str,
        prompt_tokens: int,
        completion_tokens: int,
        cost: float,
        latency_ms: int,
        outcome: str,
    ) -> None:
        if self._audit is None:
            return
        try:
            await self._audit.llm_call(
                trace_id=trace_id,
                purpose=purpose,
                model=self.config.model,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                cost_usd=cost,
                latency_ms=latency_ms,
                status=outcome,
            )
        except Exception as exc:
            log.error("llm.audit_failed", error=type(exc).__name__)
