"""Authentication and the protections around it: staff passwords (argon2id, memory-hard),
opaque bearer tokens stored hashed, a per-key rate limiter, security headers."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()  # argon2id with the library's (OWASP-grade) defaults
_DUMMY = _hasher.hash("timing-equaliser")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def hash_password(password: str) -> str:
    if len(password) < 10:
        raise ValueError("passwords need at least 10 characters")
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Token buckets per key (a session token's hash, a client address). In process memory: with
    several workers each enforces its own share; a shared limiter belongs at the proxy."""

    def __init__(self, *, rate_per_minute: float, burst: int, max_keys: int = 100_000) -> None:
        self._rate = rate_per_minute / 60.0
        self._burst = burst
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def check(self, key: str) -> float:
        """0 when allowed (and counted); otherwise seconds until the next request may pass."""
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.pop(key, None) or _Bucket(self._burst, now)
            bucket.tokens = min(self._burst, bucket.tokens + (now - bucket.updated) * self._rate)
            bucket.updated = now
            self._buckets[key] = bucket
            if len(self._buckets) > self._max_keys:
                self._buckets.popitem(last=False)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return 0.0
            return math.ceil((1 - bucket.tokens) / self._rate)
