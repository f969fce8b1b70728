"""One turn of a conversation: what an action reads and what it returns.

An action receives the `Turn`: the KB, the texts, read-only CRM queries, the message and what was
understood, the session's typed slots, and — for a system event — the outcome it carries. It answers
through the turn's output: replies (`say`/`ask`; `ask` also remembers the question so that a side
question later in the flow can be answered and the pending question asked again, PRODUCT.md §5) and
effects (`do`). The next state is the action's return value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from dancebot.channels.handles import format_handle
from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.catalogue import Catalogue
from dancebot.conversation.effects import AlertAdmin, Effect, Outcome
from dancebot.conversation.session import Profile, Session, Slots
from dancebot.conversation.states import Event
from dancebot.crm.models import BookedClass, Occurrence
from dancebot.kb.schema import KnowledgeBase
from dancebot.outbound.messages import Button
from dancebot.understanding.rules import Lang, Understanding

__all__ = ["CRMQueries", "Deps", "Turn"]


class CRMQueries(Protocol):
    """The CRM as actions see it: read-only (bookings and cancels are effects)."""

    async def occurrences(self, now: datetime | None = None) -> list[Occurrence]: ...

    async def client_bookings(self, phone_e164: str, now: datetime | None = None) -> list[BookedClass]: ...


@dataclass(frozen=True)
class Deps:
    kb: KnowledgeBase
    catalogue: Catalogue
    crm: CRMQueries


@dataclass
class Turn:
    deps: Deps
    msg: UnifiedMessage
    session: Session
    profile: Profile
    u: Understanding
    lang: Lang
    now: datetime
    outcome: Outcome | None = None  # the data of a system event
    event: Event | None = None  # the event being handled (set by the engine)
    # output
    preface: list[str] = field(default_factory=list)  # whole messages sent before the reply
    parts: list[str] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    request_contact: bool = False
    effects: list[Effect] = field(default_factory=list)

    @property
    def kb(self) -> KnowledgeBase:
        return self.deps.kb

    @property
    def crm(self) -> CRMQueries:
        return self.deps.crm

    @property
    def slots(self) -> Slots:
        return self.session.slots

    @property
    def text(self) -> str:
        return self.u.text

    @property
    def callback(self) -> str:
        return self.u.callback or ""

    def t(self, key: str, **fields: object) -> str:
        return self.deps.catalogue.text_for(key, self.lang, self.msg.channel, **fields)

    def do(self, *effects: Effect) -> None:
        self.effects.extend(effects)

    def alert_admin(self, text: str, purpose: Literal["alert", "handoff", "relay"] = "alert") -> None:
        self.effects.append(AlertAdmin(text=text, purpose=purpose))

    @property
    def handle(self) -> str:
        """How the admin addresses this client in `/reply`."""
        return format_handle(self.msg.channel, self.msg.chat_id)

    def say(self, text: str) -> None:
        self.parts.append(text)

    def ask(self, question: str, buttons: list[list[Button]] | None = None, *, request_contact: bool = False) -> None:
        """The one question of this message; remembered as the pending question of the flow."""
        self.parts.append(question)
        self.buttons = buttons or []
        self.request_contact = request_contact
        pending = self.session.pending
        pending.question = question
        pending.buttons = [list(row) for row in self.buttons]
        pending.request_contact = request_contact

    def ask_again(self, prefix_key_text: str | None = None) -> bool:
        """Repeat the pending question (optionally introduced); False when there is none."""
        question = self.session.pending.question
        if not question:
            return False
        if prefix_key_text:
            question = prefix_key_text.format(question=question[:1].lower() + question[1:])
        self.parts.append(question)
        self.buttons = [list(row) for row in self.session.pending.buttons]
        self.request_contact = self.session.pending.request_contact
        return True

    def who(self) -> str:
        """The client as the admin chat names them: name (phone)."""
        name = self.slots.client_name or self.profile.name or self.msg.first_name or "клиент"
        phone = self.slots.client_phone or self.profile.phone
        return f"{name} ({phone})" if phone else name
