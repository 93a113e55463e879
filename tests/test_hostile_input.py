"""Hostile requests through the real app (TestClient, a real SQLite file, the real index, the
offline engine; PostgreSQL where the database is the point): JSON no parser should have to
survive (deep nesting, huge numbers), NUL characters PostgreSQL refuses, dates at the end of the
calendar, a PUT whose body names another id, a client that leaves mid-body. Each is a clear 4xx
(or, for the client that left, no server error at all) and changes nothing."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.services.credentials import hash_password
from interviewer.store import staff as staff_store
from interviewer.store.db import Database
from interviewer.web.observability import REGISTRY
from tests.kit.client import make_client, start

FAST = {"requests_per_minute": 100_000, "answers_per_minute": 10_000, "sessions_per_minute": 10_000}
PASSWORD = "correct horse battery"


@dataclass
class World:
    client: TestClient
    hr: dict[str, str]
    ev: dict[str, str]
    sid: str
    candidate: dict[str, str]


def _login(c: TestClient, email: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _world(tmp: Path, bank: Bank, index: VectorIndex, url: str | None = None) -> Iterator[World]:
    with make_client(tmp, bank, index, url, **FAST) as c:
        db: Database = c.app.state.ctx.db  # type: ignore[attr-defined]
        with db.session() as s:
            for email, role in (("hr@example.com", "hr"), ("ev@example.com", "evaluator")):
                staff_store.create_user(s, email=email, role=role, password_hash=hash_password(PASSWORD))
            s.commit()
        sid, auth, _ = start(c)
        yield World(c, _login(c, "hr@example.com"), _login(c, "ev@example.com"), sid, auth)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, bank: Bank, full_index: VectorIndex) -> Iterator[World]:
    yield from _world(tmp_path_factory.mktemp("hostile"), bank, full_index)


def _counts(w: World) -> tuple[int, ...]:
    """Rows a refused request must not add to."""
    from sqlalchemy import func, select

    from interviewer.store.tables import AuditLog, Invite, TurnRow, User

    db: Database = w.client.app.state.ctx.db  # type: ignore[attr-defined]
    with db.session() as s:
        return tuple(
            int(s.scalar(select(func.count()).select_from(t)) or 0) for t in (AuditLog, Invite, TurnRow, User)
        )


# --- hostile JSON -----------------------------------------------------------------------------

DEEP = "[" * 10_000 + "]" * 10_000
DEEPISH = "[" * 900 + "]" * 900  # within the parser's own limit: the checks after it must cope
HOSTILE_VALUES = {
    "10,000-deep nesting": DEEP,
    "900-deep nesting": DEEPISH,
    "deep objects": '{"a": ' * 5000 + "1" + "}" * 5000,
    "5,000-digit integer": "1" * 5000,
    "5,000-digit float": "1" * 5000 + ".5",
    "float overflowing to infinity": "1e999",
}


def _endpoints(w: World) -> dict[str, tuple[str, dict[str, str], str]]:
    """Every class of JSON-accepting endpoint: path, headers, the body with `{}` where the hostile
    value goes."""
    return {
        "unauthenticated login": ("/api/v1/auth/login", {}, '{"email": {}, "password": "x"}'),
        "candidate start": ("/api/v1/sessions", {}, '{"plan": {}}'),
        "candidate answer": (
            f"/api/v1/sessions/{w.sid}/messages",
            w.candidate,
            '{"content": {}, "client_msg_id": "a"}',
        ),
        "staff write (invite)": ("/api/v1/invites", w.hr, '{"plan": "python", "ttl_hours": {}}'),
        "staff write (HR question)": ("/api/v1/hr/questions", w.hr, '{"id": "x", "difficulty": {}}'),
        "staff write (review override)": (
            f"/api/v1/review/sessions/{w.sid}/overrides",
            w.ev,
            '{"question_id": "q", "criterion": "overall", "score": {}, "reason": "a reason"}',
        ),
    }


ENDPOINT_NAMES = [
    "unauthenticated login",
    "candidate start",
    "candidate answer",
    "staff write (invite)",
    "staff write (HR question)",
    "staff write (review override)",
]


@pytest.mark.parametrize("endpoint", ENDPOINT_NAMES)
@pytest.mark.parametrize("value", list(HOSTILE_VALUES), ids=list(HOSTILE_VALUES))
def test_hostile_json_is_a_400(world: World, endpoint: str, value: str) -> None:
    path, headers, template = _endpoints(world)[endpoint]
    body = template.replace("{}", HOSTILE_VALUES[value], 1)
    assert len(body) < 64 * 1024
    before = _counts(world)
    r = world.client.post(
        path, content=body.encode(), headers={**headers, "Content-Type": "application/json"}
    )
    assert r.status_code == 400, (endpoint, value, r.status_code, r.text[:300])
    detail = r.json()["detail"]
    assert isinstance(detail, str) and len(detail) < 200 and "1111111111" not in detail
    assert _counts(world) == before


# --- dates at the end of the calendar ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        {"to": "9999-12-31"},
        {"from": "9999-12-31"},
        {"from": "0001-01-01", "to": "9999-12-31"},
        {"from": "0001-01-01"},
    ],
)
def test_review_list_dates_at_the_calendar_ends(world: World, query: dict[str, str]) -> None:
    r = world.client.get("/api/v1/review/sessions", params=query, headers=world.ev)
    assert r.status_code == 200, r.text
    expected = set() if query.get("from") == "9999-12-31" else {world.sid}
    assert {i["session_id"] for i in r.json()["items"]} == expected


# --- a PUT whose body names another id ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "item_id"),
    [("question", "py-asyncio-blocking-cancellation"), ("plan", "python"), ("track", "python")],
)
def test_put_with_another_id_in_the_body_is_422(world: World, kind: str, item_id: str) -> None:
    c = world.client
    got = c.get(f"/api/v1/hr/{kind}s/{item_id}", headers=world.hr)
    assert got.status_code == 200, got.text
    doc = {**got.json()[kind], "id": "someone-else"}
    before = _counts(world)
    r = c.put(f"/api/v1/hr/{kind}s/{item_id}", headers=world.hr, json=doc)
    assert r.status_code == 422, r.text
    assert "someone-else" in r.text and item_id in r.text and "differ" in r.text
    assert _counts(world) == before


# --- a client that leaves mid-body ------------------------------------------------------------


def _http_requests(route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "interviewer_http_requests_total", {"method": "POST", "route": route, "status": status}
    )
    return value or 0.0


@pytest.mark.parametrize("route", ["/api/v1/auth/login", "/api/v1/sessions/{session_id}/messages"])
def test_client_gone_mid_body_is_no_server_error(
    world: World, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The body stops half-way and the server hears `http.disconnect`: nothing to answer, nothing
    broken on our side. No 500 is sent, counted or logged as an error; one info line says why."""
    path = route.format(session_id=world.sid)
    headers = [(b"host", b"testserver"), (b"content-type", b"application/json"), (b"content-length", b"200")]
    headers += [(k.lower().encode(), v.encode()) for k, v in world.candidate.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50123),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": b'{"content": "half an answ', "more_body": True}
    ]
    sent: list[dict[str, Any]] = []
    raised: list[BaseException] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def call() -> None:
        try:
            await world.client.app(scope, receive, send)
        except Exception as exc:  # noqa: BLE001  # what a server would log as an error
            raised.append(exc)

    before = _http_requests(route, "500")
    with caplog.at_level(logging.INFO):
        assert world.client.portal is not None
        world.client.portal.call(call)
    assert raised == []
    assert all(m.get("status") != 500 for m in sent if m["type"] == "http.response.start")
    assert _http_requests(route, "500") == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(
        "disconnect" in r.getMessage() and r.levelno in (logging.INFO, logging.WARNING)
        for r in caplog.records
    )


