"""messages.message_id up to 255 characters: WhatsApp message ids (wamid…) run past 64

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column("messages", "message_id", type_=sa.String(length=255), existing_type=sa.String(length=64))


def downgrade() -> None:
    op.alter_column("messages", "message_id", type_=sa.String(length=64), existing_type=sa.String(length=255))
