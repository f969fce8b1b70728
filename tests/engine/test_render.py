"""How classes read in a message, and the channel limits every reply is cut to (PRODUCT.md §5.2, §5.5)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dancebot.conversation.render import enforce_limits, occ_button, occ_line, schedule_lines
from dancebot.kb import KnowledgeBase, load_kb
from tests.factories import occ

HH_GOGOLYA = occ(303, "2026-12-09", "19:00", 11, 101, 2)
WEEK = [
    occ(302, "2026-12-02", "19:00", 11, 101, 1),
    occ(321, "2026-12-03", "17:00", 16, 105, 1),
    occ(309, "2026-12-04", "19:30", 13, 103, 1),
    occ(312, "2026-12-04", "20:15", 14, 104, 2),
    occ(305, "2026-12-07", "18:00", 12, 102, 2),
    occ(317, "2026-12-09", "10:00", 15, 105, 2),
    HH_GOGOLYA,
]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_kb("knowledge/studio.yaml").kb


def emoji_in(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) == "So"]


# ---- one class ----------------------------------------------------------------------------------


def test_schedule_line_format(kb: KnowledgeBase) -> None:
    assert occ_line(HH_GOGOLYA, kb, "ru") == "Ср 09.12 19:00 High Heels — Настя, Гоголя"
    assert occ_line(WEEK[2], kb, "ru") == "Пт 04.12 19:30 Contemporary — Катя, Центр"
    assert occ_line(WEEK[4], kb, "ru") == "Пн 07.12 18:00 Hip-Hop — Дима, Гоголя"


def test_schedule_line_in_english_uses_english_weekdays(kb: KnowledgeBase) -> None:
    assert occ_line(HH_GOGOLYA, kb, "en").startswith("Wed 09.12 19:00 High Heels — ")


def test_schedule_line_without_branch_or_kb_teacher(kb: KnowledgeBase) -> None:
    # A template without a branch and a teacher the KB doesn't list still reads cleanly.
    stray = occ(330, "2026-12-05", "12:00", 15, 999, None)
    assert occ_line(stray, kb, "ru") == "Сб 05.12 12:00 Стретчинг — Мария Иванова"


def test_occurrence_button(kb: KnowledgeBase) -> None:
    button = occ_button(HH_GOGOLYA, kb, "ru")
    assert button.data == "pick:303:2026-12-09"
    assert button.text == "Ср 09.12 19:00, Гоголя"
    assert occ_button(HH_GOGOLYA, kb, "ru", with_style=True).text == "Ср 09.12 19:00 High Heels, Гоголя"


def test_button_data_fits_telegram_64_bytes(kb: KnowledgeBase) -> None:
    huge_id = occ(2_147_483_647, "2027-12-31", "23:59", 16, 105, 2)
    for o in [*WEEK, huge_id]:
        assert len(occ_button(o, kb, "ru", with_style=True).data.encode()) <= 64


# ---- a list of classes --------------------------------------------------------------------------


def test_at_most_five_lines_and_says_there_is_more(kb: KnowledgeBase) -> None:
    lines, more = schedule_lines(WEEK, kb, "ru", budget=1000)
    assert lines == [occ_line(o, kb, "ru") for o in WEEK[:5]]
    assert more


def test_all_fit_nothing_more(kb: KnowledgeBase) -> None:
    lines, more = schedule_lines(WEEK[:3], kb, "ru", budget=1000)
    assert len(lines) == 3
    assert not more


def test_budget_cuts_the_list(kb: KnowledgeBase) -> None:
    two = sum(len(occ_line(o, kb, "ru")) + 1 for o in WEEK[:2])
    lines, more = schedule_lines(WEEK[:3], kb, "ru", budget=two)
    assert lines == [occ_line(o, kb, "ru") for o in WEEK[:2]]
    assert more
    assert sum(len(line) + 1 for line in lines) <= two
    assert schedule_lines(WEEK, kb, "ru", budget=10) == ([], True)


def test_nothing_to_show(kb: KnowledgeBase) -> None:
    assert schedule_lines([], kb, "ru", budget=300) == ([], False)


# ---- channel limits -----------------------------------------------------------------------------


def test_text_under_the_limit_is_untouched() -> None:
    text = "Проверьте, пожалуйста:\nИмя: Аня\nТелефон: +7 914 123-45-67\nВсё верно?"
    assert enforce_limits(text, "telegram") == text
    exactly = "а" * 300
    assert enforce_limits(exactly, "telegram") == exactly


def _schedule_reply(lines: int) -> str:
    body = [f"Пт 04.12 19:{i:02d} Contemporary — Катя, Центр, ул. Светланская, 29" for i in range(lines)]
    return "\n".join(["Ближайшие занятия:", *body, "Записать на одно из них?"])


@pytest.mark.parametrize(("channel", "limit"), [("telegram", 300), ("whatsapp", 200)])
def test_long_reply_is_cut_at_a_line_break(channel: str, limit: int) -> None:
    text = _schedule_reply(10)
    cut = enforce_limits(text, channel)
    assert len(cut) <= limit
    kept = cut.removesuffix("…").split("\n")
    original = text.split("\n")
    assert kept == original[: len(kept)]  # whole lines only, none cut mid-way
    assert len(kept) >= 2


def test_long_line_without_breaks_is_cut_between_words() -> None:
    words = ["занятие"] * 60
    cut = enforce_limits(" ".join(words), "whatsapp")
    assert len(cut) <= 200
    assert set(cut.removesuffix("…").split(" ")) == {"занятие"}


def test_reply_of_one_unbroken_token_still_fits() -> None:
    # No line break and no space to cut at (a long link, a pasted code): the limit still holds.
    assert len(enforce_limits("а" * 400, "telegram")) <= 300
    assert len(enforce_limits("https://vk.com/ritm_dance?w=" + "x" * 250, "whatsapp")) <= 200


def test_only_the_first_two_emoji_are_kept() -> None:
    out = enforce_limits("Готово ✅ Ждём вас 💃 до встречи 😊 🎉", "telegram")
    assert emoji_in(out) == ["✅", "💃"]
    assert out.split() == ["Готово", "✅", "Ждём", "вас", "💃", "до", "встречи"]
    assert emoji_in(enforce_limits("⏳⏳⏳⏳", "whatsapp")) == ["⏳", "⏳"]


@given(
    st.lists(st.text(alphabet="абвгд ежз,.?💃✅😊⏳", max_size=120), min_size=1, max_size=12),
    st.sampled_from(["telegram", "whatsapp"]),
)
def test_any_reply_obeys_the_contract(lines: list[str], channel: str) -> None:
    out = enforce_limits("\n".join(lines), channel)
    assert len(out) <= {"telegram": 300, "whatsapp": 200}[channel]
    assert len(emoji_in(out)) <= 2
