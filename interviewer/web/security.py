"""Authentication and the protections around it: staff passwords (argon2id, memory-hard),
opaque bearer tokens stored hashed, a per-key rate limiter with a capped table, the client
address behind trusted proxies, security headers."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address

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


Network = IPv4Network | IPv6Network


def forwarded_client(peer: str, forwarded_for: str, trusted: Sequence[Network]) -> str:
    """The client behind trusted proxies: X-Forwarded-For read right to left (each proxy appends
    the address it got the request from), skipping hops inside `trusted`; the first one outside
    is the client. Hops left of it were written by the client and are never believed, nor is the
    header at all when the peer itself is not a trusted proxy."""
    if not in_networks(peer, trusted):
        return peer
    client = peer
    for hop in reversed(forwarded_for.split(",")):
        hop = hop.strip()
        if not hop:
            continue
        client = hop
        if not in_networks(hop, trusted):
            break
    return client


def in_networks(address: str, networks: Sequence[Network]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False  # "unknown", a hostname, garbage: not a proxy of ours
    return any(ip in net for net in networks)
