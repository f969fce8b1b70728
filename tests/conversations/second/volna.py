"""What a client of the second studio «Волна» sees (tests/studios/second): its addresses, its receipt.

The KB has no `policies`, so there is no `what_to_bring`: the receipt must still read as a whole message
(no dangling «С собой:» line with nothing after it).
"""

from __future__ import annotations

from pathlib import Path

from tests.conversations.harness import Booked

__all__ = ["BORISENKO", "KB_PATH", "OKEANSKY", "SNEGOVAYA", "Booked", "assert_receipt"]

KB_PATH = Path(__file__).resolve().parents[2] / "studios" / "second" / "studio.yaml"
OKEANSKY = "Океанский проспект, 17"  # the branch addresses a summary and a receipt must carry
SNEGOVAYA = "ул. Снеговая, 8А"
BORISENKO = "ул. Борисенко, 35"


def assert_receipt(reply: str, *, klass: str, day: str, time: str, where: str) -> None:
    """The receipt (PRODUCT.md §5.5): date, time, group, address — and no empty «what to bring» line."""
    assert "записан" in reply, f"not a receipt: {reply!r}"
    assert klass in reply and day in reply and time in reply and where in reply, f"receipt lacks facts: {reply!r}"
    for line in reply.splitlines():
        label, _, rest = line.partition(":")
        assert not (label.strip() == "С собой" and not rest.strip()), f"an empty «С собой:» line: {reply!r}"
