"""The httpx transport of the bot's outside calls: Telegram, WhatsApp and Impulse (not the LLM, whose SDK
keeps its own client).

httpx stays the client API everywhere (requests, timeouts, errors, `MockTransport` in tests); this is
the transport under it. httpx's default transport costs about 0.9 ms of CPU per request on our machines:
its connection pool scans every connection twice per request (a `poll` system call and anyio's attribute
dict for each idle one), anyio wraps every read and write in a cancel scope, and h11 and the request
go out in two or three writes. `benchmarks/http_transport.py` measures it; at 100 messages/s that was a
tenth of the app's CPU and a fifth of the worker's. This transport keeps idle connections in a list per
origin (the one about to be reused is checked with one `poll`), writes each request in one call and
parses the answer with httptools, the C parser uvicorn uses.

What it handles: HTTP/1.1 over TCP or TLS, requests whose body httpx already holds in memory (JSON,
forms), answers read whole (the bot's answers are a few KB); interim 1xx answers are skipped. Anything
else (streamed, chunked or multipart bodies, HEAD, other schemes) goes to httpx's own transport. With a
proxy in the environment (`HTTPS_PROXY`…) `outside_transport()` returns None, so httpx builds its own
transport with the proxy, as it would without us.

Errors are httpx's, as its own transport raises them: `ConnectError`/`ConnectTimeout`/`PoolTimeout`
(the request was not sent), then `ReadTimeout` (no byte of the answer within the read timeout; it restarts
with every byte, as httpx's does), `ReadError` (the connection failed), `RemoteProtocolError` (the server
closed it before the whole answer, or sent something that is not HTTP). Nothing is retried here: a
request whose fate is unknown is the caller's to verify (the CRM client's creates are), never repeated
on a guess. A connection idle longer than `keepalive_expiry`, or that the server has closed or written
to while idle, is not reused.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import time
import urllib.request
from collections.abc import AsyncIterator

import httptools
import httpx

__all__ = ["LeanTransport", "outside_transport"]

_Origin = tuple[bytes, bytes, int]
_OWN_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})  # HEAD's answer has no body


def outside_transport(limits: httpx.Limits | None = None) -> LeanTransport | None:
    """The transport for an outside API's client: ours, or None (httpx's own) when the environment names
    a proxy, which httpx honours only when no transport is given."""
    proxies = urllib.request.getproxies()
    if any(proxies.get(scheme) for scheme in ("http", "https", "all")):
        return None
    return LeanTransport(limits=limits)


class _Connection(asyncio.Protocol):
    """One keep-alive connection: the asyncio protocol and httptools' callbacks in one object."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False  # the server closed it, or we did
        self.used_at = time.monotonic()
        self._parser = httptools.HttpResponseParser(self)
        self._done: asyncio.Future[None] | None = None
        self._deadline: asyncio.Timeout | None = None
        self._read_timeout: float | None = None
        self._reset()

    def _reset(self) -> None:
        self._status = 0
        self._reason = b""
        self._version = "1.1"
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._got_bytes = False
        self._interim = False  # the message being parsed is a 1xx: skipped
        self._final = False  # the final answer's head is in
        self._framed = False  # it has Content-Length or chunked: its end is known without EOF
        self._keep_alive = False
        self._complete = False
        self._error: Exception | None = None

    # ---- asyncio -------------------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport (uvloop's is not a subclass)

    def data_received(self, data: bytes) -> None:
        if self._done is None or self._complete:  # bytes nobody asked for: the connection is not trusted again
            self.close()
            return
        self._got_bytes = True
        if self._deadline is not None and self._read_timeout is not None:  # httpx's read timeout is per read
            self._deadline.reschedule(asyncio.get_running_loop().time() + self._read_timeout)
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
        if exc is not None:
            self._finish(httpx.ReadError(f"the connection failed before the whole answer: {exc}"))
        elif self._final and not self._framed:
            self._complete = True  # a body delimited by the connection's end (HTTP/1.0 style)
            self._finish(None)
        elif not self._got_bytes:
            self._finish(httpx.RemoteProtocolError("Server disconnected without sending a response."))
        else:
            self._finish(httpx.RemoteProtocolError("peer closed connection without sending complete message body"))

    # ---- httptools -----------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        if self._complete:  # a second message after the answer: the answer stands, the connection goes
            self.close()
            return
        self._headers, self._body, self._framed, self._reason = [], [], False, b""

    def on_status(self, reason: bytes) -> None:
        if not self._complete:
            self._reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        if self._complete:
            return
        self._headers.append((name, value))
        lname = name.lower()
        if lname == b"content-length" or (lname == b"transfer-encoding" and b"chunked" in value.lower()):
            self._framed = True

    def on_headers_complete(self) -> None:
        if self._complete:
            return
        status = self._parser.get_status_code()
        if status == 101:
            self._finish(httpx.RemoteProtocolError("the server switched protocols (101), which was not asked"))
        elif 100 <= status < 200:
            self._interim = True
        else:  # the parser's state is valid only inside its callbacks: read it now
            self._status, self._final = status, True
            self._version = self._parser.get_http_version()
            self._keep_alive = self._parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if self._final and not self._complete:
            self._body.append(body)

    def on_message_complete(self) -> None:
        if self._complete:
            self.close()
        elif self._interim:  # 100 Continue, 103 Early Hints: the answer follows
            self._interim = False
        elif self._final:
            self._complete = True
            self._finish(None)

    def _finish(self, error: Exception | None) -> None:
        self._error = error
        if error is not None:
            self.close()
        if self._done is not None and not self._done.done():
            self._done.set_result(None)

    # ---- one exchange --------------------------------------------------------------------------------
    async def exchange(self, data: bytes, read_timeout: float | None) -> httpx.Response:
        assert self.transport is not None
        if self.closed or self.transport.is_closing():
            raise httpx.WriteError("the connection was closed before the request was written")
        self._parser = httptools.HttpResponseParser(self)
        self._reset()
        self._done = asyncio.get_running_loop().create_future()
        self._read_timeout = read_timeout
        self.transport.write(data)
        try:
            async with asyncio.timeout(read_timeout) as deadline:
                self._deadline = deadline
                await self._done
        except TimeoutError:
            self.close()
            raise httpx.ReadTimeout(f"no byte of the answer for {read_timeout} s") from None
        finally:
            self._done = self._deadline = None
        if self._error is not None:
            raise self._error
        self.used_at = time.monotonic()
        if not self._keep_alive:
            self.close()
        return httpx.Response(
            self._status,
            headers=self._headers,
            stream=_Body(b"".join(self._body)),
            extensions={"http_version": f"HTTP/{self._version}".encode(), "reason_phrase": self._reason},
        )

    def idle_readable(self) -> bool:
        """Bytes or an EOF wait in the socket that the loop has not delivered yet (it was busy): on an idle
        connection that is the server closing it, or bytes nobody asked for."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return True
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))

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
    connections kept per origin. Usable again after `aclose()` (python-telegram-bot re-initialises)."""

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

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        try:
            body = request.content
        except httpx.RequestNotRead:
            return await self._fallback.handle_async_request(request)
        if url.scheme not in ("http", "https") or request.method not in _OWN_METHODS:
            return await self._fallback.handle_async_request(request)
        if "transfer-encoding" in request.headers:  # its body is to be framed as chunks
            return await self._fallback.handle_async_request(request)
        data = _request_bytes(request, body)
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
                response = await conn.exchange(data, timeouts.get("read"))
            except httpx.TransportError as exc:
                exc.request = request
                raise
            except BaseException:  # cancelled mid-exchange: what the connection holds next is unknown
                conn.close()
                raise
            self._release(origin, conn)
        finally:
            self._in_flight.release()
        return response

    def _idle_connection(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        now = time.monotonic()
        while idle:
            conn = idle.pop()  # the most recently used: the least likely to have been dropped
            if not conn.closed and now - conn.used_at < self._expiry and not conn.idle_readable():
                return conn
            conn.close()
        return None

    def _release(self, origin: _Origin, conn: _Connection) -> None:
        if conn.closed:
            return
        idle = self._idle.setdefault(origin, [])
        if len(idle) >= self._keep:
            conn.close()
        else:
            idle.append(conn)

    async def _connect(self, origin: _Origin, within: float | None, request: httpx.Request) -> _Connection:
        """Each address of the host in turn (uvloop has no happy eyeballs), each given its share of what
        is left of the connect timeout, so a silently dropped IPv6 route still leaves time for IPv4."""
        scheme, host, port = origin
        hostname = host.decode("ascii")
        tls = scheme == b"https"
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        try:
            async with asyncio.timeout(within):
                addresses = await loop.getaddrinfo(hostname, port, type=socket.SOCK_STREAM)
        except TimeoutError:
            raise httpx.ConnectTimeout(f"{hostname}: no address within {within} s", request=request) from None
        except OSError as exc:
            raise httpx.ConnectError(f"{hostname}: {exc}", request=request) from exc
        failures: list[str] = []
        for n, (_, _, _, _, address) in enumerate(addresses):
            share = None if deadline is None else max(0.0, deadline - loop.time()) / (len(addresses) - n)
            try:
                async with asyncio.timeout(share):
                    _, conn = await loop.create_connection(
                        _Connection,
                        str(address[0]),
                        port,
                        ssl=self._ssl if tls else None,
                        server_hostname=hostname if tls else None,
                    )
                return conn
            except TimeoutError:
                failures.append(f"{address[0]}: no connection within {share:.2f} s")
            except (OSError, ssl.SSLError) as exc:
                failures.append(f"{address[0]}: {exc}")
        message = f"{hostname}:{port}: " + "; ".join(failures or ["no address"])
        if failures and all("no connection within" in f for f in failures):
            raise httpx.ConnectTimeout(message, request=request)
        raise httpx.ConnectError(message, request=request)

    async def aclose(self) -> None:
        for idle in self._idle.values():
            for conn in idle:
                conn.close()
        self._idle.clear()
        await self._fallback.aclose()


def _request_bytes(request: httpx.Request, body: bytes) -> bytes:
    url = request.url
    lines = [request.method.encode("ascii") + b" " + (url.raw_path or b"/") + b" HTTP/1.1"]
    raw = request.headers.raw
    written = b"".join(name + value for name, value in raw)
    if b"\r" in written or b"\n" in written or b"\0" in written:  # h11 refuses them too: no header injection
        raise httpx.LocalProtocolError("a header holds a line break or NUL", request=request)
    lines += [name + b": " + value for name, value in raw]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body
