"""Issue 8 point 3 on the second studio «Волна»: a correction re-resolves what depends on it. Another day
where the kept time does not exist: one class that day → the summary, saying the time changed; several →
that day's classes as buttons; none → the nearest days. The same for another branch or style."""

from __future__ import annotations

import pytest

from tests.conversations.harness import Client, assert_summary, text_of
from tests.conversations.second.volna import BORISENKO, OKEANSKY, SNEGOVAYA, Booked

pytestmark = pytest.mark.e2e


async def _bachata_wednesday(c: Client, name: str) -> None:
    summary = text_of(await c.say(f"запишите на бачату в среду в 19, {name}, {c.phone}"))
    assert_summary(summary, name=name, phone=c.e164, klass="Бачата", day="02.12", time="19:00", where=OKEANSKY)


async def test_another_day_with_one_class_at_another_time_goes_to_the_summary_saying_so(second_client: Client) -> None:
    c = second_client
    await _bachata_wednesday(c, "Ксения")
    reply = text_of(await c.say("а давай в пятницу"))
    # Friday has one Бачата, at 20:00 on Снеговая: no 19:00 that day
    assert_summary(reply, name="Ксения", phone=c.e164, klass="Бачата", day="04.12", time="20:00", where=SNEGOVAYA)
    assert "19:00" in reply or "врем" in reply.lower(), f"the summary does not say the time changed: {reply!r}"
    assert c.reservations() == []
    await c.say("да")
    assert c.reservations() == [Booked(803, "2026-12-04", "20:00")]


async def test_another_day_with_several_classes_offers_that_days_classes(second_client: Client) -> None:
    c = second_client
    await _bachata_wednesday(c, "Ксения")
    reply = text_of(await c.say("а в субботу можно?"))
    labels = [label for label, _ in c.last_buttons]
    assert "Всё верно?" not in reply, f"picked one of Saturday's two classes by itself: {reply!r}"
    assert any("13:00" in label for label in labels) and any("17:00" in label for label in labels), labels
    assert all("05.12" in label for label in labels), f"not Saturday's classes: {labels}"
    summary = text_of(await c.tap_label("17:00"))
    assert_summary(summary, name="Ксения", phone=c.e164, klass="Бачата", day="05.12", time="17:00", where=SNEGOVAYA)
    await c.say("да")
    assert c.reservations() == [Booked(805, "2026-12-05", "17:00")]


async def test_another_day_without_the_style_offers_the_nearest_days(second_client: Client) -> None:
    c = second_client
    await _bachata_wednesday(c, "Ксения")
    reply = text_of(await c.say("ой, а в четверг есть?"))
    assert "Всё верно?" not in reply and "нет" in reply.lower(), f"Thursday has no Бачата: {reply!r}"
    labels = [label for label, _ in c.last_buttons]
    assert labels and not any("Чт" in label for label in labels), f"not the nearest Бачата days: {labels}"
    summary = text_of(await c.tap_label("04.12"))
    assert_summary(summary, name="Ксения", phone=c.e164, klass="Бачата", day="04.12", time="20:00", where=SNEGOVAYA)
    await c.say("да")
    assert c.reservations() == [Booked(803, "2026-12-04", "20:00")]


async def test_another_branch_keeping_the_day_offers_that_branchs_nearest(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"запишите на растяжку в субботу в 10, Вера {c.phone}"))
    assert_summary(summary, name="Вера", phone=c.e164, klass="Растяжка", day="05.12", time="10:00", where=SNEGOVAYA)
    reply = text_of(await c.say("а на борисенко можно?"))
    assert "Всё верно?" not in reply, f"no Растяжка on Борисенко on Saturday, yet a summary: {reply!r}"
    labels = [label for label, _ in c.last_buttons]
    assert labels and all("Борисенко" in label for label in labels), f"not Борисенко's Растяжка: {labels}"
    summary = text_of(await c.tap_label("03.12"))
    assert_summary(summary, name="Вера", phone=c.e164, klass="Растяжка", day="03.12", time="08:30", where=BORISENKO)
    await c.say("да")
    assert c.reservations() == [Booked(821, "2026-12-03", "08:30")]


async def test_another_style_keeping_the_day_takes_that_days_one_class(second_client: Client) -> None:
    c = second_client
    summary = text_of(await c.say(f"запишите на зумбу в чт в 10 утра, Алина {c.phone}"))
    assert_summary(summary, name="Алина", phone=c.e164, klass="Zumba", day="03.12", time="10:00", where=BORISENKO)
    reply = text_of(await c.say("ой, лучше на латину"))
    # Thursday has one Латина, 19:00, same branch
    assert_summary(reply, name="Алина", phone=c.e164, klass="Латина", day="03.12", time="19:00", where=BORISENKO)
    await c.say("да")
    assert c.reservations() == [Booked(816, "2026-12-03", "19:00")]
