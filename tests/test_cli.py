"""The console script as an operator meets it: clear one-line errors, exit code 2, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REDIS_", "DATABASE_", "TELEGRAM_", "KB_", "IMPULSE_", "TEST_MODE"))
    }
    return subprocess.run(
        [sys.executable, "-m", "dancebot.cli", *args],
        capture_output=True, text=True, env={**base, **(env or {})}, cwd=cwd or ROOT, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_missing_settings_name_each_variable(command: str, tmp_path: Path) -> None:
    result = run(command, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "REDIS_URL: required but not set" in result.stderr
    assert "DATABASE_URL: required but not set" in result.stderr


def test_invalid_setting_is_named() -> None:
    result = run("serve", env={"REDIS_URL": "http://nope", "MAX_TOKENS_PER_HOUR": "many"})
    assert result.returncode == 2
    assert "REDIS_URL: Value error, must start with redis://" in result.stderr
    assert "MAX_TOKENS_PER_HOUR:" in result.stderr
    assert "Traceback" not in result.stderr


def test_kb_check_ok_from_any_directory(tmp_path: Path) -> None:
    result = run("kb-check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "«Ритм»" in result.stdout


def test_invalid_kb_stops_serve_and_worker_listing_every_error(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "knowledge" / "studio.yaml").read_text(encoding="utf-8"))
    del data["faq"]
    data["schema_version"] = "2.0"
    data["teachers"][0]["rating"] = 5
    data["services"][0]["price_single"] = "дорого"
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    env = {
        "KB_PATH": str(bad), "REDIS_URL": "redis://127.0.0.1:1", "DATABASE_URL": "postgresql://x@/y",
        "TELEGRAM_WEBHOOK_SECRET": "s" * 16, "TELEGRAM_BOT_TOKEN": "1:x", "TEST_MODE": "true",
    }  # fmt: skip
    for command in ("serve", "worker", "kb-check"):
        result = run(command, env=env)
        assert result.returncode == 2, (command, result.stderr)
        assert "Traceback" not in result.stderr
        for path in ("faq", "schema_version", "teachers[0].rating", "services[0].price_single"):
            assert f"\n{path}:" in result.stderr or f"  {path}:" in result.stderr, (command, path, result.stderr)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_to_book_into_a_fake_crm_unless_told_to(command: str, tmp_path: Path) -> None:
    env = {"REDIS_URL": "redis://127.0.0.1:1", "DATABASE_URL": "postgresql://x@/y",
           "TELEGRAM_WEBHOOK_SECRET": "s" * 16, "TELEGRAM_BOT_TOKEN": "1:x"}  # fmt: skip
    result = run(command, env=env, cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "IMPULSE_API_KEY: required" in result.stderr and "TEST_MODE=true" in result.stderr
