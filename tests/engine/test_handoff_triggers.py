"""What hands a conversation to the administrator (PRODUCT.md §11, §5.5), in the pure engine: the facts
of a freeze first, a complaint or a refund at once, a miss the client insists on, and the context the
admin gets."""

from __future__ import annotations

import pytest

from dancebot.conversation.effects import AlertAdmin
from dancebot.conversation.engine import Engine, Step
from dancebot.conversation.session import Session
from dancebot.conversation.states import State
from dancebot.conversation.triggers import complaint_kind, insists, is_freeze
from tests.engine.pure import StaticCRM, make_engine, say


@pytest.fixture
def engine() -> tuple[Engine, StaticCRM]:
    return make_engine()


def alerts(step: Step) -> list[str]:
    return [e.text for e in step.effects if isinstance(e, AlertAdmin)]


def text(step: Step) -> str:
    return "\n".join(j.text for j in step.jobs)


async def talk(engine: Engine, session: Session, *lines: str) -> list[Step]:
    return [await say(engine, session, line) for line in lines]


def fresh(chat_id: int = 1) -> Session:
    return Session(channel="telegram", chat_id=chat_id, language="ru")


async def test_a_freeze_asks_for_the_reason_and_dates_before_the_admin(engine: tuple[Engine, StaticCRM]) -> None:
    s = fresh()
    ask, done = await talk(engine[0], s, "хочу заморозить абонемент", "заболела, с 5 по 12 декабря")
    assert "причину и даты" in text(ask) and alerts(ask) == []
    assert text(done) == "Передаю администратору ⏳" and s.state == State.HANDOFF_TO_ADMIN
    [alert] = alerts(done)
    assert "заморозка абонемента — причина: заболела, с 5 по 12 декабря; даты: 05.12–12.12" in alert


async def test_a_freeze_asks_only_for_what_is_missing_then_hands_over_anyway(engine: tuple[Engine, StaticCRM]) -> None:
    s = fresh()
    _, dates, reason = await talk(engine[0], s, "можно поставить абонемент на паузу?", "с 5 по 12", "по болезни")
    assert "причину заморозки" in text(dates) and s.state == State.HANDOFF_TO_ADMIN
    assert "причина: по болезни; даты: с 5 по 12" in alerts(reason)[0]
    s = fresh(2)
    *_, last = await talk(engine[0], s, "заморозьте абонемент", "ну так надо", "не знаю")
    assert s.state == State.HANDOFF_TO_ADMIN and "даты: не назвал" in alerts(last)[0]  # never stuck asking


async def test_a_freeze_said_whole_goes_at_once(engine: tuple[Engine, StaticCRM]) -> None:
    s = fresh()
    [step] = await talk(engine[0], s, "можно заморозить абонемент на две недели? уезжаю в командировку")
    assert s.state == State.HANDOFF_TO_ADMIN and "даты: на две недели" in alerts(step)[0]


async def test_a_freeze_can_be_dropped_or_left_for_a_booking(engine: tuple[Engine, StaticCRM]) -> None:
    s = fresh()
    _, dropped = await talk(engine[0], s, "хочу заморозить абонемент", "не надо")
    assert s.state == State.IDLE and "не передаю" in text(dropped) and alerts(dropped) == []
    await talk(engine[0], s, "хочу заморозить абонемент", "запишите меня на сальсу")
    assert s.state == State.COLLECTING_DATETIME and s.pending.freeze is None


async def test_complaints_and_refunds_go_to_the_admin_at_once(engine: tuple[Engine, StaticCRM]) -> None:
    s = fresh()
    [step] = await talk(engine[0], s, "хочу пожаловаться на тренера, нахамил")
    assert s.state == State.HANDOFF_TO_ADMIN and "жалоба: «хочу пожаловаться" in alerts(step)[0]
    s = fresh(2)
    [step] = await talk(engine[0], s, "верните деньги за абонемент")
    assert "₽" not in text(step) and "возврат денег" in alerts(step)[0]


async def test_a_question_asked_again_after_a_miss_is_handed_over(engine: tuple[Engine, StaticCRM]) -> None:
    s = fresh()
    first, again = await talk(
        engine[0], s, "можно у вас арендовать зал на вечер?", "можно арендовать у вас зал на вечер?"
    )
    assert "Уточню у администратора" in text(first) and s.state == State.HANDOFF_TO_ADMIN
    assert "настаивает" in alerts(again)[0]


async def test_a_schedule_asked_again_while_the_crm_is_down_is_handed_over(engine: tuple[Engine, StaticCRM]) -> None:
    eng, crm = engine
    crm.down = True
    s = fresh()
    first, again = await talk(eng, s, "какое расписание на завтра?", "а на субботу какое расписание?")
    assert "не могу проверить расписание" in text(first) and s.state == State.HANDOFF_TO_ADMIN
    assert "Передаю администратору" in text(again)


async def test_the_admin_gets_the_unfinished_booking(engine: tuple[Engine, StaticCRM]) -> None:
    s = fresh()
    _, _, step = await talk(engine[0], s, "хочу на хилс в субботу", "Анна 89141234567", "позовите администратора")
    [alert] = alerts(step)
    assert "Клиент: Анна (+79141234567)" in alert and "состояние: CONFIRM_BOOKING" in alert
    assert "Запись не закончена: Сб 05.12 14:00 High Heels" in alert
    assert "Последние сообщения: хочу на хилс в субботу | Анна 89141234567 | позовите администратора" in alert
    assert "Ответить: /reply 1 текст" in alert and "Закрыть диалог: /close 1" in alert


def test_trigger_words() -> None:
    assert is_freeze("заморозьте мне абик") and is_freeze("поставьте абонемент на паузу")
    assert not is_freeze("можно поставить музыку на паузу?")  # a pause, but not of the membership
    assert complaint_kind("хочу вернуть деньги") == "refund" and complaint_kind("у меня претензия") == "complaint"
    assert complaint_kind("вернусь к вам в январе") is None
    assert insists("я же спросила!", ["а парковка есть?", "я же спросила!"])
    assert not insists("а душ есть?", ["а парковка есть?", "а душ есть?"])
