"""The Dockerfile built for real by podman (Debian's package), then the image's own files run as its user.

What this machine allows, and so what the test does:
- No image registry is reachable, so `python:3.11-slim-bookworm` cannot be pulled: the base is Debian 12's
  own Python 3.11 (the same Debian release and Python minor as the official slim image), made with
  debootstrap from Debian's packages and imported once as `localhost/debian-python:3.11` (`PYTHON_IMAGE`).
- Containers cannot be started: crun refuses cgroups in hybrid mode and the sandbox refuses `setrlimit`, so
  the build uses `--isolation chroot` and the image is run by chroot-ing into its mounted root as uid 10001.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("podman") is None or shutil.which("debootstrap") is None,
        reason="podman or debootstrap not installed (.ci/run installs Debian's packages)",
    ),
]

ROOT = Path(__file__).resolve().parents[2]
BASE = "localhost/debian-python:3.11"
IMAGE = "localhost/dancebot:ci"
PACKAGES = "python3.11,python3.11-venv,python-is-python3,ca-certificates"


def run(*args: str, timeout: float = 600, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, check=False, **kw)  # type: ignore[call-overload, no-any-return]


def ensure_base(tmp: Path) -> None:
    if run("podman", "image", "exists", BASE).returncode == 0:
        return
    rootfs = tmp / "rootfs"
    boot = run("debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian", timeout=900)
    assert boot.returncode == 0, boot.stdout[-3000:] + boot.stderr[-3000:]
    extra = run("chroot", str(rootfs), "apt-get", "install", "-y", "-qq", *PACKAGES.split(","), timeout=900)
    assert extra.returncode == 0, extra.stdout[-3000:] + extra.stderr[-3000:]
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "--exclude=./var/cache/apt/archives", "-c", "."],
                           stdout=subprocess.PIPE)  # fmt: skip
    imported = subprocess.run(["podman", "import", "-", BASE], stdin=tar.stdout, capture_output=True, timeout=600)
    tar.wait(60)
    assert imported.returncode == 0, imported.stderr


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Build the project's Dockerfile; yield the image's root filesystem, mounted."""
    ensure_base(tmp_path_factory.mktemp("base"))
    mounts = ["/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro"]
    if Path("/etc/pip.conf").exists():  # this machine's way to PyPI (its index and certificate), for the build only
        mounts.append("/etc/pip.conf:/etc/pip.conf:ro")
    built = run(
        "podman", "build", "--isolation", "chroot", "--network", "host", "--format", "docker",
        *(f"--volume={m}" for m in mounts), "--build-arg", f"PYTHON_IMAGE={BASE}", "--tag", IMAGE, str(ROOT),
        timeout=1200,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-5000:] + built.stderr[-5000:]
    mounted = run("podman", "image", "mount", IMAGE)
    assert mounted.returncode == 0, mounted.stderr
    yield Path(mounted.stdout.strip())
    run("podman", "image", "unmount", IMAGE)


def inside(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a command of the image as its user (10001), with the image's environment and nothing of ours."""
    env = ["env", "-i", "PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin", "HOME=/home/dancebot", "PYTHONUNBUFFERED=1"]
    return run("chroot", "--userspec=10001:10001", str(root), *env, "sh", "-c", f"cd /app && {' '.join(command)}")


def test_the_image_is_configured_as_compose_expects(image: Path) -> None:
    inspected = json.loads(run("podman", "image", "inspect", IMAGE).stdout)[0]
    config = inspected["Config"]
    assert config["User"] == "10001"
    assert config["Cmd"] == ["dancebot", "serve", "--host", "0.0.0.0", "--port", "8000"]
    assert inspected["Healthcheck"]["Test"] == ["CMD", "python", "/app/scripts/healthcheck.py"]
    assert config["WorkingDir"] == "/app"
    assert "8000/tcp" in config["ExposedPorts"]


def test_the_image_holds_the_package_and_no_build_tools(image: Path) -> None:
    assert (image / "opt/venv/bin/dancebot").exists()
    site = next((image / "opt/venv/lib").glob("python3.*/site-packages"))
    assert (site / "dancebot/storage/migrations/env.py").exists()  # package data ships in the wheel
    for tool in ("pip", "setuptools", "pytest", "mypy", "ruff", "hypothesis"):
        assert not list(site.glob(f"{tool}")) and not list(site.glob(f"{tool}-*.dist-info")), tool
    for compiler in ("usr/bin/gcc", "usr/bin/cc", "usr/bin/make"):
        assert not (image / compiler).exists(), compiler


def test_the_image_runs_dancebot_as_its_user(image: Path) -> None:
    who = inside(image, "id", "-u")
    assert who.stdout.strip() == "10001", who.stderr
    check = inside(image, "dancebot", "kb-check", "/opt/venv/lib/python3.11/site-packages/dancebot/kb/demo/studio.yaml")
    assert check.returncode == 0 and check.stdout.startswith("OK:"), check.stdout + check.stderr
    imported = inside(image, "python", "-c", "'import dancebot.web.app, dancebot.outbound.service; print(1)'")
    assert imported.stdout.strip() == "1", imported.stderr
    serve = inside(image, "dancebot", "serve")  # no configuration: one clear line per variable, exit 2
    assert serve.returncode == 2 and "REDIS_URL: required" in serve.stderr, serve.stderr
    health = inside(image, "PORT=9", "python", "/app/scripts/healthcheck.py", "app")
    assert health.returncode == 1 and "/health" in health.stdout, health.stdout + health.stderr
