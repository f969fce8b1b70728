"""fsm_transitions (every FSM transition, for /trace and `dancebot report`) and the report's indexes

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fsm_transitions",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("trace_id", sa.String(length=36), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("state_from", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("state_to", sa.String(length=32), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_fsm_transitions_created_at"), "fsm_transitions", ["created_at"], unique=False)
    op.create_index(op.f("ix_fsm_transitions_trace_id"), "fsm_transitions", ["trace_id"], unique=False)
    op.create_index("ix_fsm_transitions_chat", "fsm_transitions", ["channel", "chat_id", "created_at"], unique=False)
    # `dancebot report`: a chat's messages in time order (conversations), a status's open requests
    op.create_index("ix_messages_chat_created", "messages", ["channel", "chat_id", "created_at"], unique=False)
    op.create_index("ix_fallback_requests_status", "fallback_requests", ["status"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_fallback_requests_status", table_name="fallback_requests")
    op.drop_index("ix_messages_chat_created", table_name="messages")
    op.drop_index("ix_fsm_transitions_chat", table_name="fsm_transitions")
    op.drop_index(op.f("ix_fsm_transitions_trace_id"), table_name="fsm_transitions")
    op.drop_index(op.f("ix_fsm_transitions_created_at"), table_name="fsm_transitions")
    op.drop_table("fsm_transitions")
