"""Issue 8 point 3: corrections re-resolve what depends on them. Another day where the kept time does not
exist: one class of that style that day → the summary, saying the time changed; several → that day's classes
as buttons; none → the nearest days. The same for a change of branch or style keeping the day. A bare "да" to
a list of several options is not a choice (one option → take it)."""

from __future__ import annotations

import re

import pytest

from tests.conversations.harness import CENTER, GOGOLYA, Booked, Client, assert_summary, text_of

pytestmark = pytest.mark.e2e


async def test_another_day_with_one_class_at_another_time_and_place(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на контемп во вторник в 19:30, Оля {c.phone}"))
    assert_summary(summary, name="Оля", phone=c.e164, klass="Contemporary", day="08.12", time="19:30", where=CENTER)
    reply = text_of(await c.say("а давай в понедельник"))
    # Monday has one Contemporary, at 09:00 on Гоголя
    assert_summary(reply, name="Оля", phone=c.e164, klass="Contemporary", day="07.12", time="09:00", where=GOGOLYA)
    assert "19:30" in reply or "врем" in reply.lower(), f"the summary does not say the time changed: {reply!r}"
    assert c.reservations() == []
    await c.say("да")
    assert c.reservations() == [Booked(326, "2026-12-07", "09:00")]


async def test_another_day_with_several_classes_offers_them(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на хип-хоп в пн в 18, Артём {c.phone}"))
    assert_summary(summary, name="Артём", phone=c.e164, klass="Hip-Hop", day="07.12", time="18:00", where=GOGOLYA)
    reply = text_of(await c.say("давай в субботу"))
    labels = [label for label, _ in c.last_buttons]
    assert "Всё верно?" not in reply, f"picked one of Saturday's two Hip-Hop classes by itself: {reply!r}"
    assert any("11:00" in label for label in labels) and any("12:00" in label for label in labels), labels
    assert all("05.12" in label for label in labels), f"not Saturday's classes: {labels}"
    summary = text_of(await c.tap_label("11:00"))
    assert_summary(summary, name="Артём", phone=c.e164, klass="Hip-Hop", day="05.12", time="11:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(324, "2026-12-05", "11:00")]


async def test_another_day_without_the_style_offers_the_nearest_days(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на контемп в пятницу, Оксана {c.phone}"))
    assert_summary(summary, name="Оксана", phone=c.e164, klass="Contemporary", day="04.12", time="19:30", where=CENTER)
    reply = text_of(await c.say("а в среду можно?"))
    assert "Всё верно?" not in reply and "нет" in reply.lower(), f"Wednesday has no Contemporary: {reply!r}"
    labels = [label for label, _ in c.last_buttons]
    assert labels and not any("Ср" in label for label in labels), f"not the nearest Contemporary days: {labels}"
    summary = text_of(await c.tap_label("06.12"))
    assert_summary(summary, name="Оксана", phone=c.e164, klass="Contemporary", day="06.12", time="13:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(310, "2026-12-06", "13:00")]


async def test_another_branch_keeping_the_day(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на хип-хоп в субботу в 12, Артём {c.phone}"))
    assert_summary(summary, name="Артём", phone=c.e164, klass="Hip-Hop", day="05.12", time="12:00", where=CENTER)
    reply = text_of(await c.say("а на гоголя можно?"))
    # Saturday on Гоголя has one Hip-Hop, at 11:00
    assert_summary(reply, name="Артём", phone=c.e164, klass="Hip-Hop", day="05.12", time="11:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(324, "2026-12-05", "11:00")]


async def test_another_style_keeping_the_day_with_one_class(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на сальсу в воскресенье, Инна {c.phone}"))
    assert_summary(summary, name="Инна", phone=c.e164, klass="Сальса", day="06.12", time="17:00", where=CENTER)
    reply = text_of(await c.say("хотя нет, давай на контемп"))
    assert_summary(reply, name="Инна", phone=c.e164, klass="Contemporary", day="06.12", time="13:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(310, "2026-12-06", "13:00")]


async def test_another_style_keeping_the_day_with_several_classes(client: Client) -> None:
    c = client
    summary = text_of(await c.say(f"запишите на хилс в субботу в 14, Даша {c.phone}"))
    assert_summary(summary, name="Даша", phone=c.e164, klass="High Heels", day="05.12", time="14:00", where=GOGOLYA)
    reply = text_of(await c.say("нет, лучше на хип-хоп"))
    labels = [label for label, _ in c.last_buttons]
    assert "Всё верно?" not in reply, f"picked one of Saturday's two Hip-Hop classes by itself: {reply!r}"
    assert sorted(re.findall(r"\d\d:\d\d", " ".join(labels))) == ["11:00", "12:00"], labels
    summary = text_of(await c.tap_label("12:00"))
    assert_summary(summary, name="Даша", phone=c.e164, klass="Hip-Hop", day="05.12", time="12:00", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(307, "2026-12-05", "12:00")]


async def test_a_bare_yes_to_several_options_asks_which(client: Client) -> None:
    c = client
    reply = text_of(await c.say("какие есть занятия по хип-хопу в субботу?"))
    assert "11:00" in reply and "12:00" in reply, reply
    reply = text_of(await c.say("да"))
    assert "зовут" not in reply and "Всё верно?" not in reply, f"a bare «да» chose one of two: {reply!r}"
    assert reply.count("?") == 1 and len(c.last_buttons) >= 2, f"does not ask which one: {reply!r}"
    reply = text_of(await c.tap_label("11:00"))
    assert "зовут" in reply
    summary = text_of(await c.say(f"Лёша {c.phone}"))
    assert_summary(summary, name="Лёша", phone=c.e164, klass="Hip-Hop", day="05.12", time="11:00", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(324, "2026-12-05", "11:00")]


async def test_a_bare_yes_to_one_option_takes_it(client: Client) -> None:
    c = client
    reply = text_of(await c.say("а в пятницу сальса во сколько?"))
    assert "20:15" in reply, reply
    reply = text_of(await c.say("да"))
    assert "зовут" in reply, f"a «да» to the one class offered did not take it: {reply!r}"
    summary = text_of(await c.say(f"Ника {c.phone}"))
    assert_summary(summary, name="Ника", phone=c.e164, klass="Сальса", day="04.12", time="20:15", where=GOGOLYA)
    await c.say("да")
    assert c.reservations() == [Booked(312, "2026-12-04", "20:15")]


async def test_another_day_while_the_name_is_pending(client: Client) -> None:
    c = client
    assert "зовут" in text_of(await c.say("хочу на контемп во вторник"))
    reply = text_of(await c.say("ой, давайте лучше в пятницу"))
    assert "зовут" in reply, f"Friday has one Contemporary: the name is still what is missing: {reply!r}"
    summary = text_of(await c.say(f"Нина {c.phone}"))
    assert_summary(summary, name="Нина", phone=c.e164, klass="Contemporary", day="04.12", time="19:30", where=CENTER)
    await c.say("да")
    assert c.reservations() == [Booked(309, "2026-12-04", "19:30")]
