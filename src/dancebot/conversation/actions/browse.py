"""Questions and the schedule: KB answers, side questions inside a flow, the nearest classes
(PRODUCT.md §5.2), and what the bot says when it did not understand.

Schedule answers come only from CRM occurrences fetched in this turn; if the CRM cannot be reached the
client is told the bot will ask the administrator — never a stale or invented schedule — and the question
is both an admin alert and a fallback request on the admin's work list (`/requests`, SPEC §7.2). A day the
KB names a studio holiday is answered with the studio's own words for it (`holidays[].message`).
"""

from __future__ import annotations

import re
from typing import Final

from dancebot.conversation import render
from dancebot.conversation.actions.booking import absorb, collect_slots, holiday_words
from dancebot.conversation.actions.common import (
    REPROMPT_LIMIT,
    admin_buttons,
    fallback_now,
    handed_over_if_accepting_admin,
    llm_down,
    main_menu,
)
from dancebot.conversation.actions.handoff import (
    hand_over,
    handed_over_if_insisting,
    handed_over_if_pressing,
    note_miss,
)
from dancebot.conversation.effects import FallbackKind, RecordFallback
from dancebot.conversation.slots import filter_occurrences, kb_teacher
from dancebot.conversation.states import Event, State
from dancebot.conversation.turn import Turn
from dancebot.crm.errors import CRMError
from dancebot.crm.models import Occurrence
from dancebot.understanding.faq import price_answer
from dancebot.understanding.intents import Intent
from dancebot.understanding.text import analyse

__all__ = [
    "GIBBERISH_LIMIT",
    "acknowledge",
    "answer",
    "answer_and_return",
    "question_for_admin",
    "reprompt",
    "schedule_aside",
    "show_schedule",
    "side_question",
    "unknown",
]

GIBBERISH_LIMIT = 3
_YES_NO_STATES = (State.CONFIRM_BOOKING, State.SERIAL_BOOKING, State.CANCEL_FLOW)


async def show_schedule(t: Turn) -> State:
    """The nearest matching classes, at most five lines, the first three as buttons."""
    slots = t.slots
    if not (t.u.elliptic and t.session.last_topic == "schedule"):  # "а в субботу?" refines the last one
        slots.style = slots.teacher = slots.branch = None  # a new question, not a refinement
        slots.when, slots.occurrence = None, None
    absorb(t)  # name and phone said along with the question are kept for the booking that follows
    try:
        occs = await t.crm.occurrences(t.now)
    except CRMError as exc:
        if llm_down(t):  # L3 (PRODUCT.md §9.3): "technical issues", the request recorded
            return fallback_now(t, type(exc).__name__)
        if handed_over_if_insisting(t, topic="schedule"):  # asked again: a human answers (PRODUCT.md §11)
            return State.HANDOFF_TO_ADMIN
        t.say(t.t("crm_down_info"))  # promised: the admin gets the question
        question_for_admin(t, type(exc).__name__)
        return State.IDLE
    when = t.slots.when.constraint() if t.slots.when else None  # what `absorb` read from the question
    hits = filter_occurrences(occs, t.kb, style=slots.style, teacher=slots.teacher, branch=slots.branch, when=when)
    header = t.t("schedule_header")
    if not hits:
        said = holiday_words(t, when)  # "какое расписание на 31 декабря?": the studio's words for its holiday
        header = t.t("holiday_message", message=said) if said is not None else t.t("schedule_empty")
        hits = filter_occurrences(occs, t.kb, style=slots.style) or filter_occurrences(occs, t.kb)
    _schedule_list(t, header, hits, with_style=not slots.style)
    return State.BROWSING_SCHEDULE


