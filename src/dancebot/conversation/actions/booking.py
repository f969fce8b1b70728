"""Booking, first half: slots in order group → datetime → name → phone → summary (PRODUCT.md §5, §5.1);
the yes and the CRM's answer are in `outcome`.

The state is always the one collecting the first missing slot, so one message may fill several. Every
datetime is a real bookable occurrence; several matches are offered as up to 3 buttons, none gives the
nearest alternatives. Nothing is booked without the summary and an explicit yes.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from dancebot.conversation import render
from dancebot.conversation.actions.common import (
    ask_slot,
    fallback_now,
    handed_over_if_accepting_admin,
    handed_over_if_claiming,
    name_buttons,
    yes_no_buttons,
)
from dancebot.conversation.session import Slots, When
from dancebot.conversation.slots import filter_occurrences, merge_constraints, style_of, styles_in
from dancebot.conversation.states import State
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.models import Occurrence, normalize_phone
from dancebot.kb.schema import Holiday
from dancebot.outbound.messages import Button
from dancebot.understanding.entities import nearest_styles
from dancebot.understanding.faq import price_answer
from dancebot.understanding.intents import Intent
from dancebot.understanding.names import asks_why_contact
from dancebot.understanding.phone import display_phone
from dancebot.understanding.temporal import TimeConstraint

__all__ = [
    "Notes",
    "absorb",
    "ask_group",
    "collect",
    "collect_slots",
    "correct",
    "holiday_words",
    "offer",
    "studio_words",
    "take_offered",
]

# Which slot values count as progress on the slot that was asked (PRODUCT.md §5: reprompt limit).
_PROGRESS = {
    "group": {"style", "teacher", "branch", "occurrence", "pick"},
    "datetime": {"when", "occurrence", "pick", "style", "teacher", "branch"},
    "client_name": {"client_name"},
    "client_phone": {"client_phone"},
}
COLLECTS = frozenset({State.COLLECTING_GROUP, State.COLLECTING_DATETIME, State.COLLECTING_CONTACT})
_OPEN = frozenset({State.IDLE, State.COLLECTING_INTENT, State.BROWSING_SCHEDULE})


@dataclass
class Notes:
    """What one message said that the reply must mention (problems seen), and the button it chose."""

    pick: str | None = None
    two_styles: tuple[str, str] | None = None
    unknown_style: str | None = None
    bad_time: bool = False
    bad_phone: bool = False
    bad_phone_value: str = ""
    out_of_window: bool = False
    holiday: tuple[str, str, str | None] | None = None  # (dd.mm, name, the studio's words) of a holiday
    kept_time: bool = False  # a new day, style, teacher or branch arrived while an earlier time was kept


# ---- actions --------------------------------------------------------------------------------------------


async def collect(t: Turn) -> State:
    """A booking wish or an answer to the pending slot question → the state of the first missing slot
    (or the summary; IDLE when the CRM is down and the request is recorded). Right after "записей не нашла",
    "я точно записывалась" insists on that booking: the administrator, not a new booking."""
    if t.session.state in _OPEN and handed_over_if_claiming(t):
        return State.HANDOFF_TO_ADMIN
    if _asks_why_contact(t):
        t.say(t.t("why_contact"))  # "а зачем вам имя?": the honest reason, then the same question
        t.ask_again()
        return State(t.session.state)
    return await collect_slots(t)


async def take_offered(t: Turn) -> State:
    """A bare "да" while choices are on the table: one choice → taken; several → which one (not a choice);
    the administrator offered alone ("Передать вопрос администратору?") → the administrator."""
    if handed_over_if_accepting_admin(t):
        return State.HANDOFF_TO_ADMIN
    offered = [b.data for row in t.session.pending.buttons for b in row]
    if len(offered) == 1 and offered[0].startswith(("pick:", "style:", "name:")):
        return await collect_slots(t, tapped=offered[0])
    if len(offered) > 1 and t.session.pending.slot is not None:
        buttons = [list(row) for row in t.session.pending.buttons]
        return ask_slot(t, t.session.pending.slot, t.t("which_one"), buttons)
    if not t.ask_again():
        t.ask(t.t("clarify"))
    return State(t.session.state)


async def correct(t: Turn) -> State:
    """ "Нет" to the summary: a correction in the same message is applied; a bare no asks what to change."""
    if t.u.has_slots or t.msg.is_edit or t.u.unknown_style:
        t.slots.occurrence = None
        return await collect_slots(t)
    t.ask(
        t.t("what_to_change"),
        [
            [
                Button(text=t.t("btn_change_time"), data="chg:time"),
                Button(text=t.t("btn_change_style"), data="chg:style"),
                Button(text=t.t("btn_change_contact"), data="chg:contact"),
            ]
        ],
    )
    return State.CONFIRM_BOOKING


# ---- helpers --------------------------------------------------------------------------------------------


def _asks_why_contact(t: Turn) -> bool:
    """Asked for the name or phone, the client asks why (or whether they may skip it) and gives neither."""
    asked = t.session.pending.slot in ("client_name", "client_phone")
    gave = t.u.name is not None or t.u.phone is not None or bool(t.msg.contact_phone) or bool(t.callback)
    return t.session.state == State.COLLECTING_CONTACT and asked and not gave and asks_why_contact(t.text)


async def collect_slots(t: Turn, *, tapped: str | None = None, answered: bool = False) -> State:
    """`tapped`: the one offered button a bare "да" chose; `answered`: the message's question was answered
    already (a side question that also carried a slot), so no price line is added."""
    if t.session.state in (State.IDLE, State.COLLECTING_INTENT) and not t.u.callback:
        # a new request starts afresh (the profile keeps the name)
        t.session.slots = Slots(client_phone=t.slots.client_phone, topic_style=t.slots.topic_style)
    before = t.slots.model_dump()
    notes = absorb(t, tapped=tapped)
    after = t.slots.model_dump()
    changed = {k for k in after if before.get(k) != after.get(k)} | ({"pick"} if notes.pick else set())
    if changed & _PROGRESS.get(t.session.pending.slot or "", set()):
        t.session.reprompts = {}  # the asked slot moved on: not a repeat of the same question
    if Intent.PRICE in {s.intent for s in t.u.intents} and not answered:
        style = t.slots.style
        t.say(price_answer([style] if style else [], t.kb, t.lang, subscriptions=False))
    elif t.u.faq is not None and not answered and "?" in t.text:
        t.say(t.u.faq.answer)  # "хочу на сальсу в пятницу, а где вы находитесь?": the question is not dropped
    try:
        occurrences = await t.crm.occurrences(t.now)
    except CRMError as exc:
        return fallback_now(t, type(exc).__name__)
    return _next_missing(t, occurrences, notes)


def absorb(t: Turn, *, tapped: str | None = None) -> Notes:
    """Put what the message says into the slots; returns notes for the reply (problems seen)."""
    notes = Notes()
    _absorb_button(t, notes, tapped or t.callback)
    _absorb_class(t, notes)
    _absorb_time(t, notes)
    _absorb_contact(t, notes)
    return notes


def _absorb_button(t: Turn, notes: Notes, data: str) -> None:
    slots = t.slots
    if data.startswith("pick:"):
        notes.pick = data[5:]
    elif data.startswith("style:"):
        _set_style(slots, data[6:])
    elif data.startswith("name:"):
        slots.client_name = data[5:]
    elif data.startswith("chg:"):  # "what to change?" after a no to the summary
        what = data[4:]
        if what in ("time", "style"):
            slots.occurrence, slots.when = None, None
        if what == "style":
            slots.style, slots.teacher = None, None
        if what == "contact":
            slots.client_name, slots.client_phone = None, None
            t.profile = t.profile.model_copy(update={"name": None, "phone": None, "own_phone": None})


def _absorb_class(t: Turn, notes: Notes) -> None:
    """Style, teacher and branch; a change of any of them drops the class already chosen."""
    slots, u = t.slots, t.u
    before = (slots.style, slots.teacher, slots.branch)
    topic, slots.topic_style = slots.topic_style, None  # "сколько стоит хип-хоп?" → "запишите на четверг"
    if topic and not u.styles and not slots.style:
        _set_style(slots, topic)
    if len(u.styles) >= 2 and not slots.style:
        notes.two_styles = (u.styles[0].id, u.styles[1].id)
    elif u.styles:
        _set_style(slots, u.styles[0].id)
    elif u.unknown_style:
        notes.unknown_style = u.unknown_style
    if u.teachers:
        if slots.teacher != u.teachers[0].id:
            slots.occurrence = None
        slots.teacher = u.teachers[0].id
    if u.branches:
        if slots.branch != u.branches[0].id:
            slots.occurrence = None
        slots.branch = u.branches[0].id
    if before != (slots.style, slots.teacher, slots.branch) and any(before) and slots.when and slots.when.times:
        notes.kept_time = True  # "а на Светланской?": the day stays, the time may not exist there


def _absorb_time(t: Turn, notes: Notes) -> None:
    slots, said = t.slots, t.u.time
    if said is None:
        return
    if "bad_time" in said.rejected:
        notes.bad_time = True  # "в чт в 25:00": said so, and the day is still used
    if said.is_empty:
        return
    # After "12.12 — no classes" a new "в 19" is a new request, not 19:00 on the 12th.
    old = None if slots.when_failed or slots.when is None else slots.when.constraint()
    said_time = said.times is not None or said.time_range is not None
    if old is not None and (old.times or old.time_range) and not said_time:
        notes.kept_time = True  # "а давай в пятницу": the old time is kept only if Friday has it
    slots.when_failed = False
    slots.when = When.of(merge_constraints(old, said))
    slots.occurrence = None
    if said.out_of_window:
        notes.out_of_window = True


def _absorb_contact(t: Turn, notes: Notes) -> None:
    """The attendee's name (or the parent's, when booking for a child) and the phone."""
    slots, u = t.slots, t.u
    attendee_known = bool(slots.relation and slots.client_name)
    if u.name and attendee_known and not u.name.for_someone_else:
        slots.contact_name = u.name.name  # "я мама, Анна": the parent, not the child being booked
    elif u.name and (t.session.state != State.COLLECTING_GROUP or u.name.for_someone_else or u.phone is not None):
        slots.client_name = u.name.name
        if u.name.for_someone_else:
            slots.relation = u.name.relation or "other"
    elif u.relation and not slots.client_name:
        slots.relation = u.relation
    if t.msg.contact_phone:
        slots.client_phone = t.msg.contact_phone
    elif t.msg.channel == "whatsapp" and t.msg.sender_phone and not slots.client_phone and u.phone is None:
        slots.client_phone = normalize_phone(t.msg.sender_phone)  # WhatsApp: never asked (PRODUCT.md §5.1)
    elif u.phone is not None:
        if u.phone.valid and u.phone.e164:
            slots.client_phone = u.phone.e164
        else:
            notes.bad_phone, notes.bad_phone_value = True, re.sub(r"^[^\d+]+", "", u.phone.raw)


def _set_style(slots: Slots, style: str) -> None:
    if slots.style != style:
        slots.occurrence = None
    slots.style = style


def _next_missing(t: Turn, occs: list[Occurrence], notes: Notes) -> State:
    state = _fill_next(t, occs, notes)
    if notes.bad_time:  # named first, whatever else the message filled (PRODUCT.md §5.1)
        occ = t.slots.occurrence
        if occ is not None:
            said = t.t("bad_time_took", value=t.u.bad_time or "?", time=f"{occ.start:%H:%M}")
        else:
            said = t.t("bad_time", value=t.u.bad_time or "?")
        t.parts.insert(0, said)
    return state


def _fill_next(t: Turn, occs: list[Occurrence], notes: Notes) -> State:
    slots = t.slots
    if notes.pick:
        occ = next((o for o in occs if o.occurrence_id == notes.pick and o.is_bookable), None)
        if occ is None:
            t.say(t.t("rejected_other"))
        else:
            _fill_occurrence(t, occ)
    if not slots.style and slots.occurrence is None:
        _holiday_first(t)
        state = ask_group(t, occs, notes)
        if state is not None:
            return state
    if slots.occurrence is None:
        state = _resolve_datetime(t, occs, notes)
        if state is not None:
            return state
    if not slots.client_name:
        if t.profile.name and not slots.relation:
            slots.client_name = t.profile.name
        else:
            question = t.t("ask_name_other" if slots.relation else "ask_name")
            return ask_slot(t, "client_name", question, name_buttons(t))
    if not slots.client_phone:
        if t.profile.phone:
            slots.client_phone = t.profile.phone
        else:
            if notes.bad_phone:
                t.say(t.t("bad_phone", value=notes.bad_phone_value))
                return ask_slot(t, "client_phone", "", None, request_contact=True, silent=True)
            return ask_slot(t, "client_phone", t.t("ask_phone"), None, request_contact=True)
    return _summary(t)


def ask_group(t: Turn, occs: list[Occurrence], notes: Notes) -> State | None:
    """Ask which style; None when the other slots leave only one (then the caller goes on)."""
    slots, kb = t.slots, t.kb
    if notes.two_styles:
        a, b = (kb.service(i) for i in notes.two_styles)
        assert a is not None and b is not None
        buttons = [[Button(text=a.name, data=f"style:{a.id}"), Button(text=b.name, data=f"style:{b.id}")]]
        return ask_slot(t, "group", t.t("two_styles", a=a.name, b=b.name), buttons)
    when = slots.when.constraint() if slots.when else None
    cands = filter_occurrences(occs, kb, teacher=slots.teacher, branch=slots.branch, when=when)
    styles = styles_in(cands, kb) or styles_in(filter_occurrences(occs, kb, teacher=slots.teacher), kb)
    if notes.unknown_style:
        known = [s for s in (kb.service(i) for i in nearest_styles(notes.unknown_style, kb, k=4)) if s]
        buttons = [[Button(text=s.name, data=f"style:{s.id}")] for s in known]
        names = ", ".join(s.name for s in known)
        return ask_slot(t, "group", t.t("unknown_style", options=names), buttons)
    if len(styles) == 1 and (slots.teacher or when is not None or slots.branch):
        _set_style(slots, styles[0])  # "к Диме": only one style fits, no need to ask
        return None
    options = [s for s in (kb.service(i) for i in styles[:4]) if s] if styles else list(kb.services[:4])
    buttons = [[Button(text=s.name, data=f"style:{s.id}")] for s in options]
    teacher = kb.teacher(slots.teacher) if slots.teacher else None
    if teacher is not None and len(styles) > 1:
        short = teacher.aliases[0] if teacher.aliases else teacher.name
        return ask_slot(t, "group", t.t("ask_style_teacher", teacher=short), buttons)
    return ask_slot(t, "group", t.t("ask_style"), buttons)


def _style_name(t: Turn) -> str:
    service = t.kb.service(t.slots.style) if t.slots.style else None
    return service.name if service else ""


def _resolve_datetime(t: Turn, occs: list[Occurrence], notes: Notes) -> State | None:
    """Intersect the time constraint with real occurrences (PRODUCT.md §5.1); None when the slot got filled."""
    slots, kb = t.slots, t.kb
    style_name = _style_name(t)
    base = filter_occurrences(occs, kb, style=slots.style, teacher=slots.teacher, branch=slots.branch)
    if not base and (slots.teacher or slots.branch):
        base = filter_occurrences(occs, kb, style=slots.style)
    if not base:
        t.ask(t.t("no_classes", style=style_name), [[Button(text=t.t("admin_button"), data="admin")]])
        t.session.pending.slot = "datetime"
        return State.COLLECTING_DATETIME
    when = slots.when.constraint() if slots.when else None
    if when is None and t.u.nearest:  # "на ближайшее": the first class, no list again
        _fill_occurrence(t, base[0])
        return None
    if when is None:
        return offer(t, "ask_datetime", base, style_name)
    hits = filter_occurrences(base, kb, when=when)
    if not hits and notes.kept_time:
        handled, state = _that_day_instead(t, base, when, style_name)
        if handled:
            return state
    if len(hits) == 1:
        _fill_occurrence(t, hits[0])
        return None
    if hits:
        same_time = {h.start.time() for h in hits}
        if when.dates is None and len(same_time) == 1 and when.weekdays is None and when.date_range is None:
            _fill_occurrence(t, hits[0])  # "в 19" with no day: the nearest such class
            return None
        return offer(t, "several_match", hits, style_name)
    slots.when_failed = True
    return offer(t, _why_none(t, when, notes), base, style_name, notes)


def _that_day_instead(
    t: Turn, base: list[Occurrence], when: TimeConstraint, style_name: str
) -> tuple[bool, State | None]:
    """A correction kept an earlier time the new day (or branch, style) does not have: that day's classes
    instead. One → taken, saying the time changed (state None: the slot is filled); several → offered as
    buttons; none → not handled (the caller offers the nearest days)."""
    day_only = dataclasses.replace(when, times=None, time_range=None)
    if day_only.is_empty:
        return False, None
    day_hits = filter_occurrences(base, t.kb, when=day_only)
    if not day_hits:
        return False, None
    t.slots.when = When.of(day_only)
    if len(day_hits) == 1:
        _fill_occurrence(t, day_hits[0])
        t.say(t.t("time_changed", when=render.when_label(day_hits[0], t.lang)))
        return True, None
    mixed = len(styles_in(day_hits, t.kb)) > 1
    buttons = [[render.occ_button(o, t.kb, t.lang, with_style=mixed)] for o in day_hits[:3]]
    times = ", ".join(f"{o.start:%H:%M}" for o in day_hits[:3])
    return True, ask_slot(t, "datetime", t.t("day_options", style=style_name, times=times), buttons)


def _why_none(t: Turn, when: TimeConstraint, notes: Notes) -> str:
    found = next(((d, h) for d in sorted(when.dates or ()) if (h := t.kb.holiday_on(d)) is not None), None)
    said = studio_words(t, found[1]) if found is not None else None
    if found is not None and said is not None:  # the studio's own words, even for a day beyond the window
        notes.holiday = (found[0].strftime("%d.%m"), found[1].name, said)
        return "holiday"
    if notes.out_of_window or when.out_of_window:
        return "out_of_window"
    if found is not None:
        notes.holiday = (found[0].strftime("%d.%m"), found[1].name, None)
        return "holiday"
    if when.dates and all(d == t.now.date() for d in when.dates) and when.times:
        if all(tm <= t.now.time() for tm in when.times):
            return "past_time"
    return "no_match_time"


def offer(t: Turn, key: str, occs: list[Occurrence], style_name: str, notes: Notes | None = None) -> State:
    """Up to three classes as buttons under the catalogue text `key`; the state collecting the datetime."""
    fields: dict[str, object] = {"style": style_name, "days": t.kb.booking.lookahead_days}
    said = None
    if key == "holiday" and notes is not None and notes.holiday is not None:
        day, reason, said = notes.holiday
        fields.update(day=day, reason=reason)
    mixed = len(styles_in(occs, t.kb)) > 1
    buttons = [[render.occ_button(o, t.kb, t.lang, with_style=mixed)] for o in occs[:3]]
    if said is not None:  # the studio's own words for its holiday (KB `holidays[].message`), said once:
        t.say(said)  # a question re-asked after an aside is only the choice, not the holiday again
        question = t.t("ask_datetime", style=style_name) if style_name else t.t("ask_datetime_any")
        return ask_slot(t, "datetime", question, buttons)
    return ask_slot(t, "datetime", t.t(key, **fields), buttons)


def studio_words(t: Turn, holiday: Holiday) -> str | None:
    """What the studio wrote for its holiday (KB `holidays[].message`); None when it wrote nothing, or the
    client is answered in another language than the KB's (then the catalogue's text names the holiday)."""
    said = holiday.message.strip()
    return said if said and t.lang == t.kb.tone.language else None


def holiday_words(t: Turn, when: TimeConstraint | None) -> str | None:
    """The studio's words when every day asked about is one of its holidays ("31 декабря", "1 января");
    None when no day is named, one of them is a working day, or the studio wrote nothing for them."""
    if when is None or not when.dates:
        return None
    holidays = [t.kb.holiday_on(day) for day in sorted(when.dates)]
    if any(h is None for h in holidays):
        return None
    return next((said for h in holidays if h is not None and (said := studio_words(t, h)) is not None), None)


def _holiday_first(t: Turn) -> None:
    """ "Запишите на 31 декабря" with no style yet: the studio's words for its holiday come first and the day
    is dropped, so the style asked next is followed by the nearest classes — not by the holiday again."""
    said = holiday_words(t, t.slots.when.constraint() if t.slots.when else None)
    if said is not None:
        t.say(said)
        t.slots.when = None


def _fill_occurrence(t: Turn, occ: Occurrence) -> None:
    t.slots.occurrence = occ
    t.slots.style = style_of(occ, t.kb) or t.slots.style
    t.session.reprompts = {}


def _summary(t: Turn) -> State:
    slots = t.slots
    occ, name, phone = slots.occurrence, slots.client_name, slots.client_phone
    assert occ is not None and name is not None and phone is not None
    who_key = "summary_who_other" if slots.relation else "summary_who"
    text = t.t(
        "summary",
        who=t.t(who_key, name=name),
        phone=display_phone(phone),
        klass=render.class_label(occ, t.kb, t.lang),
        when=render.when_label(occ, t.lang),
        where=render.branch_address(occ, t.kb),
    )
    t.session.pending.slot = "confirmation"
    t.session.reprompts = {}
    t.ask(text, yes_no_buttons(t))
    return State.CONFIRM_BOOKING