# --- NUL characters on PostgreSQL -------------------------------------------------------------


def _cursor(at: str, sid: str) -> str:
    return base64.urlsafe_b64encode(json.dumps([at, sid]).encode()).decode().rstrip("=")


def test_nul_characters_never_reach_postgresql(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, postgres: Any
) -> None:
    """PostgreSQL refuses NUL in text (psycopg raises before the query runs): every way a NUL
    could come in is a 4xx here, never a 500."""
    with postgres.database() as url:
        for w in _world(tmp_path, bank, full_index, url):
            c = w.client
            nul_cursor = _cursor("2024-01-01T00:00:00+00:00", "a\x00b")
            probes: list[tuple[str, str, dict[str, str], Any, int | None]] = [
                (
                    "POST",
                    "/api/v1/auth/login",
                    {},
                    {"email": "hr@example.com\x00", "password": PASSWORD},
                    422,
                ),
                ("POST", "/api/v1/auth/login", {}, {"email": "a\x00b@example.com", "password": "x"}, 422),
                ("GET", f"/api/v1/review/sessions?cursor={nul_cursor}", w.ev, None, 400),
                ("GET", "/api/v1/review/sessions?cursor=" + _cursor("2024-01-01\x00", "a"), w.ev, None, 400),
                ("GET", f"/api/v1/hr/invites?cursor={nul_cursor}", w.hr, None, 400),
                ("GET", "/api/v1/review/sessions?to=9999-12-31&from=0001-01-01", w.ev, None, 200),
                ("GET", "/api/v1/review/sessions/a%00b", w.ev, None, 404),
                ("GET", "/api/v1/sessions/a%00b", w.candidate, None, 404),
                ("GET", "/api/v1/hr/questions/a%00b", w.hr, None, 404),
                ("DELETE", "/api/v1/hr/questions/a%00b", w.hr, None, 404),
                ("PUT", "/api/v1/hr/plans/a%00b", w.hr, {"id": "a\x00b", "kind": "plan"}, 422),
                ("POST", "/api/v1/sessions", {}, {"invite_code": "abcd\x00efgh"}, 403),
                (
                    "POST",
                    f"/api/v1/sessions/{w.sid}/messages",
                    w.candidate,
                    {"content": "a", "client_msg_id": "a\x00"},
                    422,
                ),
            ]
            for method, path, headers, body, status in probes:
                r = c.request(method, path, headers=headers, json=body)
                assert r.status_code < 500 and (status is None or r.status_code == status), (
                    method,
                    path,
                    r.status_code,
                    r.text[:300],
                )


