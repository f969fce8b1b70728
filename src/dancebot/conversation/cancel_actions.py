"""Cancel, "мои записи" and reschedule (SPEC §5.3): only the client's own future reservations, a choice,
an explicit confirmation (with the late-cancel warning from KB policies), then reminders removed.

Steps live in `session.pending["cancel"]`: phone → select → confirm. A reschedule is a cancel followed
by a new booking, both confirmed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from dancebot.conversation.fsm import State
from dancebot.conversation.slots import constraint_to_json
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.fallback import record_fallback
from dancebot.crm.service import BookedClass
from dancebot.outbound import reminders
from dancebot.outbound.messages import Button
from dancebot.understanding.intents import Intent

if TYPE_CHECKING:
    from dancebot.conversation.engine import Engine

__all__ = ["CancelActions", "booked_line"]

_WEEKDAYS = {"ru": ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс"), "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")}


def booked_line(b: BookedClass, kb: Any, lang: str) -> str:
    day = _WEEKDAYS.get(lang, _WEEKDAYS["ru"])[b.date.weekday()]
    when = f"{day} {b.date:%d.%m}" + (f" {b.start:%H:%M}" if b.start else "")
    branch = kb.branch_by_crm_id(b.branch_crm_id) if b.branch_crm_id is not None else None
    where = f", {branch.name}" if branch else ""
    return f"{when} {b.style_name or b.group_name}{where}"


class CancelActions:
    async def start_cancel(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        intents = {s.intent for s in t.u.intents}
        data = t.msg.callback_data or ""
        mode = (
            "reschedule"
            if Intent.RESCHEDULE in intents
            else "list"
            if (Intent.MY_BOOKINGS in intents and Intent.CANCEL not in intents)
            else "cancel"
        )
        t.session.slots.clear()
        t.session.pending["cancel"] = {"mode": mode, "step": "phone"}
        if mode == "reschedule" and t.u.time is not None and not t.u.time.is_empty:
            t.session.pending["cancel"]["new_when"] = constraint_to_json(t.u.time)  # "перенести на субботу"
        if data.startswith("bk:"):
            t.session.pending["cancel"]["mode"] = "cancel"
        phone = self._known_phone(t)
        if phone is None:
            t.ask(self.t(t, "ask_phone_for_bookings"), request_contact=True)
            t.session.pending["slot"] = "client_phone"
            return State.CANCEL_FLOW
        return await self._with_bookings(t, phone)

    def _known_phone(self: Engine, t: Turn) -> str | None:  # type: ignore[misc]
        if t.msg.contact_phone:
            return t.msg.contact_phone
        if t.u.phone is not None and t.u.phone.valid:
            return t.u.phone.e164
        return t.session.slots.get("client_phone") or t.profile.phone

    async def _with_bookings(self: Engine, t: Turn, phone: str) -> State:  # type: ignore[misc]
        flow = t.session.pending["cancel"]
        flow["phone"] = phone
        try:
            bookings = await self.crm.client_bookings(phone, t.now)
        except CRMError:
            t.say(self.t(t, "crm_down_info"))
            self.admin_job(t, self.t(t, "question_admin", who=self.who(t), text=t.text, handle=self.client_handle(t)))
            return State.IDLE
        if not t.profile.phone:
            t.profile = t.profile.model_copy(update={"phone": phone})
        if not bookings:
            t.ask(self.t(t, "no_bookings"), [[Button(text=self.t(t, "admin_button"), data="admin")]])
            return State.IDLE
        flow["bookings"] = [b.model_dump(mode="json") for b in bookings]
        data = t.msg.callback_data or ""
        if data.startswith("bk:"):
            return self._choose(t, [b for b in bookings if str(b.reservation_id) == data[3:]] or bookings)
        if flow["mode"] == "list":
            lines = "\n".join(booked_line(b, self.kb, t.lang) for b in bookings[:5])
            t.say(self.t(t, "my_bookings", lines=lines))
            buttons = [
                [
                    Button(
                        text=self.t(t, "btn_cancel_booking", line=booked_line(b, self.kb, t.lang)[:40]),
                        data=f"bk:{b.reservation_id}",
                    )
                ]
                for b in bookings[:3]
            ]
            t.buttons = buttons
            t.session.pending.pop("cancel", None)
            return State.IDLE
        return self._choose(t, self._narrow(t, bookings))

    def _narrow(self: Engine, t: Turn, bookings: list[BookedClass]) -> list[BookedClass]:  # type: ignore[misc]
        """ "отмените запись на пятницу" / "на хилс": keep the bookings the message points at."""
        hits = bookings
        if t.u.time is not None and not t.u.time.is_empty:
            starts = t.u.time.select(b.start for b in hits if b.start is not None)
            by_time = [b for b in hits if b.start in starts]
            hits = by_time or hits
        if t.u.styles:
            names = {self.kb.service(m.id).name.lower() for m in t.u.styles if self.kb.service(m.id)}  # type: ignore[union-attr]
            by_style = [b for b in hits if b.style_name.lower() in names]
            hits = by_style or hits
        return hits

    def _choose(self: Engine, t: Turn, bookings: list[BookedClass]) -> State:  # type: ignore[misc]
        flow = t.session.pending["cancel"]
        if len(bookings) == 1:
            chosen = bookings[0]
            flow.update(step="confirm", chosen=chosen.model_dump(mode="json"))
            line = booked_line(chosen, self.kb, t.lang)
            hours = self.kb.policies.late_cancel_hours
            late = chosen.start is not None and chosen.start - t.now < timedelta(hours=hours)
            key = (
                "late_cancel_warning"
                if late
                else ("confirm_reschedule" if flow.get("mode") == "reschedule" else "confirm_cancel")
            )
            t.ask(
                self.t(t, key, line=line, hours=hours),
                [
                    [
                        Button(
                            text=self.t(t, "btn_reschedule_yes" if key == "confirm_reschedule" else "btn_cancel_yes"),
                            data="yes",
                        ),
                        Button(text=self.t(t, "btn_cancel_no"), data="no"),
                    ]
                ],
            )
            return State.CANCEL_FLOW
        flow["step"] = "select"
        buttons = [
            [Button(text=booked_line(b, self.kb, t.lang)[:60], data=f"bk:{b.reservation_id}")] for b in bookings[:5]
        ]
        t.ask(self.t(t, "which_cancel"), buttons)
        return State.CANCEL_FLOW

    async def cancel_step(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        flow = t.session.pending.get("cancel") or {"mode": "cancel", "step": "phone"}
        t.session.pending["cancel"] = flow
        step = flow.get("step")
        if step == "phone":
            phone = self._known_phone(t)
            if phone is None:
                t.say(self.t(t, "bad_phone"))
                return State.CANCEL_FLOW
            return await self._with_bookings(t, phone)
        bookings = [BookedClass.model_validate(b) for b in flow.get("bookings", [])]
        if step == "select":
            data = t.msg.callback_data or ""
            if data.startswith("bk:"):
                chosen = [b for b in bookings if str(b.reservation_id) == data[3:]]
            else:
                chosen = self._narrow(t, bookings)
            return self._choose(t, chosen if len(chosen) < len(bookings) or len(chosen) == 1 else bookings)
        if (step == "confirm" and t.u.yes_no == "yes") or (t.msg.callback_data == "yes"):
            return await self._do_cancel(t, BookedClass.model_validate(flow["chosen"]))
        t.ask_again()
        return State.CANCEL_FLOW

    async def _do_cancel(self: Engine, t: Turn, chosen: BookedClass) -> State:  # type: ignore[misc]
        flow = t.session.pending.pop("cancel", {})
        line = booked_line(chosen, self.kb, t.lang)
        if flow.get("mode") == "reschedule":  # book the new class first; the old one goes with its receipt
            service = next((s for s in self.kb.services if s.name.lower() == chosen.style_name.lower()), None)
            t.session.slots.clear()
            if service:
                t.session.slots["style"] = service.id
            t.session.slots["client_phone"] = flow.get("phone")
            t.session.slots["replaces"] = {
                "reservation_id": chosen.reservation_id,
                "line": line,
                "occurrence_id": chosen.occurrence_id,
                "phone": flow.get("phone"),
            }
            if flow.get("new_when"):
                t.session.slots["when"] = flow["new_when"]
            return await self.collect(t)
        return await self.cancel_reservation(t, chosen.reservation_id, chosen.occurrence_id, flow.get("phone"), line)

    async def cancel_reservation(  # type: ignore[misc]
        self: Engine,
        t: Turn,
        reservation_id: int,
        occurrence_id: str,
        phone: str | None,
        line: str,
        *,
        key: str = "cancelled",
    ) -> State:
        """Cancel in the CRM and remove the reminders; a CRM failure becomes a request for the admin."""
        try:
            await self.crm.cancel(reservation_id, phone_e164=phone or "", occurrence_id=occurrence_id)
        except CRMError as exc:
            await record_fallback(
                self.rt,
                kind="cancel",
                reason=type(exc).__name__,
                channel=t.msg.channel,
                chat_id=t.msg.chat_id,
                trace_id=t.msg.trace_id,
                details={"phone": phone, "reservation_id": reservation_id, "class": line},
            )
            t.say(self.t(t, "cancel_failed"))
            return State.IDLE
        await reminders.remove(self.rt, channel=t.msg.channel, chat_id=t.msg.chat_id, occurrence_id=occurrence_id)
        t.say(self.t(t, key, line=line))
        return State.IDLE

    async def cancel_declined(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        t.session.pending.pop("cancel", None)
        t.say(self.t(t, "cancel_declined"))
