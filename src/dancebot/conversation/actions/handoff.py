"""Human handoff (PRODUCT.md §11): the client is told, the admin chat gets the context and the exact
command to answer; while a human is on it every client message is relayed and the bot stays quiet.

What hands a conversation over: an explicit request (`handoff`), a complaint or a refund (`complaint`), a
subscription freeze once its reason and dates are known (`freeze`), a KB or CRM miss the client insists on,
the reprompt limit (the admin button the bot offers) and three unintelligible messages in a row
(`browse.unknown`).

Insisting is one class wherever the bot misses — a KB question, the schedule (also asked aside while a
booking waits), "мои записи" and a cancel: at the miss, `handed_over_if_insisting` hands over a client who
asks the same again or says "я же спросила"; otherwise the miss is remembered (`Session.missed`), and the
next message pressing for it — "я настаиваю", "ну пожалуйста, узнайте", "мне нужно именно это", "ну так
что?" — is handed over too, even when it says nothing else the bot understands (`handed_over_if_pressing`,
from `browse.unknown` and `browse.reprompt`). The same words with no miss before them are not insisting.

The admin's message always carries the client's name and phone as known — those of an unfinished
booking too — the channel, the state, the last messages, the reason, and the exact `/reply` and `/close`
commands.
"""

from __future__ import annotations

from dancebot.conversation import render
from dancebot.conversation.effects import AdminText, AlertAdmin
from dancebot.conversation.session import Freeze, Slots
from dancebot.conversation.states import State
from dancebot.conversation.triggers import complaint_kind, freeze_dates, freeze_reason, insists
from dancebot.conversation.turn import Turn
from dancebot.understanding.intents import Intent
from dancebot.understanding.pressing import presses

__all__ = [
    "admin_close",
    "admin_reply",
    "complaint",
    "freeze",
    "hand_over",
    "handed_over_if_insisting",
    "handed_over_if_pressing",
    "handoff",
    "handoff_reminder",
    "note_miss",
    "relay",
]

FREEZE_ASKS = 2  # questions about a freeze's facts before handing over with what is known
_REPROMPT_LIMIT = 3  # as actions/common.REPROMPT_LIMIT: the admin button came from the reprompt limit


async def handoff(t: Turn) -> None:
    """The client asked for a person (or pressed the admin button)."""
    reason = "клиент попросил администратора"
    if t.u.callback and any(n >= _REPROMPT_LIMIT for n in t.session.reprompts.values()):
        reason = "бот трижды не понял ответ, клиент позвал администратора"
    elif t.text and not t.u.callback:
        reason = f"клиент просит администратора: «{t.text}»"
    freeze_ = t.session.pending.freeze
    if freeze_ is not None:
        reason += "; " + _freeze_facts(freeze_)
    hand_over(t, reason)


async def complaint(t: Turn) -> None:
    """A complaint or a refund: never answered by the bot, straight to the administrator."""
    kind = complaint_kind(t.text)
    label = "возврат денег" if kind == "refund" else "жалоба"
    hand_over(t, f"{label}: «{t.text}»" if t.text else label)


async def freeze(t: Turn) -> State:
    """A subscription freeze: the reason and the dates are collected first (at most `FREEZE_ASKS`
    questions), then the administrator takes over with them. "Не надо" leaves it."""
    s = t.session
    facts = s.pending.freeze or Freeze()
    if facts.asked and (t.u.has(Intent.ABORT) or t.u.yes_no == "no"):
        s.pending.freeze = None
        t.say(t.t("freeze_dropped"))
        return State.IDLE
    facts.reason = facts.reason or freeze_reason(t.text, asked=facts.asked > 0)
    facts.dates = facts.dates or freeze_dates(t.u)
    if (facts.reason and facts.dates) or facts.asked >= FREEZE_ASKS:
        hand_over(t, _freeze_facts(facts))
        return State.HANDOFF_TO_ADMIN
    facts.asked += 1
    t.ask(t.t("freeze_ask_dates" if facts.reason else "freeze_ask_reason" if facts.dates else "freeze_ask"))
    s.pending.freeze = facts
    return State.COLLECTING_INTENT


