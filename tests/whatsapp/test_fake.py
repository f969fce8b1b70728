"""The fake Graph API holds the sender to Meta's rules: the token, the button and list limits, templates,
the 24-hour window (accepted, then a failed status with 131047), errors on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from dancebot.channels import whatsapp_payloads as wa
from tests.fakes.whatsapp import FakeWhatsApp

TOKEN = "fake-graph-token"
TO = "79537000050"


@pytest.fixture
def fake() -> FakeWhatsApp:
    fake = FakeWhatsApp(access_token=TOKEN)
    fake.note_inbound(TO)
    return fake


@pytest.fixture
async def graph(fake: FakeWhatsApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://graph/v21.0") as client:
        client.headers["Authorization"] = f"Bearer {TOKEN}"
        yield client


async def send(graph: httpx.AsyncClient, **body: Any) -> httpx.Response:
    message = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": TO, **body}
    return await graph.post(f"/{wa.PHONE_NUMBER_ID}/messages", json=message)


def buttons(*titles: str) -> dict[str, Any]:
    replies = [{"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)]
    return {"type": "button", "body": {"text": "Выберите"}, "action": {"buttons": replies}}


def rows(n: int, title: str = "Сб 05.12 18:00") -> dict[str, Any]:
    items = [{"id": f"r{i}", "title": title} for i in range(n)]
    return {
        "type": "list",
        "body": {"text": "Выберите"},
        "action": {"button": "Выбрать", "sections": [{"rows": items}]},
    }


async def code_of(response: httpx.Response) -> int:
    return int(response.json()["error"]["code"])


async def test_a_text_in_the_window_is_delivered_with_a_wamid(fake: FakeWhatsApp, graph: httpx.AsyncClient) -> None:
    response = await send(graph, type="text", text={"body": "Здравствуйте!"})
    assert response.status_code == 200
    wamid = response.json()["messages"][0]["id"]
    assert wamid.startswith("wamid.") and [m.text for m in fake.sent_to(TO)] == ["Здравствуйте!"]


async def test_a_wrong_token_is_refused_with_190(graph: httpx.AsyncClient) -> None:
    graph.headers["Authorization"] = "Bearer nope"
    response = await send(graph, type="text", text={"body": "x"})
    assert response.status_code == 401 and await code_of(response) == 190


async def test_reply_buttons_are_at_most_three_with_titles_of_at_most_20(
    fake: FakeWhatsApp, graph: httpx.AsyncClient
) -> None:
    assert (await send(graph, type="interactive", interactive=buttons("Да", "Нет", "Позже"))).status_code == 200
    assert fake.sent[-1].choices == (("b0", "Да"), ("b1", "Нет"), ("b2", "Позже"))
    four = await send(graph, type="interactive", interactive=buttons("1", "2", "3", "4"))
    assert four.status_code == 400 and await code_of(four) == 131009
    long = await send(graph, type="interactive", interactive=buttons("Сб 05.12 18:00, Гоголя"))  # 22 characters
    assert long.status_code == 400 and "Max length: 20" in long.json()["error"]["error_data"]["details"]


async def test_a_list_has_at_most_ten_rows_with_titles_of_at_most_24(
    fake: FakeWhatsApp, graph: httpx.AsyncClient
) -> None:
    assert (await send(graph, type="interactive", interactive=rows(10))).status_code == 200
    assert fake.sent[-1].kind == "list" and len(fake.sent[-1].choices) == 10
    assert await code_of(await send(graph, type="interactive", interactive=rows(11))) == 131009
    assert await code_of(await send(graph, type="interactive", interactive=rows(1, "x" * 25))) == 131009


async def test_outside_the_window_a_text_is_accepted_but_fails_with_131047(
    fake: FakeWhatsApp, graph: httpx.AsyncClient
) -> None:
    fake.note_inbound(TO, at=fake.clock() - 25 * 3600)
    response = await send(graph, type="text", text={"body": "Напоминаем о занятии"})
    assert response.status_code == 200  # as Meta: the failure comes later, as a status
    assert fake.sent_to(TO) == [] and [(f.to, f.code) for f in fake.failed] == [(TO, 131047)]


async def test_templates_go_out_of_the_window_when_known_and_complete(
    fake: FakeWhatsApp, graph: httpx.AsyncClient
) -> None:
    fake.note_inbound(TO, at=fake.clock() - 25 * 3600)

    def template(name: str, *params: str, lang: str = "ru") -> dict[str, Any]:
        components = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
        return {"name": name, "language": {"code": lang}, "components": components}

    ok = await send(graph, type="template", template=template("lesson_reminder_2h", "Анна", "High Heels (Настя)"))
    assert ok.status_code == 200
    assert fake.sent[-1].text == "Здравствуйте, Анна! Через 2 часа занятие: High Heels (Настя). До встречи в студии!"
    assert await code_of(await send(graph, type="template", template=template("promo", "x"))) == 132001
    en = template("lesson_reminder_2h", "Anna", "Heels", lang="en")
    assert await code_of(await send(graph, type="template", template=en)) == 132001
    assert await code_of(await send(graph, type="template", template=template("lesson_reminder_2h", "Анна"))) == 132000
    multiline = template("lesson_reminder_2h", "Анна", "High Heels\nГоголя")
    assert await code_of(await send(graph, type="template", template=multiline)) == 132018


@pytest.mark.parametrize("code", [130429, 131056, 131026, 132001, 100, 131047, 131000])
async def test_errors_on_demand(fake: FakeWhatsApp, graph: httpx.AsyncClient, code: int) -> None:
    fake.fail_next(code, to=TO)
    failed = await send(graph, type="text", text={"body": "x"})
    assert await code_of(failed) == code and failed.status_code in (400, 500)
    assert (await send(graph, type="text", text={"body": "y"})).status_code == 200  # only the next one
