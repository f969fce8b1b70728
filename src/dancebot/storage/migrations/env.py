"""Alembic environment: runs migrations on the async engine the caller passes in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from dancebot.storage.tables import metadata


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata)
    with context.begin_transaction():
        context.run_migrations()


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("dancebot migrations run through dancebot.storage.db.migrate()")
_run(connection)
