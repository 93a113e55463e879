"""Who may call what, for every route of the app.

The table is derived from the app's own routes and the access rules below (first match wins);
a route no rule classifies fails `test_every_route_is_classified`, so a new endpoint cannot
ship without a decision about who may call it. Then, per route:

- public: anyone (no auth is not refused);
- metrics: only with its own bearer token, and absent (404) when none is set;
- page: the static shells of the pages (no data in them: the data comes from the API), served
  to anyone with the strict CSP;
- candidate: the session's own bearer token only (none → 401; a wrong one, another session's or a
  staff login → 401/403/404); staff tokens are not session tokens;
- logout: any token (revoking an unknown one is a no-op), none → 401;
- staff / review / evaluator / hr: no auth, a wrong token and a candidate's session token → 401;
  a staff role not allowed → 403; an allowed role → neither. Cookie-authenticated writes need
  the CSRF header (403 without, or with a wrong one). Revoked and expired logins are 401.
"""

from __future__ import annotations

import inspect
import re
import typing
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update

from interviewer.bank import Bank, VectorIndex
from interviewer.config import Settings
from interviewer.services.credentials import hash_password
from interviewer.store import repo
from interviewer.store import staff as staff_store
from interviewer.store.tables import StaffSession
from interviewer.web.app import create_app
from interviewer.web.deps import CSRF_COOKIE, STAFF_COOKIE
from tests.kit.client import make_client, send

Access = Literal["public", "metrics", "page", "candidate", "logout", "staff", "review", "evaluator", "hr"]
Role = Literal["hr", "evaluator"]
WRITES = "POST|PUT|PATCH|DELETE"

