"""Helpers shared by the flows: asking for a slot with the reprompt limit, the usual buttons, the
fallback request when the CRM is down, the profile memory. Helpers, not actions: no table row names
them, and they never choose a state on their own except where they say so.

Degradation (PRODUCT.md §9.3): every branch that finds the CRM down asks `llm_down(t)` first. At L3 (the
LLM down too) it answers with `technical_issues` — "Технические неполадки, администратор свяжется с вами"
and one `l3` request recorded with what the client wanted; at L1/L2 it keeps its own words.
"""

from __future__ import annotations

import uuid
from typing import Any, Final, Literal

from dancebot.conversation.actions.handoff import hand_over
from dancebot.conversation.effects import RecordFallback
from dancebot.conversation.fallback import booking_details
from dancebot.conversation.session import SlotName, Slots
from dancebot.conversation.states import State
from dancebot.conversation.triggers import insists
from dancebot.conversation.turn import Turn
from dancebot.outbound.messages import Button
from dancebot.understanding.intents import Intent, detect_intents
from dancebot.understanding.pressing import claims_booked, presses
from dancebot.understanding.yesno import read_yes_no

__all__ = [
    "REPROMPT_LIMIT",
    "admin_buttons",
    "ask_slot",
    "booking_fallback",
    "confirm_nonce",
    "fallback_now",
    "handed_over_if_accepting_admin",
    "handed_over_if_claiming",
    "llm_down",
    "main_menu",
    "name_buttons",
    "remember_client",
    "technical_issues",
    "yes_no_buttons",
]

REPROMPT_LIMIT = 3
_SLOT_STATE: dict[SlotName, State] = {
    "group": State.COLLECTING_GROUP,
    "datetime": State.COLLECTING_DATETIME,
    "client_name": State.COLLECTING_CONTACT,
    "client_phone": State.COLLECTING_CONTACT,
    "confirmation": State.CONFIRM_BOOKING,
}


def confirm_nonce() -> str:
    """A tag for the yes/no of one summary, so the "Да" of an older summary is told apart (stale)."""
    return uuid.uuid4().hex[:6]


def yes_no_buttons(t: Turn, yes_key: str = "yes_button", no_key: str = "no_button") -> list[list[Button]]:
    nonce = confirm_nonce()
    return [[Button(text=t.t(yes_key), data=f"yes:{nonce}"), Button(text=t.t(no_key), data=f"no:{nonce}")]]


def admin_buttons(t: Turn) -> list[list[Button]]:
    return [[Button(text=t.t("admin_button"), data="admin")]]


def main_menu(t: Turn) -> list[list[Button]]:
    return [
        [
            Button(text=t.t("btn_book"), data="book:"),
            Button(text=t.t("btn_schedule"), data="menu:schedule"),
            Button(text=t.t("btn_prices"), data="menu:prices"),
        ]
    ]


def name_buttons(t: Turn) -> list[list[Button]] | None:
    """The client's Telegram first name as a one-tap answer to "как вас зовут?"."""
    first = (t.msg.first_name or "").strip()
    if first and not t.slots.relation and first.isalpha() and len(first.encode()) < 58:
        return [[Button(text=first, data=f"name:{first}")]]
    return None


def ask_slot(
    t: Turn,
    slot: SlotName,
    question: str,
    buttons: list[list[Button]] | None,
    *,
    request_contact: bool = False,
    silent: bool = False,
) -> State:
    """Ask for `slot`; the third ask without progress offers the administrator instead (PRODUCT.md §5).
    Returns the state that collects that slot."""
    s = t.session
    count = s.reprompts.get(slot, 0) + 1 if s.pending.slot == slot else 1
    s.reprompts = {slot: count}
    s.pending.slot = slot
    if count >= REPROMPT_LIMIT:
        t.ask(t.t("reprompt_limit"), admin_buttons(t))
        s.pending.slot = slot
        return _SLOT_STATE[slot]
    if silent:  # the reason was said already; the question stays pending for a side question
        t.buttons, t.request_contact = [], request_contact
        s.pending.question = t.t("ask_phone")
        s.pending.buttons = []
        s.pending.request_contact = request_contact
    else:
        t.ask(question, buttons, request_contact=request_contact)
    return _SLOT_STATE[slot]


def remember_client(t: Turn, *, booked: bool = False) -> None:
    """Profile memory (90 d): the client's own name and phone; not an attendee booked for someone else.
    `booked`: the CRM took a booking with that phone from this chat, which proves it the client's own
    (SPEC §5.3); a duplicate or a request left for the admin proves nothing."""
    slots = t.slots
    update: dict[str, Any] = {"phone": slots.client_phone}
    if booked:  # for an attendee too: the chat booked with it
        update["own_phone"] = slots.client_phone
    if not slots.relation:
        update["name"] = slots.client_name
    t.profile = t.profile.model_copy(update={k: v for k, v in update.items() if v})


def booking_fallback(t: Turn, kind: Literal["booking", "verify"], reason: str) -> RecordFallback:
    """The request for the admin, with everything known of the booking being made."""
    slots = t.slots
    if slots.occurrence is not None:
        details = booking_details(t.kb, name=slots.client_name, phone=slots.client_phone, occurrence=slots.occurrence)
    else:
        details = {
            "name": slots.client_name,
            "phone": slots.client_phone,
            "style": slots.style,
            "teacher": slots.teacher,
            "branch": slots.branch,
            "request": " | ".join(t.session.history[-3:]),
        }
    if slots.relation:  # booked for someone else: who to call back
        details["contact"] = slots.contact_name or t.profile.name
    return RecordFallback(kind=kind, reason=reason, details=details)