def _schedule_list(t: Turn, header: str, hits: list[Occurrence], *, with_style: bool) -> None:
    """The header, at most five lines of classes within the channel's limit, "записать на одно из них?" with
    the first three as buttons (the datetime slot pending)."""
    question = t.t("schedule_pick")
    budget = render.LIMITS.get(t.msg.channel, 300) - len(header) - len(question) - 2
    lines, more = render.schedule_lines(hits, t.kb, t.lang, budget)
    if more and budget - sum(len(x) + 1 for x in lines) < len(t.t("schedule_more")) + 1 and lines:
        lines = lines[:-1]
    t.say("\n".join([header, *lines]))
    if more:
        t.say(t.t("schedule_more"))
    buttons = [[render.occ_button(o, t.kb, t.lang, with_style=with_style)] for o in hits[:3]]
    t.ask(question, buttons)
    t.session.pending.slot = "datetime"


def question_for_admin(
    t: Turn, reason: str, *, kind: FallbackKind = "question", request: str | None = None, phone: str | None = None
) -> None:
    """The CRM down (L1/L2) and the client told "уточню у администратора": the admin gets the question now
    (an alert) and keeps it on the work list (`/requests`) as a fallback request with the client's words, so
    it is answered even after the alert scrolls away (SPEC §7.2). A question is kind `question` ("ответьте
    клиенту через /reply"; `/requests` shows its words); a cancel the CRM could not even list is `cancel`."""
    t.alert_admin(t.t("question_admin", who=t.who(), text=t.text, handle=t.handle))
    service = t.kb.service(t.slots.style) if t.slots.style else None
    details = {
        "name": t.slots.client_name or t.profile.name,
        "phone": phone or t.slots.client_phone or t.profile.phone,
        "style": service.name if service is not None else None,
        "request": request or (f"вопрос о расписании: «{t.text}»" if t.text else "вопрос о расписании"),
    }
    t.do(RecordFallback(kind=kind, reason=reason, details={k: v for k, v in details.items() if v}))


async def schedule_aside(t: Turn) -> State:
    """A schedule question while a booking is pending: the list as its own message, the booking kept and
    its question asked again — a pending booking is never swapped for an unrelated list (PRODUCT.md §5.6).
    The CRM down: the admin gets the question (the booking waits), a client who insists gets the admin
    (PRODUCT.md §11.2); at L3 the booking and the question become one request (PRODUCT.md §9.3)."""
    query = t.slots.model_copy()
    query.style = t.u.styles[0].id if t.u.styles else query.style
    query.teacher = t.u.teachers[0].id if t.u.teachers else None
    query.branch = t.u.branches[0].id if t.u.branches else None
    when = t.u.time if t.u.time is not None and not t.u.time.is_empty else None
    state = State(t.session.state)
    try:
        occs = await t.crm.occurrences(t.now)
    except CRMError as exc:
        if llm_down(t):
            return fallback_now(t, type(exc).__name__)
        if handed_over_if_insisting(t):
            return State.HANDOFF_TO_ADMIN
        t.preface.append(t.t("crm_down_info"))
        question_for_admin(t, type(exc).__name__)
        t.ask_again()
        return state
    hits = filter_occurrences(occs, t.kb, style=query.style, teacher=query.teacher, branch=query.branch, when=when)
    said = None if hits else holiday_words(t, when)
    header = t.t("schedule_header") if hits else t.t("schedule_empty")
    header = t.t("holiday_message", message=said) if said is not None else header
    hits = hits or filter_occurrences(occs, t.kb, style=query.style)
    lines, _ = render.schedule_lines(hits, t.kb, t.lang, render.LIMITS.get(t.msg.channel, 300) - len(header) - 1)
    t.preface.append("\n".join([header, *lines]))
    t.ask_again()
    return state


async def answer(t: Turn) -> State:
    """A question answered from the KB; one the KB cannot answer goes to the admin."""
    text = _answer_text(t)
    if text is None:
        if handed_over_if_insisting(t):  # asked again what the KB cannot answer: a human (PRODUCT.md §11)
            return State.HANDOFF_TO_ADMIN
        _unknown_question(t)
        return State(t.session.state)
    t.session.unknown_streak = 0
    t.say(text)
    return State(t.session.state)