def handed_over_if_insisting(t: Turn, *, topic: str | None = None) -> bool:
    """At a KB or CRM miss: a client who insists — asks the same again, "я же спросила", (`topic`) asked
    about the same topic in the previous message too, or presses right after the previous miss — is handed
    over instead of being told "I'll ask the administrator" once more. True when handed over: the caller's
    next state is HANDOFF_TO_ADMIN. Otherwise the miss is remembered for the next message."""
    again = topic is not None and t.session.last_topic == topic
    if again or insists(t.text, t.session.history) or (_after_miss(t) and presses(t.text)):
        hand_over(t, f"клиент настаивает, а у бота нет ответа: «{t.text}»")
        return True
    note_miss(t)
    return False


def handed_over_if_pressing(t: Turn) -> bool:
    """A message right after a miss that presses for the missed answer ("я настаиваю", "ну так что?", the
    same question again) is handed over, whatever else it says or does not say. True when handed over."""
    if t.u.gibberish or not _after_miss(t):
        return False
    if not (insists(t.text, t.session.history) or presses(t.text)):
        return False
    hand_over(t, f"клиент настаивает на ответе на «{t.session.missed}»: «{t.text}»")
    return True


def note_miss(t: Turn) -> None:
    """The KB or the CRM had no answer to this message (the caller said so): remembered for one message."""
    t.session.missed = t.text or None


def _after_miss(t: Turn) -> bool:
    """This message follows one the bot missed (the engine remembered this one last)."""
    s = t.session
    return s.missed is not None and len(s.history) >= 2 and s.history[-2] == s.missed and s.history[-1] == t.text


def hand_over(t: Turn, reason: str | None = None) -> None:
    """Tell the admin chat everything needed to take over, forget the flow, tell the client."""
    s = t.session
    if reason is None:
        reason = t.text if t.text and not t.u.callback else "клиент попросил администратора"
    t.alert_admin(
        t.t(
            "handoff_admin",
            who=t.who(),
            channel=t.msg.channel,
            state=s.state,
            reason=reason,
            booking=_booking_line(t),
            history=" | ".join(s.history[-4:]) or "—",
            handle=t.handle,
        ),
        purpose="handoff",
    )
    s.reset()
    s.missed = None
    t.say(t.t("handoff"))


async def relay(t: Turn) -> None:
    text = t.text or t.u.callback or ""
    if text:
        t.alert_admin(t.t("relay_admin", who=t.who(), text=text, handle=t.handle), purpose="relay")


async def admin_reply(t: Turn) -> None:
    text = t.outcome.text if isinstance(t.outcome, AdminText) else ""
    t.say(t.t("admin_prefix", text=text))


async def admin_close(t: Turn) -> None:
    t.say(t.t("admin_closed"))
    t.session.slots = Slots()


async def handoff_reminder(t: Turn) -> None:
    """HANDOFF_TO_ADMIN for 2 hours (the worker's sweep): the admin is reminded, once per handoff — the
    sweep marks the session before it fires, and the alert goes through the de-duplicated mechanism
    (`outbound.alerts`, cause `handoff_waiting:{client}`), so a sweep repeated after a crash between the
    alert and the session's commit does not send it twice."""
    text = t.t("handoff_again_admin", who=t.who(), handle=t.handle)
    t.do(AlertAdmin(text=text, cause=f"handoff_waiting:{t.handle}"))


def _booking_line(t: Turn) -> str:
    """ "Запись не закончена: …" with what the client chose so far, or nothing."""
    slots, kb = t.slots, t.kb
    parts: list[str] = []
    if slots.occurrence is not None:
        occ = slots.occurrence
        parts.append(render.occ_line(occ, kb, "ru"))
    else:
        service = kb.service(slots.style) if slots.style else None
        teacher = kb.teacher(slots.teacher) if slots.teacher else None
        branch = kb.branch(slots.branch) if slots.branch else None
        parts += [x.name for x in (service, teacher, branch) if x is not None]
    parts += [f"{len(slots.series)} занятий серии"] if slots.series else []
    return f"Запись не закончена: {', '.join(parts)}\n" if parts else ""


def _freeze_facts(facts: Freeze) -> str:
    return f"заморозка абонемента — причина: {facts.reason or 'не назвал'}; даты: {facts.dates or 'не назвал'}"
