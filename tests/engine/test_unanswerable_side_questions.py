"""A side question inside a flow that the KB cannot answer ("а есть ли у вас wi-fi?", "можно с собакой?",
"а кофе у вас есть?") is never passed over in silence nor answered by guess (PRODUCT.md §5, §5.5): "уточню у
администратора", the admin gets the question as an unanswered question in IDLE does, and the flow's
pending question follows with every slot kept. Questions the KB answers (parking, prices, what to bring,
where) are answered as before, and questions about the flow's own question ("а можно попозже?", "а зачем
вам телефон?") are no questions for the administrator. Server-free: the pure engine, the demo studio."""

from __future__ import annotations

import itertools

import pytest

from dancebot.conversation.effects import AlertAdmin, Book, Cancel
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import State
from tests.engine.pure import NOW, StaticCRM, make_engine, say
from tests.engine.test_degradation_l3 import booked_class

PHONE = "+79141234567"
CHECKING = ("Уточню у администратора", "I'll check with the administrator")
_chats = itertools.count(5000)

UNANSWERABLE = [
    "а есть ли у вас wi-fi?",
    "а вайфай есть?",
    "можно с собакой?",
    "можно с собакой",
    "можно с собакой прийти",
    "а кофе у вас есть",
    "скажите а кондиционер в зале есть?",
    "а у вас есть фен",
    "а кулер с водой есть?",
    "а зеркала в зале есть",
    "а лицензия у вас есть?",
    "у вас есть инстаграм?",
]
ANSWERED = [
    ("а парковка есть?", "парковк"),
    ("сколько стоит?", "₽"),
    ("что взять с собой?", "одежд"),
    ("а душ есть?", "душ"),
]
ABOUT_THE_FLOW = ["а можно попозже?", "а когда ещё?", "а есть что-нибудь попозже?", "а зачем вам?"]


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


def questions_for_admin(step: Step) -> list[str]:
    return [e.text for e in step.effects if isinstance(e, AlertAdmin) and e.purpose == "alert"]


async def at(engine: tuple[Engine, StaticCRM], where: str) -> tuple[Session, Profile, str]:
    """A flow waiting for an answer; returns the session, the profile and the pending question."""
    eng, crm = engine
    s = Session(channel="telegram", chat_id=next(_chats), language="ru")
    profile = Profile()
    lines = {
        "style": ["хочу записаться"],
        "day": ["хочу на хилс"],
        "name": ["хочу на хилс в субботу"],
        "phone": ["хочу на хилс в субботу", "Анна"],
        "summary": ["хочу на хилс в субботу", f"Анна {PHONE}"],
        "cancel": ["отмените мою запись"],
        "series": ["запишите на все среды на хилс"],
    }[where]
    if where in ("cancel", "series"):
        profile = Profile(phone=PHONE, name="Анна")
        occ = [o for o in await crm.occurrences(NOW) if o.is_bookable][-1]
        crm.bookings[PHONE] = [booked_class(occ)]
    for line in lines:
        step = await say(eng, s, line, profile)
        profile = step.profile
    assert s.pending.question, text(step)
    return s, profile, s.pending.question


FLOWS = ["style", "day", "name", "phone", "summary", "cancel", "series"]


@pytest.mark.parametrize("where", FLOWS)
@pytest.mark.parametrize("question", UNANSWERABLE)
async def test_an_unanswerable_side_question_goes_to_the_admin_and_the_flow_resumes(
    engine: tuple[Engine, StaticCRM], where: str, question: str
) -> None:
    s, profile, pending = await at(engine, where)
    state, slots = s.state, s.slots.model_copy()
    step = await say(engine[0], s, question, profile)
    said = text(step)
    assert any(c in said for c in CHECKING), f"{question!r} in {where}: {said!r}"
    assert pending[:25].lower() in said.lower(), f"the pending question is not asked again: {said!r}"
    [alert] = questions_for_admin(step)
    assert question in alert and f"/reply {s.chat_id}" in alert
    assert s.state == state and s.slots == slots
    assert not any(isinstance(e, Book | Cancel) for e in step.effects)


@pytest.mark.parametrize("where", FLOWS)
@pytest.mark.parametrize(("question", "answer"), ANSWERED)
async def test_a_side_question_the_kb_answers_is_answered_then_the_flow_resumes(
    engine: tuple[Engine, StaticCRM], where: str, question: str, answer: str
) -> None:
    s, profile, pending = await at(engine, where)
    state = s.state
    step = await say(engine[0], s, question, profile)
    said = text(step)
    assert answer in said.lower() and not any(c in said for c in CHECKING), said
    assert pending[:25].lower() in said.lower() and s.state == state
    assert not questions_for_admin(step)


@pytest.mark.parametrize("where", ["day", "name", "summary", "cancel"])
@pytest.mark.parametrize("question", ABOUT_THE_FLOW)
async def test_a_question_about_the_flow_itself_is_not_sent_to_the_admin(
    engine: tuple[Engine, StaticCRM], where: str, question: str
) -> None:
    s, profile, _ = await at(engine, where)
    step = await say(engine[0], s, question, profile)
    assert not any(c in text(step) for c in CHECKING) and not questions_for_admin(step), text(step)


async def test_after_the_side_question_the_booking_goes_on_with_what_it_had(engine: tuple[Engine, StaticCRM]) -> None:
    eng, _ = engine
    s, profile, _ = await at(engine, "name")
    await say(eng, s, "а вайфай у вас есть", profile)
    step = await say(eng, s, "Анна", profile)
    assert s.state == State.COLLECTING_CONTACT and "номер" in text(step)
    step = await say(eng, s, "89141234567", profile)
    assert s.state == State.CONFIRM_BOOKING and "High Heels" in text(step) and "05.12" in text(step)
    step = await say(eng, s, "да", step.profile)
    assert any(isinstance(e, Book) for e in step.effects)


@pytest.mark.parametrize("again", ["можно с собакой?", "я же спросила, можно с собакой", "ну так что?", "я настаиваю"])
async def test_the_same_side_question_again_goes_to_the_admins_chat(
    engine: tuple[Engine, StaticCRM], again: str
) -> None:
    eng, _ = engine
    s, profile, _ = await at(engine, "day")
    await say(eng, s, "можно с собакой?", profile)
    step = await say(eng, s, again, profile)
    assert s.state == State.HANDOFF_TO_ADMIN, text(step)


async def test_three_side_questions_are_never_the_reprompt_limit(engine: tuple[Engine, StaticCRM]) -> None:
    """Answered questions are not failed answers: no "Кажется, я вас не понимаю"."""
    eng, _ = engine
    s, profile, _ = await at(engine, "name")
    for question in ("а вайфай есть?", "можно с собакой?", "а кофе будет?"):
        step = await say(eng, s, question, profile)
        assert "не понимаю" not in text(step) and "как вас зовут" in text(step).lower(), text(step)
