"""The conversation engine: understanding → event → FSM row → action (SPEC §5).

The engine is the only place that turns a message into replies. Actions live in flow modules (booking,
browsing, cancel, series, handoff) as mixins over one `Engine`; each receives the `Turn` and may return
the next state where the table row leaves it open (`FIRST_MISSING`, or a refinement of `SAME`). System
events (the CRM's answer, timeouts, the admin) go through the same table via `dispatch`.
"""

from __future__ import annotations

import re
import time
import uuid

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.booking_actions import BookingActions
from dancebot.conversation.browse_actions import BrowseActions
from dancebot.conversation.cancel_actions import CancelActions
from dancebot.conversation.events import classify
from dancebot.conversation.fsm import FIRST_MISSING, SAME, Event, State, lookup
from dancebot.conversation.handoff_actions import HandoffActions
from dancebot.conversation.outcome_actions import OutcomeActions
from dancebot.conversation.render import enforce_limits
from dancebot.conversation.series_actions import SeriesActions
from dancebot.conversation.session import Session
from dancebot.conversation.sweeps import timeout_event
from dancebot.conversation.turn import Turn
from dancebot.crm.service import CRMService
from dancebot.logs import get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime
from dancebot.understanding.rules import Understanding, understand

__all__ = ["Engine", "detect_language"]

log = get_logger(__name__)


_WORD = re.compile(r"[A-Za-zА-Яа-яЁё]+")
_NEUTRAL = frozenset({"ok", "okay", "ок", "hi", "wow", "vip"})


def detect_language(msg: UnifiedMessage, text: str, default: str, previous: str | None, names: frozenset[str]) -> str:
    """English for a client who writes English sentences (or whose Telegram is English on the first
    message); else the KB language. Our own Latin names ("High Heels", "Hip-Hop") and "ok" switch nothing."""
    words = [w.lower() for w in _WORD.findall(text)]
    cyrillic = sum(1 for w in words if not w.isascii())
    latin = [w for w in words if w.isascii() and w not in names and w not in _NEUTRAL]
    if cyrillic > len(latin):
        return "ru"
    if len(latin) >= 2 and len(latin) > cyrillic:
        return "en"
    if previous:
        return previous
    return "en" if (msg.language_code or "").startswith("en") else default


# Menu buttons carry what a client would have typed.
CALLBACK_TEXT = {
    "book:": {"ru": "хочу записаться", "en": "I want to book a class"},
    "menu:schedule": {"ru": "расписание", "en": "schedule"},
    "menu:prices": {"ru": "сколько стоит занятие", "en": "how much is a class"},
}


