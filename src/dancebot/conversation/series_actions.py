"""Serial booking (SPEC §5.4): one style, up to `booking.max_serial` dates, one summary, one yes; each
class booked with its own idempotency key; the receipt says which succeeded and which did not."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from dancebot.conversation import render
from dancebot.conversation.fsm import State
from dancebot.conversation.slots import constraint_from_json, filter_occurrences
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.fallback import record_fallback
from dancebot.crm.models import Occurrence
from dancebot.outbound import reminders
from dancebot.outbound.messages import Button
from dancebot.understanding.phone import display_phone

if TYPE_CHECKING:
    from dancebot.conversation.engine import Engine

__all__ = ["SeriesActions", "class_count"]

_COUNT_WORDS = {
    "два": 2,
    "две": 2,
    "три": 3,
    "четыре": 4,
    "пять": 5,
    "шесть": 6,
    "семь": 7,
    "восемь": 8,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
}
_COUNT = re.compile(r"\b(\d{1,2}|" + "|".join(_COUNT_WORDS) + r")\s*(?:занят|урок|раз|тренир|class|lesson)", re.I)
_REASON_KEYS = {  # BookingResult.reason → catalogue text
    "full": "series_reason_full",
    "closed": "series_reason_closed",
    "past": "series_reason_past",
    "recent": "series_reason_booked",
    "already_booked": "series_reason_booked",
}


def class_count(text: str) -> int | None:
    """ "на 3 занятия", "три занятия" → 3."""
    m = _COUNT.search(text)
    if not m:
        return None
    raw = m.group(1).lower()
    return int(raw) if raw.isdigit() else _COUNT_WORDS[raw]


class SeriesActions:
    async def collect_series(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        slots = t.session.slots
        if t.session.state == State.SERIAL_BOOKING and t.u.yes_no == "no" and not t.u.has_slots:
            await self.abort_booking(t)
            return State.IDLE
        notes = self._absorb(t)
        count = class_count(t.text)
        if count:
            slots["count"] = count
        try:
            occs = await self.crm.occurrences(t.now)
        except CRMError as exc:
            return await self._fallback_now(t, type(exc).__name__)
        if not slots.get("style") and self._ask_group(t, occs, notes) is not None:
            return State.SERIAL_BOOKING
        when = constraint_from_json(slots.get("when"))
        if when is None and not slots.get("count"):
            t.ask(self.t(t, "series_ask_count"))
            t.session.pending["slot"] = "datetime"
            return State.SERIAL_BOOKING
        hits = filter_occurrences(
            occs, self.kb, style=slots["style"], teacher=slots.get("teacher"), branch=slots.get("branch"), when=when
        )
        if not hits:
            base = filter_occurrences(occs, self.kb, style=slots["style"])
            self._offer(t, "no_match_time", base, self.kb.service(slots["style"]).name)  # type: ignore[union-attr]
            return State.SERIAL_BOOKING
        hits = _one_group_one_per_day(hits)
        limit = self.kb.booking.max_serial
        wanted = slots.get("count") or len(hits)
        if wanted > limit:
            t.say(self.t(t, "series_too_many", max=limit))
        chosen = hits[: min(wanted, limit)]
        slots["series"] = [o.model_dump(mode="json") for o in chosen]
        if not slots.get("client_name"):
            if t.profile.name and not slots.get("relation"):
                slots["client_name"] = t.profile.name
            else:
                self._ask(t, "client_name", self.t(t, "ask_name"), self._name_buttons(t))
                return State.SERIAL_BOOKING
        if not slots.get("client_phone"):
            if t.profile.phone:
                slots["client_phone"] = t.profile.phone
            else:
                self._ask(t, "client_phone", self.t(t, "ask_phone"), None, request_contact=True)
                return State.SERIAL_BOOKING
        return self._series_summary(t, chosen)

    def _series_summary(self: Engine, t: Turn, chosen: list[Occurrence]) -> State:  # type: ignore[misc]
        slots = t.session.slots
        lines = "\n".join(render.when_label(o, t.lang) for o in chosen)
        text = self.t(
            t,
            "series_summary",
            who=slots["client_name"],
            phone=display_phone(slots["client_phone"]),
            klass=f"{render.class_label(chosen[0], self.kb, t.lang)}, {render.branch_address(chosen[0], self.kb)}",
            lines=lines,
        )
        t.session.pending["slot"] = "confirmation"
        t.ask(
            text, [[Button(text=self.t(t, "yes_button"), data="yes"), Button(text=self.t(t, "no_button"), data="no")]]
        )
        return State.SERIAL_BOOKING

    async def book_series(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        slots = t.session.slots
        series = [Occurrence.model_validate(o) for o in slots.get("series", [])]
        if not series or not slots.get("client_name") or not slots.get("client_phone"):
            return await self.collect_series(t)
        results = await self.crm.book_series(
            occurrences=series,
            name=slots["client_name"],
            phone_e164=slots["client_phone"],
            channel=t.msg.channel,
            chat_id=t.msg.chat_id,
            trace_id=t.msg.trace_id,
        )
        lines: list[str] = []
        failed: list[dict[str, Any]] = []
        for r in results:
            line = render.when_label(r.occurrence, t.lang)
            if r.status == "booked":
                lines.append(f"• {line}")
                await reminders.schedule(
                    self.rt,
                    channel=t.msg.channel,
                    chat_id=t.msg.chat_id,
                    occurrence=r.occurrence,
                    name=slots["client_name"],
                    lang=t.lang,
                    now=t.now,
                )
            elif r.status == "duplicate":
                lines.append(f"• {line} ({self.t(t, 'series_reason_booked')})")
            else:
                reason = self.t(t, _REASON_KEYS.get(r.reason or "", "series_reason_admin"))
                lines.append(self.t(t, "series_failed_line", line=line, reason=reason))
                if r.status in ("unavailable", "unknown"):
                    failed.append({"occurrence_id": r.occurrence.occurrence_id, "when": line, "status": r.status})
        if failed:
            details = {
                "name": slots["client_name"],
                "phone": slots["client_phone"],
                "class": render.class_label(series[0], self.kb, "ru"),
                "series": failed,
            }
            await record_fallback(
                self.rt,
                kind="booking",
                reason="series_unavailable",
                channel=t.msg.channel,
                chat_id=t.msg.chat_id,
                trace_id=t.msg.trace_id,
                details=details,
            )
        t.say(
            self.t(
                t,
                "series_receipt",
                klass=render.class_label(series[0], self.kb, t.lang),
                lines="\n".join(lines),
                where=render.branch_address(series[0], self.kb),
                bring=self.kb.policies.what_to_bring,
            )
        )
        self._remember_client(t)
        slots.clear()
        return State.IDLE


def _one_group_one_per_day(hits: list[Occurrence]) -> list[Occurrence]:
    """A series is one group in one place (its summary shows one address), one class a day."""
    if not hits:
        return hits
    first = hits[0]
    kept: list[Occurrence] = []
    for occ in hits:
        if occ.group_id == first.group_id and occ.branch_crm_id == first.branch_crm_id:
            if all(k.date != occ.date for k in kept):
                kept.append(occ)
    return kept
