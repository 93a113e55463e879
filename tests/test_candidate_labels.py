"""HR's candidate label through the real app (TestClient, a real SQLite file — and PostgreSQL for
the migration — the real index, the offline engine): typed on an invite (API or CLI), trimmed,
refused with 422 when it holds control characters or is too long; carried to the session the
invite starts; shown wherever staff see an interview (the HR invites list, the review list with a
label search, the review document, every export, escaped) and never to the candidate. An existing
database from before the label gets the columns by an explicit migration step, old rows reading
`None`."""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import DateTime, Engine, bindparam, func, inspect, select, text
from typer.testing import CliRunner

from interviewer.bank import Bank, VectorIndex
from interviewer.store import db as store_db
from interviewer.store.db import Database
from interviewer.store.tables import Base, Invite, SchemaMigration
from interviewer.web.exports import md_escape
from tests.conftest import KNOWLEDGE
from tests.kit.client import make_client, send
from tests.kit.review import FAST, World
from tests.kit.review import staff as _staff

LABEL = "Jane Doe <jane@example.com> — backend role"
HOSTILE = '=HYPERLINK("http://x") <script>alert(1)</script>'


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, bank: Bank, full_index: VectorIndex) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("labels")
    with make_client(tmp, bank, full_index, f"sqlite:///{tmp / 'labels.db'}", **FAST) as c:
        hr, ev = _staff(c)
        yield World(client=c, bank=bank, hr=hr, ev=ev)


def _db(w: World) -> Database:
    return w.client.app.state.ctx.db  # type: ignore[attr-defined,no-any-return]


def _invite(w: World, label: Any = None, *, plan: str = "python") -> dict[str, Any]:
    body: dict[str, Any] = {"plan": plan}
    if label is not None:
        body["candidate_label"] = label
    r = w.client.post("/api/v1/invites", headers=w.hr, json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def _start(w: World, code: str) -> tuple[str, dict[str, str], dict[str, Any], list[str]]:
    """A session from an invite; also every candidate-facing response body so far."""
    r = w.client.post("/api/v1/sessions", json={"invite_code": code})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}, body["state"], [r.text]


def _finish(w: World, sid: str, auth: dict[str, str], state: dict[str, Any], seen: list[str]) -> None:
    while state["status"] == "active":
        r = send(w.client, sid, auth, "I don't know")
        assert r.status_code == 200, r.text
        seen.append(r.text)
        state = r.json()["state"]
    seen.append(w.client.get(f"/api/v1/sessions/{sid}", headers=auth).text)
    seen.append(w.client.get(f"/api/v1/sessions/{sid}/report", headers=auth).text)


def _listed(w: World, **params: Any) -> dict[str, dict[str, Any]]:
    r = w.client.get("/api/v1/review/sessions", params={"limit": 100, **params}, headers=w.ev)
    assert r.status_code == 200, r.text
    return {i["session_id"]: i for i in r.json()["items"]}


def _export(w: World, sid: str, fmt: str) -> str:
    r = w.client.get(f"/api/v1/review/sessions/{sid}/export", params={"format": fmt}, headers=w.hr)
    assert r.status_code == 200, r.text
    return r.text


# --- the label's way: invite, session, staff views; never the candidate -------------------------


def test_label_reaches_every_staff_view_and_never_the_candidate(world: World) -> None:
    created = _invite(world, f"  {LABEL}\u00a0 ")
    assert created["candidate_label"] == LABEL  # trimmed

    invites = world.client.get("/api/v1/hr/invites", headers=world.hr).json()["invites"]
    assert invites[0]["candidate_label"] == LABEL

    sid, auth, state, seen = _start(world, created["code"])
    _finish(world, sid, auth, state, seen)
    for body in seen:  # start, every reply, the transcript and the report
        assert "Jane" not in body and "candidate_label" not in body

    assert _listed(world)[sid]["candidate_label"] == LABEL
    review = world.client.get(f"/api/v1/review/sessions/{sid}", headers=world.ev).json()
    assert review["candidate_label"] == LABEL
    assert json.loads(_export(world, sid, "json"))["candidate_label"] == LABEL
    rows = list(csv.DictReader(io.StringIO(_export(world, sid, "csv"))))
    assert rows and {r["candidate_label"] for r in rows} == {LABEL}
    assert md_escape(LABEL) in _export(world, sid, "md")
    assert html.escape(LABEL) in _export(world, sid, "html")

    practice = world.client.post("/api/v1/sessions", json={"plan": "python"}).json()["session_id"]
    assert _listed(world)[practice]["candidate_label"] is None
    assert (
        world.client.get(f"/api/v1/review/sessions/{practice}", headers=world.ev).json()["candidate_label"]
        is None
    )


