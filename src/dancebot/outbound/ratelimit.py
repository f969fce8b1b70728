"""Send-rate limits every worker process shares through Redis (PRODUCT.md §10.1).

Telegram: about 30 messages a second overall, and no more than one a second to one chat, a short burst
allowed. WhatsApp Cloud API: 80 messages a second per business number. The limits are enforced as GCRA
(the generic cell rate algorithm: one "theoretical arrival time" per limit in Redis, `ratelimit:{channel}`
and `ratelimit:{channel}:{chat}`) inside the worker's claim script (`queue.py`), so two workers together
stay within them. A button tap's answer is not a chat message: it counts only against the channel.
The channel's burst of 2 lets a worker that woke a few milliseconds late catch up, so the sustained
rate is the limit itself; no second ever holds more than 32 sends.

A 429 that still happens (a group's own limit, a flood wait) is honoured: that chat waits `retry_after`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Final

__all__ = ["DEFAULT_LIMITS", "TELEGRAM", "WHATSAPP", "ChannelLimits", "limits_json", "with_rate"]


@dataclass(frozen=True)
class ChannelLimits:
    per_second: float  # sends per second over all chats of the channel; 0 = unlimited
    burst: int = 1  # sends the channel may make at once after a quiet spell
    chat_interval: float = 0.0  # seconds between two messages to one chat; 0 = no per-chat limit
    chat_burst: int = 1  # messages one chat may get at once before the interval applies

    @property
    def chat_tolerance(self) -> float:
        """GCRA's burst tolerance for one chat: how far ahead of now its arrival time may run."""
        return max(0, self.chat_burst - 1) * self.chat_interval


TELEGRAM: Final = ChannelLimits(per_second=30.0, burst=2, chat_interval=1.0, chat_burst=3)
WHATSAPP: Final = ChannelLimits(per_second=80.0, burst=2)
DEFAULT_LIMITS: Final[Mapping[str, ChannelLimits]] = {"telegram": TELEGRAM, "whatsapp": WHATSAPP}


def with_rate(limits: Mapping[str, ChannelLimits], channel: str, per_second: float) -> dict[str, ChannelLimits]:
    """The same limits with another overall rate for one channel (`dancebot worker --telegram-rate`)."""
    changed = dict(limits)
    base = changed.get(channel, ChannelLimits(per_second=0))
    changed[channel] = ChannelLimits(per_second, base.burst, base.chat_interval, base.chat_burst)
    return changed


def limits_json(limits: Mapping[str, ChannelLimits]) -> str:
    """The form the claim script reads (cjson)."""
    return json.dumps({channel: {**asdict(lim), "chat_tau": lim.chat_tolerance} for channel, lim in limits.items()})
