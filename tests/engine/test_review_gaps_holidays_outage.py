"""Two gaps a review found, server-free (the pure engine over a studio's schedule):

1. A day the KB names a studio holiday is answered with the studio's own words (`holidays[].message`), not
   the holiday's bare name, then the usual next step (the nearest classes, or the style question) — in the
   booking flow, in a schedule question and in a plain "а 1 января занятия есть?". Both studios: the demo
   (12.12 concert, 31.12–04.01 New Year) and «Волна» (13.12 studio day). A holiday without words keeps the
   catalogue's "{day} занятий нет: {name}".
2. The CRM down (L1): a schedule question, "мои записи", a cancel get "уточню у администратора", the admin
   alert AND one fallback request with the client's words, so it shows on `/requests` (SPEC §7.2); L3 keeps
   its one `l3` request (never two); at L1/L2 a question is kind `question`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import time

import pytest

from dancebot.channels.message import UnifiedMessage
from dancebot.conversation.catalogue import Catalogue
from dancebot.conversation.effects import AlertAdmin, RecordFallback, SaveProfile
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Profile, Session
from dancebot.conversation.states import State
from dancebot.crm.models import ScheduleTemplate
from dancebot.kb import KnowledgeBase, load_kb
from dancebot.understanding.rules import Understanding
from dancebot.understanding.seam import Hints, RulesUnderstander, Understander
from tests.engine.pure import NOW, TZ, StaticCRM, message
from tests.studios.second.crm_seed import build_second_seed

PHONE = "+79141234567"
NEW_YEAR = "С 31 декабря по 4 января студия отдыхает — новогодние каникулы"
CONCERT = "12 декабря занятий не будет — у нас отчётный концерт студии"
STUDIO_DAY = "13 декабря у нас день студии и открытые уроки — обычных занятий нет."
CRM_DOWN = "Сейчас не могу проверить"
TECHNICAL = "Технические неполадки, администратор свяжется с вами"
BEFORE_NEW_YEAR = dt.datetime(2026, 12, 27, 15, 0, tzinfo=TZ)  # Sunday; 31.12–04.01 inside the 14-day window
_chats = itertools.count(91_000)


class SecondCRM(StaticCRM):
    """«Волна»'s schedule (tests/studios/second/crm_seed.py) instead of the demo's."""

    def __init__(self, kb: KnowledgeBase, today: dt.date) -> None:
        super().__init__(kb, today)
        self._templates = [ScheduleTemplate.model_validate(t) for t in build_second_seed(today, TZ).templates]


class LLMDown:
    """The LLM layer while the model is down: every understanding is marked (L2; with the CRM down, L3)."""

    def __init__(self, inner: Understander) -> None:
        self._inner = inner

    async def understand(self, msg: UnifiedMessage, hints: Hints) -> Understanding:
        return dataclasses.replace(await self._inner.understand(msg, hints), llm_down=True)


class Chat:
    """One client's chat with the engine, its clock at `now`."""

    def __init__(self, studio: str = "demo", now: dt.datetime = NOW, kb: KnowledgeBase | None = None) -> None:
        path = "knowledge/studio.yaml" if studio == "demo" else "tests/studios/second/studio.yaml"
        kb = kb or load_kb(path).kb
        self.crm = StaticCRM(kb, now.date()) if studio == "demo" else SecondCRM(kb, now.date())
        catalogue = Catalogue(kb.messages, kb_language=kb.tone.language, studio=kb.studio.name)
        self.engine = Engine(kb, catalogue, self.crm, RulesUnderstander(kb))
        self.session = Session(channel="telegram", chat_id=next(_chats), language="ru")
        self.profile = Profile()
        self.now = now
        self._n = 0

    async def say(self, text: str) -> Step:
        return await self._send(message(self.session.chat_id, text, n=self._n + 1))

    async def tap(self, data: str) -> Step:
        return await self._send(message(self.session.chat_id, callback=data, n=self._n + 1))

    async def _send(self, msg: UnifiedMessage) -> Step:
        self._n += 1
        msg = msg.model_copy(update={"timestamp": self.now})
        step = await self.engine.handle(msg, self.session, self.profile, now=self.now, epoch=time.time())
        self.profile = next((e.profile for e in step.effects if isinstance(e, SaveProfile)), self.profile)
        return step


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


def buttons(step: Step) -> list[str]:
    return [b.data for j in step.jobs for row in j.buttons for b in row]


def requests(step: Step) -> list[RecordFallback]:
    return [e for e in step.effects if isinstance(e, RecordFallback)]


def alerts(step: Step) -> list[AlertAdmin]:
    return [e for e in step.effects if isinstance(e, AlertAdmin)]