async def answer_and_return(t: Turn) -> State:
    """A side question mid-flow: answered, then the pending question asked again (PRODUCT.md §5); one the
    KB cannot answer goes to the admin — and the client who insists on it, to the admin's chat."""
    text = _answer_text(t, short=True)
    if text is None:
        return _unanswered_aside(t)
    if t.session.state is State.COLLECTING_CONTACT and (t.u.name is not None or (t.u.phone and t.u.phone.valid)):
        t.say(text)  # "Маша. а сколько стоит абонемент?": the price, and the name asked for is kept
        return await collect_slots(t, answered=True)
    return _aside(t, text)


def _unanswered_aside(t: Turn) -> State:
    """A side question mid-flow the KB has no answer for ("а есть wi-fi?", "можно с собакой?"): never
    guessed — "уточню у администратора", the admin gets the question as in IDLE, the flow's question is
    asked again with every slot kept. Asked again or pressed for: the administrator (PRODUCT.md §11.2)."""
    if handed_over_if_insisting(t):
        return State.HANDOFF_TO_ADMIN
    t.alert_admin(t.t("question_admin", who=t.who(), text=t.text, handle=t.handle))
    return _aside(t, t.t("unknown_question"))


def _aside(t: Turn, said: str) -> State:
    """The answer to a side question, then the pending question again; the state stays."""
    question = t.session.pending.question or ""
    limit = render.LIMITS.get(t.msg.channel, 300)
    if t.session.state in (State.CONFIRM_BOOKING, State.SERIAL_BOOKING) or len(said) + len(question) + 20 > limit:
        t.preface.append(said)  # its own message: the summary is never cut to make room (PRODUCT.md §5)
        t.ask_again()
    else:
        t.say(said)
        t.ask_again(t.t("pending_again", question="{question}"))
    return State(t.session.state)


async def unknown(t: Turn) -> State:
    """Not understood: a question goes to the admin, anything else gets one clarifying question with the
    main options; gibberish three times in a row hands the chat over (PRODUCT.md §5.5). "Да, передайте"
    to "Передать вопрос администратору?" is the administrator."""
    s = t.session
    if handed_over_if_accepting_admin(t):
        return State.HANDOFF_TO_ADMIN
    s.unknown_streak += 1
    if t.u.gibberish and s.unknown_streak >= GIBBERISH_LIMIT:
        hand_over(t, reason="непонятные сообщения")
        return State.HANDOFF_TO_ADMIN
    said = None if t.u.gibberish or t.u.time is None else holiday_words(t, t.u.time)
    if said is not None:  # "а 1 января занятия есть?", "31 декабря работаете?": the studio answered that
        s.unknown_streak = 0
        await _holiday_answer(t, said)
        return State.COLLECTING_INTENT
    if not t.u.gibberish and t.u.question_like:
        if handed_over_if_insisting(t):  # asked again what the KB cannot answer: a human (PRODUCT.md §11)
            return State.HANDOFF_TO_ADMIN
        _unknown_question(t)
        return State.COLLECTING_INTENT
    if handed_over_if_pressing(t):  # "я настаиваю", "ну пожалуйста, узнайте" right after a miss
        return State.HANDOFF_TO_ADMIN
    t.ask(t.t("clarify"), main_menu(t))
    return State.COLLECTING_INTENT


async def _holiday_answer(t: Turn, said: str) -> None:
    """A question about a day the KB names a studio holiday: the studio's words, then the nearest classes
    (of the style asked about, if any) to book instead; the words alone when the CRM cannot be reached."""
    try:
        occs = await t.crm.occurrences(t.now)
    except CRMError:
        t.say(said)
        return
    style = t.u.styles[0].id if t.u.styles else None
    hits = filter_occurrences(occs, t.kb, style=style) or filter_occurrences(occs, t.kb)
    if not hits:
        t.say(said)
        return
    _schedule_list(t, t.t("holiday_message", message=said), hits, with_style=style is None)


