"""Staff passwords (argon2id, memory-hard) and opaque tokens (stored hashed by their users).

Nothing is computed at import: the dummy hash that evens out the time of a login for an unknown
account costs as much as a real check (0.2-0.8 s of CPU), so it is made on the first check that
needs it, once."""

from __future__ import annotations

import functools
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_PASSWORD_CHARS = 10


@functools.cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id with the library's (OWASP-grade) defaults


@functools.cache
def _dummy() -> str:
    return _hasher().hash("timing-equaliser")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise ValueError(f"passwords need at least {MIN_PASSWORD_CHARS} characters")
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` is the one of `stored`; with no stored hash (no such account) the check
    runs against a dummy, so that the answer takes as long and says no."""
    try:
        return _hasher().verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)
