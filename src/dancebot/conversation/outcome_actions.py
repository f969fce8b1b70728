"""Booking, second half: the explicit yes → CRM → receipt, or what happens when the CRM says no or is
down (SPEC §5 rows for BOOKING_IN_PROGRESS, contract §13 L1), and the summary's timeouts.

Nothing is lost: an unknown outcome or an unreachable CRM becomes a fallback request with everything the
administrator needs, and the client is told so.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from dancebot.conversation import render
from dancebot.conversation.booking_actions import yes_no_buttons
from dancebot.conversation.fsm import Event, State
from dancebot.conversation.slots import filter_occurrences
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.fallback import booking_details, record_fallback
from dancebot.crm.models import Occurrence
from dancebot.outbound import reminders

if TYPE_CHECKING:
    from dancebot.conversation.engine import Engine

__all__ = ["BOOKING_TIMEOUT", "OutcomeActions"]

BOOKING_TIMEOUT = 30.0  # contract §7: BOOKING_IN_PROGRESS 30 s → fallback


class OutcomeActions:
    async def book(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        slots = t.session.slots
        occ = Occurrence.model_validate(slots["occurrence"])
        t.session.enter(State.BOOKING_IN_PROGRESS)
        await self.rt.sessions.save(t.session)  # messages arriving now are buffered (SPEC §5)
        try:
            async with asyncio.timeout(BOOKING_TIMEOUT):
                result = await self.crm.book(
                    occurrence=occ,
                    name=slots["client_name"],
                    phone_e164=slots["client_phone"],
                    channel=t.msg.channel,
                    chat_id=t.msg.chat_id,
                    trace_id=t.msg.trace_id,
                )
            status, reason = result.status, result.reason
        except TimeoutError:
            status, reason = "unknown", "timeout"
        t.session.pending["result"] = {"status": status, "reason": reason}
        event = {
            "booked": Event.CRM_OK,
            "duplicate": Event.CRM_DUPLICATE,
            "rejected": Event.CRM_REJECTED,
        }.get(status, Event.CRM_UNAVAILABLE)
        await self.dispatch(t, event)
        return State(t.session.state)

    async def receipt(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        slots = t.session.slots
        occ = Occurrence.model_validate(slots["occurrence"])
        t.say(
            self.t(
                t,
                "receipt",
                klass=render.class_label(occ, self.kb, t.lang),
                when=render.when_label(occ, t.lang),
                where=render.branch_address(occ, self.kb),
                bring=self.kb.policies.what_to_bring,
            )
        )
        await reminders.schedule(
            self.rt,
            channel=t.msg.channel,
            chat_id=t.msg.chat_id,
            occurrence=occ,
            name=slots["client_name"],
            lang=t.lang,
            now=t.now,
        )
        self._remember_client(t)
        old = slots.pop("replaces", None)
        slots.clear()
        if old:  # a reschedule: the new class is booked, now the old one is released
            await self.cancel_reservation(
                t, old["reservation_id"], old["occurrence_id"], old["phone"], old["line"], key="rescheduled"
            )

    def _remember_client(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        """Profile memory (90 d): the client's own name and phone; not an attendee booked for someone else."""
        slots = t.session.slots
        update: dict[str, Any] = {"phone": slots.get("client_phone")}
        if not slots.get("relation"):
            update["name"] = slots.get("client_name")
        t.profile = t.profile.model_copy(update={k: v for k, v in update.items() if v})

    async def already_booked(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        occ = Occurrence.model_validate(t.session.slots["occurrence"])
        label = f"{render.class_label(occ, self.kb, t.lang)}, {render.when_label(occ, t.lang)}"
        t.say(f"{self.t(t, 'already_booked')} {label}")
        self._remember_client(t)
        t.session.slots.clear()

    async def rejected(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        reason = (t.session.pending.get("result") or {}).get("reason")
        t.say(self.t(t, {"full": "rejected_full", "closed": "rejected_closed"}.get(reason or "", "rejected_other")))
        slots = t.session.slots
        gone = slots.pop("occurrence", {}).get("occurrence_id")
        slots.pop("when", None)
        try:
            occs = [o for o in await self.crm.occurrences(t.now) if o.occurrence_id != gone]
        except CRMError as exc:
            return await self._fallback_now(t, type(exc).__name__)
        style_name = self.kb.service(slots.get("style", "")).name if self.kb.service(slots.get("style", "")) else ""  # type: ignore[union-attr]
        base = filter_occurrences(occs, self.kb, style=slots.get("style"))
        return self._offer(t, "choose_another", base, style_name)

    async def fallback(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        """CRM down or the outcome unknown: the request is recorded for the admin, nothing is lost."""
        result = t.session.pending.get("result") or {}
        kind = "verify" if result.get("status") == "unknown" else "booking"
        await self._record_booking_fallback(t, kind, str(result.get("reason") or "unavailable"))
        t.say(self.t(t, "fallback_booking"))
        self._remember_client(t)
        t.session.slots.clear()

    async def _record_booking_fallback(self: Engine, t: Turn, kind: str, reason: str) -> None:  # type: ignore[misc]
        slots = t.session.slots
        if slots.get("occurrence"):
            occ = Occurrence.model_validate(slots["occurrence"])
            details = booking_details(
                self.kb, name=slots.get("client_name"), phone=slots.get("client_phone"), occurrence=occ
            )
        else:
            details = {
                "name": slots.get("client_name"),
                "phone": slots.get("client_phone"),
                "style": slots.get("style"),
                "teacher": slots.get("teacher"),
                "branch": slots.get("branch"),
            }
            details["request"] = " | ".join(t.session.history[-3:])
        await record_fallback(
            self.rt,
            kind=kind,
            reason=reason,
            channel=t.msg.channel,  # type: ignore[arg-type]
            chat_id=t.msg.chat_id,
            trace_id=t.msg.trace_id,
            details=details,
        )

    async def _fallback_now(self: Engine, t: Turn, reason: str) -> State:  # type: ignore[misc]
        """The CRM is down while collecting (degradation L1): one request for the admin, with a phone to call
        back — asked for first when we have none, so the admin never gets a request no one can answer."""
        slots = t.session.slots
        if not slots.get("client_phone") and t.profile.phone:
            slots["client_phone"] = t.profile.phone
        if not slots.get("client_name") and t.profile.name:
            slots["client_name"] = t.profile.name
        if not slots.get("client_phone"):
            t.ask(self.t(t, "crm_down_need_phone"), request_contact=True)
            t.session.pending["slot"] = "client_phone"
            return State.COLLECTING_CONTACT
        await self._record_booking_fallback(t, "booking", reason)
        t.say(self.t(t, "fallback_booking"))
        t.session.slots.clear()
        return State.IDLE

    async def abort_booking(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        t.say(self.t(t, "aborted"))
        t.session.slots.clear()

    async def still_relevant(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        occ = Occurrence.model_validate(t.session.slots["occurrence"])
        line = f"{render.class_label(occ, self.kb, t.lang)}, {render.when_label(occ, t.lang)}"
        t.ask(self.t(t, "still_relevant", summary_line=line), yes_no_buttons(self, t))

    async def expire(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        key = "expired" if t.session.state == State.CONFIRM_BOOKING else "admin_later"
        t.say(self.t(t, key))
        t.session.slots.clear()
