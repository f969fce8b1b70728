"""The httpx transport of the bot's outside calls: Telegram, WhatsApp and Impulse (not the LLM, whose SDK
keeps its own client).

httpx stays the client API everywhere (requests, timeouts, errors, `MockTransport` in tests); this is
the transport under it. httpx's default transport costs about 0.9 ms of CPU per request on our machines:
its connection pool scans every connection twice per request (a `poll` system call and anyio's attribute
dict for each idle one), anyio wraps every read and write in a cancel scope, and h11 and the request
go out in two or three writes. `benchmarks/http_transport.py` measures it; at 100 messages/s that was a
tenth of the app's CPU and a fifth of the worker's. This transport keeps idle connections in a list per
origin, is told by asyncio when the server closes one (no polling), writes each request in one call and
parses the answer with httptools, the C parser uvicorn uses.

What it handles: HTTP/1.1 over TCP or TLS, requests whose body httpx already holds in memory (JSON,
forms), answers read whole (the bot's answers are a few KB). Anything else (streamed or multipart
bodies, other schemes) goes to httpx's own transport, built with the same settings.

Errors are httpx's: `ConnectError`/`ConnectTimeout` (the request was not sent), `PoolTimeout` (no free
connection in time), `WriteError`, `ReadTimeout`, `ReadError` and `RemoteProtocolError` (sent, answer
unknown). Nothing is retried here: a request whose fate is unknown is the caller's to verify (the CRM
client's creates are), never repeated on a guess. A connection idle longer than `keepalive_expiry` is
closed rather than reused, so a server dropping idle connections does not make a request fail.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator

import httptools
import httpx

__all__ = ["LeanTransport"]

_Origin = tuple[bytes, bytes, int]


class _Connection(asyncio.Protocol):
    """One keep-alive connection: the asyncio protocol and httptools' callbacks in one object."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False  # the server closed it, or we did
        self.used_at = time.monotonic()
        self._parser = httptools.HttpResponseParser(self)
        self._done: asyncio.Future[None] | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._got_bytes = False
        self._complete = False
        self._headers_complete = False
        self._framed = False  # Content-Length or chunked: the body's end is known without EOF
        self._keep_alive = False
        self._error: Exception | None = None

    # ---- asyncio -------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is not a subclass)

    def data_received(self, data: bytes) -> None:
        if self._done is None or self._complete:  # bytes nobody asked for: the connection is not trusted again
            self.close()
            return
        self._got_bytes = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._finish(httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}"))

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._ended(exc)

    def _ended(self, exc: Exception | None) -> None:
        self.closed = True
        if self._done is None or self._done.done():
            return
        if self._headers_complete and not self._framed:
            self._complete = True  # a body delimited by the connection's end (HTTP/1.0 style)
            self._finish(None)
        elif not self._got_bytes:
            self._finish(httpx.RemoteProtocolError("Server disconnected without sending a response."))
        else:
            detail = f": {exc}" if exc else ""
            self._finish(httpx.ReadError(f"peer closed connection without sending complete message body{detail}"))

    # ---- httptools -----------------------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        if self._complete:
            return
        self._headers.append((name, value))
        lname = name.lower()
        if lname == b"content-length" or (lname == b"transfer-encoding" and b"chunked" in value.lower()):
            self._framed = True

    def on_headers_complete(self) -> None:
        self._headers_complete = True
        self._keep_alive = self._parser.should_keep_alive()  # valid only inside the parser's callbacks

    def on_body(self, body: bytes) -> None:
        if not self._complete:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._complete:  # a second answer to one request: the answer stands, the connection goes
            self.close()
            return
        self._complete = True
        self._finish(None)

    def _finish(self, error: Exception | None) -> None:
        self._error = error
        if error is not None:
            self.close()
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    # ---- one exchange --------------------------------------------------------------------------------
    async def exchange(self, data: bytes, read_timeout: float | None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        assert self.transport is not None
        self._parser = httptools.HttpResponseParser(self)
        self._headers, self._body = [], []
        self._got_bytes = self._complete = self._headers_complete = self._framed = self._keep_alive = False
        self._error = None
        self._done = asyncio.get_running_loop().create_future()
        if self.closed or self.transport.is_closing():
            raise httpx.WriteError("the connection was closed before the request was written")
        self.transport.write(data)
        try:
            if read_timeout is None:
                await self._done
            else:
                async with asyncio.timeout(read_timeout):
                    await self._done
        except TimeoutError:
            self.close()
            raise httpx.ReadTimeout(f"no complete answer within {read_timeout} s") from None
        finally:
            self._done = None
        if self._error is not None:
            raise self._error
        self.used_at = time.monotonic()
        if not self._keep_alive:
            self.close()
        return self._parser.get_status_code(), self._headers, b"".join(self._body)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class _Body(httpx.AsyncByteStream):
    def __init__(self, body: bytes) -> None:
        self._body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body


class LeanTransport(httpx.AsyncBaseTransport):
    """`httpx.AsyncClient(transport=LeanTransport())`. `limits.max_connections` bounds the requests in
    flight (a request waits up to the pool timeout for a place), `max_keepalive_connections` the idle
    connections kept per origin."""

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | bool = True,
        limits: httpx.Limits | None = None,
        keepalive_expiry: float = 4.0,
    ) -> None:
        limits = limits or httpx.Limits()
        self._ssl = verify if isinstance(verify, ssl.SSLContext) else httpx.create_ssl_context(verify=verify)
        self._fallback = httpx.AsyncHTTPTransport(verify=self._ssl, limits=limits)
        self._in_flight = asyncio.Semaphore(limits.max_connections or 1_000_000)
        self._keep = limits.max_keepalive_connections if limits.max_keepalive_connections is not None else 1_000_000
        self._expiry = keepalive_expiry
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        try:
            body = request.content
        except httpx.RequestNotRead:
            return await self._fallback.handle_async_request(request)
        if url.scheme not in ("http", "https") or self._closed:
            return await self._fallback.handle_async_request(request)
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        origin = (url.raw_scheme, url.raw_host, url.port or (443 if url.scheme == "https" else 80))
        try:
            async with asyncio.timeout(timeouts.get("pool")):
                await self._in_flight.acquire()
        except TimeoutError:
            raise httpx.PoolTimeout("no free connection in time", request=request) from None
        try:
            conn = self._idle_connection(origin) or await self._connect(origin, timeouts.get("connect"), request)
            try:
                status, headers, content = await conn.exchange(_request_bytes(request, body), timeouts.get("read"))
            except httpx.TransportError as exc:
                exc.request = request
                raise
            except BaseException:  # cancelled mid-exchange: what the connection holds next is unknown
                conn.close()
                raise
            self._release(origin, conn)
        finally:
            self._in_flight.release()
        return httpx.Response(
            status,
            headers=headers,
            stream=_Body(content),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": b""},
        )

    def _idle_connection(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been dropped
            if not conn.closed and now - conn.used_at < self._expiry:
                return conn
            conn.close()
        return None

    def _release(self, origin: _Origin, conn: _Connection) -> None:
        if conn.closed:
            return
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self._keep or self._closed:
            conn.close()
        else:
            idle.append(conn)

    async def _connect(self, origin: _Origin, within: float | None, request: httpx.Request) -> _Connection:
        scheme, host, port = origin
        hostname = host.decode("ascii")
        tls = scheme == b"https"
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(within):
                _, conn = await loop.create_connection(
                    _Connection,
                    hostname,
                    port,
                    ssl=self._ssl if tls else None,
                    server_hostname=hostname if tls else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(
                f"no connection to {hostname}:{port} within {within} s", request=request
            ) from None
        except (OSError, ssl.SSLError) as exc:
            raise httpx.ConnectError(f"{hostname}:{port}: {exc}", request=request) from exc
        return conn

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        await self._fallback.aclose()


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    target = url.raw_path or b"/"
    lines = [request.method.encode("ascii") + b" " + target + b" HTTP/1.1"]
    lines += [name + b": " + value for name, value in request.headers.raw]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