# ---- 1. the studio's words for its holiday -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("studio", "now", "wish", "words"),
    [
        ("demo", BEFORE_NEW_YEAR, "хочу на хилс 31.12", NEW_YEAR),
        ("demo", BEFORE_NEW_YEAR, "запишите на сальсу 2 января", NEW_YEAR),
        ("demo", NOW, "хочу на хилс 31.12", NEW_YEAR),  # beyond the window: the studio's words still say why
        ("demo", NOW, "запишите на сальсу 12 декабря в 19", CONCERT),
        ("demo", NOW, "можно на хип-хоп 12.12?", CONCERT),
        ("second", NOW, "хочу на латину 13.12", STUDIO_DAY),
        ("second", NOW, "запишите на пол дэнс 13 декабря", STUDIO_DAY),
    ],
)
async def test_booking_a_holiday_gets_the_studios_words_then_the_nearest_classes(
    studio: str, now: dt.datetime, wish: str, words: str
) -> None:
    chat = Chat(studio, now)
    step = await chat.say(wish)
    reply = text(step)
    assert words in reply, reply
    assert "Ближайшие занятия" in reply and any(b.startswith("pick:") for b in buttons(step)), reply
    assert "Новогодние каникулы" not in reply and "Отчётный концерт" not in reply and "День студии" not in reply
    assert chat.session.state == State.COLLECTING_DATETIME


@pytest.mark.parametrize(
    ("studio", "now", "wish", "style", "words"),
    [
        ("demo", BEFORE_NEW_YEAR, "запишите на 31 декабря", "хилс", NEW_YEAR),
        ("demo", BEFORE_NEW_YEAR, "хочу записаться на 1 января", "на сальсу", NEW_YEAR),
        ("demo", NOW, "запишите меня на 12 декабря", "хип-хоп", CONCERT),
        ("second", NOW, "запишите на 13 декабря", "на зумбу", STUDIO_DAY),
    ],
)
async def test_a_holiday_named_before_the_style_is_said_at_once_and_not_again(
    studio: str, now: dt.datetime, wish: str, style: str, words: str
) -> None:
    chat = Chat(studio, now)
    first = text(await chat.say(wish))
    assert words in first and "направление" in first, first  # the studio's words, then which style
    step = await chat.say(style)
    second = text(step)
    assert words not in second and "Ближайшие занятия" in second, second  # the nearest classes, no repeat
    assert any(b.startswith("pick:") for b in buttons(step))


@pytest.mark.parametrize(
    ("studio", "now", "question", "words"),
    [
        ("demo", BEFORE_NEW_YEAR, "какое расписание на 31 декабря?", NEW_YEAR),
        ("demo", BEFORE_NEW_YEAR, "а 1 января занятия есть?", NEW_YEAR),
        ("demo", BEFORE_NEW_YEAR, "31 декабря работаете?", NEW_YEAR),
        ("demo", BEFORE_NEW_YEAR, "есть занятия 3 января?", NEW_YEAR),
        ("demo", NOW, "какое расписание на 12 декабря?", CONCERT),
        ("demo", NOW, "а 12 декабря занятия есть?", CONCERT),
        ("second", NOW, "что есть 13.12?", STUDIO_DAY),
        ("second", NOW, "а 13 декабря занятия будут?", STUDIO_DAY),
    ],
)
async def test_asking_about_a_holiday_gets_the_studios_words_and_classes_to_book_instead(
    studio: str, now: dt.datetime, question: str, words: str
) -> None:
    chat = Chat(studio, now)
    step = await chat.say(question)
    reply = text(step)
    assert words in reply, reply
    assert "Уточню у администратора" not in reply and "По этому запросу занятий нет" not in reply
    assert any(b.startswith("pick:") for b in buttons(step)) and "Записать на одно из них?" in reply
    assert alerts(step) == []  # the KB answered: nothing for the admin


async def test_a_class_offered_after_the_holiday_words_books_as_usual() -> None:
    chat = Chat("demo", BEFORE_NEW_YEAR)
    step = await chat.say("а 1 января занятия есть?")
    pick = next(b for b in buttons(step) if b.startswith("pick:"))
    reply = text(await chat.tap(pick))
    assert "Как вас зовут?" in reply, reply


async def test_a_holiday_without_words_keeps_naming_it() -> None:
    kb = load_kb("knowledge/studio.yaml").kb
    quiet = [h.model_copy(update={"message": ""}) for h in kb.holidays]
    chat = Chat("demo", BEFORE_NEW_YEAR, kb=kb.model_copy(update={"holidays": quiet}))
    reply = text(await chat.say("хочу на хилс 31.12"))
    assert "31.12 занятий нет: Новогодние каникулы" in reply and "студия отдыхает" not in reply


