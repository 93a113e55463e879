"""Staff login (`POST /api/v1/auth/login`), cheapest checks first:

1. the request's shape: a JSON body only (415 otherwise: an HTML form or a `text/plain` fetch
   from another site cannot send one without a CORS preflight, which this app never grants), and
   no foreign `Origin` (403): login CSRF, a victim's browser logged in as the attacker;
2. the body, then the per-address request limit;
3. the staff service's login (`services/staff.py`): the login bounds (429 + Retry-After at once
   beyond any), the argon2id check, the failure audited with the e-mail hashed (401);
4. the staff pages' cookies.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response

from interviewer.web.deps import Context, client_address, rate_limit, set_staff_cookies
from interviewer.web.input import BadInput, Login, parse_body


async def log_in(request: Request, response: Response, ctx: Context) -> dict[str, Any]:
    check_login_request(request)
    body = await parse_body(request, Login)
    rate_limit(ctx, request)
    login = await ctx.staff.log_in(
        email=body.email, password=body.password, address=client_address(request, ctx.proxies)
    )
    set_staff_cookies(response, request, login.token, max_age=login.expires_in)
    return {"token": login.token, "role": login.role, "expires_in": login.expires_in}


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
