"""The bounds around staff password checks.

One argon2id check costs 0.2-0.8 s of CPU, by design. Run on the thread pool that serves staff
reads and database work, a few wrong logins a second (well inside the per-address request limit)
slowed every other request tenfold. So a password check is admitted only past these bounds, in
this order, each raising `TooMany` (429 with a Retry-After on the web) at once when it is exceeded:

1. the account is not backing off: after `failures_before_backoff` failed logins in a row an
   account (known or not: no hint of which exist) waits 5 s, then twice as long after each
   further failure, up to `backoff_max_s`; a successful login resets it;
2. the client address is inside its own login rate (so one client cannot use up the next one);
3. all clients together are inside the global login rate (the CPU spent on checks is bounded);
4. a place is free: `checks_at_once` checks run on their own small thread pool, `queue` more may
   wait for it, and anything beyond is refused without waiting.

The state is in process memory, like the rate limiters: with several workers each enforces its
own share (the back-off grows per worker; a shared limit belongs at the proxy).
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from interviewer.config import Settings
from interviewer.errors import TooMany
from interviewer.services.credentials import verify_password
from interviewer.services.rate_limit import RateLimiter

BUSY_RETRY_S = 1
BACKOFF_BASE_S = 5.0
FORGET_AFTER_S = 24 * 3600.0
"""A run of failures older than this is forgotten (a success forgets it at once)."""


@dataclass
class _Failures:
    count: int
    last: float
    until: float = 0.0


class LoginGuard:
    def __init__(
        self,
        *,
        checks_at_once: int,
        queue: int,
        per_minute: int,
        per_address_per_minute: int,
        failures_before_backoff: int,
        backoff_max_s: float,
        max_keys: int = 100_000,
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=checks_at_once, thread_name_prefix="password-check")
        self._capacity = checks_at_once + queue
        self._admitted = 0
        self._lock = threading.Lock()
        self._all = RateLimiter(rate_per_minute=per_minute, burst=min(10, per_minute), max_keys=10)
        self._per_address = RateLimiter(
            rate_per_minute=per_address_per_minute,
            burst=min(10, per_address_per_minute),
            max_keys=max_keys,
        )
        self._threshold = failures_before_backoff
        self._backoff_max = backoff_max_s
        self._failures: OrderedDict[str, _Failures] = OrderedDict()
        self._max_keys = max_keys

    @classmethod
    def from_settings(cls, settings: Settings) -> LoginGuard:
        return cls(
            checks_at_once=settings.login_checks_at_once,
            queue=settings.login_queue,
            per_minute=settings.logins_per_minute,
            per_address_per_minute=settings.logins_per_minute_per_address,
            failures_before_backoff=settings.login_failures_before_backoff,
            backoff_max_s=settings.login_backoff_max_s,
            max_keys=settings.rate_limit_max_keys,
        )

    def admit(self, *, account: str, address: str) -> None:
        """Bounds 1-3 (module docstring): `TooMany` unless a password check may be tried now."""
        now = time.monotonic()
        with self._lock:
            failures = self._failures.get(account)
            if failures is not None and failures.until > now:
                wait = math.ceil(failures.until - now)
                raise TooMany(f"too many failed logins for this account; retry in {wait} s", retry_after=wait)
        for limiter, key, what in (
            (self._per_address, address, "logins from this address"),
            (self._all, "*", "logins"),
        ):
            wait = int(limiter.check(key))
            if wait:
                raise TooMany(f"too many {what}; retry in {wait} s", retry_after=wait)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Bound 4: the check on the guard's own threads, or `TooMany` at once when they are all taken."""
        with self._lock:
            if self._admitted >= self._capacity:
                raise TooMany(f"too many logins at once; retry in {BUSY_RETRY_S} s", retry_after=BUSY_RETRY_S)
            self._admitted += 1
        try:
            future = self._pool.submit(verify_password, stored, password)
        except RuntimeError:  # shut down
            self._release()
            raise
        # released when the check is done, not when the caller stops waiting (a cancelled
        # request's check still runs to its end on the pool)
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def failed(self, account: str) -> int:
        """Count a failed login of `account`; returns its failures in a row."""
        now = time.monotonic()
        with self._lock:
            entry = self._failures.pop(account, None)
            if entry is None or now - entry.last > FORGET_AFTER_S:
                entry = _Failures(count=0, last=now)
            entry.count += 1
            entry.last = now
            if entry.count >= self._threshold:
                doubling = min(entry.count - self._threshold, 30)
                entry.until = now + min(self._backoff_max, BACKOFF_BASE_S * 2**doubling)
            self._failures[account] = entry
            while len(self._failures) > self._max_keys:
                self._failures.popitem(last=False)  # the longest quiet
            return entry.count

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(account, None)

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _release(self, _: Future[bool] | None = None) -> None:
        with self._lock:
            self._admitted -= 1
