"""A fake WhatsApp Cloud API (Graph API) for tests (PRODUCT.md §16): `POST /{version}/{phone-number-id}/messages`.

It answers what Meta answers, so the sender meets the real rules:
- `Authorization: Bearer <token>`: a wrong token → 401, code 190; another phone number id → 400, code 100.
- Text (1–4096 characters); interactive reply buttons (1–3, titles 1–20, ids ≤ 256, unique) and lists
  (button label ≤ 20, 1–10 sections, ≤ 10 rows in all, row titles ≤ 24, descriptions ≤ 72, ids ≤ 200,
  section titles ≤ 24 and required with several sections); a violation → 400, code 131009 (value) or
  100 (shape). Templates: an unknown name or language → 132001, a wrong number of body parameters → 132000,
  a parameter with a newline, a tab or 5 spaces → 132018.
- The 24-hour window, as Meta enforces it: a free-form message to a number that has not written in 24 h
  (`note_inbound` says when it did) is accepted with a wamid but never delivered; the failure comes as a
  `failed` status with error 131047, recorded in `failed` and POSTed, signed, to `webhook_url` when set.
- `fail_next(code)`: the next sends are answered with that error (130429, 131056, 131026, 132001, 100,
  131047… with Meta's message and HTTP status), for the sender's error mapping.
- With `webhook_url` and `statuses=True`, each delivered message gets `sent` and `delivered` statuses.

Every accepted message is in `sent` with the text the client sees and the choices offered; `calls` has
every request. Run it in process (`httpx.ASGITransport(app=fake.app)`) or on a port (`serve_in_thread`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from dancebot.channels import whatsapp_payloads as wa
from tests.fakes.telegram_http import make_server

__all__ = ["ERRORS", "TEMPLATES", "Call", "Failed", "FakeWhatsApp", "GraphError", "SentWhatsApp"]

VERSION = "v21.0"
WINDOW = 24 * 3600
# The approved templates of docs/whatsapp-templates.md: name -> (language, body with {{n}} parameters).
TEMPLATES: dict[str, tuple[str, str]] = {
    "lesson_reminder_24h": ("ru", "Здравствуйте, {{1}}! Напоминаем: завтра в {{2}} у вас занятие — {{3}}. Ждём вас!"),
    "lesson_reminder_2h": ("ru", "Здравствуйте, {{1}}! Через 2 часа занятие: {{2}}. До встречи в студии!"),
    "booking_confirm": ("ru", "Здравствуйте, {{1}}! Вы записаны: {{2}}, {{3}}. Если планы изменятся, напишите нам."),
}
# code -> (HTTP status, title) as the Cloud API reports them.
ERRORS: dict[int, tuple[int, str]] = {
    100: (400, "Invalid parameter"),
    190: (401, "Invalid OAuth access token - Cannot parse access token"),
    130429: (400, "Rate limit hit"),
    131000: (500, "Something went wrong"),
    131009: (400, "Parameter value is not valid"),
    131026: (400, "Message undeliverable"),
    131047: (400, "Re-engagement message"),
    131056: (400, "(Business Account, Consumer Account) pair rate limit hit"),
    132000: (400, "Number of parameters does not match the expected number of params"),
    132001: (400, "Template name does not exist in the translation"),
    132018: (400, "There was an issue with the parameters in your template"),
}
_BAD_PARAM = re.compile(r"[\n\t]| {5,}")


class GraphError(Exception):
    def __init__(self, code: int, details: str = "") -> None:
        super().__init__(f"{code}: {details}")
        self.code, self.details = code, details
        self.status, self.title = ERRORS.get(code, (400, "Error"))

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": f"(#{self.code}) {self.title}",
            "type": "OAuthException",
            "code": self.code,
            "fbtrace_id": "AbCdEfGhIjK",
        }
        if self.details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        return {"error": error}


@dataclass(frozen=True, slots=True)
class SentWhatsApp:
    """A message Meta accepted and delivered: what the client's phone shows."""

    seq: int
    to: str
    wamid: str
    kind: str  # text / button / list / template
    text: str  # the body, or the template's text with its parameters filled in
    choices: tuple[tuple[str, str], ...]  # (id, title) of the reply buttons or list rows
    template: str | None
    params: tuple[str, ...]
    body: dict[str, Any]
    received_at: float


