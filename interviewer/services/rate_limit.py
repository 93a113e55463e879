"""Token buckets per key: the request, answer and new-session limits of the web app and the login
bounds of the staff service (`services/login_guard.py`)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per key (a session token's hash, a client address). In process memory: with
    several workers each enforces its own share; a shared limiter belongs at the proxy.

    The table is capped at `max_keys`. Dropping a bucket that is not full would reset its client's
    limit, so only buckets at rest (refilled to the burst: dropping them loses nothing) are ever
    dropped; while the table is full of active buckets, new keys share one overflow bucket. A flood
    of made-up keys therefore limits itself and never frees a real client from its limit."""

    SWEEP_EVERY_S = 1.0

    def __init__(self, *, rate_per_minute: float, burst: int, max_keys: int = 100_000) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = burst
        self._buckets: dict[str, _Bucket] = {}
        self._overflow = _Bucket(burst, time.monotonic())
        self._lock = threading.Lock()
        self._max_keys = max_keys
        self._swept = -math.inf

    @property
    def size(self) -> int:
        return len(self._buckets)

    def check(self, key: str) -> float:
        """0 when allowed (and counted); otherwise seconds until the next request may pass."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self._max_keys:
                    self._sweep(now)
                if len(self._buckets) >= self._max_keys:
                    bucket = self._overflow
                else:
                    bucket = self._buckets[key] = _Bucket(self._burst, now)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return max(1, math.ceil((1 - bucket.tokens) / self._rate))

    def _sweep(self, now: float) -> None:
        """Drop the buckets at rest (at most once a second: it walks the whole table)."""
        if now - self._swept < self.SWEEP_EVERY_S:
            return
        self._swept = now
        full = [
            k for k, b in self._buckets.items() if b.tokens + (now - b.updated) * self._rate >= self._burst
        ]
        for key in full:
            del self._buckets[key]
