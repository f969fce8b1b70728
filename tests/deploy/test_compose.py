"""docker-compose.yml read as Docker Compose reads it, and every rule of the production stack checked
(PRODUCT.md §14, §15): no Docker engine runs on these machines, so this is the proof that the file can work.

Compose's own `${VAR:?message}` interpolation is applied from .env.example (with placeholder secrets), so
the test also proves that every variable the file uses is documented there.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from dancebot import cli

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"app", "worker", "redis", "postgres", "caddy"}
VM_MEMORY_MB = 4096
SYSTEM_RESERVE_MB = 1024  # the OS, Docker, image builds and the page cache keep at least this much
_VAR = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:?err}`, `${VAR:-default}`: an unset required variable is an error."""

    def sub(m: re.Match[str]) -> str:
        name, whole = m.group(1), m.group(0)
        if name not in env:
            raise AssertionError(f"{whole} is used by docker-compose.yml but .env.example does not list {name}")
        return env[name] or ("secret-" + name.lower() if "PASSWORD" in name else "")

    return _VAR.sub(sub, text)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    env = env_example()
    text = interpolate((ROOT / "docker-compose.yml").read_text(encoding="utf-8"), env)
    data: dict[str, Any] = yaml.safe_load(text)  # `<<: *anchor` merges like Compose does
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def networks_of(service: dict[str, Any]) -> set[str]:
    nets = service.get("networks", ["default"])
    return set(nets if isinstance(nets, list) else nets.keys())


def internal_networks(compose: dict[str, Any]) -> set[str]:
    return {name for name, spec in (compose.get("networks") or {}).items() if (spec or {}).get("internal") is True}


def memory_mb(value: str) -> float:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg])i?b?", str(value).strip().lower())
    assert m, f"unreadable memory limit {value!r}"
    return float(m.group(1)) * {"k": 1 / 1024, "m": 1, "g": 1024}[m.group(2)]


