"""PostgreSQL access: one async engine (SQLAlchemy Core + asyncpg) and migrations through Alembic.

`DATABASE_URL` is a standard `postgresql://` URL, including the unix-socket form
`postgresql://user@/db?host=/dir`; the app picks the asyncpg driver itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

if TYPE_CHECKING:
    from alembic.config import Config

__all__ = ["create_engine", "migrate", "ping"]

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def create_engine(database_url: str) -> AsyncEngine:
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    return create_async_engine(url, pool_size=5, max_overflow=5, pool_pre_ping=True, pool_recycle=1800)


def _alembic_config(connection: Connection) -> Config:
    from alembic.config import Config  # imported only when migrating: it costs a long-running process ~11 MB

    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")


async def migrate(engine: AsyncEngine) -> None:
    """Apply every pending migration (idempotent; serialised by an advisory lock across processes)."""
    async with engine.begin() as conn:
        await conn.execute(text("SELECT pg_advisory_xact_lock(715517)"))
        await conn.run_sync(_upgrade)


async def ping(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


async def table_names(conn: AsyncConnection) -> set[str]:
    rows = await conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
    return {r[0] for r in rows}
