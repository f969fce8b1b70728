"""The project's Caddyfile, validated and run by a real Caddy in front of a real `dancebot serve` + `worker`:
a Telegram client's message goes through Caddy and the reply comes back (PRODUCT.md §14, §15).

Skipped only where no `caddy` binary is installed; .ci/run installs Debian's package so CI runs it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dancebot.channels.telegram_updates import text_update
from tests.deploy.caddy import caddy_binary, caddy_in_front, caddy_version, validate
from tests.e2e.helpers import quiet, replies
from tests.e2e.stack import Stack, free_port
from tests.fakes.telegram import FakeTelegram

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(caddy_binary() is None, reason="no caddy binary on PATH (.ci/run installs Debian's caddy)"),
]


@pytest.fixture(scope="module")
def caddy_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("caddy")


@pytest.fixture(scope="module")
def caddy(stack: Stack, caddy_dir: Path) -> Iterator[str]:
    binary = caddy_binary()
    assert binary
    with caddy_in_front(binary, stack.base_url.removeprefix("http://"), caddy_dir) as url:
        yield url


def test_the_caddyfile_is_valid_for_a_real_domain(tmp_path: Path) -> None:
    binary = caddy_binary()
    assert binary
    done = validate(binary, tmp_path, "bot.example.ru")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Valid configuration" in done.stdout + done.stderr


def test_without_a_domain_caddy_refuses_the_file(tmp_path: Path) -> None:
    """An empty DOMAIN would serve every host name; compose refuses to start without it, and so does Caddy."""
    binary = caddy_binary()
    assert binary
    assert validate(binary, tmp_path, "").returncode != 0


async def test_a_telegram_message_through_caddy_gets_its_reply(
    caddy: str, stack: Stack, tg: FakeTelegram, chat_id: int
) -> None:
    r = httpx.post(
        f"{caddy}/webhook/telegram",
        json=text_update(stack.next_id(), chat_id, 1, "Здравствуйте! сколько стоит пробное?"),
        headers={"X-Telegram-Bot-Api-Secret-Token": stack.secret},
        timeout=30,
    )
    assert r.status_code == 200 and r.json()["ok"] is True
    assert "Server" not in r.headers
    reply = (await replies(tg, chat_id, 1))[0]
    assert "руб" in reply.lower() or "₽" in reply, reply


async def test_a_wrong_secret_through_caddy_is_refused_by_the_app(
    caddy: str, stack: Stack, tg: FakeTelegram, chat_id: int
) -> None:
    r = httpx.post(
        f"{caddy}/webhook/telegram",
        json=text_update(stack.next_id(), chat_id, 1, "привет"),
        headers={"X-Telegram-Bot-Api-Secret-Token": "not-the-secret"},
    )
    assert r.status_code == 401
    assert await quiet(tg, chat_id, 0.5) == []


def test_health_passes_through_and_other_paths_stop_at_caddy(caddy: str) -> None:
    health = httpx.get(f"{caddy}/health")
    assert health.status_code == 200 and health.json()["redis"] == "ok"
    for path in ("/", "/docs", "/openapi.json", "/webhook/telegram/../../etc/passwd", "/.env"):
        assert httpx.get(f"{caddy}{path}").status_code == 404, path
    whatsapp = httpx.get(f"{caddy}/webhook/whatsapp")  # reaches the app, which has no WhatsApp configured here
    assert whatsapp.status_code == 404 and "whatsapp" in whatsapp.text


def test_a_declared_body_over_1_mib_is_refused_before_it_is_forwarded(caddy: str, stack: Stack, chat_id: int) -> None:
    body = json.dumps(text_update(stack.next_id(), chat_id, 1, "x" * (1024 * 1024))).encode()
    r = httpx.post(
        f"{caddy}/webhook/telegram",
        content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": stack.secret, "Content-Type": "application/json"},
        timeout=30,
    )
    assert r.status_code == 413


def test_a_streamed_body_over_1_mib_is_cut_off(caddy: str, stack: Stack) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"update_id": 1, "message": {"text": "'
        for _ in range(40):
            yield b"x" * 32_768  # 1.25 MiB in all, sent chunked: no Content-Length to refuse it by
        yield b'"}}'

    r = httpx.post(
        f"{caddy}/webhook/telegram",
        content=chunks(),
        headers={"X-Telegram-Bot-Api-Secret-Token": stack.secret, "Content-Type": "application/json"},
        timeout=30,
    )
    # Refused either way: the app's own limit answers 413, or Caddy cuts the upload at 1 MiB first — 413 from
    # Caddy 2.7+, 502 from Debian 12's Caddy 2.6, which reports the cut-off as a failed upstream write.
    assert r.status_code == 413 or (r.status_code == 502 and caddy_version() < (2, 7))


def test_with_the_app_down_caddy_answers_502_and_its_error_log_keeps_no_secret(tmp_path: Path) -> None:
    binary = caddy_binary()
    assert binary
    secret, dead = "the-webhook-secret-9f3", f"127.0.0.1:{free_port()}"  # nothing listens there
    with caddy_in_front(binary, dead, tmp_path) as url:
        r = httpx.post(f"{url}/webhook/telegram?hub.verify_token={secret}", json={}, headers={
            "X-Telegram-Bot-Api-Secret-Token": secret, "X-Hub-Signature-256": f"sha256={secret}"})  # fmt: skip
        assert r.status_code == 502
        log = tmp_path / "caddy.log"
        deadline = time.monotonic() + 10
        while '"status":502' not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
    text = log.read_text()
    assert '"status":502' in text and "/webhook/telegram" in text  # the error is logged…
    assert secret not in text  # …without the webhook secrets
