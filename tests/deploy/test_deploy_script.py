"""scripts/deploy.sh end to end without Docker: `docker` and `git` are stand-ins on PATH that record what the
script asked of them (and play the prompt regression gate's verdict); everything else is real — curl, the
running `dancebot serve` + `worker` (both channels), the fake Telegram Bot API that receives setWebhook.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import BOT_TOKEN, WEBHOOK_SECRET
from tests.deploy.stacks import WA_SECRET, WA_TOKEN, WA_VERIFY
from tests.e2e.stack import Stack
from tests.fakes.telegram import FakeTelegram

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = "bot.ritm-studio.ru"

DOCKER_STUB = """#!/usr/bin/env bash
# A stand-in for the Docker CLI: records the call; `compose run` plays the prompt regression gate.
echo "docker $*" >> "$STUB_LOG"
if [ "$1 $2" = "compose run" ]; then
  echo "regression: $STUB_GATE_SUMMARY"
  exit "$STUB_GATE_EXIT"
fi
"""
GIT_STUB = """#!/usr/bin/env bash
echo "git $*" >> "$STUB_LOG"
"""


@dataclass
class Run:
    code: int
    out: str
    calls: list[str]
    env_file: str


def complete_env(stack: Stack, tg_url: str, **extra: str) -> dict[str, str]:
    return {
        "DOMAIN": DOMAIN,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "TELEGRAM_API_BASE_URL": tg_url,
        "ADMIN_CHAT_ID": "-1001234567890",
        "IMPULSE_TENANT": "ritm",
        "IMPULSE_API_KEY": "impulse-key-123",
        **extra,
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of what the script needs: itself and .env.example; stand-ins for docker and git on PATH."""
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "deploy.sh", tmp_path / "scripts" / "deploy.sh")
    shutil.copy(ROOT / ".env.example", tmp_path / ".env.example")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("docker", DOCKER_STUB), ("git", GIT_STUB)):
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(stat.S_IRWXU)
    return tmp_path


def write_env(project: Path, values: dict[str, str]) -> None:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        name = line.split("=", 1)[0].removeprefix("# ")
        out.append(f"{name}={values.pop(name)}" if name in values and "=" in line else line)
    out += [f"{k}={v}" for k, v in values.items()]
    (project / ".env").write_text("\n".join(out) + "\n")


