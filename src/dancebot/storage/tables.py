"""PostgreSQL schema (PRODUCT.md §12) as SQLAlchemy Core tables; Alembic migrations create exactly these.

Telegram chat ids need 64 bits and can be negative (groups), so `chat_id` is BIGINT everywhere.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

__all__ = [
    "booking_attempts",
    "dead_letter_messages",
    "errors",
    "fallback_requests",
    "fsm_transitions",
    "llm_calls",
    "messages",
    "metadata",
    "tool_calls",
]

metadata = sa.MetaData()


def _common() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=True),
        # indexed for the daily 90-day retention (`retention.py`, migration 0002)
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now(), index=True),
        sa.Column("trace_id", sa.String(36), index=True),
    ]


messages = sa.Table(
    "messages",
    metadata,
    *_common(),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False, index=True),
    sa.Column("direction", sa.String(3), nullable=False),  # in / out
    sa.Column("message_id", sa.String(255)),
    sa.Column("message_type", sa.String(16), nullable=False, server_default="text"),
    sa.Column("text", sa.Text),
    sa.Column("state", sa.String(32)),
    sa.Column("is_edit", sa.Boolean, nullable=False, server_default=sa.false()),
)

booking_attempts = sa.Table(
    "booking_attempts",
    metadata,
    *_common(),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("occurrence_id", sa.String(64), nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False, index=True),
    sa.Column("client_id", sa.BigInteger),
    sa.Column("phone_masked", sa.String(32)),
    sa.Column("outcome", sa.String(32), nullable=False),  # booked / duplicate / rejected / unavailable / unknown
    sa.Column("detail", sa.Text),
)

tool_calls = sa.Table(
    "tool_calls",
    metadata,
    *_common(),
    sa.Column("function", sa.String(64), nullable=False),
    sa.Column("arguments", JSONB),
    sa.Column("status", sa.String(64), nullable=False),
    sa.Column("latency_ms", sa.Integer, nullable=False),
)

llm_calls = sa.Table(
    "llm_calls",
    metadata,
    *_common(),
    sa.Column("model", sa.String(128)),
    sa.Column("purpose", sa.String(32)),
    sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cost_usd", sa.Numeric(12, 6), nullable=False, server_default="0"),
    sa.Column("latency_ms", sa.Integer, nullable=False, server_default="0"),
    sa.Column("status", sa.String(32), nullable=False),
)

errors = sa.Table(
    "errors",
    metadata,
    *_common(),
    sa.Column("source", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(64), nullable=False),
    sa.Column("message", sa.Text),
    sa.Column("details", JSONB),
)

dead_letter_messages = sa.Table(
    "dead_letter_messages",
    metadata,
    *_common(),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
)

fallback_requests = sa.Table(
    "fallback_requests",
    metadata,
    *_common(),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),  # booking / cancel / verify / l3
    sa.Column("reason", sa.String(64), nullable=False),
    sa.Column("payload", JSONB, nullable=False),
    sa.Column("status", sa.String(16), nullable=False, server_default="new"),
    sa.Column("resolved_at", sa.DateTime(timezone=True)),
)

fsm_transitions = sa.Table(  # written from the engine's `fsm.transition` log event (storage/trail.py)
    "fsm_transitions",
    metadata,
    *_common(),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("chat_id", sa.BigInteger, nullable=False),
    sa.Column("state_from", sa.String(32), nullable=False),
    sa.Column("event", sa.String(32), nullable=False),
    sa.Column("state_to", sa.String(32), nullable=False),
    sa.Column("action", sa.String(64)),
    sa.Index("ix_fsm_transitions_chat", "channel", "chat_id", "created_at"),
)
sa.Index("ix_messages_chat_created", messages.c.channel, messages.c.chat_id, messages.c.created_at)  # the report
sa.Index("ix_fallback_requests_status", fallback_requests.c.status)  # /requests, the report

TABLES_BY_NAME = {t.name: t for t in metadata.sorted_tables}
