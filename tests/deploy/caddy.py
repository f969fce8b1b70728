"""The project's Caddyfile run by a real Caddy (Debian's `caddy`, installed by .ci/run) in its local HTTP
mode: `DOMAIN=http://127.0.0.1:PORT`, `UPSTREAM=` a running `dancebot serve`, no admin port."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.stack import free_port

ROOT = Path(__file__).resolve().parents[2]
CADDYFILE = ROOT / "Caddyfile"


def caddy_binary() -> str | None:
    return shutil.which("caddy")


def caddy_version() -> tuple[int, int]:
    binary = caddy_binary()
    assert binary
    out = subprocess.run([binary, "version"], capture_output=True, text=True, timeout=30).stdout
    m = re.match(r"v?(\d+)\.(\d+)", out.strip())
    assert m, f"unreadable caddy version {out!r}"
    return int(m.group(1)), int(m.group(2))


def caddy_env(tmp: Path, **values: str) -> dict[str, str]:
    """Caddy keeps certificates and autosaved config under XDG dirs: a temp dir, never the user's home."""
    return {
        **os.environ,
        "XDG_DATA_HOME": str(tmp / "data"),
        "XDG_CONFIG_HOME": str(tmp / "config"),
        "HOME": str(tmp),
        **values,
    }


def validate(binary: str, tmp: Path, domain: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, "validate", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_env(tmp, DOMAIN=domain),
        capture_output=True,
        text=True,
        timeout=60,
    )


@contextmanager
def caddy_in_front(binary: str, upstream: str, tmp: Path) -> Iterator[str]:
    """Run the project's Caddyfile on a free loopback port in front of `upstream` (host:port); yields its URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp / "caddy.log").open("wb")
    proc = subprocess.Popen(
        [binary, "run", "--config", str(CADDYFILE), "--adapter", "caddyfile"],
        env=caddy_env(tmp, DOMAIN=url, UPSTREAM=upstream, CADDY_ADMIN="off"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"caddy exited ({proc.returncode}):\n{(tmp / 'caddy.log').read_text()}")
            try:
                httpx.get(f"{url}/health", timeout=2)  # any answer: Caddy listens (the upstream may be down)
                break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"caddy did not answer:\n{(tmp / 'caddy.log').read_text()}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
