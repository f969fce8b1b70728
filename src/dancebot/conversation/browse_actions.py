"""Questions and the schedule: KB answers, side questions inside a flow, the nearest classes (SPEC §5.2).

Schedule answers come only from CRM occurrences fetched in this turn; if the CRM cannot be reached the
client is told the bot will ask the administrator — never a stale or invented schedule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dancebot.conversation import render
from dancebot.conversation.fsm import State
from dancebot.conversation.slots import constraint_from_json, filter_occurrences
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.outbound.messages import Button
from dancebot.understanding.faq import price_answer
from dancebot.understanding.intents import Intent

if TYPE_CHECKING:
    from dancebot.conversation.engine import Engine

__all__ = ["BrowseActions"]

GIBBERISH_LIMIT = 3


class BrowseActions:
    async def show_schedule(self: Engine, t: Turn) -> State:  # type: ignore[misc]
        slots, u = t.session.slots, t.u
        for key in ("style", "teacher", "branch", "when", "occurrence"):  # a new question, not a refinement
            slots.pop(key, None)
        if u.unknown_style and not u.styles:
            return await self.collect(t)  # "есть бачата?" → we don't have it, here is what we have
        self._absorb(t)  # name and phone said along with the question are kept for the booking that follows
        try:
            occs = await self.crm.occurrences(t.now)
        except CRMError:
            t.say(self.t(t, "crm_down_info"))  # promised: the admin gets the question
            self.admin_job(t, self.t(t, "question_admin", who=self.who(t), text=t.text, handle=self.client_handle(t)))
            return State.IDLE
        when = constraint_from_json(slots.get("when"))
        hits = filter_occurrences(
            occs, self.kb, style=slots.get("style"), teacher=slots.get("teacher"), branch=slots.get("branch"), when=when
        )
        header = self.t(t, "schedule_header")
        if not hits:
            header = self.t(t, "schedule_empty")
            hits = filter_occurrences(occs, self.kb, style=slots.get("style")) or filter_occurrences(occs, self.kb)
        question = self.t(t, "schedule_pick")
        budget = render.LIMITS.get(t.msg.channel, 300) - len(header) - len(question) - 2
        lines, more = render.schedule_lines(hits, self.kb, t.lang, budget)
        if more and budget - sum(len(x) + 1 for x in lines) < len(self.t(t, "schedule_more")) + 1 and lines:
            lines = lines[:-1]
        t.say("\n".join([header, *lines]))
        if more:
            t.say(self.t(t, "schedule_more"))
        buttons = [[render.occ_button(o, self.kb, t.lang, with_style=not slots.get("style"))] for o in hits[:3]]
        t.ask(question, buttons)
        t.session.pending["slot"] = "datetime"
        return State.BROWSING_SCHEDULE

    def _answer_text(self: Engine, t: Turn, *, short: bool = False) -> str | None:  # type: ignore[misc]
        """The KB's answer to a side question, or None when the KB has none; `short` leaves room for the
        pending question that follows it."""
        u = t.u
        intents = {s.intent for s in u.intents}
        if Intent.PRICE in intents:
            styles = [m.id for m in u.styles] or ([t.session.slots["style"]] if t.session.slots.get("style") else [])
            if len(u.styles) == 1:
                t.session.slots["topic_style"] = u.styles[0].id
            wants_passes = any(w in t.text.lower() for w in ("абонемент", "безлимит", "pass", "subscription"))
            return price_answer(styles, self.kb, t.lang, subscriptions=wants_passes or not (short and styles))  # type: ignore[arg-type]
        if u.faq is not None:
            return u.faq.answer
        if Intent.LATENESS in intents:
            self.admin_job(t, self.t(t, "lateness_admin", who=self.who(t), text=t.text))
            return self.t(t, "lateness", policy=_sentence(self.kb.policies.late_arrival))
        if Intent.GREETING in intents:
            return self.t(t, "greeting" if t.session.state == State.IDLE else "greeting_again")
        if Intent.THANKS in intents:
            return self.t(t, "thanks")
        return None

    async def answer(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        text = self._answer_text(t)
        if text is None:
            await self._unknown_question(t)
            return
        t.session.unknown_streak = 0
        t.say(text)

    async def answer_and_return(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        """A side question mid-flow: answered, then the pending question asked again (SPEC §5)."""
        text = self._answer_text(t, short=True)
        answer = text if text is not None else self.t(t, "unknown_question")
        if text is None:
            self.admin_job(t, self.t(t, "question_admin", who=self.who(t), text=t.text, handle=self.client_handle(t)))
        question = t.session.pending.get("question") or ""
        limit = render.LIMITS.get(t.msg.channel, 300)
        if t.session.state in (State.CONFIRM_BOOKING, State.SERIAL_BOOKING) or len(answer) + len(question) + 20 > limit:
            t.preface.append(answer)  # its own message: the summary is never cut to make room (contract §6)
            t.ask_again()
        else:
            t.say(answer)
            t.ask_again(self.t(t, "pending_again", question="{question}"))

    async def unknown(self: Engine, t: Turn) -> State | None:  # type: ignore[misc]
        s = t.session
        s.unknown_streak += 1
        if t.u.gibberish and s.unknown_streak >= GIBBERISH_LIMIT:  # SPEC §5.5: gibberish three times
            await self.handoff(t, reason="непонятные сообщения")
            return State.HANDOFF_TO_ADMIN
        if not t.u.gibberish and _looks_like_question(t.text):
            await self._unknown_question(t)
            return None
        t.ask(self.t(t, "clarify"), _main_menu(self, t))
        return None

    async def _unknown_question(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        """No data in the KB or CRM: never guess — the administrator gets the question (contract §6)."""
        t.say(self.t(t, "unknown_question"))
        self.admin_job(t, self.t(t, "question_admin", who=self.who(t), text=t.text, handle=self.client_handle(t)))

    async def reprompt(self: Engine, t: Turn) -> None:  # type: ignore[misc]
        slot = t.session.pending.get("slot")
        count = t.session.reprompts.get(slot, 0) + 1 if slot else 1
        if slot:
            t.session.reprompts[slot] = count
        if count >= 3:
            t.ask(self.t(t, "reprompt_limit"), [[Button(text=self.t(t, "admin_button"), data="admin")]])
            return
        if not t.ask_again():
            t.ask(self.t(t, "clarify"), _main_menu(self, t))

    async def acknowledge(self: Engine, t: Turn) -> State | None:  # type: ignore[misc]
        if t.u.yes_no == "yes" and t.session.state == State.BROWSING_SCHEDULE:
            return await self.collect(t)  # "да" to "записать на одно из них?": go on with what was shown
        t.say(self.t(t, "thanks") if t.u.yes_no == "yes" else self.t(t, "clarify"))


def _main_menu(self: Engine, t: Turn) -> list[list[Button]]:
    return [
        [
            Button(text=self.t(t, "btn_book"), data="book:"),
            Button(text=self.t(t, "btn_schedule"), data="menu:schedule"),
            Button(text=self.t(t, "btn_prices"), data="menu:prices"),
        ]
    ]


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def _looks_like_question(text: str) -> bool:
    return "?" in text or len(text.split()) >= 4
