"""One turn of a conversation: the message, what was understood, and the replies being built.

Actions append replies with `say`/`ask`; `ask` also remembers the question so that a side question
later in the flow can be answered and the pending question asked again in the same message (SPEC §5).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.session import Profile, Session
from dancebot.outbound.messages import Button, OutboundJob
from dancebot.understanding.rules import Understanding

__all__ = ["Turn"]


@dataclass
class Turn:
    msg: UnifiedMessage
    session: Session
    profile: Profile
    u: Understanding
    lang: str
    now: datetime
    preface: list[str] = field(default_factory=list)  # whole messages sent before the reply
    parts: list[str] = field(default_factory=list)
    buttons: list[list[Button]] = field(default_factory=list)
    request_contact: bool = False
    extra_jobs: list[OutboundJob] = field(default_factory=list)  # to the admin chat, etc.
    contact_label: str = "📱 Поделиться номером"

    @property
    def text(self) -> str:
        return self.u.text

    def say(self, text: str) -> None:
        self.parts.append(text)

    def ask(self, question: str, buttons: list[list[Button]] | None = None, *, request_contact: bool = False) -> None:
        """The one question of this message; remembered as the pending question of the flow."""
        self.parts.append(question)
        self.buttons = buttons or []
        self.request_contact = request_contact
        self.session.pending["question"] = question
        self.session.pending["buttons"] = [[b.model_dump() for b in row] for row in self.buttons]
        self.session.pending["request_contact"] = request_contact

    def ask_again(self, prefix_key_text: str | None = None) -> bool:
        """Repeat the pending question (optionally introduced); False when there is none."""
        question = self.session.pending.get("question")
        if not question:
            return False
        if prefix_key_text:
            question = prefix_key_text.format(question=question[:1].lower() + question[1:])
        self.parts.append(question)
        self.buttons = [[Button(**b) for b in row] for row in self.session.pending.get("buttons", [])]
        self.request_contact = bool(self.session.pending.get("request_contact"))
        return True

    def reply_job(self) -> OutboundJob | None:
        if not self.parts:
            return None
        return OutboundJob(
            chat_id=self.msg.chat_id,
            channel=self.msg.channel,
            text="\n".join(self.parts),
            buttons=tuple(tuple(row) for row in self.buttons),
            request_contact=self.request_contact,
            contact_label=self.contact_label,
            trace_id=self.msg.trace_id,
            state=self.session.state,
        )
