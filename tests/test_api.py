"""API v1 through the real app (TestClient, the real index, offline engine), each test on a
SQLite file and on PostgreSQL (the `database_url` fixture): the contract in DESIGN.md,
idempotency, the 409s, server-sent events with resume, restart recovery, ownership, roles, rate
limits and bad input."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.store import repo
from interviewer.store import staff as staff_store
from interviewer.store.db import Database
from tests.conftest import sse_events
from tests.kit.client import make_client, send, start, transcript


@pytest.fixture
def client(tmp_path: Path, bank: Bank, full_index: VectorIndex, database_url: str) -> Iterator[TestClient]:
    with make_client(tmp_path, bank, full_index, database_url) as c:
        yield c


def test_start_session_contract(client: TestClient) -> None:
    sid, auth, body = start(client, "full")
    assert len(body["token"]) >= 40 and uuid.UUID(sid)
    assert [m["role"] for m in body["messages"]] == ["interviewer", "interviewer"]
    assert body["messages"][0]["kind"] == "greeting" and body["messages"][1]["kind"] == "question"
    state = body["state"]
    assert state["status"] == "active" and state["track"] == "architecture"
    assert state["question_index"] == 1 and state["questions_total"] == 4
    default = client.post("/api/v1/sessions", content=b"")
    assert default.status_code == 201 and default.json()["state"]["plan_id"] == "full"
    assert client.post("/api/v1/sessions", json={"plan": "nope"}).status_code == 422


def test_turn_contract_and_transcript(client: TestClient) -> None:
    sid, auth, _ = start(client)
    r = send(client, sid, auth, "Generators produce values lazily with yield, one at a time.")
    assert r.status_code == 200
    body = r.json()
    assert body["messages"] and all(m["role"] == "interviewer" for m in body["messages"])
    assert body["state"]["status"] == "active"
    messages = transcript(client, sid, auth)
    assert [m["role"] for m in messages][:3] == ["interviewer", "interviewer", "candidate"]
    assert [m["id"] for m in messages] == sorted(m["id"] for m in messages)


def test_retry_same_id_returns_original_and_duplicates_nothing(client: TestClient) -> None:
    sid, auth, _ = start(client)
    cid = str(uuid.uuid4())
    first = send(client, sid, auth, "A generator is a lazy iterator.", cid)
    count = len(transcript(client, sid, auth))
    again = send(client, sid, auth, "A generator is a lazy iterator.", cid)
    assert again.status_code == 200 and again.json() == first.json()
    assert len(transcript(client, sid, auth)) == count
    other = send(client, sid, auth, "Something else entirely.", cid)
    assert other.status_code == 409 and "different answer" in other.json()["detail"]
    assert len(transcript(client, sid, auth)) == count


def test_second_turn_while_one_is_pending_is_409(client: TestClient) -> None:
    sid, auth, _ = start(client)
    db: Database = client.app.state.ctx.db  # type: ignore[attr-defined]
    with db.session() as s:
        assert (
            repo.submit_answer(
                s,
                session_id=sid,
                client_msg_id="in-flight",
                content="x" * 20,
                body_hash=repo.sha256("x" * 20),
            ).outcome
            == "accepted"
        )
    r = send(client, sid, auth, "A second answer at the same time")
    assert r.status_code == 409 and "being processed" in r.json()["detail"]


def test_sse_stream_and_resume_with_last_event_id(client: TestClient) -> None:
    sid, auth, _ = start(client)
    cid, content = str(uuid.uuid4()), "I would use a generator expression to stream the file lazily."
    headers = {**auth, "Accept": "text/event-stream"}
    url = f"/api/v1/sessions/{sid}/messages"
    with client.stream("POST", url, headers=headers, json={"content": content, "client_msg_id": cid}) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        events = sse_events(r.read().decode())
    kinds = [e[1] for e in events]
    assert kinds[0] == "accepted" and kinds[-2:] == ["state", "done"] and "message" in kinds
    ids = [e[0] for e in events]
    assert all(ids) and len(ids) == len(set(ids))
    text = "".join(d["text"] for _, k, d in events if k == "delta")
    assert text == "".join(d["content"] for _, k, d in events if k == "message")
    # the client saw the first four reply events, then the connection dropped
    seen = [e for e in events if e[1] != "accepted"][:4]
    with client.stream(
        "POST",
        url,
        headers={**headers, "Last-Event-ID": seen[-1][0]},
        json={"content": content, "client_msg_id": cid},
    ) as r:
        rest = sse_events(r.read().decode())
    assert [e[0] for e in seen + rest] == [e[0] for e in events if e[1] != "accepted"]  # no gap, no duplicate


def test_pending_answer_is_resumed_after_restart(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, database_url: str
) -> None:
    with make_client(tmp_path, bank, full_index, database_url) as c:
        sid, auth, _ = start(c)
        db = Database.from_settings(c.app.state.ctx.settings)  # type: ignore[attr-defined]
    # the process "died" right after committing an answer
    with db.session() as s:
        repo.submit_answer(
            s,
            session_id=sid,
            client_msg_id="orphan",
            content="Generators are lazy iterators.",
            body_hash=repo.sha256("Generators are lazy iterators."),
        )
    db.dispose()
    # restart: start-up resumes pending answers
    with make_client(tmp_path, bank, full_index, database_url) as c:
        messages = transcript(c, sid, auth)
        assert (
            messages[2]["content"] == "Generators are lazy iterators."
            and messages[-1]["role"] == "interviewer"
        )
        r = send(c, sid, auth, "Generators are lazy iterators.", "orphan")
        assert r.status_code == 200 and r.json()["messages"]
        assert send(c, sid, auth, "And they save memory.").status_code == 200


def test_other_sessions_are_invisible(client: TestClient) -> None:
    a, auth_a, _ = start(client)
    b, auth_b, _ = start(client)
    assert client.get(f"/api/v1/sessions/{b}", headers=auth_a).status_code == 404
    assert send(client, b, auth_a, "hello there, this is not my session").status_code == 404
    assert client.get(f"/api/v1/sessions/{b}/report", headers=auth_a).status_code == 404
    assert client.get(f"/api/v1/sessions/{uuid.uuid4()}", headers=auth_a).status_code == 404
    assert client.get(f"/api/v1/sessions/{a}").status_code == 401
    assert client.get(f"/api/v1/sessions/{a}", headers={"Authorization": "Basic x"}).status_code == 401


def test_report_409_before_the_end_then_200(client: TestClient) -> None:
    sid, auth, _ = start(client)
    assert client.get(f"/api/v1/sessions/{sid}/report", headers=auth).status_code == 409
    state: dict[str, Any] = {"status": "active"}
    for _ in range(30):
        if state["status"] == "completed":
            break
        state = send(client, sid, auth, "I don't know").json()["state"]
    assert state["status"] == "completed"
    report = client.get(f"/api/v1/sessions/{sid}/report", headers=auth)
    assert report.status_code == 200 and report.json()["tracks"][0]["track"] == "python"
    assert send(client, sid, auth, "one more answer").status_code == 409


LONG = "x" * 8001
BAD_BODIES: list[tuple[str, bytes, int]] = [
    ("empty content", b'{"content": "", "client_msg_id": "a"}', 422),
    ("whitespace content", b'{"content": "  \\n ", "client_msg_id": "a"}', 422),
    ("oversized answer", json.dumps({"content": LONG, "client_msg_id": "a"}).encode(), 422),
    ("invalid UTF-8", b'{"content": "caf\xe9 \xff", "client_msg_id": "a"}', 400),
    ("lone surrogate", b'{"content": "\\ud800 hi", "client_msg_id": "a"}', 422),
    ("NUL byte", b'{"content": "a\\u0000b", "client_msg_id": "a"}', 422),
    ("control character", b'{"content": "a\\u0007b", "client_msg_id": "a"}', 422),
    ("NaN", b'{"content": NaN, "client_msg_id": "a"}', 400),
    ("Infinity", b'{"content": "x", "client_msg_id": Infinity}', 400),
    ("duplicate keys", b'{"content": "a", "content": "b", "client_msg_id": "a"}', 400),
    ("wrong type", b'{"content": 5, "client_msg_id": "a"}', 422),
    ("extra field", b'{"content": "hello", "client_msg_id": "a", "score": 5}', 422),
    ("missing field", b'{"content": "hello"}', 422),
    ("bad client_msg_id", b'{"content": "hello", "client_msg_id": "<script>"}', 422),
    ("not an object", b'["hello"]', 422),
    ("not JSON", b"hello", 400),
    ("no body", b"", 400),
    ("body too large", b'{"content": "' + b"a" * 70_000 + b'", "client_msg_id": "a"}', 413),
]


@pytest.mark.parametrize(("case", "raw", "status"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
def test_bad_input_is_4xx_and_changes_nothing(client: TestClient, case: str, raw: bytes, status: int) -> None:
    sid, auth, _ = start(client)
    before = transcript(client, sid, auth)
    r = client.post(
        f"/api/v1/sessions/{sid}/messages", content=raw, headers={**auth, "Content-Type": "application/json"}
    )
    assert r.status_code == status, (case, r.text)
    detail = json.dumps(r.json()["detail"])
    assert "detail" in r.json() and "<script>" not in detail and "xxxxxxxxxx" not in detail
    assert transcript(client, sid, auth) == before


def test_candidate_token_expires(client: TestClient) -> None:
    """A candidate's token is good for INTERVIEWER_CANDIDATE_TOKEN_DAYS (30) from the session's
    start: a finished interview's report stays readable until then; after, every candidate route
    is 401 saying the link expired (a wrong token is still the plain 404)."""
    from datetime import timedelta

    from sqlalchemy import update

    from interviewer.store.tables import InterviewSession, utcnow

    assert client.app.state.ctx.settings.candidate_token_days == 30  # type: ignore[attr-defined]
    sid, auth, _ = start(client)
    state: dict[str, Any] = {"status": "active"}
    for _ in range(30):
        if state["status"] == "completed":
            break
        state = send(client, sid, auth, "I don't know").json()["state"]
    assert state["status"] == "completed"
    db: Database = client.app.state.ctx.db  # type: ignore[attr-defined]

    def started(days_ago: float) -> None:
        with db.session() as s:
            s.execute(
                update(InterviewSession)
                .where(InterviewSession.id == sid)
                .values(created_at=utcnow() - timedelta(days=days_ago))
            )
            s.commit()

    started(29.9)
    assert client.get(f"/api/v1/sessions/{sid}/report", headers=auth).status_code == 200
    assert client.get(f"/api/v1/sessions/{sid}", headers=auth).status_code == 200
    started(30.1)
    for r in (
        client.get(f"/api/v1/sessions/{sid}/report", headers=auth),
        client.get(f"/api/v1/sessions/{sid}", headers=auth),
        send(client, sid, auth, "one more answer"),
    ):
        assert r.status_code == 401, r.text
        assert "expired" in r.json()["detail"]
    assert client.get(f"/api/v1/sessions/{sid}", headers={"Authorization": "Bearer nope"}).status_code == 404


def test_unknown_session_id_shapes_are_404(client: TestClient) -> None:
    _, auth, _ = start(client)
    for sid in ("nope", "../../etc/passwd", "%00", "a" * 300):
        assert client.get(f"/api/v1/sessions/{sid}", headers=auth).status_code == 404


def test_staff_roles_and_invites(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, database_url: str
) -> None:
    with make_client(tmp_path, bank, full_index, database_url, invite_only=True) as c:
        db: Database = c.app.state.ctx.db  # type: ignore[attr-defined]
        from interviewer.services.credentials import hash_password

        with db.session() as s:
            staff_store.create_user(
                s, email="hr@example.com", role="hr", password_hash=hash_password("correct horse 1")
            )
            staff_store.create_user(
                s, email="ev@example.com", role="evaluator", password_hash=hash_password("correct horse 2")
            )
            s.commit()
        assert c.post("/api/v1/sessions", json={"plan": "python"}).status_code == 403  # invite only
        bad = c.post("/api/v1/auth/login", json={"email": "hr@example.com", "password": "wrong"})
        assert bad.status_code == 401
        hr = c.post(
            "/api/v1/auth/login", json={"email": "HR@example.com", "password": "correct horse 1"}
        ).json()
        ev = c.post(
            "/api/v1/auth/login", json={"email": "ev@example.com", "password": "correct horse 2"}
        ).json()
        assert hr["role"] == "hr" and ev["role"] == "evaluator"
        c.cookies.clear()  # bearer headers from here on, not the staff pages' cookies
        body = {"plan": "python", "mode": "assessment", "show_report": False}
        assert c.post("/api/v1/invites", json=body).status_code == 401
        assert (
            c.post(
                "/api/v1/invites", json=body, headers={"Authorization": f"Bearer {ev['token']}"}
            ).status_code
            == 403
        )
        invite = c.post("/api/v1/invites", json=body, headers={"Authorization": f"Bearer {hr['token']}"})
        assert invite.status_code == 201
        code = invite.json()["code"]
        started = c.post("/api/v1/sessions", json={"invite_code": code})
        assert started.status_code == 201 and started.json()["state"]["mode"] == "assessment"
        assert c.post("/api/v1/sessions", json={"invite_code": code}).status_code == 403  # one-time
        sid, auth = started.json()["session_id"], {"Authorization": f"Bearer {started.json()['token']}"}
        state = started.json()["state"]
        while state["status"] == "active":
            state = send(c, sid, auth, "I don't know").json()["state"]
        kinds = [m["kind"] for m in transcript(c, sid, auth)]
        assert "feedback" not in kinds  # assessment mode
        assert c.get(f"/api/v1/sessions/{sid}/report", headers=auth).status_code == 403  # hidden by HR
        assert (
            c.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {hr['token']}"}).status_code
            == 204
        )
        assert (
            c.post(
                "/api/v1/invites", json=body, headers={"Authorization": f"Bearer {hr['token']}"}
            ).status_code
            == 401
        )


def test_rate_limit_per_token(tmp_path: Path, bank: Bank, full_index: VectorIndex, database_url: str) -> None:
    with make_client(tmp_path, bank, full_index, database_url, answers_per_minute=1) as c:
        sid, auth, _ = start(c)
        codes = [send(c, sid, auth, "I don't know").status_code for _ in range(8)]
        assert 429 in codes
        limited = send(c, sid, auth, "I don't know")
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


def test_health_openapi_and_security_headers(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    deadline = time.monotonic() + 120
    while (ready := client.get("/readyz")).status_code == 503 and time.monotonic() < deadline:
        assert ready.json()["warm_up"] == "running"  # only the start-up warm-up may hold readiness
        time.sleep(0.1)
    assert ready.status_code == 200 and ready.json()["database"] == "ok" and ready.json()["index"] == "ok"
    schema = client.get("/openapi.json").json()
    for path in (
        "/api/v1/sessions",
        "/api/v1/sessions/{session_id}/messages",
        "/api/v1/sessions/{session_id}",
        "/api/v1/sessions/{session_id}/report",
    ):
        assert path in schema["paths"]
        for op in schema["paths"][path].values():
            assert op.get("summary")
    for r in (client.get("/"), client.get("/api/v1/sessions/nope"), client.get("/static/app.css")):
        assert "default-src 'self'" in r.headers["content-security-policy"]  # pages, errors, assets
        assert r.headers["x-content-type-options"] == "nosniff"


def test_articles_render_escaped(client: TestClient) -> None:
    r = client.get("/articles/concurrency-in-python")
    assert r.status_code == 200 and "<h1>" in r.text and "<script" not in r.text
    assert client.get("/articles/nope").status_code == 404


def test_sheds_load_beyond_capacity_without_taking_the_answer(
    tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    with make_client(tmp_path, bank, full_index, max_active_turns=1) as c:
        sid, auth, _ = start(c)
        before = transcript(c, sid, auth)
        c.app.state.ctx.service._runner._tasks[-1] = object()  # type: ignore[attr-defined]  # one turn in progress
        r = send(c, sid, auth, "An answer that arrives while the worker is full.")
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
        assert "not taken" in r.json()["detail"]
        assert transcript(c, sid, auth) == before  # nothing was committed
        del c.app.state.ctx.service._runner._tasks[-1]  # type: ignore[attr-defined]
        assert send(c, sid, auth, "An answer that arrives while the worker is full.").status_code == 200


def test_sheds_load_when_the_event_loop_runs_late(
    tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    """Out of CPU (its event loop's timers fire late), a worker refuses new answers with 503
    instead of slowing every turn down; once the loop is on time again they are taken."""
    with make_client(tmp_path, bank, full_index, max_loop_lag_ms=200) as c:
        sid, auth, _ = start(c)
        before = transcript(c, sid, auth)
        service = c.app.state.ctx.service._runner  # type: ignore[attr-defined]  # services/runner.py
        service.loop_lag = 1000.0  # as `watch_loop` would smooth it under a sustained overload
        r = send(c, sid, auth, "An answer that arrives while the worker is out of CPU.")
        assert r.status_code == 503 and int(r.headers["Retry-After"]) >= 1
        assert transcript(c, sid, auth) == before  # nothing was committed
        service.loop_lag = 0.0
        service._writes_waiting = 10_000  # the database's backlog in this worker
        r = send(c, sid, auth, "An answer that arrives while the worker is out of CPU.")
        assert r.status_code == 503 and transcript(c, sid, auth) == before
        service._writes_waiting = 0
        service.loop_lag = 1000.0
        deadline = time.monotonic() + 30
        while service.loop_lag > 0.2 and time.monotonic() < deadline:  # the watcher sees an idle loop
            time.sleep(0.05)
        assert send(c, sid, auth, "An answer that arrives while the worker is out of CPU.").status_code == 200
