"""`dancebot serve` and `dancebot worker` as real processes, for end-to-end tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import uvicorn
from redis import Redis as SyncRedis

from dancebot.storage import keys

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Stack:
    base_url: str
    secret: str
    logs: list[Path]
    redis_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _update_id: int = 1_000

    def outbound_drained(self) -> bool:
        """Every queued reply has been handed to Telegram (the worker acks only after the send)."""
        redis = SyncRedis.from_url(self.redis_url)
        try:
            return not (redis.llen(keys.OUTBOUND_QUEUE) or redis.llen(keys.OUTBOUND_PROCESSING))
        finally:
            redis.close()

    def next_id(self) -> int:
        self._update_id += 1
        return self._update_id

    def post(self, update: object, *, secret: str | None = None, **kw: object) -> httpx.Response:
        headers = {"X-Telegram-Bot-Api-Secret-Token": self.secret if secret is None else secret}
        if isinstance(update, bytes | str):
            return httpx.post(f"{self.base_url}/webhook/telegram", content=update, headers=headers, timeout=30)
        return httpx.post(f"{self.base_url}/webhook/telegram", json=update, headers=headers, timeout=30)

    def log_text(self) -> str:
        return "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in self.logs if p.exists())


def _wait_healthy(url: str, procs: Mapping[str, subprocess.Popen[bytes]], logs: list[Path]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited early:\n" + "\n".join(p.read_text() for p in logs))
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("dancebot serve did not become healthy:\n" + "\n".join(p.read_text() for p in logs))


@contextmanager
def run_stack(env: Mapping[str, str], log_dir: Path, *, workers: int = 1) -> Iterator[Stack]:
    """Start serve + worker(s); stop them with SIGTERM (then SIGKILL) on exit."""
    port = free_port()
    full_env = {**os.environ, **env, "PYTHONUNBUFFERED": "1"}
    logs: list[Path] = []
    procs: dict[str, subprocess.Popen[bytes]] = {}
    commands = {"serve": ["serve", "--host", "127.0.0.1", "--port", str(port)]}
    for i in range(workers):
        commands[f"worker{i}"] = ["worker"]
    try:
        for name, args in commands.items():
            log = log_dir / f"{name}.log"
            logs.append(log)
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "dancebot.cli", *args],
                stdout=log.open("wb"),
                stderr=subprocess.STDOUT,
                env=full_env,
                cwd=ROOT,
            )
        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, procs, logs)
        yield Stack(url, env["TELEGRAM_WEBHOOK_SECRET"], logs, env["REDIS_URL"], procs)
    finally:
        for proc in procs.values():
            proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@contextmanager
def serve_in_thread(app: object) -> Iterator[str]:
    """Any ASGI app on a free loopback port in a daemon thread (fakes the processes under test call)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_level="warning",  # type: ignore[arg-type]
            lifespan="off",
            access_log=False,
        )
    )
    thread = threading.Thread(target=server.run, name="fake-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("fake server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
