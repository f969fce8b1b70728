"""CPU per request of the bot's HTTP client: httpx with its default transport against httpx with
`dancebot.transport.LeanTransport` (what the CRM client, the Telegram and the WhatsApp senders use).

    python benchmarks/http_transport.py [--requests 3000 --concurrency 8]

A keep-alive HTTP/1.1 server in a process of its own answers every POST with a 230-byte JSON body; the
client posts a small JSON body the way the CRM client does and decodes the answer. Printed: the client
process's CPU (user + system) per request, which is what the app and the worker pay per CRM call or
Telegram send, and the wall time. No target: the figure explains the app's and worker's CPU in
`benchmarks/load.py` (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import resource
import socket
import sys
import time
from pathlib import Path

import httpx
import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dancebot.transport import LeanTransport  # noqa: E402

_BODY = json.dumps({"result": {"id": 123, "name": "x" * 200}}).encode()
_ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(_BODY), _BODY)


async def _serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(
                (
                    int(v)
                    for k, _, v in (h.partition(b":") for h in head.split(b"\r\n"))
                    if k.lower() == b"content-length"
                ),
                0,
            )
            await reader.readexactly(length)
            writer.write(_ANSWER)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def _server(sock: socket.socket) -> None:
    async def main() -> None:
        server = await asyncio.start_server(_serve, sock=sock)
        await server.serve_forever()

    uvloop.run(main())


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(name: str, transport: httpx.AsyncBaseTransport | None, port: int, n: int, concurrency: int) -> None:
    url = f"http://127.0.0.1:{port}/api/public/client/create"
    payload = {"phone": "+79990001122", "name": "Оля", "status": {"id": 1}, "items": list(range(20))}
    async with httpx.AsyncClient(timeout=5, transport=transport) as http:

        async def worker(k: int) -> None:
            for _ in range(k):
                (await http.post(url, json=payload)).json()

        await worker(100)  # connections opened, code warm
        cpu, wall = _cpu(), time.perf_counter()
        await asyncio.gather(*(worker(n // concurrency) for _ in range(concurrency)))
        cpu, wall = _cpu() - cpu, time.perf_counter() - wall
    print(f"  {name:28s} {1000 * cpu / n:6.3f} ms CPU/request   {n / wall:7.0f} requests/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    sock = socket.create_server(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = multiprocessing.Process(target=_server, args=(sock,), daemon=True)
    server.start()
    print(f"http transport: {args.requests} POSTs, {args.concurrency} at a time, keep-alive, loopback")
    try:
        for _ in range(2):
            uvloop.run(_measure("httpx default transport", None, port, args.requests, args.concurrency))
            uvloop.run(_measure("httpx + LeanTransport", LeanTransport(), port, args.requests, args.concurrency))
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
