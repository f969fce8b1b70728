"""Booking, first half: slots in order group → datetime → name → phone → summary (SPEC §5, §5.1); the
yes and the CRM's answer are in `outcome_actions`.

The state is always the one collecting the first missing slot, so one message may fill several. Every
datetime is a real bookable occurrence; several matches are offered as up to 3 buttons, none gives the
nearest alternatives. Nothing is booked without the summary and an explicit yes.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dancebot.conversation import render
from dancebot.conversation.fsm import State
from dancebot.conversation.slots import (
    constraint_from_json,
    constraint_to_json,
    filter_occurrences,
    merge_constraints,
    style_of,
    styles_in,
)
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.models import Occurrence
from dancebot.outbound.messages import Button
from dancebot.understanding.entities import nearest_styles
from dancebot.understanding.faq import price_answer
from dancebot.understanding.intents import Intent
from dancebot.understanding.phone import display_phone

if TYPE_CHECKING:
    from dancebot.conversation.engine import Engine

__all__ = ["BookingActions", "yes_no_buttons"]

_NEAREST = re.compile(r"ближайш|поскорее|как можно раньше|earliest|nearest|next (?:one|class)", re.I)
REPROMPT_LIMIT = 3
# Which slot values count as progress on the slot that was asked (SPEC §5: reprompt limit).
_PROGRESS = {
    "group": {"style", "teacher", "branch", "occurrence", "pick"},
    "datetime": {"when", "occurrence", "pick", "style", "teacher", "branch"},
    "client_name": {"client_name"},
    "client_phone": {"client_phone"},
}
_SLOT_STATE = {
    "group": State.COLLECTING_GROUP,
    "datetime": State.COLLECTING_DATETIME,
    "client_name": State.COLLECTING_CONTACT,
    "client_phone": State.COLLECTING_CONTACT,
}


def yes_no_buttons(self: Engine, t: Turn) -> list[list[Button]]:
    return [[Button(text=self.t(t, "yes_button"), data="yes"), Button(text=self.t(t, "no_button"), data="no")]]


class BookingActions:
    # ---- collecting ---------------------------------------------------------------------------------

    async def collect(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        if t.session.state in (State.IDLE, State.COLLECTING_INTENT) and not t.msg.callback_data:
            keep = ("client_phone", "topic_style")  # a new request starts afresh (the profile keeps the name)
            t.session.slots = {k: v for k, v in t.session.slots.items() if k in keep}
        before = dict(t.session.slots)
        notes = self._absorb(t)
        changed = {k for k in before.keys() | t.session.slots.keys() if before.get(k) != t.session.slots.get(k)}
        if changed & _PROGRESS.get(t.session.pending.get("slot", ""), set()):
            t.session.reprompts = {}  # the asked slot moved on: not a repeat of the same question
        if Intent.PRICE in {s.intent for s in t.u.intents}:
            style = t.session.slots.get("style")
            t.say(price_answer([style] if style else [], self.kb, t.lang, subscriptions=False))  # type: ignore[arg-type]
        try:
            occurrences = await self.crm.occurrences(t.now)
        except CRMError as exc:
            return await self._fallback_now(t, type(exc).__name__)
        return await self._next_missing(t, occurrences, notes)

    async def correct(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        if t.u.has_slots or t.msg.is_edit or t.u.unknown_style:
            t.session.slots.pop("occurrence", None)
            return await self.collect(t)
        t.ask(
            self.t(t, "what_to_change"),
            [
                [
                    Button(text=self.t(t, "btn_change_time"), data="chg:time"),
                    Button(text=self.t(t, "btn_change_style"), data="chg:style"),
                    Button(text=self.t(t, "btn_change_contact"), data="chg:contact"),
                ]
            ],
        )
        return State.CONFIRM_BOOKING

    def _absorb(self: Engine, t: Turn) -> dict[str, Any]:  # type: ignore[misc]
        """Put what the message says into the slots; returns notes for the reply (problems seen)."""
        slots, u, notes = t.session.slots, t.u, {}
        data = t.msg.callback_data or ""
        if data.startswith("pick:"):
            slots["pick"] = data[5:]
        elif data.startswith("style:"):
            self._set_style(slots, data[6:])
        elif data.startswith("name:"):
            slots["client_name"] = data[5:]
        elif data.startswith("chg:"):
            what = data[4:]
            drop = {
                "time": ("occurrence", "when"),
                "style": ("occurrence", "style", "teacher", "when"),
                "contact": ("client_name", "client_phone"),
            }.get(what, ())
            for key in drop:
                slots.pop(key, None)
            if what == "contact":
                t.profile = t.profile.model_copy(update={"name": None, "phone": None})
        topic = slots.pop("topic_style", None)  # "сколько стоит хип-хоп?" → "запишите на четверг"
        if topic and not u.styles and not slots.get("style"):
            self._set_style(slots, topic)
        if len(u.styles) >= 2 and not slots.get("style"):
            notes["two_styles"] = [m.id for m in u.styles[:2]]
        elif u.styles:
            self._set_style(slots, u.styles[0].id)
        elif u.unknown_style:
            notes["unknown_style"] = u.unknown_style
        if u.teachers:
            if slots.get("teacher") != u.teachers[0].id:
                slots.pop("occurrence", None)
            slots["teacher"] = u.teachers[0].id
        if u.branches:
            if slots.get("branch") != u.branches[0].id:
                slots.pop("occurrence", None)
            slots["branch"] = u.branches[0].id
        if u.time is not None:
            if u.time.rejected and u.time.is_empty:
                notes["bad_time"] = u.time.rejected
            else:
                # After "12.12 — no classes" a new "в 19" is a new request, not 19:00 on the 12th.
                old = None if slots.pop("when_failed", False) else constraint_from_json(slots.get("when"))
                slots["when"] = constraint_to_json(merge_constraints(old, u.time))
                slots.pop("occurrence", None)
                if u.time.out_of_window:
                    notes["out_of_window"] = True
        attendee_known = bool(slots.get("relation") and slots.get("client_name"))
        if u.name and attendee_known and not u.name.for_someone_else:
            slots["contact_name"] = u.name.name  # "я мама, Анна": the parent, not the child being booked
        elif u.name and (t.session.state != State.COLLECTING_GROUP or u.name.for_someone_else):
            slots["client_name"] = u.name.name
            if u.name.for_someone_else:
                slots["relation"] = u.name.relation or "other"
        elif u.relation and not slots.get("client_name"):
            slots["relation"] = u.relation
        phone = (t.msg.contact_phone and t.msg.contact_phone) or None
        if phone:
            slots["client_phone"] = phone
        elif u.phone is not None:
            if u.phone.valid and u.phone.e164:
                slots["client_phone"] = u.phone.e164
            else:
                notes["bad_phone"] = True
        return notes

    @staticmethod
    def _set_style(slots: dict[str, Any], style: str) -> None:
        if slots.get("style") != style:
            slots.pop("occurrence", None)
            if slots.get("teacher_from_pick"):
                slots.pop("teacher", None)
        slots["style"] = style

    async def _next_missing(self: Engine, t: Turn, occs: list[Occurrence], notes: dict[str, Any]) -> State:  # type: ignore[misc]
        slots = t.session.slots
        picked = slots.pop("pick", None)
        if picked:
            occ = next((o for o in occs if o.occurrence_id == picked and o.is_bookable), None)
            if occ is None:
                t.say(self.t(t, "rejected_other"))
            else:
                self._fill_occurrence(t, occ)
        if not slots.get("style") and not slots.get("occurrence"):
            state = self._ask_group(t, occs, notes)
            if state is not None:
                return state
        if not slots.get("occurrence"):
            state = self._resolve_datetime(t, occs, notes)
            if state is not None:
                return state
        if not slots.get("client_name"):
            if t.profile.name and not slots.get("relation"):
                slots["client_name"] = t.profile.name
            else:
                return self._ask(
                    t,
                    "client_name",
                    self.t(t, "ask_name_other" if slots.get("relation") else "ask_name"),
                    self._name_buttons(t),
                )
        if not slots.get("client_phone"):
            if t.profile.phone:
                slots["client_phone"] = t.profile.phone
            else:
                if notes.get("bad_phone"):
                    t.say(self.t(t, "bad_phone"))
                    return self._ask(t, "client_phone", "", None, request_contact=True, silent=True)
                return self._ask(t, "client_phone", self.t(t, "ask_phone"), None, request_contact=True)
        return self._summary(t)

    def _ask(
        self: Engine,  # type: ignore[misc]
        t: Turn,
        slot: str,
        question: str,
        buttons: list[list[Button]] | None,
        *,
        request_contact: bool = False,
        silent: bool = False,
    ) -> State:
        """Ask for `slot`; the third ask without progress offers the administrator instead (SPEC §5)."""
        s = t.session
        count = s.reprompts.get(slot, 0) + 1 if s.pending.get("slot") == slot else 1
        s.reprompts = {slot: count}
        s.pending["slot"] = slot
        if count >= REPROMPT_LIMIT:
            t.ask(self.t(t, "reprompt_limit"), [[Button(text=self.t(t, "admin_button"), data="admin")]])
            s.pending["slot"] = slot
            return _SLOT_STATE[slot]
        if silent:
            t.buttons, t.request_contact = [], request_contact
            s.pending["question"] = self.t(t, "ask_phone")
            s.pending["request_contact"] = request_contact
        else:
            t.ask(question, buttons, request_contact=request_contact)
        return _SLOT_STATE[slot]

    def _name_buttons(self: Engine, t: Turn) -> list[list[Button]] | None:  # type: ignore[misc]
        first = (t.msg.first_name or "").strip()
        if first and not t.session.slots.get("relation") and first.isalpha() and len(first.encode()) < 58:
            return [[Button(text=first, data=f"name:{first}")]]
        return None

    def _ask_group(self: Engine, t: Turn, occs: list[Occurrence], notes: dict[str, Any]) -> State | None:  # type: ignore[misc]
        """Ask which style; None when the other slots leave only one (then the caller goes on)."""
        slots = t.session.slots
        if notes.get("two_styles"):
            a, b = (self.kb.service(i) for i in notes["two_styles"])
            assert a is not None and b is not None
            buttons = [[Button(text=a.name, data=f"style:{a.id}"), Button(text=b.name, data=f"style:{b.id}")]]
            return self._ask(t, "group", self.t(t, "two_styles", a=a.name, b=b.name), buttons)
        when = constraint_from_json(slots.get("when"))
        cands = filter_occurrences(occs, self.kb, teacher=slots.get("teacher"), branch=slots.get("branch"), when=when)
        styles = styles_in(cands, self.kb) or styles_in(
            filter_occurrences(occs, self.kb, teacher=slots.get("teacher")), self.kb
        )
        if notes.get("unknown_style"):
            options = nearest_styles(notes["unknown_style"], self.kb, k=4)
            names = [self.kb.service(i).name for i in options if self.kb.service(i)]  # type: ignore[union-attr]
            buttons = [[Button(text=n, data=f"style:{i}")] for i, n in zip(options, names, strict=True)]
            return self._ask(t, "group", self.t(t, "unknown_style", options=", ".join(names)), buttons)
        if len(styles) == 1 and (slots.get("teacher") or when is not None or slots.get("branch")):
            self._set_style(slots, styles[0])  # "к Диме": only one style fits, no need to ask
            return None
        options = styles[:4] if styles else [s.id for s in self.kb.services[:4]]
        buttons = [[Button(text=self.kb.service(i).name, data=f"style:{i}")] for i in options]  # type: ignore[union-attr]
        teacher = self.kb.teacher(slots["teacher"]) if slots.get("teacher") else None
        if teacher is not None and len(styles) > 1:
            return self._ask(
                t,
                "group",
                self.t(t, "ask_style_teacher", teacher=teacher.aliases[0] if teacher.aliases else teacher.name),
                buttons,
            )
        return self._ask(t, "group", self.t(t, "ask_style"), buttons)

    def _resolve_datetime(self: Engine, t: Turn, occs: list[Occurrence], notes: dict[str, Any]) -> State | None:  # type: ignore[misc]
        """Intersect the time constraint with real occurrences (SPEC §5.1); None when the slot got filled."""
        slots = t.session.slots
        style_name = self.kb.service(slots["style"]).name if self.kb.service(slots.get("style", "")) else ""  # type: ignore[union-attr]
        base = filter_occurrences(
            occs, self.kb, style=slots.get("style"), teacher=slots.get("teacher"), branch=slots.get("branch")
        )
        if not base and (slots.get("teacher") or slots.get("branch")):
            base = filter_occurrences(occs, self.kb, style=slots.get("style"))
        if not base:
            t.ask(self.t(t, "no_classes", style=style_name), [[Button(text=self.t(t, "admin_button"), data="admin")]])
            t.session.pending["slot"] = "datetime"
            return State.COLLECTING_DATETIME
        when = constraint_from_json(slots.get("when"))
        if notes.get("bad_time"):
            t.say(self.t(t, "bad_time").split(".")[0] + ".")
        if when is None and _NEAREST.search(t.text):  # "на ближайшее": the first class, no list again
            self._fill_occurrence(t, base[0])
            return None
        if when is None:
            return self._offer(t, "ask_datetime", base, style_name)
        hits = filter_occurrences(base, self.kb, when=when)
        if len(hits) == 1:
            self._fill_occurrence(t, hits[0])
            return None
        if hits:
            same_time = {h.start.time() for h in hits}
            if when.dates is None and len(same_time) == 1 and when.weekdays is None and when.date_range is None:
                self._fill_occurrence(t, hits[0])  # "в 19" with no day: the nearest such class
                return None
            return self._offer(t, "several_match", hits, style_name)
        slots["when_failed"] = True
        return self._offer(t, self._why_none(t, when, occs, notes), base, style_name)

    def _why_none(self: Engine, t: Turn, when: Any, occs: list[Occurrence], notes: dict[str, Any]) -> str:  # type: ignore[misc]
        if notes.get("out_of_window") or when.out_of_window:
            return "out_of_window"
        for day in sorted(when.dates or ()):
            holiday = self.kb.holiday_on(day)
            if holiday is not None:
                t.session.pending["holiday"] = (day.strftime("%d.%m"), holiday.name)
                return "holiday"
        if when.dates and all(d == t.now.date() for d in when.dates) and when.times:
            if all(tm <= t.now.time() for tm in when.times):
                return "past_time"
        return "no_match_time"

    def _offer(self: Engine, t: Turn, key: str, occs: list[Occurrence], style_name: str) -> State:  # type: ignore[misc]
        fields: dict[str, Any] = {"style": style_name, "days": self.kb.booking.lookahead_days}
        if key == "holiday":
            day, reason = t.session.pending.pop("holiday")
            fields.update(day=day, reason=reason)
        mixed = len(styles_in(occs, self.kb)) > 1
        buttons = [[render.occ_button(o, self.kb, t.lang, with_style=mixed)] for o in occs[:3]]
        return self._ask(t, "datetime", self.t(t, key, **fields), buttons)

    def _fill_occurrence(self: Engine, t: Turn, occ: Occurrence) -> None:  # type: ignore[misc]
        slots = t.session.slots
        slots["occurrence"] = occ.model_dump(mode="json")
        slots["style"] = style_of(occ, self.kb) or slots.get("style")
        t.session.reprompts = {}

    def _summary(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        slots = t.session.slots
        occ = Occurrence.model_validate(slots["occurrence"])
        who_key = "summary_who_other" if slots.get("relation") else "summary_who"
        text = self.t(
            t,
            "summary",
            who=self.t(t, who_key, name=slots["client_name"]),
            phone=display_phone(slots["client_phone"]),
            klass=render.class_label(occ, self.kb, t.lang),
            when=render.when_label(occ, t.lang),
            where=render.branch_address(occ, self.kb),
        )
        t.session.pending["slot"] = "confirmation"
        t.session.reprompts = {}
        t.ask(text, yes_no_buttons(self, t))
        return State.CONFIRM_BOOKING