def test_exactly_the_five_services(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == SERVICES


def test_redis_and_postgres_sit_only_on_an_internal_network(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    internal = internal_networks(compose)
    assert internal, "no network is `internal: true`"
    for name in ("redis", "postgres"):
        assert networks_of(services[name]) <= internal, f"{name} is reachable from outside the stack"


def test_app_and_worker_reach_the_internet_and_the_data_stores(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    """The bug this replaced: a worker only on the internal network can never deliver a reply."""
    internal = internal_networks(compose)
    stores = networks_of(services["redis"]) & networks_of(services["postgres"])
    for name in ("app", "worker"):
        nets = networks_of(services[name])
        assert nets - internal, f"{name} has no network with a route out (Telegram, WhatsApp, Impulse, LLM)"
        assert nets & stores, f"{name} cannot reach Redis and PostgreSQL"
        assert services[name].get("network_mode") is None


def test_only_caddy_publishes_ports_and_it_reaches_the_app(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    published = {name for name, s in services.items() if s.get("ports")}
    assert published == {"caddy"}
    ports = {str(p).split("/")[0] for p in services["caddy"]["ports"]}
    assert {"80:80", "443:443"} <= ports
    shared = networks_of(services["caddy"]) & networks_of(services["app"])
    assert shared and not shared & internal_networks(compose), "Caddy needs the app and the internet (certificates)"
    assert not networks_of(services["caddy"]) & networks_of(services["redis"]), "Caddy has no business with Redis"
    assert all(s.get("network_mode") != "host" for s in services.values())


def test_app_and_worker_run_one_image_with_the_commands_the_tests_run(services: dict[str, dict[str, Any]]) -> None:
    app, worker = services["app"], services["worker"]
    assert app["build"] == worker["build"] == "." and app["image"] == worker["image"]
    serve_args = cli.build_parser().parse_args(app["command"][1:])
    assert app["command"][0] == worker["command"][0] == "dancebot"
    assert serve_args.func is cli.cmd_serve and (serve_args.host, serve_args.port) == ("0.0.0.0", 8000)
    assert cli.build_parser().parse_args(worker["command"][1:]).func is cli.cmd_worker
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]
    assert scripts["dancebot"] == "dancebot.cli:main"  # `dancebot …` in the image is `python -m dancebot.cli …`


def test_app_and_worker_talk_to_the_stack_s_redis_and_postgres_with_the_passwords(
    services: dict[str, dict[str, Any]],
) -> None:
    redis_password = services["redis"]["command"][services["redis"]["command"].index("--requirepass") + 1]
    pg = services["postgres"]["environment"]
    for name in ("app", "worker"):
        env = services[name]["environment"]
        assert env["REDIS_URL"] == f"redis://:{redis_password}@redis:6379/0"
        assert env["DATABASE_URL"] == (
            f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/{pg['POSTGRES_DB']}"
        )
        assert services[name]["env_file"] == ".env"


def test_redis_has_a_password_and_an_append_only_file_on_a_named_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    command = services["redis"]["command"]
    password = command[command.index("--requirepass") + 1]
    assert password and not password.startswith("$")
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--maxmemory-policy") + 1] == "noeviction"  # queues are never evicted
    volume, _, path = services["redis"]["volumes"][0].partition(":")
    assert path == "/data" and volume in compose["volumes"]


def test_postgres_has_a_password_and_a_named_volume(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    raw = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assert "POSTGRES_PASSWORD: ${POSTGRES_PASSWORD:?" in raw  # required, never a default
    assert "POSTGRES_HOST_AUTH_METHOD" not in raw
    volume, _, path = services["postgres"]["volumes"][0].partition(":")
    assert path == "/var/lib/postgresql/data" and volume in compose["volumes"]


def test_every_password_is_required_never_defaulted() -> None:
    raw = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    used = {m.group(1) for m in _VAR.finditer(raw) if "PASSWORD" in m.group(1)}
    assert used == {"REDIS_PASSWORD", "POSTGRES_PASSWORD"}
    for name in used:
        assert f"${{{name}:?" in raw, f"compose must refuse to start without {name}"
        assert f"${{{name}:-" not in raw and f"${{{name}-" not in raw, f"{name} has a default"


def test_start_order_waits_on_healthchecks(services: dict[str, dict[str, Any]]) -> None:
    for name in ("app", "worker"):
        deps = services[name]["depends_on"]
        assert {d: deps[d]["condition"] for d in deps} == {"redis": "service_healthy", "postgres": "service_healthy"}
    assert services["caddy"]["depends_on"]["app"]["condition"] == "service_healthy"
    for name, service in services.items():
        for dep in service.get("depends_on", {}):
            assert "healthcheck" in services[dep], f"{name} waits for {dep}'s health, which has no healthcheck"


def test_app_and_worker_healthchecks_use_the_image_s_script(services: dict[str, dict[str, Any]]) -> None:
    assert services["app"]["healthcheck"]["test"] == ["CMD", "python", "/app/scripts/healthcheck.py", "app"]
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "python", "/app/scripts/healthcheck.py", "worker"]
    assert "COPY scripts/healthcheck.py /app/scripts/healthcheck.py" in (ROOT / "Dockerfile").read_text()


def test_every_service_restarts_and_has_a_memory_limit_that_fits_the_vm(services: dict[str, dict[str, Any]]) -> None:
    total = 0.0
    for name, service in services.items():
        assert service.get("restart") in {"unless-stopped", "always"}, f"{name} does not come back after a crash"
        limit = service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory") or service.get(
            "mem_limit"
        )
        assert limit, f"{name} has no memory limit"
        total += memory_mb(limit)
    assert total <= VM_MEMORY_MB - SYSTEM_RESERVE_MB, f"limits add up to {total:.0f} MB on a 4 GB VM"
    assert memory_mb(services["app"]["deploy"]["resources"]["limits"]["memory"]) >= 256  # RSS target 150 MB
    assert memory_mb(services["worker"]["deploy"]["resources"]["limits"]["memory"]) >= 192  # + migrate child


def test_the_knowledge_base_is_mounted_read_only_where_kb_path_points(services: dict[str, dict[str, Any]]) -> None:
    for name in ("app", "worker"):
        mounts = [v.split(":") for v in services[name]["volumes"]]
        kb = [m for m in mounts if m[0] == "./knowledge"]
        assert kb and kb[0][2] == "ro", f"{name}: knowledge/ must be mounted read-only"
        assert Path(services[name]["environment"]["KB_PATH"]).parent == Path(kb[0][1])
    assert (ROOT / "knowledge" / "studio.yaml").exists()


def test_caddy_serves_the_domain_from_the_project_caddyfile_in_front_of_the_app(
    services: dict[str, dict[str, Any]],
) -> None:
    caddy = services["caddy"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in caddy["volumes"]
    assert "DOMAIN" in caddy["environment"]
    assert any(v.endswith(":/data") for v in caddy["volumes"]), "certificates must survive a restart"
    caddyfile = (ROOT / "Caddyfile").read_text(encoding="utf-8")
    assert re.search(r"^\{\$DOMAIN\} \{$", caddyfile, re.M)
    assert "reverse_proxy {$UPSTREAM:app:8000}" in caddyfile  # app:8000 unless a local test sets UPSTREAM
    app_port = cli.build_parser().parse_args(services["app"]["command"][1:]).port
    assert app_port == 8000


def test_every_setting_is_in_env_example_with_a_comment() -> None:
    """PRODUCT.md §3.3: every variable the app reads, each explained (set, or commented out with its form)."""
    from dancebot.config import Settings

    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    for field in Settings.model_fields:
        name = field.upper()
        at = [i for i, line in enumerate(lines) if re.match(rf"^(# )?{name}=", line)]
        assert at, f"{name} is missing from .env.example"
        i = at[0]
        before = lines[i - 1] if i else ""
        assert (before.startswith("#") and not re.match(r"^# [A-Z_]+=", before)) or _shares_comment(lines, i), (
            f"{name} in .env.example has no comment"
        )
    assert not any(re.match(r"^[A-Z_]*(TOKEN|SECRET|KEY|PASSWORD)=\S", line) for line in lines), (
        ".env.example holds a secret value"
    )


def _shares_comment(lines: list[str], i: int) -> bool:
    """A variable right under another one that is explained by the same comment (a pair like the prices)."""
    j = i - 1
    while j >= 0 and re.match(r"^(# )?[A-Z_0-9]+=", lines[j]):
        j -= 1
    return j >= 0 and lines[j].startswith("#") and j < i - 1
