"""created_at indexes for the daily 90-day retention

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TABLES = (
    "messages",
    "booking_attempts",
    "tool_calls",
    "llm_calls",
    "errors",
    "dead_letter_messages",
    "fallback_requests",
)


def upgrade() -> None:
    for table in TABLES:
        op.create_index(op.f(f"ix_{table}_created_at"), table, ["created_at"], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(op.f(f"ix_{table}_created_at"), table_name=table)
