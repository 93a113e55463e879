"""What every handler needs, built once by `create_app` and kept on `app.state`, and the checks
shared by the routers: bearer tokens, staff roles, rate limits."""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request, Response

from interviewer.config import Settings
from interviewer.services.bank_edits import BankEdits
from interviewer.services.exercise_runs import ExerciseRuns
from interviewer.services.interview import InterviewService
from interviewer.services.rate_limit import RateLimiter
from interviewer.services.review import ReviewService
from interviewer.services.staff import StaffService, StaffUser
from interviewer.web.input import BadInput
from interviewer.web.security import Network, forwarded_client


@dataclass(kw_only=True)
class Context:
    """What the routers may use: the settings, the services and the request bounds. The
    composition root (`web/app.py`) hands in a subclass that also holds what it wired them from."""

    settings: Settings
    service: InterviewService
    bank_edits: BankEdits
    """HR's edits of the bank: refreshed before anything new starts from the bank."""
    staff: StaffService
    per_token: RateLimiter
    per_address: RateLimiter
    new_sessions: RateLimiter
    proxies: tuple[Network, ...] | None
    """The trusted proxies whose X-Forwarded-For is read; None: the header is ignored."""
    review: ReviewService
    """The evaluator's use cases (web/review.py)."""
    background: set[asyncio.Task[Any]] = field(default_factory=set)
    """Turns still being processed after their client disconnected (kept referenced)."""
    exercises: ExerciseRuns | None = None
    """The coding exercise's use cases (web/exercises.py)."""


def get_context(request: Request) -> Context:
    ctx: Context = request.app.state.ctx
    return ctx


def client_address(request: Request, proxies: Sequence[Network] | None) -> str:
    """The client's address: the socket peer, or with `proxies` (INTERVIEWER_TRUST_PROXY_HEADERS
    and the trusted proxies' networks) the right-most X-Forwarded-For hop outside them."""
    peer = request.client.host if request.client else "unknown"
    if proxies is not None:
        forwarded = ",".join(request.headers.getlist("x-forwarded-for"))
        if forwarded:
            return forwarded_client(peer, forwarded, proxies)[:64]
    return peer[:64]


def bearer(authorization: str | None) -> str:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise BadInput(401, "missing bearer token (Authorization: Bearer <token>)")
    token = authorization[7:].strip()
    if not token or len(token) > 200:
        raise BadInput(401, "malformed bearer token")
    return token


def rate_limit(ctx: Context, request: Request, *, token: str | None = None) -> None:
    wait = ctx.per_address.check(client_address(request, ctx.proxies))
    if not wait and token is not None:
        wait = ctx.per_token.check(hashlib.sha256(token.encode()).hexdigest())
    if wait:
        raise BadInput(429, f"too many requests; retry in {wait:.0f} s", retry_after=int(wait))


STAFF_COOKIE = "interviewer_staff"
CSRF_COOKIE = "interviewer_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def staff_token(request: Request) -> str:
    """The staff token of a request: the `Authorization: Bearer` header (API clients), else the
    HttpOnly login cookie (the staff pages). A cookie-authenticated request that changes anything
    must also carry the CSRF token (double submit: the `interviewer_csrf` cookie's value in the
    `X-CSRF-Token` header), which a cross-site form or script cannot read or forge. SameSite=Strict
    on both cookies is the second line."""
    header = request.headers.get("authorization")
    if header:
        return bearer(header)
    token = request.cookies.get(STAFF_COOKIE, "")
    if not token or len(token) > 200:
        raise BadInput(401, "not logged in (log in at /staff/login, or send Authorization: Bearer <token>)")
    if request.method not in SAFE_METHODS:
        expected = request.cookies.get(CSRF_COOKIE, "")
        sent = request.headers.get(CSRF_HEADER, "")
        if not expected or not sent or not secrets.compare_digest(expected.encode(), sent.encode()):
            raise BadInput(
                403, "missing or wrong CSRF token (send the interviewer_csrf cookie's value in X-CSRF-Token)"
            )
    return token


async def staff(ctx: Context, request: Request, *roles: str) -> StaffUser:
    """The logged-in staff user with one of `roles` (bearer header or login cookie + CSRF): 401
    without a valid staff login (a candidate's session token is not one), 403 for another role.
    Also counts the request against the per-address rate limit."""
    token = staff_token(request)
    user = await ctx.staff.user(token, roles=roles)
    rate_limit(ctx, request)
    return user


def set_staff_cookies(response: Response, request: Request, token: str, *, max_age: int) -> None:
    """The staff pages' login: the token in an HttpOnly cookie (script cannot read it) and a fresh
    CSRF token in a cookie the pages' script reads and echoes in `X-CSRF-Token`."""
    secure = request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https"
    common: dict[str, Any] = {"max_age": max_age, "secure": secure, "samesite": "strict", "path": "/"}
    response.set_cookie(STAFF_COOKIE, token, httponly=True, **common)
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(24), httponly=False, **common)


def clear_staff_cookies(response: Response) -> None:
    for name in (STAFF_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, path="/", samesite="strict")