@dataclass(frozen=True, slots=True)
class Failed:
    """A message accepted with a wamid whose delivery failed (the client never saw it)."""

    to: str
    wamid: str
    code: int
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Call:
    """One request to the messages endpoint, whatever its answer."""

    body: dict[str, Any]
    status: int
    at: float  # time.time()


@dataclass(slots=True)
class _Fault:
    code: int
    remaining: int
    to: str | None


@dataclass
class _State:
    sent: list[SentWhatsApp] = field(default_factory=list)
    failed: list[Failed] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)
    webhooks: list[tuple[dict[str, Any], int]] = field(default_factory=list)  # what we POSTed, with its answer


class FakeWhatsApp:
    def __init__(
        self,
        *,
        access_token: str,
        phone_number_id: str = wa.PHONE_NUMBER_ID,
        app_secret: str = "",
        templates: Mapping[str, tuple[str, str]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.access_token, self.phone_number_id, self.app_secret = access_token, phone_number_id, app_secret
        self.templates = dict(TEMPLATES if templates is None else templates)
        self.clock = clock
        self.webhook_url: str | None = None
        self.statuses = False
        self.last_inbound: dict[str, float] = {}
        self._state = _State()
        self._faults: list[_Fault] = []
        self._seq = itertools.count(1)
        self.app = Starlette(routes=[Route("/{version}/{number_id}/messages", self._messages, methods=["POST"])])

    # --- test controls ---------------------------------------------------------------------------------

    @property
    def sent(self) -> list[SentWhatsApp]:
        return self._state.sent

    @property
    def failed(self) -> list[Failed]:
        return self._state.failed

    @property
    def calls(self) -> list[Call]:
        """Every request with the HTTP status it got."""
        return self._state.calls

    @property
    def webhooks(self) -> list[tuple[dict[str, Any], int]]:
        return self._state.webhooks

    def note_inbound(self, wa_id: str, at: float | None = None) -> None:
        """The client wrote to the business at `at` (default now): their 24-hour window opens."""
        self.last_inbound[wa_id] = self.clock() if at is None else at

    def fail_next(self, code: int, n: int = 1, to: str | None = None) -> None:
        """Answer the next `n` sends (to `to`, or anyone) with Meta's error `code`."""
        self._faults.append(_Fault(code, n, to))

    def clear(self) -> None:
        self._state = _State()
        self._faults.clear()
        self.last_inbound.clear()

    def sent_to(self, to: str | int, since: int = 0) -> list[SentWhatsApp]:
        return [m for m in self.sent if m.to == str(to) and m.seq > since]

    def last_seq(self) -> int:
        return self.sent[-1].seq if self.sent else 0

    async def wait_for(
        self, to: str | int, count: int = 1, timeout: float = 10.0, *, since: int = 0
    ) -> list[SentWhatsApp]:
        deadline = time.monotonic() + timeout
        while len(found := self.sent_to(to, since)) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{to}: {len(found)}/{count} messages after {timeout}s: {[m.text for m in found]}")
            await asyncio.sleep(0.005)
        return found

    @contextmanager
    def serve_in_thread(self, host: str = "127.0.0.1") -> Iterator[str]:
        """Serve on a free port; yields the API base URL (with the version), as WHATSAPP_API_BASE_URL."""
        urls: list[str] = []
        ready = threading.Event()

        def on_ready(url: str) -> None:
            urls.append(url)
            ready.set()

        server = make_server(self.app, host, 0, on_ready)  # type: ignore[arg-type]

        def run() -> None:
            try:
                asyncio.run(server.serve())
            finally:
                ready.set()

        thread = threading.Thread(target=run, name="fake-whatsapp", daemon=True)
        thread.start()
        try:
            ready.wait(30)
            if not urls:
                raise RuntimeError("fake whatsapp did not start")
            yield f"{urls[0]}/{VERSION}"
        finally:
            server.should_exit = True
            thread.join(10)

    # --- the Graph API ---------------------------------------------------------------------------------

    async def _messages(self, request: Request) -> Response:
        raw = await request.body()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = None
        statuses: list[dict[str, Any]] = []
        try:
            if request.headers.get("authorization") != f"Bearer {self.access_token}":
                raise GraphError(190)
            if request.path_params["number_id"] != self.phone_number_id:
                raise GraphError(100, f"Object with ID '{request.path_params['number_id']}' does not exist")
            if not isinstance(body, dict):
                raise GraphError(100, "the body is not a JSON object")
            answer = self._accept(body, statuses)
            status = 200
        except GraphError as err:
            answer, status = err.body(), err.status
        kept = body if isinstance(body, dict) else {"raw": raw.decode(errors="replace")}
        self._state.calls.append(Call(kept, status, time.time()))
        task = BackgroundTask(self._deliver_statuses, statuses) if statuses and self.webhook_url else None
        return JSONResponse(answer, status_code=status, background=task)

    def _accept(self, body: dict[str, Any], statuses: list[dict[str, Any]]) -> dict[str, Any]:
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(100, "messaging_product must be whatsapp")
        to = str(body.get("to", "")).lstrip("+")
        if not to.isdigit():
            raise GraphError(100, "to must be a phone number")
        self._inject_fault(to)
        kind = body.get("type", "text")
        if kind == "text":
            text, choices, shown = _text(body), (), "text"
        elif kind == "interactive":
            text, choices, shown = _interactive(body.get("interactive"))
        elif kind == "template":
            text, choices, shown = self._template(body.get("template")), (), "template"
        else:
            raise GraphError(100, f"the fake does not send {kind!r} messages")
        wamid = wa.new_wamid(to)
        answer: dict[str, Any] = {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                                  "messages": [{"id": wamid}]}  # fmt: skip
        last = self.last_inbound.get(to)
        if kind != "template" and (last is None or self.clock() - last >= WINDOW):
            self._state.failed.append(Failed(to, wamid, 131047, body))
            statuses.append(wa.status(wamid, to, "failed", code=131047, title=ERRORS[131047][1]))
            return answer
        template = body["template"] if kind == "template" else None
        self._state.sent.append(
            SentWhatsApp(
                seq=next(self._seq), to=to, wamid=wamid, kind=shown, text=text, choices=choices,
                template=template["name"] if template else None,
                params=_params(template),
                body=body, received_at=time.time(),
            )
        )  # fmt: skip
        if self.statuses:
            statuses += [wa.status(wamid, to, "sent"), wa.status(wamid, to, "delivered")]
        if template:
            answer["messages"][0]["message_status"] = "accepted"
        return answer

    def _inject_fault(self, to: str) -> None:
        fault = next((f for f in self._faults if f.to in (None, to)), None)
        if fault is None:
            return
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.remove(fault)
        raise GraphError(fault.code, ERRORS.get(fault.code, (400, "injected"))[1])

    def _template(self, template: Any) -> str:
        if not isinstance(template, dict) or not isinstance(template.get("name"), str):
            raise GraphError(100, "template.name is required")
        name, lang = template["name"], (template.get("language") or {}).get("code")
        known = self.templates.get(name)
        if known is None or known[0] != lang:
            raise GraphError(132001, f"template name ({name}) does not exist in {lang}")
        params = _params(template)
        expected = len(set(re.findall(r"\{\{(\d+)\}\}", known[1])))
        if len(params) != expected:
            raise GraphError(132000, f"body: expected {expected}, got {len(params)}")
        texts = list(params)
        if any(not t or _BAD_PARAM.search(t) for t in texts):
            raise GraphError(132018, "Param text cannot have new-line/tab characters or more than 4 consecutive spaces")
        return re.sub(r"\{\{(\d+)\}\}", lambda m: texts[int(m.group(1)) - 1], known[1])

    async def _deliver_statuses(self, statuses: list[dict[str, Any]]) -> None:
        """POST the statuses to the app as Meta does: signed with the app secret."""
        raw = json.dumps(
            wa.payload(statuses=statuses, phone_number_id=self.phone_number_id), ensure_ascii=False
        ).encode()
        headers = {"Content-Type": "application/json", "X-Hub-Signature-256": wa.sign(raw, self.app_secret)}
        async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
            try:
                response = await client.post(self.webhook_url or "", content=raw, headers=headers)
                self._state.webhooks.append((json.loads(raw), response.status_code))
            except httpx.HTTPError:
                self._state.webhooks.append((json.loads(raw), 0))


def _params(template: dict[str, Any] | None) -> tuple[str, ...]:
    """The body parameters of a template message, as text."""
    components = (template or {}).get("components") or []
    return tuple(str(p.get("text", "")) for c in components if c.get("type") == "body" for p in c.get("parameters", []))


def _text(body: dict[str, Any]) -> str:
    text = body.get("text")
    value = text.get("body") if isinstance(text, dict) else None
    if not isinstance(value, str) or not value.strip():
        raise GraphError(100, "text.body is required")
    if len(value) > 4096:
        raise GraphError(131009, "text.body is longer than 4096 characters")
    return value


def _check(ok: bool, details: str, code: int = 131009) -> None:
    if not ok:
        raise GraphError(code, details)


def _interactive(inner: Any) -> tuple[str, tuple[tuple[str, str], ...], str]:
    _check(isinstance(inner, dict), "interactive is required", 100)
    body = inner.get("body") or {}
    text = body.get("text") if isinstance(body, dict) else None
    _check(isinstance(text, str) and 0 < len(text) <= 1024, "body.text: 1 to 1024 characters")
    action = inner.get("action") or {}
    if inner.get("type") == "button":
        buttons = action.get("buttons") or []
        _check(1 <= len(buttons) <= 3, f"buttons: 1 to 3, got {len(buttons)}")
        choices = []
        for b in buttons:
            reply = b.get("reply") or {}
            _check(b.get("type") == "reply" and bool(reply.get("id")), "button.reply.id is required", 100)
            title = str(reply.get("title", ""))
            _check(0 < len(title) <= 20, f"Button title length invalid. Min length: 1, Max length: 20: {title!r}")
            _check(len(str(reply["id"])) <= 256, "button id longer than 256")
            choices.append((str(reply["id"]), title))
        _check(len({c[0] for c in choices}) == len(choices), "button ids must be unique")
        return str(text), tuple(choices), "button"
    if inner.get("type") == "list":
        label = action.get("button")
        _check(isinstance(label, str) and 0 < len(label) <= 20, "action.button: 1 to 20 characters")
        sections = action.get("sections") or []
        _check(1 <= len(sections) <= 10, "sections: 1 to 10")
        rows = [r for s in sections for r in s.get("rows") or []]
        _check(1 <= len(rows) <= 10, f"rows: 1 to 10 in all, got {len(rows)}")
        for s in sections:
            title = s.get("title")
            _check(len(sections) == 1 or bool(title), "section title is required with several sections")
            _check(title is None or len(str(title)) <= 24, "section title longer than 24")
        for r in rows:
            _check(bool(r.get("id")) and len(str(r["id"])) <= 200, "row id: 1 to 200 characters")
            _check(
                0 < len(str(r.get("title", ""))) <= 24, f"Row title length invalid. Max length: 24: {r.get('title')!r}"
            )
            _check(len(str(r.get("description", ""))) <= 72, "row description longer than 72")
        _check(len({r["id"] for r in rows}) == len(rows), "row ids must be unique")
        return str(text), tuple((str(r["id"]), str(r["title"])) for r in rows), "list"
    raise GraphError(100, f"the fake does not send interactive {inner.get('type')!r}")