def deploy(project: Path, *, public_url: str, gate_exit: int = 0, **env: str) -> Run:
    log = project / "calls.log"
    done = subprocess.run(
        ["bash", str(project / "scripts" / "deploy.sh")],
        env={
            **os.environ,
            "PATH": f"{project / 'bin'}:{os.environ['PATH']}",
            "STUB_LOG": str(log),
            "STUB_GATE_EXIT": str(gate_exit),
            "STUB_GATE_SUMMARY": "29 passed, 1 failed, 3 skipped" if gate_exit == 0 else "20 passed, 10 failed",
            "DEPLOY_PUBLIC_URL": public_url,
            "DEPLOY_HEALTH_TIMEOUT": "20",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    env_file = (project / ".env").read_text() if (project / ".env").exists() else ""
    return Run(done.returncode, done.stdout + done.stderr, calls, env_file)


def env_value(env_file: str, name: str) -> str:
    return next(line.split("=", 1)[1] for line in env_file.splitlines() if line.startswith(f"{name}="))


def test_first_run_creates_env_with_generated_secrets_and_asks_for_the_rest(project: Path) -> None:
    run = deploy(project, public_url="http://127.0.0.1:9")
    assert run.code == 1 and "fill in DOMAIN" in run.out
    assert run.calls == []  # nothing pulled, built or started
    for name in ("REDIS_PASSWORD", "POSTGRES_PASSWORD", "TELEGRAM_WEBHOOK_SECRET"):
        value = env_value(run.env_file, name)
        assert len(value) == 48 and value.isalnum(), f"{name}={value!r}"
    assert stat.S_IMODE((project / ".env").stat().st_mode) == 0o600
    assert env_value(run.env_file, "WHATSAPP_VERIFY_TOKEN") == ""  # WhatsApp is not configured: no half config


def test_missing_required_settings_stop_before_anything_runs(project: Path, stack: Stack, fake_tg: tuple) -> None:
    write_env(project, complete_env(stack, fake_tg[1], TELEGRAM_BOT_TOKEN="", IMPULSE_API_KEY=""))
    run = deploy(project, public_url=stack.base_url)
    assert run.code == 1
    assert "TELEGRAM_BOT_TOKEN" in run.out and "IMPULSE_API_KEY" in run.out
    assert run.calls == []


def test_a_placeholder_domain_is_refused(project: Path, stack: Stack, fake_tg: tuple) -> None:
    write_env(project, complete_env(stack, fake_tg[1], DOMAIN="https://bot.example.ru/"))
    run = deploy(project, public_url=stack.base_url)
    assert run.code == 1 and "DOMAIN must be the bot's own host name" in run.out and run.calls == []


def test_a_failing_prompt_regression_gate_deploys_nothing(
    project: Path, stack: Stack, fake_tg: tuple[FakeTelegram, str]
) -> None:
    fake_tg[0].webhook.clear()
    write_env(project, complete_env(stack, fake_tg[1]))
    run = deploy(project, public_url=stack.base_url, gate_exit=1)
    assert run.code == 1
    assert "below 90 %" in run.out and "nothing was deployed" in run.out
    assert "regression: 20 passed, 10 failed" in run.out  # the suite's own summary is shown
    assert run.calls[0] == "git pull --ff-only"
    assert [c for c in run.calls if c.startswith("docker")] == [
        "docker compose build",
        "docker compose run --rm --no-deps -T -v "
        f"{project}/tests:/app/tests:ro app python -m tests.prompt_regression.runner --llm rules --threshold 90",
    ]
    assert fake_tg[0].webhook == {}  # Telegram was not touched


def test_a_full_deploy_registers_the_telegram_webhook_and_prints_the_whatsapp_settings(
    project: Path, prod_stack: Stack, fake_tg: tuple[FakeTelegram, str]
) -> None:
    """The whole path against the running stack: health, setWebhook with the secret, Meta's handshake."""
    fake_tg[0].webhook.clear()
    wa = {"WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": "106540352242922"}
    write_env(project, complete_env(prod_stack, fake_tg[1], **wa, WHATSAPP_APP_SECRET=WA_SECRET,
                                    WHATSAPP_VERIFY_TOKEN=WA_VERIFY, LLM_API_KEY="sk-test"))  # fmt: skip
    run = deploy(project, public_url=prod_stack.base_url)
    assert run.code == 0, run.out
    docker = [c for c in run.calls if c.startswith("docker")]
    assert docker[0] == "docker compose build"
    assert docker[1].endswith("--llm configured --threshold 90")  # an LLM key: the suite runs against it
    assert docker[2] == "docker compose up -d --build"
    assert '"status":' in run.out  # /health's answer
    assert fake_tg[0].webhook == {"url": f"https://{DOMAIN}/webhook/telegram", "secret_token": WEBHOOK_SECRET}
    assert f"Callback URL:  https://{DOMAIN}/webhook/whatsapp" in run.out
    assert f"Verify token:  {WA_VERIFY}" in run.out
    assert BOT_TOKEN not in run.out and WA_SECRET not in run.out  # secrets other than the verify token stay hidden


def test_telegram_refusing_the_token_stops_the_deploy(
    project: Path, stack: Stack, fake_tg: tuple[FakeTelegram, str]
) -> None:
    write_env(project, complete_env(stack, fake_tg[1], TELEGRAM_BOT_TOKEN="123456789:wrong-token"))
    run = deploy(project, public_url=stack.base_url)
    assert run.code == 1 and "Telegram refused setWebhook" in run.out
    assert "docker compose up -d --build" in run.calls  # the stack is up; only the webhook step failed


def test_an_unreachable_bot_stops_with_what_to_check(project: Path, stack: Stack, fake_tg: tuple) -> None:
    write_env(project, complete_env(stack, fake_tg[1]))
    run = deploy(project, public_url="http://127.0.0.1:9", DEPLOY_HEALTH_TIMEOUT="2")
    assert run.code == 1 and "DNS A record" in run.out and "ports 80 and 443" in run.out
