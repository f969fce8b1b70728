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
    commands: dict[str, list[str]] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    _update_id: int = 1_000

    def outbound_drained(self) -> bool:
        """No accepted message waits for its turn and every queued reply has been handed to Telegram (the
        worker acks only after the send): nothing of what was said so far is still on its way."""
        redis = SyncRedis.from_url(self.redis_url)
        try:
            if redis.zcard(keys.INBOX_READY) or redis.llen(keys.OUTBOUND_QUEUE):
                return False
            return not (redis.zcard(keys.OUTBOUND_READY) or redis.hlen(keys.OUTBOUND_INFLIGHT))
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

    # ---- process control (crash tests) ----------------------------------------------------------

    def start(self, name: str) -> None:
        """Start (or start again) one of the stack's processes; its log is appended to."""
        assert self.log_dir is not None
        log = self.log_dir / f"{name}.log"
        if log not in self.logs:
            self.logs.append(log)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "dancebot.cli", *self.commands[name]],
            stdout=log.open("ab"),
            stderr=subprocess.STDOUT,
            env=self.env,
            cwd=ROOT,
        )

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, as when the machine or the OOM killer stops it."""
        proc = self.procs[name]
        proc.kill()
        proc.wait(10)

    def stop(self, name: str) -> None:
        """SIGTERM, as `docker compose stop` does; SIGKILL after 30 s."""
        proc = self.procs[name]
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()

    def wait_for_log(self, name: str, event: str, *, count: int = 1, timeout: float = 60.0) -> None:
        """Until the process's log holds `count` lines of `event` (e.g. a worker's "worker.started")."""
        assert self.log_dir is not None
        log = self.log_dir / f"{name}.log"
        deadline = time.monotonic() + timeout
        while not (log.exists() and log.read_text(errors="replace").count(f'"event": "{event}"') >= count):
            if self.procs[name].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name}: no {event} in its log:\n{self.log_text()[-3000:]}")
            time.sleep(0.05)

    def wait_healthy(self) -> None:
        _wait_healthy(self.base_url, {n: p for n, p in self.procs.items() if n == "serve"}, self.logs)


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
def run_stack(
    env: Mapping[str, str], log_dir: Path, *, workers: int = 1, worker_args: tuple[str, ...] = ()
) -> Iterator[Stack]:
    """Start serve + worker(s); stop them with SIGTERM (then SIGKILL) on exit."""
    port = free_port()
    commands = {"serve": ["serve", "--host", "127.0.0.1", "--port", str(port)]}
    for i in range(workers):
        commands[f"worker{i}"] = ["worker", *worker_args]
    stack = Stack(
        f"http://127.0.0.1:{port}",
        env["TELEGRAM_WEBHOOK_SECRET"],
        [],
        env["REDIS_URL"],
        commands=commands,
        env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
        log_dir=log_dir,
    )
    try:
        for name in commands:
            stack.start(name)
        _wait_healthy(stack.base_url, stack.procs, stack.logs)
        for name in commands:
            if name.startswith("worker"):
                stack.wait_for_log(name, "worker.started")
        yield stack
    finally:
        for proc in stack.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in stack.procs.values():
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
