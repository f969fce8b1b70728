"""The conversation engine: message → understanding → event → table row → action → replies + effects.

The engine does no I/O of its own: it reads the CRM only through the read-only queries it is given,
and returns what to send and what to do (`Step`). The runner (`runner.py`) performs the effects and feeds
an effect's outcome back as the next event (`system_event`), through the same table. The clock is the
caller's: `now` is the conversation's local time, `epoch` the wall clock the timeouts are measured by.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation import render, triggers
from dancebot.conversation.catalogue import Catalogue
from dancebot.conversation.effects import Book, BookSeries, Cancel, Effect, Outcome, SaveProfile
from dancebot.conversation.events import classify
from dancebot.conversation.fsm import lookup
from dancebot.conversation.session import Pending, Profile, Session
from dancebot.conversation.states import Event, State
from dancebot.conversation.timeouts import timeout_event
from dancebot.conversation.turn import CRMQueries, Deps, Turn
from dancebot.kb.schema import KnowledgeBase
from dancebot.logs import get_logger
from dancebot.outbound.messages import OutboundJob
from dancebot.understanding.rules import Lang, Understanding
from dancebot.understanding.seam import Hints, Understander

__all__ = ["Engine", "IllegalTransition", "Step"]

log = get_logger(__name__)


_ALWAYS = ("admin", "book:", "menu:")
_TOPICS = {Event.PRICE: "price", Event.SCHEDULE: "schedule"}
_OPEN = (
    State.IDLE,
    State.COLLECTING_INTENT,
    State.BROWSING_SCHEDULE,
)  # menu buttons mean the same whenever they are tapped


def _stale_tap(msg: UnifiedMessage, session: Session) -> bool:
    """A tap on a button that is no longer under the latest reply: its step is over."""
    data = msg.callback_data
    if not data or session.keyboard is None or data.startswith(_ALWAYS):
        return False
    return data not in session.keyboard


class IllegalTransition(RuntimeError):
    """An action chose a state its table row does not name: a bug, never a client's fault."""


@dataclass
class Step:
    """What one event produced: the replies to send and the effects to perform, in order."""

    jobs: list[OutboundJob] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
    profile: Profile = field(default_factory=Profile)


