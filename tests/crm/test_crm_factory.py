"""Which CRM a process talks to: the configured tenant, else the in-process fake (PRODUCT.md §7.2)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from pydantic import SecretStr, ValidationError

from dancebot.config import Settings
from dancebot.crm.client import CallRecord
from dancebot.crm.factory import build_impulse_client, tool_call_recorder
from dancebot.runtime import Runtime
from dancebot.storage.tables import tool_calls
from tests.crm.conftest import VLAD, AuditRows

TODAY = dt.date(2026, 12, 2)


async def test_without_a_crm_the_fake_demo_studio_answers(settings: Settings) -> None:
    client, fake, http = build_impulse_client(settings, on_call=None, tz=VLAD, today=TODAY)
    try:
        assert fake is not None and fake.today == TODAY
        assert len(await client.get_schedule()) == 28
        assert [r.entity for r in fake.requests] == ["schedule"]
    finally:
        await http.aclose()


async def test_test_mode_uses_the_fake_even_with_a_tenant_configured(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"test_mode": True, "impulse_tenant": "ritm", "impulse_api_key": SecretStr("real-key-never-used")}
    )
    client, fake, http = build_impulse_client(configured, on_call=None, tz=VLAD)
    try:
        assert fake is not None and fake.today == dt.datetime.now(VLAD).date()
        assert (await client.health_check()).status == "ok"
    finally:
        await http.aclose()


async def test_a_configured_tenant_is_called_over_http(settings: Settings) -> None:
    configured = settings.model_copy(
        update={"impulse_base_url": "http://127.0.0.1:9/api/public", "impulse_api_key": SecretStr("k")}
    )
    client, fake, http = build_impulse_client(configured, on_call=None, tz=VLAD, timeout=2.0)
    try:
        assert fake is None
        assert (await client.health_check()).status == "unavailable"  # nothing listens there: not the fake
    finally:
        await http.aclose()


async def test_tool_call_recorder_writes_the_trace_and_masks_arguments(rt: Runtime, audit_rows: AuditRows) -> None:
    record = tool_call_recorder(rt.audit, lambda: "trace-7")
    await record(CallRecord("find_client", {"phone": "+79991234567"}, "CRMUnavailable", 12))
    [row] = await audit_rows(tool_calls)
    assert (row["trace_id"], row["function"], row["status"], row["latency_ms"]) == (
        "trace-7",
        "find_client",
        "CRMUnavailable",
        12,
    )
    assert row["arguments"] == {"phone": "+7999****567"}


async def test_impulse_max_rps_sets_the_spacing_of_requests_to_a_configured_tenant(settings: Settings) -> None:
    """IMPULSE_MAX_RPS (default 3, SPEC §9) spaces the requests: at 20/s five calls need 4 gaps of 50 ms,
    where the default would need 4 × 333 ms."""
    from dancebot.crm.fake import create_fake_impulse
    from tests.e2e.stack import serve_in_thread

    fake = create_fake_impulse(api_key="k", today=TODAY)
    with serve_in_thread(fake.app) as url:
        configured = settings.model_copy(
            update={"impulse_base_url": f"{url}/api/public", "impulse_api_key": SecretStr("k"), "impulse_max_rps": 20}
        )
        client, _, http = build_impulse_client(configured, on_call=None, tz=VLAD, timeout=2.0)
        try:
            started = time.monotonic()
            for _ in range(5):
                assert (await client.health_check()).status == "ok"
            elapsed = time.monotonic() - started
        finally:
            await http.aclose()
    assert 0.2 <= elapsed < 1.2, elapsed


def test_impulse_max_rps_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="impulse_max_rps"):
        Settings(_env_file=None, impulse_max_rps=0)  # type: ignore[call-arg]
    assert Settings(_env_file=None).impulse_max_rps == 3.0  # type: ignore[call-arg]
