"""The I/O side of a conversation turn: runs the engine, performs its effects, and feeds each effect's
outcome back to the engine as the next event, until nothing is left to do (PRODUCT.md §5).

Used for a client's message (`handle`, by the inbound processor), and for system events: timeouts (the
worker's sweep) and the administrator's commands (`system`). The caller holds the chat's lock and saves
the session afterwards. A booking is the one effect that saves the session first: while the CRM is
asked, the chat is in BOOKING_IN_PROGRESS and new messages wait in its buffer.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.effects import (
    AlertAdmin,
    Book,
    BookingOutcome,
    BookSeries,
    Cancel,
    CancelOutcome,
    DropReminders,
    Effect,
    Outcome,
    RecordFallback,
    SaveProfile,
    ScheduleReminders,
    SeriesOutcome,
    VerifyBooking,
    booking_event,
)
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.fallback import record_fallback
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import Event
from dancebot.conversation.testmode import test_command
from dancebot.conversation.verify import VerifyJob, schedule_verification
from dancebot.crm.errors import CRMError
from dancebot.crm.service import CRMService
from dancebot.logs import get_logger
from dancebot.outbound import reminders
from dancebot.outbound.alerts import alert_admin
from dancebot.outbound.messages import OutboundJob
from dancebot.runtime import Runtime

__all__ = ["BOOKING_TIMEOUT", "ConversationRunner"]

log = get_logger(__name__)

BOOKING_TIMEOUT = 30.0  # PRODUCT.md §5: BOOKING_IN_PROGRESS 30 s → fallback
FollowUp = tuple[Event, Outcome]
# LLM_REWRITE (llm/rewrite.py): the turn's jobs → the same jobs, texts reworded where the policy allows.
Rewriter = Callable[[list[OutboundJob], Session], Awaitable[list[OutboundJob]]]


class ConversationRunner:
    def __init__(self, rt: Runtime, engine: Engine, crm: CRMService, rewriter: Rewriter | None = None) -> None:
        self._rt = rt
        self.engine = engine
        self.crm = crm
        self._rewriter = rewriter

    async def handle(self, msg: UnifiedMessage, session: Session, profile: Profile | None = None) -> list[OutboundJob]:
        """A client's message → the replies to queue (the session is updated in place). The profile is
        read here unless the caller read it with the session."""
        if (answer := await test_command(self._rt, self.crm, msg, session)) is not None:  # TEST_MODE only
            return answer
        if profile is None:
            profile = await self._rt.sessions.load_profile(msg.channel, msg.chat_id)
        step = await self.engine.handle(msg, session, profile, now=self._rt.now(), epoch=time.time())
        return await self._settle(session, step, msg.trace_id)

    async def system(
        self, session: Session, event: Event, *, trace_id: str, outcome: Outcome | None = None
    ) -> list[OutboundJob]:
        """A timeout or an admin command for a client's session → the messages to queue."""
        profile = await self._rt.sessions.load_profile(session.channel, session.chat_id)
        step = await self.engine.system_event(
            session, profile, event, now=self._rt.now(), trace_id=trace_id, outcome=outcome
        )
        return await self._settle(session, step, trace_id)

    async def _settle(self, session: Session, first: Step, trace_id: str) -> list[OutboundJob]:
        jobs: list[OutboundJob] = []
        steps = deque([first])
        while steps:
            step = steps.popleft()
            jobs.extend(step.jobs)
            for effect in step.effects:
                follow = await self._perform(effect, session, trace_id, jobs)
                if follow is not None:
                    event, outcome = follow
                    steps.append(
                        await self.engine.system_event(
                            session, step.profile, event, now=self._rt.now(), trace_id=trace_id, outcome=outcome
                        )
                    )
        return jobs if self._rewriter is None else await self._rewriter(jobs, session)

    async def _perform(
        self, effect: Effect, session: Session, trace_id: str, jobs: list[OutboundJob]
    ) -> FollowUp | None:
        """Do one effect; an effect whose outcome matters returns it as the next event."""
        match effect:
            case Book() | BookSeries() | Cancel():
                return await self._ask_crm(effect, session, trace_id)
            case AlertAdmin(cause=str(cause)):  # the one de-duplicated mechanism (outbound/alerts.py)
                await alert_admin(self._rt, cause, effect.text, trace_id)
            case AlertAdmin():
                jobs.extend(self._admin_job(effect, trace_id))
            case _:
                await self._record(effect, session, trace_id)
        return None

    async def _ask_crm(self, effect: Book | BookSeries | Cancel, session: Session, trace_id: str) -> FollowUp:
        """The effects the CRM answers; a booking saves the session first, so messages arriving meanwhile
        wait in the buffer (PRODUCT.md §5)."""
        match effect:
            case Book():
                await self._rt.sessions.save(session)
                outcome = await self._book(effect, session, trace_id)
                return booking_event(outcome), outcome
            case BookSeries():
                await self._rt.sessions.save(session)
                results = await self.crm.book_series(
                    occurrences=effect.occurrences,
                    name=effect.name,
                    phone_e164=effect.phone,
                    channel=session.channel,
                    chat_id=session.chat_id,
                    trace_id=trace_id,
                )
                return Event.SERIES_DONE, SeriesOutcome(tuple(results), llm_down=effect.llm_down)
            case Cancel():
                try:
                    await self.crm.cancel(
                        effect.reservation_id, phone_e164=effect.phone, occurrence_id=effect.occurrence_id
                    )
                except CRMError as exc:
                    return Event.CANCEL_FAILED, CancelOutcome(effect, reason=type(exc).__name__)
                return Event.CANCEL_DONE, CancelOutcome(effect)

    async def _record(self, effect: Effect, session: Session, trace_id: str) -> None:
        """The effects nobody answers: reminders, verification jobs, requests for the admin, the profile."""
        rt, channel, chat_id = self._rt, session.channel, session.chat_id
        match effect:
            case ScheduleReminders():
                await reminders.schedule(
                    rt,
                    channel=channel,
                    chat_id=chat_id,
                    occurrence=effect.occurrence,
                    name=effect.name,
                    lang=effect.lang,
                    now=rt.now(),
                    phone=effect.phone,  # the reservation's own phone: the reminder re-checks that one
                )
            case VerifyBooking():
                job = VerifyJob(
                    channel=channel,
                    chat_id=chat_id,
                    occurrence=effect.occurrence,
                    name=effect.name,
                    phone=effect.phone,
                    lang=effect.lang,
                    trace_id=trace_id,
                )
                await schedule_verification(rt, job, now=time.time())
            case DropReminders():
                await reminders.remove(rt, channel=channel, chat_id=chat_id, occurrence_id=effect.occurrence_id)
            case RecordFallback():
                await record_fallback(
                    rt,
                    kind=effect.kind,
                    reason=effect.reason,
                    channel=channel,
                    chat_id=chat_id,
                    trace_id=trace_id,
                    details=effect.details,
                )
            case SaveProfile():
                await rt.sessions.save_profile(channel, chat_id, effect.profile)

    async def _book(self, effect: Book, session: Session, trace_id: str) -> BookingOutcome:
        try:
            async with asyncio.timeout(BOOKING_TIMEOUT):
                result = await self.crm.book(
                    occurrence=effect.occurrence,
                    name=effect.name,
                    phone_e164=effect.phone,
                    channel=session.channel,
                    chat_id=session.chat_id,
                    trace_id=trace_id,
                )
        except TimeoutError:
            return BookingOutcome("unknown", "timeout", llm_down=effect.llm_down)
        return BookingOutcome(result.status, result.reason, llm_down=effect.llm_down)

    def _admin_job(self, alert: AlertAdmin, trace_id: str) -> list[OutboundJob]:
        admin = self._rt.settings.admin_chat_id
        if admin is None:
            log.warning("admin.not_configured", text=alert.text)
            return []
        return [
            OutboundJob(
                chat_id=admin, channel="telegram", text=alert.text[:4000], trace_id=trace_id, purpose=alert.purpose
            )
        ]
