"""load_kb: the shipped demo studio loads, and every broken file names each problem by its YAML path."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dancebot.kb import KBInvalid, load_kb

SHIPPED = Path(__file__).resolve().parents[2] / "knowledge" / "studio.yaml"


def shipped_data() -> dict[str, Any]:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "studio.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def problems(tmp_path: Path, data: Any) -> dict[str, str]:
    with pytest.raises(KBInvalid) as info:
        load_kb(write(tmp_path, data))
    return {problem.path: problem.message for problem in info.value.problems}


def test_shipped_studio_loads_cleanly() -> None:
    loaded = load_kb(SHIPPED)
    kb = loaded.kb

    assert loaded.warnings == []
    assert len(kb.services) >= 4 and all(service.aliases for service in kb.services)
    assert len(kb.teachers) >= 5 and all(teacher.aliases for teacher in kb.teachers)
    assert [branch.id for branch in kb.studio.branches] == ["center", "gogolya"]
    assert len(kb.faq) >= 12 and all(entry.keywords for entry in kb.faq)
    assert kb.holidays
    assert all(service.description and service.level for service in kb.services)


def test_shipped_studio_matches_the_demo_ids() -> None:
    kb = load_kb(SHIPPED).kb

    assert {s.id: s.price_single for s in kb.services} == {
        "high_heels": 700,
        "hip_hop": 600,
        "contemporary": 650,
        "salsa": 650,
        "stretching": 550,
        "kids": 500,
    }
    assert {t.id: t.crm_teacher_id for t in kb.teachers} == {
        "anastasia": 101,
        "dmitry": 102,
        "ekaterina": 103,
        "igor": 104,
        "olga": 105,
    }
    assert "Настя" in kb.teacher("anastasia").aliases
    assert kb.tone.pronoun == "вы"
    assert any(s.classes == -1 for s in kb.subscriptions)


def _set(path: tuple[str | int, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value

    return mutate


def _delete(path: tuple[str | int, ...]) -> Callable[[dict[str, Any]], None]:
    def mutate(data: dict[str, Any]) -> None:
        node = data
        for part in path[:-1]:
            node = node[part]
        del node[path[-1]]

    return mutate


@pytest.mark.parametrize(
    ("mutate", "path", "fragment"),
    [
        pytest.param(_delete(("faq",)), "faq", "required section is missing", id="missing-section"),
        pytest.param(
            _delete(("services", 1, "price_single")),
            "services[1].price_single",
            "required key",
            id="missing-key",
        ),
        pytest.param(_set(("services", 0, "price_single"), "700"), "services[0].price_single", "'700'", id="str-int"),
        pytest.param(
            _set(("studio", "branches", 1, "crm_branch_id"), 2.5),
            "studio.branches[1].crm_branch_id",
            "integer",
            id="float-int",
        ),
        pytest.param(_set(("teachers", 0, "aliases"), "Настя"), "teachers[0].aliases", "list", id="str-list"),
        pytest.param(_set(("holidays",), None), "holidays", "[]", id="empty-list-as-null"),
        pytest.param(_set(("tone", "pronoun"), "Вы"), "tone.pronoun", "вы", id="pronoun"),
        pytest.param(_set(("schema_version",), "2.0"), "schema_version", '"1.0"', id="schema-version"),
        pytest.param(_set(("schema_version",), 1.0), "schema_version", "quoted", id="schema-version-number"),
        pytest.param(_set(("teachers", 2, "rating"), 5), "teachers[2].rating", "PRODUCT.md §8", id="rating"),
        pytest.param(
            _set(("teachers", 0, "reviews"), {"rating": 4.9}),
            "teachers[0].reviews.rating",
            "not allowed",
            id="nested-rating",
        ),
        pytest.param(_set(("studio", "timezone"), "Vladivostok"), "studio.timezone", "Asia/Vladivostok", id="timezone"),
        pytest.param(
            _set(("teachers", 1, "styles"), ["breaking"]),
            "teachers[1].styles[0]",
            "'breaking'",
            id="style-ref",
        ),
        pytest.param(_set(("teachers", 4, "id"), "anastasia"), "teachers[4].id", "duplicate", id="dup-teacher"),
        pytest.param(
            _set(("studio", "branches", 1, "id"), "center"),
            "studio.branches[1].id",
            "duplicate",
            id="dup-branch",
        ),
        pytest.param(
            _set(("services", 5, "crm_style_ids"), [11]),
            "services[5].crm_style_ids[0]",
            "high_heels",
            id="dup-crm-style",
        ),
        pytest.param(
            _set(("holidays", 1, "to"), "2026-12-30"),
            "holidays[1].to",
            "before it starts",
            id="holiday-order",
        ),
        pytest.param(_set(("subscriptions", 2, "classes"), -5), "subscriptions[2].classes", "-1", id="classes"),
    ],
)
def test_invalid_file_reports_the_yaml_path(
    tmp_path: Path, mutate: Callable[[dict[str, Any]], None], path: str, fragment: str
) -> None:
    data = shipped_data()
    mutate(data)

    found = problems(tmp_path, data)

    assert path in found, found
    assert fragment in found[path]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    data = shipped_data()
    del data["escalation"]
    data["studio"]["timezone"] = "Asia/Vladivostock"
    data["services"][2]["price_single"] = "650 ₽"
    data["teachers"][3]["rating"] = 5
    data["faq"][0]["keywords"] = "первый раз"

    with pytest.raises(KBInvalid) as info:
        load_kb(write(tmp_path, data))

    expected = {
        "escalation",
        "studio.timezone",
        "services[2].price_single",
        "teachers[3].rating",
        "faq[0].keywords",
    }
    assert {p.path for p in info.value.problems} == expected
    lines = str(info.value).splitlines()
    assert "5 problems" in lines[0]
    assert sorted(line.strip().split(":")[0] for line in lines[1:]) == sorted(expected)


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    lines = SHIPPED.read_text(encoding="utf-8").splitlines()
    broken = next(i for i, line in enumerate(lines) if "price_single: 600" in line)
    lines[broken] = lines[broken].replace("price_single: 600", "price_single: 600: 650")
    path = tmp_path / "studio.yaml"
    path.write_text("\n".join(lines), encoding="utf-8")

    with pytest.raises(KBInvalid) as info:
        load_kb(path)

    [problem] = info.value.problems
    assert "YAML syntax error" in problem.message
    assert f"line {broken + 1}," in problem.message


@pytest.mark.parametrize(
    ("text", "fragment"),
    [("", "empty file"), ("- studio\n- tone\n", "list"), ("просто текст\n", "str")],
)
def test_top_level_must_be_a_mapping(tmp_path: Path, text: str, fragment: str) -> None:
    path = tmp_path / "studio.yaml"
    path.write_text(text, encoding="utf-8")

    with pytest.raises(KBInvalid) as info:
        load_kb(path)

    [problem] = info.value.problems
    assert "mapping" in problem.message and fragment in problem.message


def test_missing_file_is_a_problem_not_a_traceback(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "studio.yaml"

    with pytest.raises(KBInvalid) as info:
        load_kb(missing)

    assert str(missing) in str(info.value)


def test_unknown_keys_are_warnings_with_paths(tmp_path: Path) -> None:
    data = shipped_data()
    data["studio"]["instagram"] = "@ritm.vl"
    data["teachers"][0]["nickname"] = "Настюша"
    data["services"][2]["duration_min"] = 60
    data["holidays"][0]["comment"] = "зал арендован"
    data["promo"] = {"code": "РИТМ10"}

    loaded = load_kb(write(tmp_path, data))

    assert sorted(w.split(":")[0] for w in loaded.warnings) == [
        "holidays[0].comment",
        "promo",
        "services[2].duration_min",
        "studio.instagram",
        "teachers[0].nickname",
    ]
    assert loaded.kb.teacher("anastasia").name == "Анастасия Ковалёва"


def test_rating_is_an_error_not_a_warning(tmp_path: Path) -> None:
    data = shipped_data()
    data["teachers"][0]["rating"] = 5

    found = problems(tmp_path, data)

    assert list(found) == ["teachers[0].rating"]


def test_duplicate_yaml_key_is_a_warning_with_its_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8") + "\nbooking:\n  lookahead_days: 7\n"
    path = tmp_path / "studio.yaml"
    path.write_text(text, encoding="utf-8")
    duplicate_line = len(text.splitlines()) - 1

    loaded = load_kb(path)

    assert loaded.kb.booking.lookahead_days == 7
    assert loaded.warnings == [f"line {duplicate_line}: duplicate key 'booking', the last one wins"]