def test_a_hostile_label_stays_inert_in_every_export(world: World) -> None:
    sid, auth, state, seen = _start(world, _invite(world, HOSTILE)["code"])
    _finish(world, sid, auth, state, seen)
    rows = list(csv.DictReader(io.StringIO(_export(world, sid, "csv"))))
    assert rows and {r["candidate_label"] for r in rows} == {"'" + HOSTILE}
    page = _export(world, sid, "html")
    assert "<script" not in page.lower() and html.escape(HOSTILE) in page
    md = _export(world, sid, "md")
    assert "<script" not in md.lower() and md_escape(HOSTILE) in md


ONE_LINE = "one line of visible text"


@pytest.mark.parametrize(
    ("label", "why"),
    [
        ("nul\x00byte", ONE_LINE),
        ("two\nlines", ONE_LINE),
        ("tab\there", ONE_LINE),
        ("carriage\rreturn", ONE_LINE),
        ("escape\x1b[31m", ONE_LINE),
        ("c1\x85control", ONE_LINE),
        ("bidi \u202eevil", ONE_LINE),
        ("line\u2028separator", ONE_LINE),
        ("x" * 201, "at most 200 characters"),
        (42, "valid string"),
        (["Jane"], "valid string"),
    ],
)
def test_bad_labels_are_422_and_create_nothing(world: World, label: Any, why: str) -> None:
    def count() -> int:
        with _db(world).session() as s:
            return int(s.scalar(select(func.count()).select_from(Invite)) or 0)

    before = count()
    r = world.client.post(
        "/api/v1/invites", headers=world.hr, json={"plan": "python", "candidate_label": label}
    )
    assert r.status_code == 422, r.text
    [problem] = r.json()["detail"]
    assert problem["loc"] == ["body", "candidate_label"] and why in problem["msg"], problem
    assert "evil" not in r.text and "byte" not in r.text  # the input is not echoed
    assert count() == before


@pytest.mark.parametrize(
    ("label", "kept"),
    [("", None), ("   ", None), (None, None), ("x" * 200, "x" * 200), (f"  {'y' * 200}  ", "y" * 200)],
)
def test_empty_labels_are_none_and_the_limit_counts_after_trimming(
    world: World, label: str | None, kept: str | None
) -> None:
    r = world.client.post(
        "/api/v1/invites", headers=world.hr, json={"plan": "python", "candidate_label": label}
    )
    assert r.status_code == 201, r.text
    assert r.json()["candidate_label"] == kept


def test_review_list_searches_labels(world: World) -> None:
    """`q`: a case-insensitive substring of the label; % and _ are literal characters."""
    sids = {}
    for label in ("Ann 100% match", "Bob_smith", "bobXsmith"):
        sids[label] = _start(world, _invite(world, label)["code"])[0]
    assert set(_listed(world, q="100%")) == {sids["Ann 100% match"]}
    assert set(_listed(world, q="b_s")) == {sids["Bob_smith"]}
    assert set(_listed(world, q="BOB")) == {sids["Bob_smith"], sids["bobXsmith"]}
    assert set(_listed(world, q="no such candidate")) == set()
    assert _listed(world, q="smith", limit=1)  # with the other filters and paging
    for bad in ("nul\x00", "x" * 201, ""):
        r = world.client.get("/api/v1/review/sessions", params={"q": bad}, headers=world.ev)
        assert r.status_code == 422 and "nul" not in r.text