def fallback_now(t: Turn, reason: str) -> State:
    """The CRM is down while collecting (degradation L1): one request for the admin, with a phone to call
    back — asked for first when we have none, so the admin never gets a request no one can answer.
    Returns COLLECTING_CONTACT (asking for the phone) or IDLE (recorded)."""
    slots = t.slots
    if not slots.client_phone and t.profile.phone:
        slots.client_phone = t.profile.phone
    if not slots.client_name and t.profile.name:
        slots.client_name = t.profile.name
    if llm_down(t):  # L3 (PRODUCT.md §9.3): the LLM is down too — record as it is, the admin answers via /reply
        technical_issues(t, reason, booking_fallback(t, "booking", reason).details)
        t.session.slots = Slots()
        return State.IDLE
    if not slots.client_phone:
        t.ask(t.t("crm_down_need_phone"), request_contact=True)
        t.session.pending.slot = "client_phone"
        return State.COLLECTING_CONTACT
    t.do(booking_fallback(t, "booking", reason))
    t.say(t.t("fallback_booking"))
    t.session.slots = Slots()
    return State.IDLE


def llm_down(t: Turn) -> bool:
    """Degradation L2 in this turn: the client's message was read while a configured LLM was down or over
    budget — or, for an effect's outcome (a system event, read with no message), the turn that asked the
    CRM was. With the CRM found down as well, that is L3."""
    return t.u.llm_down or bool(getattr(t.outcome, "llm_down", False))


def technical_issues(t: Turn, reason: str, details: dict[str, Any]) -> None:
    """L3 (PRODUCT.md §9.3): the one request recorded (kind `l3`: the admin gets it with the full phone and
    `/reply`) and "Технические неполадки, администратор свяжется с вами". The caller chooses the state."""
    known = {k: v for k, v in details.items() if v not in (None, "", [], {})}
    known.setdefault("name", t.slots.client_name or t.profile.name)
    known.setdefault("phone", t.slots.client_phone or t.profile.phone)
    if "request" not in known and t.session.history:
        known["request"] = " | ".join(t.session.history[-3:])  # in the client's words
    t.do(RecordFallback(kind="l3", reason=reason, details=known))
    t.say(t.t("technical_issues"))


# ---- after the bot offered the admin, or found no bookings ---------------------------------------------------

_ADMIN_ONLY = ["admin"]
_ABOUT_BOOKINGS: Final = frozenset({Intent.MY_BOOKINGS, Intent.CANCEL, Intent.RESCHEDULE})


def offered_admin(t: Turn) -> bool:
    """The latest reply's only button was the administrator: it asked "Передать вопрос администратору?" or
    "Позвать администратора?"."""
    return t.session.keyboard == _ADMIN_ONLY


def handed_over_if_accepting_admin(t: Turn) -> bool:
    """ "Да", "да, передайте", "позовите", "ок" to "Передать вопрос администратору?": the administrator — not
    "пожалуйста!" nor the question again. True when handed over (the caller's state is HANDOFF_TO_ADMIN)."""
    if t.u.callback or not offered_admin(t):
        return False
    if t.u.yes_no != "yes" and read_yes_no(t.text, "admin").answer != "yes":
        return False
    missed = t.session.missed or (t.session.history[-2] if len(t.session.history) >= 2 else "")
    hand_over(t, "клиент согласился передать вопрос администратору" + (f": «{missed}»" if missed else ""))
    return True


def handed_over_if_claiming(t: Turn) -> bool:
    """Right after "записей не нашла" (or the CRM could not show them), a client who insists on the booking —
    "я точно записывалась", "я же записана!", "проверьте ещё раз, я записывалась на вторник", "я настаиваю"
    with nothing new to book — goes to the administrator (PRODUCT.md §11.2), never into a new booking. Saying
    the booking exists insists whatever day or style it names; pressing does only with no new booking facts
    ("я настаиваю, запишите на хилс в пятницу" books). True when handed over."""
    u, s = t.u, t.session
    if u.gibberish or u.callback or not _after_bookings_miss(t):
        return False
    facts = u.styles or u.teachers or u.branches or u.unknown_style or (u.time is not None and not u.time.is_empty)
    if not (claims_booked(t.text) or (not facts and (presses(t.text) or insists(t.text, s.history)))):
        return False
    hand_over(t, f"клиент настаивает, что записан(а), а бот записей не нашёл (на «{s.missed}»): «{t.text}»")
    return True


def _after_bookings_miss(t: Turn) -> bool:
    """This message follows the one for which the bot found no bookings, or could not read them."""
    s = t.session
    if s.missed is None or len(s.history) < 2 or s.history[-2] != s.missed or s.history[-1] != t.text:
        return False
    if offered_admin(t):  # "Не нашла будущих записей на этот номер. Передать вопрос администратору?"
        return True
    return bool({score.intent for score in detect_intents(s.missed)} & _ABOUT_BOOKINGS)
