"""A lean HTTP/1.1 client for the benchmarks' load generators: keep-alive connections over asyncio streams,
requests written as prepared bytes, answers read by Content-Length.

Why not httpx: at 200 requests/s httpx costs the load generator about half a core (its pool, h11 and
anyio layers), taken from the 2 cores the system under test shares with it. In production the load is
Telegram's, on other machines; here every CPU millisecond the generator saves is one the app and worker
get, so the figures describe the bot, not the client. Like Telegram (setWebhook's `max_connections`,
40 by default), it holds a fixed number of connections; a request waiting for a free one waits in the
measured time, as a webhook delivery would.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Any
from urllib.parse import urlsplit

__all__ = ["LeanClient", "LeanError"]

_IDLE_REUSE = 3.0  # seconds a keep-alive connection may idle and still be reused


class LeanError(Exception):
    """The connection failed or the answer was not HTTP."""


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.used_at = time.monotonic()

    @property
    def stale(self) -> bool:
        """Closed by the server, or idle long enough that it may close it while we write (uvicorn drops a
        keep-alive connection idle 5 s): a request sent on it would fail without being read."""
        return self.reader.at_eof() or time.monotonic() - self.used_at > _IDLE_REUSE

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class LeanClient:
    """POST JSON to one host over at most `connections` keep-alive connections."""

    def __init__(self, base_url: str, *, connections: int, headers: dict[str, str], timeout: float = 60) -> None:
        parts = urlsplit(base_url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._head_extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._timeout = timeout
        self._free: asyncio.Queue[_Conn | None] = asyncio.Queue()
        for _ in range(connections):
            self._free.put_nowait(None)  # a slot: connected on first use

    async def post_json(self, path: str, payload: Any) -> tuple[int, Any]:
        """(status, decoded JSON body or None)."""
        body = json.dumps(payload, ensure_ascii=False).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self._host}:{self._port}\r\nContent-Type: application/json\r\n"
            f"{self._head_extra}Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        conn = await self._free.get()
        try:
            if conn is not None and conn.stale:
                conn.close()
                conn = None
            if conn is None:
                conn = _Conn(*await asyncio.open_connection(self._host, self._port))
            status, answer = await asyncio.wait_for(self._exchange(conn, head + body), self._timeout)
        except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError) as exc:
            if conn is not None:
                conn.close()
            self._free.put_nowait(None)
            raise LeanError(type(exc).__name__) from exc
        conn.used_at = time.monotonic()
        self._free.put_nowait(conn)
        try:
            return status, json.loads(answer) if answer else None
        except ValueError:
            return status, None

    @staticmethod
    async def _exchange(conn: _Conn, request: bytes) -> tuple[int, bytes]:
        conn.writer.write(request)
        head = await conn.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value.strip())
        return status, await conn.reader.readexactly(length) if length else b""

    async def aclose(self) -> None:
        while not self._free.empty():
            conn = self._free.get_nowait()
            if conn is not None:
                conn.close()
