"""Flood limits (with ``enforce_limits``): token buckets per bot and per group for send* methods."""

from __future__ import annotations

from dataclasses import dataclass

_SEND_LIKE_EXCLUDED = frozenset({"sendChatAction"})


@dataclass
class _Bucket:
    capacity: float
    rate: float  # tokens per second
    tokens: float
    stamp: float

    def wait_time(self, now: float) -> float:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate
