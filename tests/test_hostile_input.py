"""Hostile requests through the real app (TestClient, a real SQLite file, the real index, the
offline engine; PostgreSQL where the database is the point): JSON no parser should have to
survive (deep nesting, huge numbers), NUL characters PostgreSQL refuses, dates at the end of the
calendar, a PUT whose body names another id, a client that leaves mid-body. Each is a clear 4xx
(or, for the client that left, no server error at all) and changes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.store import repo
from interviewer.store.db import Database
from interviewer.web.security import hash_password
from tests.test_api import make_client, start

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
                repo.create_user(s, email=email, role=role, password_hash=hash_password(PASSWORD))
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