def test_cli_invite_with_a_label(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from interviewer.cli import app

    url = str(_db(world).engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(KNOWLEDGE))
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(app, ["invites", "create", "--plan", "python", "--label", " CLI Candidate "])
    assert result.exit_code == 0, result.output
    sid = _start(world, result.stdout.strip())[0]
    assert _listed(world)[sid]["candidate_label"] == "CLI Candidate"

    with _db(world).session() as s:
        before = s.scalar(select(func.count()).select_from(Invite))
    result = runner.invoke(app, ["invites", "create", "--plan", "python", "--label", "bad\x01label"])
    assert result.exit_code == 2 and "label" in result.output
    with _db(world).session() as s:
        assert s.scalar(select(func.count()).select_from(Invite)) == before


# --- an existing database from before the label -------------------------------------------------

OLD_TABLES = """
CREATE TABLE invites (
    id {serial} NOT NULL PRIMARY KEY,
    code_hash VARCHAR(64) NOT NULL UNIQUE,
    plan_id VARCHAR(80) NOT NULL,
    mode VARCHAR(20) NOT NULL,
    show_report BOOLEAN NOT NULL,
    expires_at TIMESTAMP WITH TIME ZONE NOT NULL,
    used_at TIMESTAMP WITH TIME ZONE,
    created_by INTEGER REFERENCES users (id),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL
);
CREATE TABLE sessions (
    id VARCHAR(36) NOT NULL PRIMARY KEY,
    token_hash VARCHAR(64) NOT NULL,
    plan_id VARCHAR(80) NOT NULL,
    track_version_id INTEGER NOT NULL REFERENCES track_versions (id),
    mode VARCHAR(20) NOT NULL,
    show_report BOOLEAN NOT NULL,
    status VARCHAR(20) NOT NULL,
    state JSON NOT NULL,
    version INTEGER NOT NULL,
    invite_id INTEGER REFERENCES invites (id),
    client_address VARCHAR(64),
    created_at TIMESTAMP WITH TIME ZONE NOT NULL,
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL
)
"""
OLD_ROWS = """
INSERT INTO track_versions (plan_id, content_hash, config, created_at) VALUES ('python', 'h', '{{}}', :at);
INSERT INTO invites (code_hash, plan_id, mode, show_report, expires_at, used_at, created_at)
    VALUES ('old-code-hash', 'python', 'assessment', {true}, :later, :at, :at);
INSERT INTO sessions (id, token_hash, plan_id, track_version_id, mode, show_report, status, state,
    version, invite_id, created_at, updated_at)
    VALUES ('00000000-0000-4000-8000-000000000001', 't', 'python',
        (SELECT MIN(id) FROM track_versions), 'assessment', {true}, 'active', '{{}}', 0,
        (SELECT MIN(id) FROM invites), :at, :at)
"""


def _old_database(url: str) -> None:
    """A database as the version before the label left it: every migration up to 0004 recorded,
    `invites` and `sessions` in their old shape (raw SQL), one invite and its session in them."""
    old = Database(url)
    try:
        _old_schema_and_rows(old.engine)
        assert "candidate_label" not in {c["name"] for c in inspect(old.engine).get_columns("invites")}
    finally:
        old.dispose()


def _old_schema_and_rows(engine: Engine) -> None:
    postgres = engine.dialect.name == "postgresql"
    tables = Base.metadata.tables
    at = datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    times = {"at": at, "later": at + timedelta(days=3)}
    with engine.begin() as conn:
        Base.metadata.create_all(conn, tables=[tables["users"], tables["track_versions"]])
        for ddl in OLD_TABLES.format(serial="SERIAL" if postgres else "INTEGER").split(";"):
            conn.exec_driver_sql(ddl)
        Base.metadata.create_all(conn)  # the other tables; the two old ones exist and are kept
        for statement in OLD_ROWS.format(true="TRUE" if postgres else "1").split(";"):
            params = [
                bindparam(k, v, type_=DateTime(timezone=True))
                for k, v in times.items()
                if f":{k}" in statement
            ]
            conn.execute(text(statement).bindparams(*params))
        for name, _ in store_db.MIGRATIONS:
            if name < "0005":
                conn.execute(SchemaMigration.__table__.insert().values(name=name))  # type: ignore[attr-defined]


def test_migration_adds_the_label_to_an_existing_database(
    database_url: str, tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    _old_database(database_url)
    with make_client(tmp_path, bank, full_index, database_url, **FAST) as c:  # migrates at start-up
        db: Database = c.app.state.ctx.db  # type: ignore[attr-defined]
        for table in ("invites", "sessions"):
            assert "candidate_label" in {col["name"] for col in inspect(db.engine).get_columns(table)}
        assert db.migrate() == []
        with db.engine.begin() as conn:  # the step itself is idempotent
            dict(store_db.MIGRATIONS)["0005_candidate_labels"](conn)
        hr, ev = _staff(c)
        w = World(client=c, bank=bank, hr=hr, ev=ev)
        old = c.get("/api/v1/hr/invites", headers=hr).json()["invites"]
        assert [(i["status"], i["candidate_label"]) for i in old] == [("used", None)]
        listed = _listed(w)
        assert [(i["session_id"][-1], i["candidate_label"]) for i in listed.values()] == [("1", None)]
        # and the new column works on the upgraded tables
        sid = _start(w, _invite(w, LABEL)["code"])[0]
        assert _listed(w)[sid]["candidate_label"] == LABEL
        assert set(_listed(w, q="jane")) == {sid}


def test_a_new_database_has_the_label_once(database_url: str) -> None:
    """0001 creates the tables as they were (without the column); 0005 adds it, once."""
    db = Database(database_url)
    try:
        assert "0005_candidate_labels" in db.migrate()
        for table in ("invites", "sessions"):
            names = [c["name"] for c in inspect(db.engine).get_columns(table)]
            assert names.count("candidate_label") == 1
    finally:
        db.dispose()