class Engine(BookingActions, OutcomeActions, BrowseActions, CancelActions, SeriesActions, HandoffActions):
    def __init__(self, rt: Runtime, crm: CRMService) -> None:
        self.rt = rt
        self.kb = rt.kb
        self.crm = crm
        self._latin_names = frozenset(
            w.lower()
            for entry in [*rt.kb.services, *rt.kb.teachers, *rt.kb.studio.branches]
            for label in (entry.name, *entry.aliases)
            for w in _WORD.findall(label)
            if w.isascii()
        )

    def t(self, turn: Turn, key: str, **fields: object) -> str:
        return self.rt.catalogue.text(key, turn.lang, **fields)

    async def handle(self, msg: UnifiedMessage, session: Session) -> list[OutboundJob]:
        now = self.rt.now()
        text = (msg.text or "").strip()
        if msg.contact_phone:
            text = msg.contact_phone
        said = text
        if text.split("@")[0] in ("/start", "/help", "/menu"):  # Telegram's first message, not English text
            said, text = "", "привет"
            msg = msg.model_copy(update={"text": text})
        if not msg.callback_data and text.isdigit() and session.pending.get("buttons"):
            flat = [b for row in session.pending["buttons"] for b in row]
            if 0 < int(text) <= len(flat):  # "2" typed instead of tapping the second button
                msg = msg.model_copy(update={"callback_data": flat[int(text) - 1]["data"]})
        menu = CALLBACK_TEXT.get(msg.callback_data or "")
        if menu is not None:
            text = menu.get(session.language or self.kb.tone.language, menu["ru"])
            msg = msg.model_copy(update={"callback_data": None, "text": text})
        state_hint = session.pending.get("slot") or session.state
        u = understand(text, kb=self.kb, state_hint=state_hint, now=now)
        profile = await self.rt.sessions.load_profile(msg.channel, msg.chat_id)
        lang = detect_language(msg, said, self.kb.tone.language, session.language, self._latin_names)
        session.language = lang
        if text:
            session.remember(text)
        turn = Turn(msg=msg, session=session, profile=profile, u=u, lang=lang, now=now)
        turn.contact_label = self.t(turn, "btn_share_contact")
        self._expire_stale(turn)
        state = State(session.state)
        if msg.is_edit and state in (State.CONFIRM_BOOKING, State.COLLECTING_DATETIME, State.COLLECTING_CONTACT):
            event = Event.NO if state is State.CONFIRM_BOOKING else Event.SLOTS  # a correction, never a reset
        else:
            event = classify(u, state, msg.callback_data)
        await self.dispatch(turn, event)
        if turn.profile != profile:
            await self.rt.sessions.save_profile(msg.channel, msg.chat_id, turn.profile)
        return self._jobs(turn)

    async def system_event(
        self, session: Session, event: Event, *, trace_id: str, admin_text: str | None = None
    ) -> list[OutboundJob]:
        """A timeout or an admin command for a client's session, through the same table as messages."""
        msg = UnifiedMessage(
            channel=session.channel,
            chat_id=session.chat_id,
            message_id=f"sys:{trace_id}",  # type: ignore[arg-type]
            timestamp=self.rt.now(),
            text=None,
            trace_id=trace_id,
        )
        now = self.rt.now()
        lang = session.language or self.kb.tone.language
        u = Understanding.empty("en" if lang == "en" else "ru")
        profile = await self.rt.sessions.load_profile(session.channel, session.chat_id)
        turn = Turn(msg=msg, session=session, profile=profile, u=u, lang=lang, now=now)
        if admin_text is not None:
            session.pending["admin_text"] = admin_text
        await self.dispatch(turn, event)
        return self._jobs(turn)

    async def dispatch(self, turn: Turn, event: Event) -> None:
        """Run the table row for (state, event) and move to its next state."""
        state = State(turn.session.state)
        row = lookup(state, event)
        if row is None:
            log.info("fsm.ignored", state=state.value, fsm_event=event.value)
            row = lookup(State.IDLE, Event.UNKNOWN) if state is State.IDLE else None
            if row is None:
                turn.ask_again()
                return
        before = state
        override = await getattr(self, row.action)(turn)
        if override is not None:
            turn.session.enter(str(override))
        elif row.next not in (SAME, FIRST_MISSING):
            turn.session.enter(row.next)
        if turn.session.state == State.IDLE:
            turn.session.pending.clear()
        log.info(
            "fsm.transition",
            state_from=before.value,
            fsm_event=event.value,
            action=row.action,
            state_to=turn.session.state,
        )

    def _expire_stale(self, turn: Turn) -> None:
        """Timeouts enforced on the next message too (SPEC §5): an expired summary or handoff is over."""
        s = turn.session
        if timeout_event(s, time.time()) is Event.TIMEOUT_EXPIRE:
            log.info("fsm.expired_on_message", state=s.state)
            s.enter(State.IDLE)
            s.slots.clear()
            s.pending.clear()

    def _jobs(self, turn: Turn) -> list[OutboundJob]:
        quiet = turn.session.state in (State.HANDOFF_TO_ADMIN, State.ADMIN_RESPONDING)  # a human answers
        if not turn.parts and not quiet and turn.msg.is_textual and turn.msg.text is not None:
            log.error("engine.no_reply", state=turn.session.state)  # a bug: the client is never left unanswered
            if not turn.ask_again():
                turn.ask(self.t(turn, "clarify"))
        jobs = list(turn.extra_jobs)
        reply = turn.reply_job()
        if reply is not None:
            reply = reply.model_copy(update={"text": enforce_limits(reply.text, reply.channel)})
            jobs.insert(0, reply)
            for text in reversed(turn.preface):
                jobs.insert(
                    0,
                    reply.model_copy(
                        update={
                            "text": enforce_limits(text, reply.channel),
                            "buttons": (),
                            "request_contact": False,
                            "job_id": uuid.uuid4().hex,
                        }
                    ),
                )
        return jobs

    def admin_job(self, turn: Turn, text: str, purpose: str = "alert") -> None:
        admin = self.rt.settings.admin_chat_id
        if admin is None:
            log.warning("admin.not_configured", text=text)
            return
        turn.extra_jobs.append(
            OutboundJob(
                chat_id=admin, channel="telegram", text=text[:4000], trace_id=turn.msg.trace_id, purpose=purpose
            )
        )

    def client_handle(self, turn: Turn) -> str:
        return f"wa:{turn.msg.chat_id}" if turn.msg.channel == "whatsapp" else str(turn.msg.chat_id)

    def who(self, turn: Turn) -> str:
        name = turn.session.slots.get("client_name") or turn.profile.name or turn.msg.first_name or "клиент"
        phone = turn.session.slots.get("client_phone") or turn.profile.phone
        return f"{name} ({phone})" if phone else str(name)