RULES: list[tuple[str, str, Access]] = [
    # (methods, path: regular expressions matched in full; first match wins)
    ("GET|HEAD", r"/openapi\.json|/docs(/.*)?|/redoc", "public"),
    ("GET", r"/healthz|/readyz", "public"),
    ("GET", r"/metrics", "metrics"),  # its own bearer token (INTERVIEWER_METRICS_TOKEN), else 404
    ("GET", r"/api/v1/plans", "public"),
    ("POST", r"/api/v1/sessions", "public"),  # start an interview (invite-only is a setting)
    ("POST", r"/api/v1/auth/login", "public"),
    ("GET|POST", r"/api/v1/sessions/\{session_id\}(/.*)?", "candidate"),
    ("POST", r"/api/v1/auth/logout", "logout"),
    ("GET", r"/api/v1/auth/me", "staff"),
    ("POST", r"/api/v1/invites", "hr"),
    (f"GET|{WRITES}", r"/api/v1/hr(/.*)?", "hr"),  # tracks, questions, invites: HR only
    ("GET", r"/api/v1/review(/.*)?", "review"),  # evaluators and HR read
    (WRITES, r"/api/v1/review(/.*)?", "evaluator"),  # only evaluators override and recommend
    ("GET", r"/(?!api/)[^?]*", "page"),
]
ALLOWED: dict[Access, set[Role]] = {
    "staff": {"hr", "evaluator"},
    "review": {"hr", "evaluator"},
    "evaluator": {"evaluator"},
    "hr": {"hr"},
}
ROLES: tuple[Role, ...] = ("hr", "evaluator")
PASSWORD = "correct horse battery"
FAST = {
    "requests_per_minute": 100_000,
    "answers_per_minute": 10_000,
    "sessions_per_minute": 10_000,
    # every cookie test logs in again: well past the login rates (tests/test_security_limits.py)
    "logins_per_minute": 100_000,
    "logins_per_minute_per_address": 100_000,
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    access: Access | None
    params: tuple[tuple[str, str], ...] = ()
    """Values for path parameters the router validates before the handler runs (a Literal's
    first value); other parameters get the candidate's session id or a dummy."""

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def classify(method: str, path: str) -> Access | None:
    for methods, pattern, access in RULES:
        if re.fullmatch(methods, method) and re.fullmatch(pattern, path):
            return access
    return None


def _literal_params(endpoint: Any) -> tuple[tuple[str, str], ...]:
    if endpoint is None:
        return ()
    out = []
    for name, param in inspect.signature(endpoint, eval_str=True).parameters.items():
        if typing.get_origin(param.annotation) is Literal:
            out.append((name, str(typing.get_args(param.annotation)[0])))
    return tuple(out)


def _routes(app: FastAPI) -> list[tuple[str, str, tuple[tuple[str, str], ...]]]:
    """(method, path, literal parameters) of every route, the included routers' routes flattened."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI before lazy router inclusion: app.routes is flat
        routes: list[Any] = list(app.routes)
    else:
        routes = list(iter_route_contexts(app.routes))
    out: list[tuple[str, str, tuple[tuple[str, str], ...]]] = []
    for route in routes:
        methods = getattr(route, "methods", None)
        path = getattr(route, "path", None)
        if not methods or not path:
            continue  # the /static mount: checked on its own below
        params = _literal_params(getattr(route, "endpoint", None))
        out.extend((m, path, params) for m in sorted(methods) if m != "HEAD" or methods == {"HEAD"})
    return out


ENDPOINTS = [
    Endpoint(m, p, classify(m, p), params)
    for m, p, params in _routes(create_app(Settings(_env_file=None)))  # type: ignore[call-arg]
]
STAFF = [e for e in ENDPOINTS if e.access in ALLOWED]
STAFF_WRITES = [e for e in STAFF if e.method != "GET"] + [e for e in ENDPOINTS if e.access == "logout"]


def by_access(*kinds: Access) -> list[Any]:
    return [pytest.param(e, id=e.id) for e in ENDPOINTS if e.access in kinds]


# --- the world: a server, two staff accounts, a candidate -------------------------------------


@dataclass
class World:
    client: TestClient
    tokens: dict[Role, str]
    candidate: str
    session_id: str
    other_token: str

    def bearer(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def login(c: TestClient, role: Role) -> str:
    r = c.post("/api/v1/auth/login", json={"email": f"{role}@example.com", "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.cookies.clear()  # the bearer header only, unless a test sets the cookies itself
    token: str = r.json()["token"]
    return token


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, bank: Bank, full_index: VectorIndex) -> Iterator[World]:
    with make_client(tmp_path_factory.mktemp("roles"), bank, full_index, **FAST) as c:
        db = c.app.state.ctx.db  # type: ignore[attr-defined]
        with db.session() as s:
            for role in ROLES:
                staff_store.create_user(
                    s, email=f"{role}@example.com", role=role, password_hash=hash_password(PASSWORD)
                )
            s.commit()
        tokens: dict[Role, str] = {role: login(c, role) for role in ROLES}
        started = c.post("/api/v1/sessions", json={"plan": "python"}).json()
        auth = {"Authorization": f"Bearer {started['token']}"}
        assert send(c, started["session_id"], auth, "I don't know").status_code == 200
        other = c.post("/api/v1/sessions", json={"plan": "python"}).json()
        yield World(
            client=c,
            tokens=tokens,
            candidate=started["token"],
            session_id=started["session_id"],
            other_token=other["token"],
        )


def url(world: World, endpoint: Endpoint) -> str:
    """The route's path with its parameters filled: the candidate's session, else a dummy."""
    path = endpoint.path.replace("{session_id}", world.session_id)
    for name, value in endpoint.params:
        path = path.replace(f"{{{name}}}", value)
    return re.sub(r"\{[^}]+\}", "no-such-thing", path)


def body_for(endpoint: Endpoint) -> dict[str, Any] | None:
    """A valid body where the handler parses it before it checks the token; else an empty one
    (a refused request must be refused before its body matters)."""
    if endpoint.method == "GET":
        return None
    if endpoint.path.endswith("/messages"):
        return {"content": "I don't know", "client_msg_id": str(uuid.uuid4())}
    if endpoint.path.endswith("/exercise/runs"):
        return {"code": "pass", "kind": "examples", "client_msg_id": str(uuid.uuid4())}
    return {}


def call(world: World, endpoint: Endpoint, headers: dict[str, str] | None = None) -> int:
    c = world.client
    body = body_for(endpoint)
    r = c.request(endpoint.method, url(world, endpoint), headers=headers or {}, json=body)
    return r.status_code


# --- the table ---------------------------------------------------------------------------------


def test_every_route_is_classified() -> None:
    unclassified = [e.id for e in ENDPOINTS if e.access is None]
    assert not unclassified, f"routes without an access rule in tests/test_roles.py RULES: {unclassified}"
    # the table covers what the issue names
    kinds = {"public", "metrics", "page", "candidate", "logout", "staff", "review", "evaluator", "hr"}
    assert {e.access for e in ENDPOINTS} == kinds
    assert len(STAFF) >= 8


@pytest.mark.parametrize("endpoint", by_access("public"))
def test_public_routes_need_no_auth(world: World, endpoint: Endpoint) -> None:
    assert call(world, endpoint) not in (401, 403)


@pytest.mark.parametrize("endpoint", by_access("page"))
def test_pages_are_static_shells_with_a_strict_csp(world: World, endpoint: Endpoint) -> None:
    r = world.client.get(url(world, endpoint), follow_redirects=False)
    assert r.status_code in (200, 404) or (
        r.status_code in (302, 303, 307) and r.headers["location"].startswith("/staff/login")
    )
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp


@pytest.mark.parametrize("endpoint", by_access("metrics"))
def test_metrics_are_not_public_by_default(world: World, endpoint: Endpoint) -> None:
    assert call(world, endpoint) == 404  # no INTERVIEWER_METRICS_TOKEN set
    for role in ROLES:  # a staff login is not the scrape token
        assert call(world, endpoint, world.bearer(world.tokens[role])) == 404


def test_static_files_are_public(world: World) -> None:
    for name in ("staff.js", "staff.css", "review-session.js", "calibration.js", "api.js"):
        r = world.client.get(f"/static/{name}")
        assert r.status_code == 200, name


@pytest.mark.parametrize("endpoint", by_access("candidate"))
def test_candidate_routes_take_only_the_sessions_own_token(world: World, endpoint: Endpoint) -> None:
    assert call(world, endpoint) == 401
    # a wrong token: 404, as for a session that does not exist (the API does not tell them apart)
    assert call(world, endpoint, world.bearer("not-a-token")) in (401, 404)
    for role in ROLES:  # a staff login is not a session token
        assert call(world, endpoint, world.bearer(world.tokens[role])) in (401, 403, 404)
    assert call(world, endpoint, world.bearer(world.other_token)) in (401, 403, 404)  # another session's
    assert call(world, endpoint, world.bearer(world.candidate)) not in (401, 403)


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.id) for e in STAFF])
def test_staff_routes_by_role(world: World, endpoint: Endpoint) -> None:
    assert call(world, endpoint) == 401
    assert call(world, endpoint, world.bearer("not-a-token")) == 401
    assert call(world, endpoint, world.bearer(world.candidate)) == 401  # a candidate's session token
    assert endpoint.access is not None
    allowed = ALLOWED[endpoint.access]
    for role in ROLES:
        status = call(world, endpoint, world.bearer(world.tokens[role]))
        if role in allowed:
            assert status not in (401, 403), f"{role} refused on {endpoint.id}"
        else:
            assert status == 403, f"{role} got {status} on {endpoint.id}"


def test_logout_needs_a_token_and_is_idempotent(world: World) -> None:
    """Logging out an unknown, expired or candidate token changes nothing and succeeds (so a page
    with a stale cookie can always log out); without any token it is 401."""
    logout = next(e for e in ENDPOINTS if e.access == "logout")
    assert call(world, logout) == 401
    for token in ("not-a-token", world.candidate):
        assert call(world, logout, world.bearer(token)) == 204
    assert call(world, logout, world.bearer(world.candidate)) == 204
    r = world.client.get(f"/api/v1/sessions/{world.session_id}", headers=world.bearer(world.candidate))
    assert r.status_code == 200  # the candidate's session token is untouched
    for role in ROLES:
        assert call(world, logout, world.bearer(login(world.client, role))) == 204


def _with_cookies(world: World, role: Role) -> str:
    """Log in as the staff pages do; the client keeps both cookies. Returns the CSRF token."""
    r = world.client.post("/api/v1/auth/login", json={"email": f"{role}@example.com", "password": PASSWORD})
    assert r.status_code == 200
    set_cookie = r.headers.get_list("set-cookie")
    assert any(
        h.startswith(f"{STAFF_COOKIE}=") and "HttpOnly" in h and "SameSite=strict" in h for h in set_cookie
    )
    assert any(h.startswith(f"{CSRF_COOKIE}=") and "HttpOnly" not in h for h in set_cookie)
    csrf = world.client.cookies.get(CSRF_COOKIE)
    assert csrf
    return csrf


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.id) for e in STAFF_WRITES])
def test_cookie_writes_need_the_csrf_header(world: World, endpoint: Endpoint) -> None:
    assert endpoint.access is not None
    role = sorted(ALLOWED.get(endpoint.access, {"hr"}))[0]
    csrf = _with_cookies(world, role)
    try:
        assert call(world, endpoint) == 403  # the cookie alone: refused
        assert call(world, endpoint, {"X-CSRF-Token": "forged"}) == 403
        assert call(world, endpoint, {"X-CSRF-Token": csrf}) not in (401, 403)
    finally:
        world.client.cookies.clear()


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.id) for e in STAFF if e.method == "GET"])
def test_cookie_reads_need_no_csrf_header(world: World, endpoint: Endpoint) -> None:
    assert endpoint.access is not None
    _with_cookies(world, sorted(ALLOWED[endpoint.access])[0])
    try:
        assert call(world, endpoint) not in (401, 403)
    finally:
        world.client.cookies.clear()


def test_me_tells_the_role(world: World) -> None:
    for role in ROLES:
        r = world.client.get("/api/v1/auth/me", headers=world.bearer(world.tokens[role]))
        assert r.status_code == 200
        assert r.json() == {"email": f"{role}@example.com", "role": role}
        assert r.headers["cache-control"] == "no-store"


def test_logout_revokes_and_expired_logins_are_refused(world: World) -> None:
    c = world.client
    token = login(c, "evaluator")
    assert c.get("/api/v1/auth/me", headers=world.bearer(token)).status_code == 200
    assert c.post("/api/v1/auth/logout", headers=world.bearer(token)).status_code == 204
    assert c.get("/api/v1/auth/me", headers=world.bearer(token)).status_code == 401
    assert c.get("/api/v1/review/sessions", headers=world.bearer(token)).status_code == 401

    # by cookie: logout clears the cookies and revokes the token they carried
    csrf = _with_cookies(world, "hr")
    staff_cookie = c.cookies.get(STAFF_COOKIE)
    assert staff_cookie and c.get("/api/v1/auth/me").status_code == 200
    assert c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert c.cookies.get(STAFF_COOKIE) is None
    assert c.get("/api/v1/auth/me", headers=world.bearer(staff_cookie)).status_code == 401
    c.cookies.clear()

    # expiry: a login past its end is refused
    token = login(c, "hr")
    db = c.app.state.ctx.db  # type: ignore[attr-defined]
    with db.session() as s:
        s.execute(
            update(StaffSession)
            .where(StaffSession.token_hash == repo.sha256(token))
            .values(expires_at=repo.utcnow() - timedelta(minutes=1))
        )
        s.commit()
    assert c.get("/api/v1/auth/me", headers=world.bearer(token)).status_code == 401
