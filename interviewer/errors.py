"""The one error tree. Every layer raises its members; only `web/` turns them into HTTP statuses
(one table, `web/errors.py`) and only the CLI turns them into exit codes. A message is written for
the person who made the request: it never carries candidate text, SQL or a secret.

    InterviewerError
    ├── ServiceError             a request the use cases refuse (4xx) or cannot serve now (503)
    │   ├── NotFound             unknown session, question, user; a token that does not own it
    │   ├── Unauthorized         no staff login, a wrong password, an expired login
    │   │   └── Expired          a candidate's link past its lifetime
    │   ├── Forbidden            a role that may not do this; invite-only; a report kept from the candidate
    │   ├── Conflict             the state forbids it now: an answer while one is pending, an ended interview
    │   ├── PreconditionFailed   an edit based on a version that is no longer the current one
    │   ├── Invalid              well-formed but wrong: an unknown plan, a bank document that breaks the rules
    │   ├── TooMany              a rate or login bound; `retry_after` seconds
    │   ├── Overloaded           at capacity: nothing was taken, retry in a few seconds
    │   └── Unavailable          taken but not served now (the answer is saved), retry shortly
    ├── StorageUnavailable       the database cannot take writes (disk full, read-only, corrupt)
    └── EngineError              the interview engine failed (a bug: the answer is saved)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class InterviewerError(Exception):
    """The root: anything the application raises on purpose."""


class ServiceError(InterviewerError):
    """A use case refused or could not serve the request; `detail` is what the client reads."""

    @property
    def detail(self) -> Any:
        return str(self)


class NotFound(ServiceError):
    pass


class Unauthorized(ServiceError):
    pass


class Expired(Unauthorized):
    """The candidate's token is right but past its lifetime (counted from the session's start)."""


class Forbidden(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class PreconditionFailed(ServiceError):
    """The change was based on a version that someone else has replaced (HTTP If-Match)."""


class Invalid(ServiceError):
    """Well-formed input the rules refuse. `problems`, when given, say which field is wrong:
    dicts with at least `field` and `msg` (and `loc`, `type`), the 422's detail as it is."""

    def __init__(self, message: str, problems: Sequence[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.problems = list(problems) if problems else None

    @property
    def detail(self) -> Any:
        return self.problems if self.problems is not None else str(self)


class TooMany(ServiceError):
    """A rate bound: retry after `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


class Overloaded(ServiceError):
    """At capacity: the request was NOT taken; the client retries later."""


class Unavailable(ServiceError):
    """Taken (an answer is saved) but not served now; the client retries shortly."""


class StorageUnavailable(InterviewerError):
    """The database or its folder cannot take writes now; the message says why in a few words."""


class EngineError(InterviewerError):
    """The interview engine failed on a turn (the answer is saved and will be retried)."""
