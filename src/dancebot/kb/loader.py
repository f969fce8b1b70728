"""Read `knowledge/studio.yaml` and turn every problem into a line a studio admin can act on.

The app refuses to start with an invalid knowledge base (PRODUCT.md §8), so the error has to say what
to fix and where: each problem has a dotted YAML path (`teachers[2].rating`) and all of them are
reported at once, not just the first. Keys the schema does not know are only warnings (PRODUCT.md §8: any
file of the schema's shape loads, extra notes included); duplicate keys are warnings too, because
YAML silently keeps the last one. So is a `messages` key the bot's catalogue does not have (a typo would
silently leave the default text), when the caller passes the catalogue's keys as `known_messages`: the
catalogue belongs to the conversation layer, which depends on the KB, not the other way round.

    KBInvalid(ValueError)      -- the file cannot be used; `.problems` lists every KBProblem
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from difflib import get_close_matches
from pathlib import Path
from typing import Any, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from dancebot.kb.schema import KnowledgeBase

__all__ = ["KBInvalid", "KBProblem", "LoadedKB", "format_path", "format_problems", "load_kb", "validate_kb"]

Loc = tuple[str | int, ...]
_SCALARS = (str, int, float, bool, date, type(None))


@dataclass(frozen=True)
class KBProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class KBInvalid(ValueError):
    def __init__(self, problems: list[KBProblem], source: str | Path | None = None) -> None:
        self.problems = problems
        self.source = str(source) if source is not None else None
        super().__init__(problems)

    def __str__(self) -> str:
        where = f" {self.source}" if self.source else ""
        count = f"{len(self.problems)} problem" + ("" if len(self.problems) == 1 else "s")
        return f"knowledge base{where} is invalid ({count}):\n{format_problems(self.problems)}"


@dataclass(frozen=True)
class LoadedKB:
    kb: KnowledgeBase
    warnings: list[str] = field(default_factory=list)


def load_kb(path: str | Path, *, known_messages: Collection[str] | None = None) -> LoadedKB:
    """Read, parse and validate the file; raises KBInvalid listing every problem found.

    `known_messages`: the catalogue's keys; `messages` keys outside them are warnings (None: not checked).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KBInvalid([KBProblem("", f"file not found: {path}")], path) from None
    except UnicodeDecodeError as exc:
        raise KBInvalid([KBProblem("", f"file is not valid UTF-8 (byte {exc.start})")], path) from None
    except OSError as exc:
        raise KBInvalid([KBProblem("", f"cannot read {path}: {exc.strerror}")], path) from None
    data, duplicate_warnings = _parse_yaml(text, path)
    loaded = validate_kb(data, source=path, known_messages=known_messages)
    return LoadedKB(loaded.kb, [*duplicate_warnings, *loaded.warnings])


def validate_kb(
    data: Any, source: str | Path | None = None, *, known_messages: Collection[str] | None = None
) -> LoadedKB:
    """Validate already-parsed YAML data (no I/O); raises KBInvalid listing every problem."""
    if not isinstance(data, dict):
        got = "an empty file" if data is None else f"a {type(data).__name__}"
        problem = KBProblem("", f"top level must be a mapping of sections (schema_version, studio, ...), got {got}")
        raise KBInvalid([problem], source)
    try:
        kb = KnowledgeBase.model_validate(data)
    except ValidationError as exc:
        raise KBInvalid([_problem(error) for error in exc.errors()], source) from None
    warnings = [f"{format_path(loc)}: unknown key, ignored" for loc in _unknown_keys(KnowledgeBase, data, ())]
    if known_messages is not None:
        warnings += _unknown_messages(kb.messages, known_messages)
    return LoadedKB(kb, warnings)


def format_path(loc: Iterable[str | int]) -> str:
    """`("teachers", 2, "rating")` -> `teachers[2].rating`."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def format_problems(problems: Iterable[KBProblem]) -> str:
    return "\n".join(f"  {problem}" for problem in problems)


class _DuplicateKeyLoader(yaml.SafeLoader):
    """SafeLoader that records duplicate mapping keys instead of silently keeping the last one."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value != "<<":
                if key_node.value in seen:
                    line = key_node.start_mark.line + 1
                    self.duplicates.append(f"line {line}: duplicate key {key_node.value!r}, the last one wins")
                seen.add(key_node.value)
        return super().construct_mapping(node, deep=deep)


def _parse_yaml(text: str, source: Path) -> tuple[Any, list[str]]:
    loader = _DuplicateKeyLoader(text)
    try:
        return loader.get_single_data(), loader.duplicates
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        raise KBInvalid([KBProblem("", f"YAML syntax error{where}: {detail}")], source) from None
    except yaml.YAMLError as exc:
        raise KBInvalid([KBProblem("", f"YAML error: {exc}")], source) from None
    finally:
        loader.dispose()


def _problem(error: ErrorDetails) -> KBProblem:
    loc, message, value = error["loc"], error["msg"], error["input"]
    if error["type"] == "missing":
        message = "required section is missing" if len(loc) == 1 else "required key is missing"
    elif error["type"] == "list_type" and value is None:
        message += " (got nothing; write [] for an empty list)"
    elif error["type"].endswith("_type") and isinstance(value, _SCALARS):
        message += f" (got {value!r})"
    return KBProblem(format_path(loc), message)


def _unknown_keys(model: type[BaseModel], data: Any, loc: Loc) -> Iterator[Loc]:
    """Paths of keys the schema does not define; `rating` under teachers is an error, not listed here."""
    if not isinstance(data, dict):
        return
    fields = model.model_fields
    by_key = {**{f.alias: f for f in fields.values() if f.alias}, **fields}
    for key, value in data.items():
        if loc[:1] == ("teachers",) and key == "rating":
            continue
        known = by_key.get(key)
        if known is None:
            yield (*loc, str(key))
            continue
        nested, is_list = _nested_model(known.annotation)
        if nested is None:
            continue
        if is_list and isinstance(value, list):
            for i, item in enumerate(value):
                yield from _unknown_keys(nested, item, (*loc, key, i))
        elif not is_list:
            yield from _unknown_keys(nested, value, (*loc, key))


def _unknown_messages(messages: Iterable[str], known: Collection[str]) -> Iterator[str]:
    """Overrides of texts the bot does not have; `{key}_wa` is the WhatsApp form of any known key."""
    known_keys = set(known)
    for key in messages:
        if key in known_keys or (key.endswith("_wa") and key.removesuffix("_wa") in known_keys):
            continue
        close = get_close_matches(key, sorted(known_keys), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        yield f"{format_path(('messages', key))}: unknown message key, ignored{hint}"


def _nested_model(annotation: Any) -> tuple[type[BaseModel] | None, bool]:
    """The model a field holds directly or as a list, if any."""
    is_list = get_origin(annotation) is list
    inner = get_args(annotation)[0] if is_list else annotation
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        return inner, is_list
    return None, False
