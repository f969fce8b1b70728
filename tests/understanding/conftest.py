"""The shipped demo studio, loaded once: the rules are tested against the KB clients will meet."""

from __future__ import annotations

from pathlib import Path

import pytest

from dancebot.kb import KnowledgeBase, load_kb

KB_PATH = Path(__file__).resolve().parents[2] / "knowledge" / "studio.yaml"


@pytest.fixture(scope="session")
def kb() -> KnowledgeBase:
    return load_kb(KB_PATH).kb