# --- numeric headers --------------------------------------------------------------------------

# `str.isdigit()` is true for "²" (a Latin-1 character, so it can arrive in a header), which
# `int()` refuses; and `int()` refuses more than 4,300 digits
ODD_NUMBERS = {"superscript two": "²", "5,000 digits": "9" * 5000}


def _asgi(w: World, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
    """The request as a server hands it over, header bytes as sent (Latin-1): the TestClient
    re-encodes header values as UTF-8, which hides what "²" does."""
    raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), *raw_headers],
        "client": ("127.0.0.1", 50124),
        "server": ("testserver", 80),
    }
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": body, "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(3600)  # the client stays until the response is complete
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    assert w.client.portal is not None
    w.client.portal.call(w.client.app, scope, receive, send)
    statuses = [m["status"] for m in sent if m["type"] == "http.response.start"]
    assert len(statuses) == 1, sent
    return statuses[0], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


@pytest.mark.parametrize("value", list(ODD_NUMBERS.values()), ids=list(ODD_NUMBERS))
def test_odd_if_match_is_a_400(world: World, value: str) -> None:
    got = world.client.get("/api/v1/hr/plans/python", headers=world.hr).json()
    before = _counts(world)
    headers = {**world.hr, "If-Match": value, "Content-Type": "application/json"}
    status, body = _asgi(world, "PUT", "/api/v1/hr/plans/python", headers, json.dumps(got["plan"]).encode())
    assert status == 400 and "If-Match" in json.loads(body)["detail"]
    assert _counts(world) == before


@pytest.mark.parametrize("value", list(ODD_NUMBERS.values()), ids=list(ODD_NUMBERS))
def test_odd_last_event_id_replays_the_reply(world: World, value: str) -> None:
    """A `Last-Event-ID` that names no event the server sent resumes nothing: the whole reply."""
    headers = {
        **world.candidate,
        "Accept": "text/event-stream",
        "Last-Event-ID": f"1-{value}",
        "Content-Type": "application/json",
    }
    body = {"content": "Generators yield values lazily.", "client_msg_id": f"odd-{len(value)}"}
    status, text = _asgi(
        world, "POST", f"/api/v1/sessions/{world.sid}/messages", headers, json.dumps(body).encode()
    )
    assert status == 200 and b"event: done" in text, text[-300:]


@pytest.mark.parametrize("value", list(ODD_NUMBERS.values()), ids=list(ODD_NUMBERS))
def test_odd_content_length_is_no_server_error(world: World, value: str) -> None:
    """What an ASGI server passes on unchecked must not break the body limit's own check."""
    raw = b'{"email": "nobody@example.com", "password": "x"}'
    headers = {"Content-Type": "application/json", "Content-Length": value}
    status, _ = _asgi(world, "POST", "/api/v1/auth/login", headers, raw)
    assert status in (400, 401, 413), status