class Engine:
    def __init__(self, kb: KnowledgeBase, catalogue: Catalogue, crm: CRMQueries, understander: Understander) -> None:
        self.deps = Deps(kb=kb, catalogue=catalogue, crm=crm)
        self.understander = understander

    async def handle(
        self, msg: UnifiedMessage, session: Session, profile: Profile, *, now: datetime, epoch: float
    ) -> Step:
        """One client message; `session` is updated in place."""
        hints = Hints(
            now=now,
            state_hint=session.pending.slot or session.state,
            buttons=tuple(b.data for row in session.pending.buttons for b in row),
            language=session.language,
        )
        u = await self.understander.understand(msg, hints)
        session.language = u.reply_lang
        if u.text:
            session.remember(u.text)
        turn = self.turn(msg, session, profile, u, now=now)
        if timeout_event(session, epoch) is Event.TIMEOUT_EXPIRE:
            log.info("fsm.expired_on_message", state=session.state)  # an expired summary or handoff is over
            session.enter(State.IDLE)
            session.reset()
        if _stale_tap(msg, session):
            log.info("engine.stale_button", data=msg.callback_data, state=session.state)
            t = turn
            t.say(t.t("stale_button"))  # never a second booking or cancel from an old button
            if session.state != State.IDLE:
                t.ask_again()
        else:
            event = classify(u, State(session.state), is_edit=msg.is_edit, last_topic=session.last_topic)
            event = triggers.route(u, session, event)  # freeze, complaint, refund → the admin (triggers.py)
            await self.dispatch(turn, event)
            session.last_topic = _TOPICS.get(event) if session.state in _OPEN else None
        step = self._step(turn, profile)
        if msg.callback_message_id is not None:  # the tapped keyboard goes: the chat shows what is current
            clear = OutboundJob(
                kind="clear_keyboard",
                chat_id=msg.chat_id,
                channel=msg.channel,
                target_message_id=msg.callback_message_id,
                trace_id=msg.trace_id,
            )
            step.jobs.insert(0, clear)
        return step

    async def system_event(
        self,
        session: Session,
        profile: Profile,
        event: Event,
        *,
        now: datetime,
        trace_id: str,
        outcome: Outcome | None = None,
    ) -> Step:
        """An effect's outcome, a timeout or an admin command for a client's session, through the table."""
        msg = UnifiedMessage(
            channel=session.channel,
            chat_id=session.chat_id,
            message_id=f"sys:{trace_id}",
            timestamp=now,
            text=None,
            trace_id=trace_id,
        )
        lang: Lang = "en" if (session.language or self.deps.kb.tone.language) == "en" else "ru"
        turn = self.turn(msg, session, profile, Understanding.empty(lang), now=now, outcome=outcome)
        await self.dispatch(turn, event)
        return self._step(turn, profile)

    def turn(
        self,
        msg: UnifiedMessage,
        session: Session,
        profile: Profile,
        u: Understanding,
        *,
        now: datetime,
        outcome: Outcome | None = None,
    ) -> Turn:
        return Turn(
            deps=self.deps, msg=msg, session=session, profile=profile, u=u, lang=u.reply_lang, now=now, outcome=outcome
        )

    async def dispatch(self, turn: Turn, event: Event) -> None:
        """Run the table row for (state, event) and move to the state it returns, if the row allows it."""
        session = turn.session
        state = State(session.state)
        turn.event = event
        row = lookup(state, event)
        if row is None:
            log.info("fsm.ignored", state=state.value, fsm_event=event.value)
            row = lookup(State.IDLE, Event.UNKNOWN) if state is State.IDLE else None
            if row is None:
                turn.ask_again()
                return
        chosen = await row.action(turn)
        if chosen is None:
            if len(row.next) != 1:
                raise IllegalTransition(f"{row.name} in {state.value} on {event.value} returned no state")
            (chosen,) = row.next
        if chosen not in row.next:
            raise IllegalTransition(
                f"{row.name} in {state.value} on {event.value} → {chosen.value}, the table allows "
                + ", ".join(sorted(s.value for s in row.next))
            )
        session.enter(chosen)
        if chosen is State.IDLE:
            session.pending = Pending()
        log.info("fsm.transition", state_from=state.value, fsm_event=event.value, action=row.name, state_to=chosen)

    def _step(self, turn: Turn, profile: Profile) -> Step:
        effects = list(turn.effects)
        if turn.profile != profile:
            effects.append(SaveProfile(turn.profile))
        return Step(jobs=self._jobs(turn), effects=effects, profile=turn.profile)

    def _jobs(self, t: Turn) -> list[OutboundJob]:
        quiet = t.session.state in (State.HANDOFF_TO_ADMIN, State.ADMIN_RESPONDING)  # a human answers
        waiting = any(isinstance(e, Book | BookSeries | Cancel) for e in t.effects)  # the answer follows the CRM's
        if not t.parts and not quiet and not waiting and t.msg.is_textual and t.msg.text is not None:
            log.error("engine.no_reply", state=t.session.state)  # a bug: the client is never left unanswered
            if not t.ask_again():
                t.ask(t.t("clarify"))
        if not t.parts:
            return []
        t.session.keyboard = [b.data for row in t.buttons for b in row]
        reply = OutboundJob(
            chat_id=t.msg.chat_id,
            channel=t.msg.channel,
            text=render.enforce_limits("\n".join(t.parts), t.msg.channel),
            buttons=tuple(tuple(row) for row in t.buttons),
            request_contact=t.request_contact,
            contact_label=t.t("btn_share_contact"),
            trace_id=t.msg.trace_id,
            state=t.session.state,
        )
        before = [
            reply.model_copy(
                update={
                    "text": render.enforce_limits(text, reply.channel),
                    "buttons": (),
                    "request_contact": False,
                    "job_id": uuid.uuid4().hex,
                }
            )
            for text in t.preface
        ]
        return [*before, reply]
