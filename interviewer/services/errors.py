"""What callers of the services need to read failures: the error tree (`interviewer/errors.py`,
kept in the kernel so that the store and the bank raise its members too) and the reading of a
database driver's error, which only the store knows how to do.

`storage_problem(exc)` is the short reason a storage fault gives (a full disk, a read-only or
corrupt file, an unreachable server), or None for any other failure, which is a bug to log by
type, never by text: a driver error's text holds the statement and its parameters (candidate
text)."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError as DatabaseError

from interviewer.store.faults import describe as storage_problem

__all__ = ["DatabaseError", "storage_problem"]
