"""Staff login (`POST /api/v1/auth/login`), cheapest checks first:

1. the request's shape: a JSON body only (415 otherwise: an HTML form or a `text/plain` fetch
   from another site cannot send one without a CORS preflight, which this app never grants), and
   no foreign `Origin` (403): login CSRF, a victim's browser logged in as the attacker;
2. the body, then the per-address request limit;
3. the login bounds (`login_guard`): the account's back-off, the per-address and global login
   rates, a free place for the password check (429 + Retry-After at once beyond any);
4. the argon2id check on the guard's own threads.

A failed login is audited (`staff.login_failed`) with the e-mail hashed (sha256 of the
normalised address, the same account key the back-off uses), the client address and the count
of failures in a row; never the password or the e-mail itself.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response

from interviewer.store import repo
from interviewer.web.deps import Context, client_address, rate_limit, set_staff_cookies
from interviewer.web.input import BadInput, Login, parse_body
from interviewer.web.security import new_token


@dataclass(frozen=True)
class _Account:
    id: int
    email: str
    role: str
    password_hash: str
    disabled: bool


async def log_in(request: Request, response: Response, ctx: Context) -> dict[str, Any]:
    check_login_request(request)
    body = await parse_body(request, Login)
    rate_limit(ctx, request)
    address = client_address(request, ctx.proxies)
    account_key = repo.sha256(body.email.strip().lower())
    ctx.logins.admit(account=account_key, address=address)
    account = await asyncio.to_thread(_account, ctx, body.email)
    ok = await ctx.logins.verify(account.password_hash if account else None, body.password)
    if not ok or account is None or account.disabled:
        failures = ctx.logins.failed(account_key)
        await asyncio.to_thread(_audit_failure, ctx, account_key, address, failures)
        raise BadInput(401, "wrong email or password")
    ctx.logins.succeeded(account_key)
    result = await asyncio.to_thread(_open_session, ctx, account)
    set_staff_cookies(response, request, result["token"], max_age=result["expires_in"])
    return result


def check_login_request(request: Request) -> None:
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise BadInput(415, "login takes a JSON body: send Content-Type: application/json")
    origin = request.headers.get("origin")
    if origin is not None and not same_origin(origin, request.headers.get("host", "")):
        raise BadInput(403, "login from another site refused (the Origin header is not this site)")


def same_origin(origin: str, host: str) -> bool:
    """Whether a browser's `Origin` names this site: its host and port are the request's `Host`
    (behind a proxy, pass the client's Host on: nginx `proxy_set_header Host $http_host`)."""
    parts = urlsplit(origin.strip())
    return parts.scheme in ("http", "https") and bool(host) and parts.netloc.lower() == host.strip().lower()


def _account(ctx: Context, email: str) -> _Account | None:
    with ctx.db.session() as db:
        user = repo.user_by_email(db, email=email)
        if user is None:
            return None
        return _Account(user.id, user.email, user.role, user.password_hash, user.disabled)


def _audit_failure(ctx: Context, account_key: str, address: str, failures: int) -> None:
    with ctx.db.session() as db:
        repo.audit(
            db,
            actor="anonymous",
            action="staff.login_failed",
            subject=account_key,
            data={"address": address, "failures": failures},
        )
        db.commit()


def _open_session(ctx: Context, account: _Account) -> dict[str, Any]:
    token = new_token()
    ttl = timedelta(hours=ctx.settings.staff_session_hours)
    with ctx.db.session() as db:
        repo.create_staff_session(db, user_id=account.id, token_hash=repo.sha256(token), ttl=ttl)
        repo.audit(db, actor=account.email, action="staff.login", subject=str(account.id))
        db.commit()
    return {"token": token, "role": account.role, "expires_in": int(ttl.total_seconds())}
