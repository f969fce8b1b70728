"""The container healthcheck of the one image (Dockerfile, docker-compose.yml): `python healthcheck.py [app|worker]`.

- app: `GET http://127.0.0.1:8000/health` answers 200 (degraded included; 503 means Redis is unreachable).
- worker: Redis answers and a worker's heartbeat key is alive (the worker renews it every half second and
  it expires 10 s after the last renewal, so a hung or dead worker turns unhealthy).

Without an argument the role is read from the container's main process (`dancebot worker` or not).
Exit 0 = healthy, 1 = unhealthy, with one line saying why.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path


def role_of_main_process() -> str:
    try:
        args = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "app"
    return "worker" if b"worker" in args else "app"


def check_app(port: int) -> str:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4) as response:  # noqa: S310
            return "" if response.status == 200 else f"/health answered {response.status}"
    except OSError as exc:  # URLError and HTTPError (a 503) are OSErrors
        return f"/health: {exc}"


def check_worker() -> str:
    from redis import Redis

    from dancebot.storage.keys import WORKER_ALIVE_PREFIX

    url = os.environ.get("REDIS_URL", "")
    if not url:
        return "REDIS_URL is not set"
    redis = Redis.from_url(url, socket_timeout=3, socket_connect_timeout=3)
    try:
        alive = next(iter(redis.scan_iter(match=f"{WORKER_ALIVE_PREFIX}*", count=1000)), None)
    except Exception as exc:
        return f"redis: {type(exc).__name__}"
    finally:
        redis.close()
    return "" if alive is not None else "no worker heartbeat in Redis"


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else role_of_main_process()
    problem = check_worker() if role == "worker" else check_app(int(os.environ.get("PORT", "8000")))
    print(f"{role}: {problem or 'healthy'}")
    return 1 if problem else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
