"""`LeanTransport` (the httpx transport of Telegram, WhatsApp and Impulse calls) against a real HTTP server
on loopback that misbehaves on request: keep-alive and its end, chunked and EOF-delimited bodies, gzip,
timeouts, a server that drops the connection before, during or instead of answering, garbage, TLS, a
full pool and a cancelled request. Every error is httpx's own, carrying the request."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dancebot.transport import LeanTransport, outside_transport


class Server:
    """HTTP/1.1 on 127.0.0.1; the path picks the behaviour. Counts TCP connections and keeps what it read."""

    def __init__(self) -> None:
        self.connections = 0
        self.ended = 0  # connections the client closed (or that ended here)
        self.requests: list[tuple[bytes, dict[bytes, bytes], bytes]] = []
        self.release = asyncio.Event()
        self._server: asyncio.base_events.Server | None = None
        self.port = 0

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> Server:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        assert self._server is not None
        self._server.close()
        self.release.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line, *rest = head[:-4].split(b"\r\n")
                headers = {k.strip().lower(): v.strip() for k, v in (h.split(b":", 1) for h in rest)}
                body = await reader.readexactly(int(headers.get(b"content-length", b"0")))
                self.requests.append((line, headers, body))
                path = line.split(b" ")[1].decode()
                if not await self._answer(path, body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.ended += 1
            writer.close()

    async def _answer(self, path: str, body: bytes, writer: asyncio.StreamWriter) -> bool:
        """Writes the answer; False closes the connection afterwards."""
        if path.startswith("/json"):
            out = json.dumps({"echo": json.loads(body or b"null"), "path": path}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(out) + out
            )
        elif path == "/gzip":
            out = gzip.compress("привет".encode() * 50)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(out) + out)
        elif path == "/chunked":
            writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        elif path == "/eof":  # no length: the body ends with the connection
            writer.write(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
            await writer.drain()
            return False
        elif path == "/204":
            writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        elif path == "/close-soon":  # answers as keep-alive, drops the connection 50 ms later
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            await asyncio.sleep(0.05)
            return False
        elif path == "/close-after":  # answers as keep-alive, then drops the idle connection
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            return False
        elif path == "/hang":
            await self.release.wait()
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")
        elif path == "/drop":
            return False
        elif path == "/half":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part")
            await writer.drain()
            return False
        elif path == "/trailing":  # an answer, then bytes nobody asked for in the same write
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nbad"
            )
        elif path == "/early-hints":  # an interim answer, the real one a moment later
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.05)
            writer.write(b'HTTP/1.1 201 Created\r\nContent-Length: 12\r\n\r\n{"id": 4242}')
        elif path == "/continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone")
        elif path == "/slow":  # a steady trickle: 6 bytes, one every 0.1 s
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n")
            for ch in b"abcdef":
                await writer.drain()
                await asyncio.sleep(0.1)
                writer.write(bytes([ch]))
        elif path == "/http10":
            writer.write(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            return False
        elif path == "/eof-reset":  # a body delimited by the connection's end, which is then reset
            writer.write(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"items": [1, 2')
            await writer.drain()
            await asyncio.sleep(0.05)
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()
            return False
        elif path == "/garbage":
            writer.write(b"SMTP ready, not HTTP at all\r\n\r\n")
        elif path == "/status500":
            writer.write(b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")
        else:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        return True


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    s = await Server().start()
    yield s
    await s.stop()


def client(transport: LeanTransport | None = None, **kw: object) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=transport or LeanTransport(), timeout=5, **kw)  # type: ignore[arg-type]


async def test_a_json_post_round_trips_and_sequential_requests_share_one_connection(server: Server) -> None:
    async with client() as http:
        for n in range(5):
            r = await http.post(f"http://127.0.0.1:{server.port}/json/{n}", json={"имя": "Оля", "n": n})
            assert r.status_code == 200
            assert r.json() == {"echo": {"имя": "Оля", "n": n}, "path": f"/json/{n}"}
        r = await http.get(f"http://127.0.0.1:{server.port}/json?q=1&x=%D0%B0")
        assert r.json()["path"] == "/json?q=1&x=%D0%B0"
    assert server.connections == 1
    line, headers, body = server.requests[0]
    assert line == b"POST /json/0 HTTP/1.1"
    assert headers[b"host"] == f"127.0.0.1:{server.port}".encode()
    assert headers[b"content-type"] == b"application/json"
    assert json.loads(body) == {"имя": "Оля", "n": 0}


async def test_bodies_framed_every_way_arrive_whole(server: Server) -> None:
    async with client() as http:
        base = f"http://127.0.0.1:{server.port}"
        assert (await http.get(f"{base}/gzip")).text == "привет" * 50
        assert (await http.get(f"{base}/chunked")).text == "hello world"
        r204 = await http.get(f"{base}/204")
        assert (r204.status_code, r204.content) == (204, b"")
        assert (await http.get(f"{base}/eof")).text == "until the end"
        r500 = await http.get(f"{base}/status500")
        assert (r500.status_code, r500.text) == (500, "oops")
        assert (await http.post(f"{base}/json", json=1)).json()["echo"] == 1


async def test_a_connection_the_server_dropped_while_idle_is_not_reused(server: Server) -> None:
    async with client() as http:
        base = f"http://127.0.0.1:{server.port}"
        assert (await http.get(f"{base}/close-after")).text == "ok"
        await asyncio.sleep(0.05)  # the server's FIN arrives while the connection idles in the pool
        assert (await http.post(f"{base}/json", json=2)).json()["echo"] == 2
    assert server.connections == 2


async def test_bytes_after_a_complete_answer_leave_it_alone_and_retire_the_connection(server: Server) -> None:
    async with client() as http:
        base = f"http://127.0.0.1:{server.port}"
        r = await http.get(f"{base}/trailing")
        assert (r.status_code, r.text, r.headers["content-length"]) == (200, "ok", "2")
        assert (await http.post(f"{base}/json", json=6)).json()["echo"] == 6
    assert server.connections == 2


async def test_a_connection_idle_past_the_keepalive_expiry_is_replaced(server: Server) -> None:
    async with client(LeanTransport(keepalive_expiry=0.05)) as http:
        base = f"http://127.0.0.1:{server.port}"
        await http.get(f"{base}/json")
        await http.get(f"{base}/json")
        await asyncio.sleep(0.1)
        await http.get(f"{base}/json")
    assert server.connections == 2


async def test_a_refused_connection_is_a_connect_error_with_the_request() -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    async with client() as http:
        with pytest.raises(httpx.ConnectError) as err:
            await http.post(f"http://127.0.0.1:{port}/json", json={})
    assert err.value.request.url.port == port


async def test_no_answer_in_time_is_a_read_timeout_and_the_connection_is_not_reused(server: Server) -> None:
    async with client() as http:
        base = f"http://127.0.0.1:{server.port}"
        await http.get(f"{base}/json")
        with pytest.raises(httpx.ReadTimeout):
            await http.get(f"{base}/hang", timeout=httpx.Timeout(5, read=0.2))
        server.release.set()  # the late answer must not be read as the next request's
        r = await http.post(f"{base}/json", json="next")
        assert r.json()["echo"] == "next"
    assert server.connections == 2


@pytest.mark.parametrize(
    ("path", "error", "message"),
    [
        ("/drop", httpx.RemoteProtocolError, "Server disconnected without sending a response"),
        ("/half", httpx.RemoteProtocolError, "without sending complete message body"),
        ("/eof-reset", httpx.ReadError, "the connection failed before the whole answer"),
        ("/garbage", httpx.RemoteProtocolError, "malformed HTTP answer"),
    ],
)
async def test_a_broken_answer_is_an_httpx_error_and_the_next_request_works(
    server: Server, path: str, error: type[Exception], message: str
) -> None:
    async with client() as http:
        base = f"http://127.0.0.1:{server.port}"
        with pytest.raises(error, match=message) as err:
            await http.post(f"{base}{path}", json={"book": 1})
        assert isinstance(err.value, httpx.TransportError) and err.value.request.url.path == path
        assert (await http.post(f"{base}/json", json=3)).json()["echo"] == 3


async def test_a_full_pool_is_a_pool_timeout_and_frees_when_the_request_ends(server: Server) -> None:
    transport = LeanTransport(limits=httpx.Limits(max_connections=1))
    async with client(transport) as http:
        base = f"http://127.0.0.1:{server.port}"
        hanging = asyncio.create_task(http.get(f"{base}/hang"))
        await asyncio.sleep(0.05)
        with pytest.raises(httpx.PoolTimeout):
            await http.get(f"{base}/json", timeout=httpx.Timeout(5, pool=0.1))
        server.release.set()
        assert (await hanging).text == "late"
        assert (await http.post(f"{base}/json", json=4)).json()["echo"] == 4


async def test_a_cancelled_request_closes_its_connection(server: Server) -> None:
    async with client() as http:
        base = f"http://127.0.0.1:{server.port}"
        task = asyncio.create_task(http.get(f"{base}/hang"))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        server.release.set()
        for _ in range(50):  # the server sees the cancelled request's connection end, not left open
            if server.ended:
                break
            await asyncio.sleep(0.01)
        assert server.ended == 1
        assert (await http.post(f"{base}/json", json=5)).json()["echo"] == 5
    assert server.connections == 2


async def test_concurrent_requests_each_get_their_own_answer(server: Server) -> None:
    async with client(LeanTransport(limits=httpx.Limits(max_connections=8))) as http:
        base = f"http://127.0.0.1:{server.port}"
        answers = await asyncio.gather(*(http.post(f"{base}/json/{n}", json=n) for n in range(60)))
    assert [a.json() for a in answers] == [{"echo": n, "path": f"/json/{n}"} for n in range(60)]
    assert server.connections <= 8


async def test_a_multipart_upload_goes_through_httpx_own_transport(server: Server) -> None:
    async with client() as http:
        r = await http.post(f"http://127.0.0.1:{server.port}/status500", files={"f": ("a.txt", b"abc")})
    assert r.status_code == 500
    _, headers, body = server.requests[-1]
    assert headers[b"content-type"].startswith(b"multipart/form-data") and b"abc" in body


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


async def test_https_is_verified_against_the_trusted_certificates(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    s = await Server().start(server_side)
    try:
        trusting = ssl.create_default_context(cafile=str(cert))
        async with client(LeanTransport(verify=trusting)) as http:
            for n in range(3):
                r = await http.post(f"https://localhost:{s.port}/json", json=n)
                assert r.json()["echo"] == n
        assert s.connections == 1
        async with client() as http:  # the system's CAs do not know a self-signed certificate
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await http.get(f"https://localhost:{s.port}/json")
    finally:
        await s.stop()


async def test_interim_answers_are_skipped_and_never_taken_for_the_next_request(server: Server) -> None:
    async with client() as http:
        base = f"http://127.0.0.1:{server.port}"
        created = await http.post(f"{base}/early-hints", json={"book": 1})
        assert (created.status_code, created.json()) == (201, {"id": 4242})
        assert "link" not in created.headers
        assert (await http.post(f"{base}/continue", json={})).text == "done"
        assert (await http.post(f"{base}/json", json=7)).json()["echo"] == 7
    assert server.connections == 1


async def test_a_connection_closed_while_the_loop_was_busy_is_not_reused() -> None:
    """The server's FIN arrives while this process computes (no await): the idle connection looks alive
    to asyncio, so it is checked before it is reused. (The server runs in a thread: it must close the
    connection while this loop is blocked.)"""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[int] = []

    def serve() -> None:
        for n in range(2):
            conn, _ = listener.accept()
            accepted.append(n)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            if n == 0:
                time.sleep(0.05)
                conn.close()  # an idle keep-alive connection dropped by the server
            else:
                conn.recv(65536)
                conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    port = listener.getsockname()[1]
    try:
        async with client() as http:
            assert (await http.get(f"http://127.0.0.1:{port}/first")).text == "ok"
            time.sleep(0.3)  # busy: the close is in the socket, no callback has run
            assert (await http.post(f"http://127.0.0.1:{port}/create", json={"book": 1})).text == "ok"
        assert accepted == [0, 1]
    finally:
        listener.close()


async def test_the_read_timeout_is_per_read_as_in_httpx(server: Server) -> None:
    async with client() as http:
        r = await http.get(f"http://127.0.0.1:{server.port}/slow", timeout=httpx.Timeout(5, read=0.3))
    assert r.text == "abcdef"  # 0.6 s in all, never 0.3 s without a byte


async def test_head_goes_through_httpx_own_transport(server: Server) -> None:
    async with client() as http:
        r = await http.head(f"http://127.0.0.1:{server.port}/status500", timeout=2)
    assert (r.status_code, r.content) == (500, b"")  # not a read timeout waiting for the announced body


async def test_a_line_break_in_a_header_is_refused_before_anything_is_sent(server: Server) -> None:
    async with client() as http:
        with pytest.raises(httpx.LocalProtocolError):
            await http.post(f"http://127.0.0.1:{server.port}/json", json=1, headers={"X-Name": "a\r\nX-Injected: 1"})
    assert server.requests == []


async def test_status_line_reason_and_version_are_the_servers(server: Server) -> None:
    async with client() as http:
        base = f"http://127.0.0.1:{server.port}"
        r = await http.get(f"{base}/status500")
        assert (r.reason_phrase, r.http_version) == ("Internal Server Error", "HTTP/1.1")
        r10 = await http.get(f"{base}/http10")
        assert (r10.text, r10.http_version) == ("ok", "HTTP/1.0")


async def test_the_transport_works_again_after_aclose(server: Server) -> None:
    transport = LeanTransport()
    async with client(transport) as http:
        await http.get(f"http://127.0.0.1:{server.port}/json")
    async with client(transport) as http:  # python-telegram-bot re-initialises with the same transport
        assert (await http.post(f"http://127.0.0.1:{server.port}/json", json=9)).json()["echo"] == 9
    assert server.connections == 2


def test_a_proxy_in_the_environment_leaves_the_transport_to_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert isinstance(outside_transport(), LeanTransport)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    assert outside_transport() is None  # httpx then builds its own transport, with the proxy