async def reprompt(t: Turn) -> State:
    """Not an answer to the pending question: ask it again; the third time, offer the admin. Pressing for
    what the bot just missed goes to the admin instead; a question the flow cannot take is such a miss. A
    side question about something else ("а парковка есть?" that the KB cannot answer, "можно с собакой?")
    is said to go to the administrator, as in IDLE, and the pending question follows."""
    state = State(t.session.state)
    if handed_over_if_pressing(t) or handed_over_if_accepting_admin(t):
        return State.HANDOFF_TO_ADMIN
    if side_question(t):
        return _unanswered_aside(t)
    if t.u.question_like and not t.u.gibberish:
        note_miss(t)  # not answered here: pressing for it next hands over
    slot = t.session.pending.slot
    count = t.session.reprompts.get(slot, 0) + 1 if slot else 1
    if slot:
        t.session.reprompts[slot] = count
    if count >= REPROMPT_LIMIT:
        if state in _YES_NO_STATES and slot == "confirmation" and t.session.pending.question:
            # never a second yes/no question ("Позвать администратора?") over the summary: a "да" would
            # answer both — the summary again, with the administrator as a button
            t.preface.append(t.t("reprompt_limit_pending"))
            t.ask_again()
            t.buttons = [*t.buttons, *admin_buttons(t)]
            return state
        t.ask(t.t("reprompt_limit"), admin_buttons(t))
        return state
    if not t.ask_again():
        t.ask(t.t("clarify"), main_menu(t))
    return state


async def acknowledge(t: Turn) -> State:
    """A yes or no with nothing pending: thanks, or what can I do for you. A yes to "Передать вопрос
    администратору?" ("Не нашла будущих записей…") is the administrator."""
    if handed_over_if_accepting_admin(t):
        return State.HANDOFF_TO_ADMIN
    t.say(t.t("thanks") if t.u.yes_no == "yes" else t.t("clarify"))
    return State.IDLE


def _answer_text(t: Turn, *, short: bool = False) -> str | None:
    """The KB's answer to a side question, or None when the KB has none; `short` leaves room for the
    pending question that follows it."""
    u = t.u
    intents = {s.intent for s in u.intents}
    about = _about_the_class(t)
    if about is not None:
        return about
    if u.trial and u.faq is not None:
        return u.faq.answer  # "пробное занятие сколько стоит?": the studio's own trial answer
    if u.wants_passes and not t.kb.subscriptions and u.faq is not None:
        return u.faq.answer  # a KB without a subscriptions list: its FAQ says what the passes cost
    if u.faq is not None and u.faq.whole and not u.class_count:
        return u.faq.answer  # "как работают абонементы?" is the studio's own FAQ question: its own answer
    if t.event is Event.PRICE or Intent.PRICE in intents:
        styles = [m.id for m in u.styles] or ([t.slots.style] if t.slots.style else [])
        if len(u.styles) == 1:
            t.slots.topic_style = u.styles[0].id
        return price_answer(
            styles, t.kb, t.lang, subscriptions=u.wants_passes or not (short and styles), classes=u.class_count
        )
    if u.faq is not None:
        return u.faq.answer
    if Intent.LATENESS in intents:
        t.alert_admin(t.t("lateness_admin", who=t.who(), text=t.text))
        return t.t("lateness", policy=_sentence(t.kb.policies.late_arrival))
    if Intent.GREETING in intents:
        return t.t("greeting" if t.session.state == State.IDLE else "greeting_again")
    if Intent.THANKS in intents:
        return t.t("thanks")
    return None


def _about_the_class(t: Turn) -> str | None:
    """ "Где это?", "кто ведёт?", "во сколько заканчивается?" about the class being booked (or the style
    asked about); None when nothing is known to answer from."""
    u, slots, kb = t.u, t.slots, t.kb
    occ = slots.occurrence
    style_id = u.styles[0].id if u.styles else slots.style
    if u.asks_where:
        if occ is not None:
            return t.t("class_where", where=render.branch_address(occ, kb))
        branch = kb.branch(slots.branch) if slots.branch else None
        if branch is not None:
            return t.t("class_where", where=f"{branch.name}, {branch.address}")
        if u.faq is None:
            return t.t("studio_where", where="; ".join(f"{b.name}: {b.address}" for b in kb.studio.branches))
    if u.asks_who:
        if occ is not None:
            teacher = kb_teacher(occ, kb)
            name = teacher.name if teacher else occ.teacher_name
            return t.t("class_who", klass=render.style_label(occ, kb), teacher=name)
        service = kb.service(style_id) if style_id else None
        names = [p.name for p in kb.teachers if service is not None and service.id in p.styles]
        if service is not None and names:
            return t.t("style_who", style=service.name, teachers=", ".join(names))
    if u.asks_end and occ is not None:
        return t.t("class_end", start=f"{occ.start:%H:%M}", end=f"{occ.end:%H:%M}")
    return None


