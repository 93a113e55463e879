"""What every handler needs, built once by `create_app` and kept on `app.state`, and the checks
shared by the routers: bearer tokens, staff roles, rate limits."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from interviewer.bank.index import VectorIndex
from interviewer.bank.loader import Bank
from interviewer.config import Settings
from interviewer.service import InterviewService
from interviewer.store import repo
from interviewer.store.db import Database
from interviewer.store.tables import User
from interviewer.web.input import BadInput
from interviewer.web.security import RateLimiter


@dataclass
class Context:
    settings: Settings
    db: Database
    bank: Bank
    index: VectorIndex
    service: InterviewService
    per_token: RateLimiter
    per_address: RateLimiter
    new_sessions: RateLimiter
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    """Turns still being processed after their client disconnected (kept referenced)."""


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def client_address(request: Request, trust_proxy: bool) -> str:
    if trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return (request.client.host if request.client else "unknown")[:64]


def bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise BadInput(401, "missing bearer token (Authorization: Bearer <token>)")
    token = authorization[7:].strip()
    if not token or len(token) > 200:
        raise BadInput(401, "malformed bearer token")
    return token


def rate_limit(ctx: Context, request: Request, *, token: str | None = None) -> None:
    wait = ctx.per_address.check(client_address(request, ctx.settings.trust_proxy_headers))
    if not wait and token is not None:
        wait = ctx.per_token.check(repo.sha256(token))
    if wait:
        raise BadInput(429, f"too many requests; retry in {wait:.0f} s", retry_after=int(wait))


def require_staff(ctx: Context, authorization: str | None, *roles: str) -> User:
    """The logged-in staff user with one of `roles`: 401 without a valid staff token (a
    candidate's session token is not one), 403 for another role. Blocking: run it in a thread."""
    token = bearer(authorization)
    with ctx.db.session() as db:
        user = repo.staff_user(db, token_hash=repo.sha256(token))
    if user is None:
        raise BadInput(401, "not logged in, or the login expired")
    if user.role not in roles:
        raise BadInput(403, "your role may not do this")
    return user
