"""rapidfuzz's scorers, imported on first use.

Only a process that reads messages needs them (the app, the console); the worker, which never does, is
spared the ~2.6 MB their extension modules take. After the first use a name costs what a module
attribute does. Type checkers see the real modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Levenshtein", "fuzz", "process"]


class _OnFirstUse:
    """A module imported when one of its names is first read; each name is then kept on the instance."""

    def __init__(self, name: str) -> None:
        self._module_name = name

    def __getattr__(self, attr: str) -> Any:
        value = getattr(importlib.import_module(self._module_name), attr)
        setattr(self, attr, value)
        return value


if TYPE_CHECKING:
    from rapidfuzz import fuzz, process
    from rapidfuzz.distance import Levenshtein
else:
    fuzz = _OnFirstUse("rapidfuzz.fuzz")
    process = _OnFirstUse("rapidfuzz.process")
    Levenshtein = _OnFirstUse("rapidfuzz.distance.Levenshtein")