def _unknown_question(t: Turn) -> None:
    """No data in the KB or CRM: never guess — the administrator gets the question (PRODUCT.md §5.5)."""
    t.say(t.t("unknown_question"))
    t.alert_admin(t.t("question_admin", who=t.who(), text=t.text, handle=t.handle))


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return ""
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


# ---- a side question inside a flow -----------------------------------------------------------------------

_QUESTION_START: Final = re.compile(
    r"^\s*(?:(?:а|и|ну|скажите|подскажите|кстати)[\s,]+)*(?:есть\s+ли|можно|нельзя|разве|а?\s*у\s+вас|где|как|какой"
    r"|какая|какое|какие|сколько|когда|кто|что|чем|почему|зачем|есть|бывает|принимаете|работаете|is|are|do|does"
    r"|can|could|may|where|what|how|who|why|will)\b",
    re.I,
)
_QUESTION_END: Final = re.compile(r"\b(?:есть|будет|бывает|можно)\s*[.!)]*\s*$", re.I)  # "а фен есть"
# Words that say nothing of the topic: question words, pronouns, prepositions, particles (lemmas).
_STOP: Final = frozenset(
    """а и но или ли же ну вот да нет не ни ещё еще уже тоже также просто вообще кстати скажите подсказать
    сказать у вы ваш я мой мы наш он она оно они это этот тот там тут здесь туда сюда с со в во на к ко по за из
    о об от до для при про без через над под можно нельзя мочь быть есть бывать как какой где когда сколько что
    кто чем почему зачем разве если то бы чтобы ли пожалуйста спасибо весь всё все свой себя который чей
    нибудь либо так такой тогда потом сейчас куда откуда очень много мало ничто никто ок окей
    is are was be do does did can could may might will would there here a an the any some at in on for with to
    of and or my me your you we i it this that what where when how who why please ok so""".split()
)
# Words of the flow itself — times, the class, the booking, the contact: a question with these is about the
# question being asked ("а попозже можно?", "а зачем вам телефон?"), not one for the administrator.
_FLOW: Final = frozenset(
    """время день дата число неделя утро вечер утром вечером днем позже попозже поздно пораньше раньше рано
    поздний ранний попозднее другой следующий ближайший удобный свободный место занятие урок тренировка группа
    класс вариант запись записать записаться записывать отменить перенести бронь имя фамилия телефон номер
    контакт обязательно прийти приходить
    нужно надо нужный зачем точно правда посоветовать советовать подойти подходить выбрать лучше направление
    стиль преподаватель тренер расписание начинающий новичок уровень час минута
    time day date week morning evening later earlier other another next free place class lesson group slot
    booking book cancel name phone number recommend suggest style teacher schedule""".split()
)


def side_question(t: Turn) -> bool:
    """A question inside a flow about something else than the flow's question ("а есть ли у вас wi-fi?",
    "а парковка есть?", "можно с собакой?"), with nothing in it the flow can take (no slot, no yes/no): it
    names a topic the pending question, the flow and the KB's own names do not."""
    u = t.u
    if u.gibberish or u.callback or u.has_slots or u.unknown_style or u.yes_no is not None:
        return False
    if "?" not in u.text and not (_QUESTION_START.match(u.text) or _QUESTION_END.search(u.text)):
        return False
    asked = analyse(t.session.pending.question or "")
    known = _STOP | _FLOW | set(asked.tokens) | set(asked.lemmas)
    doc = analyse(u.text)
    return any(
        not token.isdigit() and len(token) >= 2 and token not in known and lemma_ not in known
        for token, lemma_ in zip(doc.tokens, doc.lemmas, strict=True)
    )