async def test_a_working_day_is_not_a_holiday() -> None:
    chat = Chat("demo", BEFORE_NEW_YEAR)
    reply = text(await chat.say("какое расписание на 28 декабря?"))
    assert "отдыхает" not in reply and "28.12" in reply


async def test_an_english_speaking_client_gets_the_catalogue_text_not_the_russian_words() -> None:
    chat = Chat("demo", BEFORE_NEW_YEAR)
    chat.session.language = "en"
    reply = text(await chat.say("I want to book heels on 31.12"))
    assert "студия отдыхает" not in reply


# ---- 2. the CRM down: a question is on the admin's work list ------------------------------------------------

SCHEDULE_QUESTIONS = [
    "какое расписание на завтра?",
    "когда хилс?",
    "что есть на сальсу в субботу?",
    "покажите расписание на пятницу",
]


@pytest.mark.parametrize("question", SCHEDULE_QUESTIONS)
async def test_crm_down_a_schedule_question_is_recorded_for_the_admin(question: str) -> None:
    chat = Chat()
    chat.crm.down = True
    step = await chat.say(question)
    assert CRM_DOWN in text(step) and TECHNICAL not in text(step)
    [request] = requests(step)
    assert question in request.details["request"] and request.reason == "CRMUnavailable"
    assert alerts(step), "the admin alert stays"
    assert chat.session.state == State.IDLE


async def test_crm_down_the_request_carries_the_style_and_the_known_client() -> None:
    chat = Chat()
    chat.profile = Profile(name="Анна", phone=PHONE)
    chat.crm.down = True
    [request] = requests(await chat.say("когда хилс?"))
    assert request.details["style"] == "High Heels"
    assert request.details["name"] == "Анна" and request.details["phone"] == PHONE


@pytest.mark.parametrize(
    ("wish", "kind"),
    [
        ("мои записи", "question"),
        ("на что я записана?", "question"),
        ("куда я записана", "question"),
        ("отмените мою запись", "cancel"),
        ("хочу отменить занятие", "cancel"),
    ],
)
async def test_crm_down_my_bookings_and_cancels_are_recorded_for_the_admin(wish: str, kind: str) -> None:
    chat = Chat()
    chat.profile = Profile(name="Анна", phone=PHONE, own_phone=PHONE)
    chat.crm.down = True
    step = await chat.say(wish)
    assert CRM_DOWN in text(step) and TECHNICAL not in text(step)
    [request] = requests(step)
    assert request.kind == kind and wish in request.details["request"]
    assert request.details["phone"] == PHONE and request.details["name"] == "Анна"
    assert alerts(step)


@pytest.mark.parametrize("aside", ["а что есть в субботу?", "какое расписание на пятницу?"])
async def test_crm_down_a_schedule_question_mid_booking_is_recorded_and_the_summary_waits(aside: str) -> None:
    chat = Chat()
    await chat.say("хочу на хилс в субботу")
    summary = text(await chat.say("Анна 89141234567"))
    assert chat.session.state == State.CONFIRM_BOOKING, summary
    chat.crm.down = True
    step = await chat.say(aside)
    assert CRM_DOWN in text(step) and "Проверьте" in text(step) and chat.session.state == State.CONFIRM_BOOKING
    [request] = requests(step)
    assert aside in request.details["request"] and request.details["phone"] == PHONE


@pytest.mark.parametrize("question", ["какое расписание на завтра?", "мои записи", "отмените мою запись"])
async def test_l3_still_records_exactly_one_request(question: str) -> None:
    chat = Chat()
    chat.engine.understander = LLMDown(chat.engine.understander)
    chat.profile = Profile(name="Анна", phone=PHONE, own_phone=PHONE)
    chat.crm.down = True
    step = await chat.say(question)
    assert TECHNICAL in text(step)
    assert [r.kind for r in requests(step)] == ["l3"]


async def test_crm_down_asked_again_goes_to_the_admin_without_a_second_request() -> None:
    chat = Chat()
    chat.crm.down = True
    first = await chat.say("какое расписание на завтра?")
    again = await chat.say("какое расписание на завтра?")
    assert len(requests(first)) == 1 and requests(again) == []
    assert chat.session.state == State.HANDOFF_TO_ADMIN


@pytest.mark.parametrize("aside", ["а где вы находитесь?", "а сколько стоит разовое?"])
async def test_after_an_aside_the_holiday_is_not_said_again(aside: str) -> None:
    """The studio's words are said once; the question asked again after a side question is only the choice."""
    chat = Chat("demo")
    first = await chat.say("запишите на стретчинг 12.12")
    assert "отчётный концерт" in text(first)
    again = await chat.say(aside)
    assert "отчётный концерт" not in text(again) and "Стретчинг" in text(again), text(again)
    assert chat.session.state is State.COLLECTING_DATETIME
