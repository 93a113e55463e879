"""The HR API (`/api/v1/hr`) through the real app: TestClient, a real SQLite file, the real index
(a copy of the session's whole-bank index, so that re-indexing here touches no other test), the
offline engine. Tracks, plans and questions are versioned; a running interview keeps its track
configs while a new one follows the edit; questions are validated with the rules of the files,
problems keyed by field; a saved question is re-indexed and used by the next session, in this
worker and in another one on the same database; the bank goes out as a zip and comes back."""

from __future__ import annotations

import copy
import io
import json
import shutil
import uuid
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from interviewer.bank import Bank, Retriever, VectorIndex, load_bank, validate_bank
from interviewer.bank.embeddings import LocalMiniLM
from interviewer.bank.index import make_chroma_client
from interviewer.config import Settings
from interviewer.engine.state import SessionState
from interviewer.services.credentials import hash_password
from interviewer.store import bank_edits as hrdb
from interviewer.store import repo
from interviewer.store import staff as staff_store
from interviewer.store.db import Database
from interviewer.store.review import audit_entries
from interviewer.store.tables import AuditLog, InterviewSession, Invite, utcnow
from tests.conftest import KNOWLEDGE
from tests.kit.client import make_client, send

FAST = {"requests_per_minute": 100_000, "answers_per_minute": 10_000, "sessions_per_minute": 10_000}
PASSWORD = "correct horse battery"


@dataclass
class World:
    client: TestClient
    bank: Bank
    index: VectorIndex
    url: str
    tmp: Path
    hr: dict[str, str]
    ev: dict[str, str]

    @property
    def db(self) -> Database:
        return self.client.app.state.ctx.db  # type: ignore[attr-defined,no-any-return]


def _login(c: TestClient, email: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def _copy_index(full_data_dir: Path, target: Path, embedder: LocalMiniLM) -> VectorIndex:
    shutil.copytree(full_data_dir / "chroma", target / "chroma")
    settings = Settings(_env_file=None, data_dir=target, knowledge_dir=KNOWLEDGE)  # type: ignore[call-arg]
    return VectorIndex(make_chroma_client(settings), embedder)


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    full_index: VectorIndex,
    full_data_dir: Path,
    embedder: LocalMiniLM,
) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("hr")
    index = _copy_index(full_data_dir, tmp / "index", embedder)
    bank = load_bank(KNOWLEDGE)  # this module's own: HR's edits change it in place
    url = f"sqlite:///{tmp / 'hr.db'}"
    with make_client(tmp, bank, index, url, **FAST) as client:
        db: Database = client.app.state.ctx.db  # type: ignore[attr-defined]
        with db.session() as s:
            for email, role in (("hr@example.com", "hr"), ("ev@example.com", "evaluator")):
                staff_store.create_user(s, email=email, role=role, password_hash=hash_password(PASSWORD))
            s.commit()
        yield World(
            client, bank, index, url, tmp, _login(client, "hr@example.com"), _login(client, "ev@example.com")
        )


def _start(c: TestClient, plan: str) -> tuple[str, dict[str, str], dict[str, Any]]:
    r = c.post("/api/v1/sessions", json={"plan": plan})
    assert r.status_code == 201, r.text
    return r.json()["session_id"], {"Authorization": f"Bearer {r.json()['token']}"}, r.json()


def _state(w: World, sid: str) -> SessionState:
    with w.db.session() as s:
        row = repo.get_session(s, session_id=sid)
        assert row is not None
        return SessionState.model_validate(row.state)


def _track(w: World, track: str) -> dict[str, Any]:
    r = w.client.get(f"/api/v1/hr/tracks/{track}", headers=w.hr)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _question_doc(
    qid: str, *, track: str = "python", topic: str = "hr-topic", text: str = ""
) -> dict[str, Any]:
    base = copy.deepcopy(load_bank(KNOWLEDGE).questions["py-asyncio-blocking-cancellation"].model_dump())
    base.update(id=qid, track=track, topic=topic, difficulty=2)
    base["question"] = text or f"How would you design the {qid} feature of a ticket booking service?"
    return base


def _counts(w: World) -> tuple[tuple[int, int], int]:
    with w.db.session() as s:
        return hrdb.bank_revision(s), int(s.scalar(select(func.count()).select_from(AuditLog)) or 0)


# --- roles -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/hr/tracks"),
        ("GET", "/api/v1/hr/plans"),
        ("GET", "/api/v1/hr/questions"),
        ("GET", "/api/v1/hr/tracks/python"),
        ("PUT", "/api/v1/hr/tracks/python"),
        ("POST", "/api/v1/hr/questions"),
        ("DELETE", "/api/v1/hr/questions/py-asyncio-blocking-cancellation"),
        ("GET", "/api/v1/hr/bank/export"),
        ("POST", "/api/v1/hr/bank/import"),
        ("GET", "/api/v1/hr/invites"),
    ],
)
def test_hr_only(world: World, method: str, path: str) -> None:
    c = world.client
    body = _track(world, "python")["track"] if method == "PUT" else None
    before = _counts(world)
    _, candidate, _ = _start(c, "python")
    for headers, status in (
        ({}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        (candidate, 401),
        (world.ev, 403),
    ):
        r = c.request(method, path, headers=headers, json=body)
        assert r.status_code == status, (headers, r.text)
    assert _counts(world)[0] == before[0]  # nothing was saved
    if method == "GET":
        assert c.get(path, headers=world.hr).status_code == 200


def test_cookie_writes_need_the_csrf_header(world: World) -> None:
    c = TestClient(world.client.app)  # the same app, a browser-like client with the login cookies
    assert (
        c.post("/api/v1/auth/login", json={"email": "hr@example.com", "password": PASSWORD}).status_code
        == 200
    )
    doc = _track(world, "architecture")["track"]
    assert c.get("/api/v1/hr/tracks").status_code == 200
    assert c.put("/api/v1/hr/tracks/architecture", json=doc).status_code == 403
    csrf = {"X-CSRF-Token": c.cookies["interviewer_csrf"]}
    assert c.put("/api/v1/hr/tracks/architecture", json=doc, headers=csrf).status_code == 200


# --- tracks: versions; running sessions keep theirs ------------------------------------------


def test_track_edit_new_session_follows_running_keeps(world: World) -> None:
    c = world.client
    old_sid, old_auth, old_body = _start(c, "python")
    assert old_body["state"]["questions_total"] == 4
    current = _track(world, "python")
    assert current["origin"] in ("seed", "hr")
    doc = {**current["track"], "questions": 3, "follow_up_budget": 1}
    r = c.put("/api/v1/hr/tracks/python", headers=world.hr, json=doc)
    assert r.status_code == 200, r.text
    saved = r.json()
    assert saved["origin"] == "hr" and saved["track"]["questions"] == 3
    assert [v["version"] for v in saved["versions"]][0] == 0 and saved["version"] == saved["versions"][-1][
        "version"
    ]
    listed = {t["id"]: t for t in c.get("/api/v1/hr/tracks", headers=world.hr).json()["tracks"]}
    assert listed["python"]["questions"] == 3 and listed["python"]["version"] == saved["version"]

    # the running session keeps 4 questions and a budget of 2
    r = send(c, old_sid, old_auth, "I don't know")
    assert r.status_code == 200 and r.json()["state"]["questions_total"] == 4
    assert _state(world, old_sid).track_configs["python"].follow_up_budget == 2

    # a new one follows the edit: 3 main questions, at most 1 follow-up each
    sid, auth, body = _start(c, "python")
    assert body["state"]["questions_total"] == 3
    assert _state(world, sid).track_configs["python"].follow_up_budget == 1
    # answer every question with one of its key points only: a follow-up may probe the rest, and
    # after that one the interview moves on (a second partial answer would earn a second one with
    # the seed budget of 2). Whether the offline scorer sees a given answer as partial varies by
    # question, so the budget is checked on every follow-up the session asks, and at least one is.
    kinds: list[str] = []
    state = body["state"]
    while state["status"] == "active":
        current_q = _state(world, sid).question
        assert current_q is not None
        partial = "I think that " + world.bank.questions[current_q.question_id].key_points[0].text
        r = send(c, sid, auth, partial)
        assert r.status_code == 200, r.text
        kinds.append(r.json()["messages"][-1]["kind"])
        state = r.json()["state"]
    assert "follow_up" in kinds
    assert all(b != "follow_up" for a, b in zip(kinds, kinds[1:], strict=False) if a == "follow_up"), kinds
    asked = [q for t in _state(world, sid).tracks for q in t.questions]
    assert len(asked) == 3 and all(len(q.follow_ups) <= 1 for q in asked)
    with world.db.session() as s:
        old_row, new_row = repo.get_session(s, session_id=old_sid), repo.get_session(s, session_id=sid)
        assert old_row is not None and new_row is not None
        assert old_row.track_version_id != new_row.track_version_id  # each pinned its version


def test_track_rules_of_the_files(world: World) -> None:
    c = world.client
    doc = _track(world, "problem_solving")["track"]
    topics = Counter(q.topic for q in world.bank.questions_for("problem_solving"))
    rare = min(topics, key=topics.__getitem__)
    assert topics[rare] < 5
    before = _counts(world)
    cases: list[tuple[dict[str, Any], set[str]]] = [
        ({**doc, "questions": 9}, {"questions"}),
        ({**doc, "follow_up_budget": -1, "pass_threshold": 7}, {"follow_up_budget", "pass_threshold"}),
        ({**doc, "difficulty": {"start": 3, "min": 1, "max": 2}}, {"difficulty"}),
        ({**doc, "rubric": [{**doc["rubric"][0], "weight": 0.9}, *doc["rubric"][1:]]}, {"rubric"}),
        (
            {**doc, "rubric": [{**doc["rubric"][0], "levels": {"1": "Knows nothing at all."}}]},
            {"rubric.0.levels"},
        ),
        ({**doc, "topics": ["no-such-topic"]}, {"topics.0"}),
        ({**doc, "questions": 5, "topics": [rare]}, {"questions"}),
        ({**doc, "colour": "blue"}, {"colour"}),
        ({**doc, "id": "python"}, {"id"}),
    ]
    for body, fields in cases:
        r = c.put("/api/v1/hr/tracks/problem_solving", headers=world.hr, json=body)
        assert r.status_code == 422, (body, r.text)
        got = {p["field"] for p in r.json()["detail"]}
        assert fields <= got, (fields, r.json()["detail"])
    assert c.post("/api/v1/hr/tracks", headers=world.hr, json=doc).status_code == 422  # tracks are fixed
    assert _counts(world) == before


# --- plans -----------------------------------------------------------------------------------


def test_plan_create_update_and_versions(world: World) -> None:
    c = world.client
    plan = {"id": "backend-screen", "title": "Backend screen", "tracks": ["python"], "mode": "assessment"}
    r = c.post("/api/v1/hr/plans", headers=world.hr, json=plan)
    assert r.status_code == 201, r.text
    assert r.json()["origin"] == "hr" and [v["version"] for v in r.json()["versions"]] == [1]
    assert c.post("/api/v1/hr/plans", headers=world.hr, json=plan).status_code == 422  # exists
    r = c.put(
        "/api/v1/hr/plans/backend-screen",
        headers=world.hr,
        json={**plan, "tracks": ["python", "architecture"]},
    )
    assert r.status_code == 200 and [v["version"] for v in r.json()["versions"]] == [1, 2]
    assert any(p["id"] == "backend-screen" for p in c.get("/api/v1/plans").json()["plans"])
    _, _, body = _start(c, "backend-screen")
    assert [t["track"] for t in body["state"]["tracks"]] == ["python", "architecture"]
    bad = c.post(
        "/api/v1/hr/plans", headers=world.hr, json={**plan, "id": "x2", "tracks": ["python", "python"]}
    )
    assert bad.status_code == 422 and {p["field"] for p in bad.json()["detail"]} == {"tracks"}
    assert c.put("/api/v1/hr/plans/nope", headers=world.hr, json={**plan, "id": "nope"}).status_code == 404


# --- questions -------------------------------------------------------------------------------


def test_question_problems_are_keyed_by_field(world: World) -> None:
    c = world.client
    before = _counts(world)
    doc = _question_doc("hr-bad-one")
    bad = {
        **doc,
        "difficulty": 7,
        "key_points": doc["key_points"][:2],
        "pitfals": [],
        "question": "<script>alert(1)</script>\x00",
    }
    r = c.post("/api/v1/hr/questions", headers=world.hr, json=bad)
    assert r.status_code == 422
    fields = {p["field"]: p["msg"] for p in r.json()["detail"]}
    assert {"difficulty", "key_points", "pitfals", "question"} <= set(fields), fields
    assert "unknown field" in fields["pitfals"] and "control" in fields["question"]
    r = c.post("/api/v1/hr/questions", headers=world.hr, json={**doc, "references": ["no-such-article"]})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "references.0"
    follow = [{"key_point": "nope", "text": "What about the part you did not mention?"}]
    r = c.post("/api/v1/hr/questions", headers=world.hr, json={**doc, "follow_ups": follow})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "follow_ups.0.key_point"
    seed_id = "py-asyncio-blocking-cancellation"
    r = c.post("/api/v1/hr/questions", headers=world.hr, json={**doc, "id": seed_id})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "id"
    assert c.get("/api/v1/hr/questions/hr-bad-one", headers=world.hr).status_code == 404
    for raw in (b'{"id": "a", "id": "b"}', b"{not json", b"[1]", b'{"difficulty": NaN}'):
        r = c.post(
            "/api/v1/hr/questions", headers={**world.hr, "Content-Type": "application/json"}, content=raw
        )
        assert 400 <= r.status_code < 500
    assert _counts(world) == before


def test_saved_question_is_reindexed_and_used_by_the_next_session(world: World) -> None:
    c = world.client
    retriever: Retriever = c.app.state.retriever  # type: ignore[attr-defined]
    ids = [f"hr-booking-{n}" for n in range(3)]
    texts = [
        "How would you stop two customers from booking the same concert seat at once?",
        "How do you expire unpaid seat holds in a ticket booking system?",
        "How would you shard the seat inventory of a ticket booking system?",
    ]
    for qid, text in zip(ids, texts, strict=True):
        doc = _question_doc(qid, track="problem_solving", topic="hr-booking", text=text)
        r = c.post("/api/v1/hr/questions", headers=world.hr, json=doc)
        assert r.status_code == 201, r.text
        assert r.json()["origin"] == "hr" and r.json()["version"] == 1
    hits = retriever.find_questions("two customers booking the same concert seat", limit=1)
    assert hits and hits[0].question.id == ids[0]  # in the index already
    listed = c.get("/api/v1/hr/questions?track=problem_solving", headers=world.hr).json()["questions"]
    assert {q["id"] for q in listed if q["origin"] == "hr"} >= set(ids)

    # an edit is re-indexed too: the old wording no longer finds it first
    edited = {**_question_doc(ids[2], track="problem_solving", topic="hr-booking"), "question": texts[2]}
    edited["question"] = "How would you partition a festival's wristband inventory across database nodes?"
    r = c.put(f"/api/v1/hr/questions/{ids[2]}", headers=world.hr, json=edited)
    assert r.status_code == 200 and [v["version"] for v in r.json()["versions"]] == [1, 2]
    hits = retriever.find_questions("festival wristband inventory partition", limit=1)
    assert hits[0].question.id == ids[2]

    # a track restricted to the new topic: the next session asks one of them, and scores it
    track = _track(world, "problem_solving")["track"]
    r = c.put(
        "/api/v1/hr/tracks/problem_solving",
        headers=world.hr,
        json={**track, "topics": ["hr-booking"], "questions": 3},
    )
    assert r.status_code == 200, r.text
    sid, auth, body = _start(c, "problem_solving")
    assert body["messages"][-1]["kind"] == "question"
    first = _state(world, sid).question
    assert first is not None and first.question_id in ids
    r = send(c, sid, auth, world.bank.questions[first.question_id].model_answer)
    assert r.status_code == 200
    assert (_state(world, sid).tracks[0].questions[0].assessment or pytest.fail("no assessment")).score > 1

    # while that session runs: a delete that would leave the track short is refused
    r = c.delete(f"/api/v1/hr/questions/{first.question_id}", headers=world.hr)
    assert r.status_code == 422, r.text
    r = c.put("/api/v1/hr/tracks/problem_solving", headers=world.hr, json=track)  # back to all topics
    assert r.status_code == 200
    # an interview from before question revisions still needs the question in the bank: 409
    with world.db.session() as s:
        row = repo.get_session(s, session_id=sid)
        assert row is not None
        kept = copy.deepcopy(row.state)
        legacy = copy.deepcopy(row.state)
        for t in legacy["tracks"]:
            for q in t["questions"]:
                q["revision"] = None
        s.execute(update(InterviewSession).where(InterviewSession.id == sid).values(state=legacy))
        s.commit()
    r = c.delete(f"/api/v1/hr/questions/{first.question_id}", headers=world.hr)
    assert r.status_code == 409 and "running" in r.json()["detail"]
    with world.db.session() as s:
        s.execute(update(InterviewSession).where(InterviewSession.id == sid).values(state=kept))
        s.commit()
    # this one asked a stored revision: the delete goes through and the interview goes on with it
    asked_text = world.bank.questions[first.question_id].question
    r = c.delete(f"/api/v1/hr/questions/{first.question_id}", headers=world.hr)
    assert r.status_code == 200 and first.question_id not in world.bank.questions, r.text
    r = send(c, sid, auth, "I would lock the seat row with SELECT ... FOR UPDATE before charging.")
    assert r.status_code == 200, r.text
    review = c.get(f"/api/v1/review/sessions/{sid}", headers=world.ev).json()
    assert (
        next(q for q in review["questions"] if q["question_id"] == first.question_id)["question"]
        == asked_text
    )
    asked = {q.question_id for t in _state(world, sid).tracks for q in t.questions}
    spare = next(q for q in ids if q not in asked)
    r = c.delete(f"/api/v1/hr/questions/{spare}", headers=world.hr)
    assert r.status_code == 200 and r.json() == {"deleted": spare, "current": None}
    assert spare not in world.bank.questions
    assert all(h.question.id != spare for h in retriever.find_questions(texts[ids.index(spare)], limit=5))


def test_running_session_keeps_the_question_it_asked(world: World) -> None:
    """HR rewrites a question while a candidate is answering it: that interview goes on with the
    text, key points and follow-ups it asked (its revision is stored once, by content), the
    review shows the key points that were scored, and the next interview asks the new text."""
    c = world.client
    sid, auth, _ = _start(c, "python")
    asked = _state(world, sid).question
    assert asked is not None and asked.revision is not None
    old = world.bank.questions[asked.question_id]
    doc = c.get(f"/api/v1/hr/questions/{old.id}", headers=world.hr).json()["question"]
    doc["question"] = old.question.strip() + " Answer for a payments team."
    for kp in doc["key_points"]:
        kp["text"] = "Edited: " + kp["text"]
    for fu in doc["follow_ups"]:
        fu["text"] = "Edited follow-up: " + fu["text"]
    r = c.put(f"/api/v1/hr/questions/{old.id}", headers=world.hr, json=doc)
    assert r.status_code == 200, r.text
    assert world.bank.questions[old.id].question.endswith("payments team.")
    with world.db.session() as s:
        stored = repo.question_versions(s, [asked.revision])
    assert stored == {asked.revision: old}  # kept when it was asked

    r = send(c, sid, auth, "I think that " + old.key_points[0].text)
    assert r.status_code == 200, r.text
    reply = r.json()["messages"][-1]
    assert reply["kind"] == "follow_up", reply
    probed = _state(world, sid).question
    assert probed is not None and probed.question_id == old.id and probed.revision == asked.revision
    expected = next(fu.text for fu in old.follow_ups if fu.key_point == probed.follow_ups[-1])
    assert " ".join(reply["content"].split()) == " ".join(expected.split())  # the old follow-up
    assessment = probed.assessment
    assert assessment is not None and old.key_points[0].id in assessment.covered

    review = c.get(f"/api/v1/review/sessions/{sid}", headers=world.ev).json()
    entry = next(q for q in review["questions"] if q["question_id"] == old.id)
    assert entry["question"] == old.question
    assert [kp["text"] for kp in entry["key_points"]] == [kp.text for kp in old.key_points]
    assert "Edited" not in json.dumps(entry)
    follow_up = next(t for t in review["transcript"] if t["kind"] == "follow_up")
    assert follow_up["key_point_text"] == next(
        k.text for k in old.key_points if k.id == follow_up["key_point"]
    )

    # the shipped text back (a new version with the old content): other tests see the bank as it was
    r = c.put(f"/api/v1/hr/questions/{old.id}", headers=world.hr, json=old.model_dump(mode="json"))
    assert r.status_code == 200, r.text
    assert world.bank.questions[old.id] == old


def test_a_save_based_on_an_old_version_is_refused(world: World) -> None:
    """Two HR editors open the same item; the first saves; the second's save, based on the version
    it loaded (If-Match, as the pages send it), is refused with 412 and changes nothing."""
    c = world.client
    for kind, item_id in (("question", "py-decorators"), ("track", "architecture"), ("plan", "full")):
        got = c.get(f"/api/v1/hr/{kind}s/{item_id}", headers=world.hr)
        assert got.status_code == 200, got.text
        version = got.json()["version"]
        assert got.headers["etag"] == f'"{version}"'
        doc = got.json()[kind]
        first = c.put(
            f"/api/v1/hr/{kind}s/{item_id}", headers={**world.hr, "If-Match": f'"{version}"'}, json=doc
        )
        assert first.status_code == 200, first.text
        assert first.json()["version"] == version + 1 and first.headers["etag"] == f'"{version + 1}"'
        before = _counts(world)
        second = c.put(
            f"/api/v1/hr/{kind}s/{item_id}", headers={**world.hr, "If-Match": str(version)}, json=doc
        )
        assert second.status_code == 412, second.text
        assert "changed by hr@example.com since you opened it" in second.json()["detail"]
        assert _counts(world) == before  # nothing saved, nothing audited
        bad = c.put(f"/api/v1/hr/{kind}s/{item_id}", headers={**world.hr, "If-Match": "latest"}, json=doc)
        assert bad.status_code == 400 and _counts(world) == before
        again = c.put(
            f"/api/v1/hr/{kind}s/{item_id}", headers={**world.hr, "If-Match": f'W/"{version + 1}"'}, json=doc
        )
        assert again.status_code == 200 and again.json()["version"] == version + 2
        assert (
            c.put(f"/api/v1/hr/{kind}s/{item_id}", headers=world.hr, json=doc).status_code == 200
        )  # last wins


def test_editing_and_deleting_a_shipped_question(world: World) -> None:
    c = world.client
    qid = "py-asyncio-blocking-cancellation"
    shipped = world.bank.questions[qid].question
    assert c.delete(f"/api/v1/hr/questions/{qid}", headers=world.hr).status_code == 409
    doc = c.get(f"/api/v1/hr/questions/{qid}", headers=world.hr).json()["question"]
    r = c.put(
        f"/api/v1/hr/questions/{qid}", headers=world.hr, json={**doc, "question": shipped + " Be brief."}
    )
    assert r.status_code == 200 and r.json()["origin"] == "hr"
    assert world.bank.questions[qid].question.endswith("Be brief.")
    r = c.delete(f"/api/v1/hr/questions/{qid}", headers=world.hr)  # withdraws HR's version
    assert r.status_code == 200 and r.json()["current"] == "seed"
    assert world.bank.questions[qid].question == shipped
    got = c.get(f"/api/v1/hr/questions/{qid}", headers=world.hr).json()
    assert got["origin"] == "seed" and [v["deleted"] for v in got["versions"]] == [False, False, True]
    with world.db.session() as s:
        actions = {a.action for a in audit_entries(s, subject=f"question:{qid}")}
    assert {"bank.question.update", "bank.question.delete"} <= actions


def test_another_worker_follows_before_its_next_session(world: World, embedder: LocalMiniLM) -> None:
    """A second app on the same database (another worker) notices the new revision."""
    other_bank = load_bank(KNOWLEDGE)
    other_dir = world.tmp / "worker2"
    shutil.copytree(world.tmp / "index", other_dir)
    settings = Settings(_env_file=None, data_dir=other_dir, knowledge_dir=KNOWLEDGE)  # type: ignore[call-arg]
    other_index = VectorIndex(make_chroma_client(settings), embedder)
    with make_client(other_dir, other_bank, other_index, world.url, **FAST) as other:
        doc = _track(world, "architecture")["track"]
        r = world.client.put(
            "/api/v1/hr/tracks/architecture",
            headers=world.hr,
            json={**doc, "questions": 5 if doc["questions"] != 5 else 3},
        )
        assert r.status_code == 200
        expected = r.json()["track"]["questions"]
        assert other_bank.tracks["architecture"].questions != expected  # not yet
        _, _, body = _start(other, "architecture")
        assert body["state"]["questions_total"] == expected
        assert other_bank.tracks["architecture"].questions == expected


# --- the bank as files -----------------------------------------------------------------------


def test_export_import_round_trip(world: World, tmp_path: Path) -> None:
    c = world.client
    r = c.get("/api/v1/hr/bank/export", headers=world.hr)
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as z:
        z.extractall(tmp_path / "knowledge")
        names = z.namelist()
    bank, problems = validate_bank(tmp_path / "knowledge")
    assert problems == []
    assert set(bank.questions) == set(world.bank.questions) and bank.tracks == world.bank.tracks
    booking = min(q for q in world.bank.questions if q.startswith("hr-booking-"))
    assert f"questions/problem_solving/{booking}.yaml" in names and "tracks/plan-backend-screen.yaml" in names

    assert (
        c.post("/api/v1/hr/bank/import", headers=world.hr, content=r.content).json()["imported"]["questions"][
            "updated"
        ]
        == 0
    )
    path = tmp_path / "knowledge" / "questions" / "problem_solving" / f"{booking}.yaml"
    doc = yaml.safe_load(path.read_text())
    doc["difficulty"] = 3
    path.write_text(yaml.safe_dump(doc))
    new_doc = _question_doc("hr-imported", track="python", topic="hr-import")
    (tmp_path / "knowledge" / "questions" / "python" / "hr-imported.yaml").write_text(yaml.safe_dump(new_doc))
    edited = _zip(tmp_path / "knowledge")
    r = c.post(
        "/api/v1/hr/bank/import", headers={**world.hr, "Content-Type": "application/zip"}, content=edited
    )
    assert r.status_code == 200, r.text
    questions = r.json()["imported"]["questions"]
    assert (questions["added"], questions["updated"]) == (1, 1)
    assert world.bank.questions[booking].difficulty == 3 and "hr-imported" in world.bank.questions
    got = c.get(f"/api/v1/hr/questions/{booking}", headers=world.hr).json()
    assert (
        got["versions"][-1]["author"] == "hr@example.com" and got["version"] == got["versions"][-1]["version"]
    )


@pytest.mark.parametrize(
    ("archive", "status"),
    [
        (b"", 400),
        (b"not a zip", 422),
        ("empty", 422),
        ("broken", 422),
    ],
)
def test_bad_imports_change_nothing(world: World, tmp_path: Path, archive: bytes | str, status: int) -> None:
    before = _counts(world)
    if archive == "empty":
        archive = _zip_files({"README.md": "nothing here"})
    elif archive == "broken":
        files = {"questions/python/x.yaml": yaml.safe_dump({**_question_doc("hr-x"), "difficulty": 9})}
        files["../../evil.yaml"] = "id: evil"
        archive = _zip_files(files)
    assert isinstance(archive, bytes)
    r = world.client.post("/api/v1/hr/bank/import", headers=world.hr, content=archive)
    assert r.status_code == status, r.text
    assert _counts(world) == before
    assert not (world.tmp.parent / "evil.yaml").exists()


def test_import_with_thousands_of_problems_is_a_small_422(world: World) -> None:
    """A few KB of zip that unpacks to thousands of bad questions: the 422 lists the first
    `MAX_REPORTED` problems and counts the rest, instead of megabytes of them."""
    from interviewer.bank.archive import MAX_REPORTED

    before = _counts(world)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("questions/python/bad.yaml", "- {id: Bad Id, difficulty: 9, extra: 1}\n" * 2000)
    assert len(buffer.getvalue()) < 4096
    r = world.client.post("/api/v1/hr/bank/import", headers=world.hr, content=buffer.getvalue())
    assert r.status_code == 422
    assert len(r.content) < 64 * 1024
    detail = r.json()["detail"]
    assert len(detail) == MAX_REPORTED + 1 and all(p["file"].endswith("bad.yaml") for p in detail[:-1])
    rest = detail[-1]
    assert rest["type"] == "bank.more" and rest["more"] > 10_000 and f"{rest['more']} more" in rest["msg"]
    assert _counts(world) == before


def _corrupt_member_zip() -> bytes:
    """A zip whose one question file fails its CRC check (one byte of its data changed)."""
    text = yaml.safe_dump(_question_doc("hr-corrupt"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("questions/python/hr-corrupt.yaml", text)
    data = bytearray(buffer.getvalue())
    at = data.index(text[:20].encode())
    data[at] ^= 0x01
    return bytes(data)


def _oversized_member_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("questions/python/big.yaml", "# padding\n" * 200_000)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("archive", "message"),
    [(_corrupt_member_zip, "corrupt"), (_oversized_member_zip, "larger than")],
    ids=["bad CRC", "oversized member"],
)
def test_broken_archive_member_is_a_clear_422(world: World, archive: Any, message: str) -> None:
    before = _counts(world)
    r = world.client.post("/api/v1/hr/bank/import", headers=world.hr, content=archive())
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"] and "questions/python/" in r.json()["detail"]
    assert _counts(world) == before


def test_cli_export_and_import(world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from interviewer.cli import app

    monkeypatch.setenv("DATABASE_URL", world.url)
    monkeypatch.setenv("INTERVIEWER_KNOWLEDGE_DIR", str(KNOWLEDGE))
    monkeypatch.setenv("INTERVIEWER_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(app, ["bank", "export", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert any((tmp_path / "out" / "questions" / "problem_solving").glob("hr-booking-*.yaml"))
    result = runner.invoke(app, ["bank", "validate", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    path = tmp_path / "out" / "tracks" / "plan-backend-screen.yaml"
    path.write_text(path.read_text().replace("Backend screen", "Backend screen (CLI)"))
    result = runner.invoke(app, ["bank", "import", str(tmp_path / "out")])
    assert result.exit_code == 0 and "plans: 0 added, 1 updated" in result.output, result.output
    _, _, body = _start(world.client, "backend-screen")  # this worker notices before the session
    assert body["state"]["plan_title"] == "Backend screen (CLI)"
    result = runner.invoke(app, ["bank", "export", str(tmp_path / "out.zip")])
    assert result.exit_code == 0 and zipfile.is_zipfile(tmp_path / "out.zip")

    # an invite for HR's plan (it lives in the database, not in the files); unknown plans refused
    result = runner.invoke(app, ["invites", "create", "--plan", "backend-screen"])
    assert result.exit_code == 0, result.output
    r = world.client.post("/api/v1/sessions", json={"invite_code": result.stdout.strip()})
    assert r.status_code == 201 and r.json()["state"]["plan_title"] == "Backend screen (CLI)", r.text
    result = runner.invoke(app, ["invites", "create", "--plan", "no-such-plan"])
    assert result.exit_code == 2 and "unknown plan 'no-such-plan'" in result.output


# --- invites ---------------------------------------------------------------------------------


def test_invite_status(world: World) -> None:
    c = world.client
    codes = []
    for _ in range(3):
        r = c.post("/api/v1/invites", headers=world.hr, json={"plan": "python", "mode": "assessment"})
        assert r.status_code == 201
        codes.append(r.json()["code"])
    assert c.post("/api/v1/sessions", json={"invite_code": codes[0]}).status_code == 201
    with world.db.session() as s:
        s.execute(
            update(Invite)
            .where(Invite.code_hash == repo.sha256(codes[2]))
            .values(expires_at=utcnow() - timedelta(hours=1))
        )
        s.commit()
    r = c.get("/api/v1/hr/invites", headers=world.hr)
    assert r.status_code == 200
    invites = r.json()["invites"][:3]
    assert [i["status"] for i in invites] == ["expired", "active", "used"]  # newest first
    assert all(i["plan"] == "python" and i["mode"] == "assessment" and i["expires_at"] for i in invites)
    assert invites[2]["used_at"] is not None
    assert not any(code in r.text for code in codes) and "code" not in str(list(invites[0]))


def test_invites_are_paged(world: World) -> None:
    """More invites than one page: `limit` and `next_cursor` walk them all, newest first, without
    gaps or repeats (as the review list pages); past the last page `next_cursor` is null."""
    c = world.client
    for _ in range(5):
        assert c.post("/api/v1/invites", headers=world.hr, json={"plan": "python"}).status_code == 201
    everything = c.get("/api/v1/hr/invites", params={"limit": 200}, headers=world.hr).json()
    ids = [i["id"] for i in everything["invites"]]
    assert len(ids) >= 5 and ids == sorted(ids, reverse=True) and everything["next_cursor"] is None
    assert everything["total"] == len(ids)
    walked: list[int] = []
    cursor: str | None = None
    for _ in range(len(ids)):
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = c.get("/api/v1/hr/invites", params=params, headers=world.hr)
        assert page.status_code == 200, page.text
        assert len(page.json()["invites"]) <= 2
        walked += [i["id"] for i in page.json()["invites"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert walked == ids
    for bad in ({"cursor": "not-a-cursor"}, {"cursor": "WyJ4Il0"}, {"limit": 0}, {"limit": 201}):
        r = c.get("/api/v1/hr/invites", params=bad, headers=world.hr)
        assert r.status_code in (400, 422), (bad, r.text)


def test_unknown_ids_and_kinds(world: World) -> None:
    c = world.client
    assert c.get("/api/v1/hr/questions/nope", headers=world.hr).status_code == 404
    assert c.get("/api/v1/hr/plans/nope", headers=world.hr).status_code == 404
    assert c.get("/api/v1/hr/widgets/x", headers=world.hr).status_code in (404, 422)
    assert c.delete(f"/api/v1/hr/questions/{uuid.uuid4()}", headers=world.hr).status_code == 404


def _zip(folder: Path) -> bytes:
    return _zip_files({str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()})


def _zip_files(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buffer.getvalue()


def test_edits_on_each_database(
    tmp_path: Path, database_url: str, full_index: VectorIndex, full_data_dir: Path, embedder: LocalMiniLM
) -> None:
    """The repository functions behind HR's edits, on SQLite and PostgreSQL."""
    bank = load_bank(KNOWLEDGE)
    index = _copy_index(full_data_dir, tmp_path / "index", embedder)
    with make_client(tmp_path, bank, index, database_url, **FAST) as c:
        db: Database = c.app.state.ctx.db  # type: ignore[attr-defined]
        with db.session() as s:
            staff_store.create_user(
                s, email="hr@example.com", role="hr", password_hash=hash_password(PASSWORD)
            )
            s.commit()
            assert hrdb.bank_revision(s) == (0, 0)
        hr = _login(c, "hr@example.com")
        sid, _, _ = _start(c, "python")
        with db.session() as s:
            row = repo.get_session(s, session_id=sid)
            assert row is not None
            asked = SessionState.model_validate(row.state).question
            assert asked is not None and asked.revision is not None
            # the revision it asked is stored: it does not need the bank's copy
            assert repo.question_versions(s, [asked.revision]) == {
                asked.revision: bank.questions[asked.question_id]
            }
            assert hrdb.active_sessions_asking(s, question_id=asked.question_id) == []
            legacy = copy.deepcopy(row.state)  # as saved before question revisions
            for t in legacy["tracks"]:
                for q in t["questions"]:
                    q.pop("revision", None)
            s.execute(update(InterviewSession).where(InterviewSession.id == sid).values(state=legacy))
            s.commit()
            assert hrdb.active_sessions_asking(s, question_id=asked.question_id) == [sid]
            assert hrdb.active_sessions_asking(s, question_id="py-no-such_question") == []
        doc = _track(World(c, bank, index, database_url, tmp_path, hr, hr), "python")["track"]
        assert c.put("/api/v1/hr/tracks/python", headers=hr, json={**doc, "questions": 3}).status_code == 200
        assert c.put("/api/v1/hr/tracks/python", headers=hr, json={**doc, "questions": 5}).status_code == 200
        r = c.post("/api/v1/hr/questions", headers=hr, json=_question_doc("hr-pg-one"))
        assert r.status_code == 201, r.text
        assert c.delete("/api/v1/hr/questions/hr-pg-one", headers=hr).status_code == 200
        with db.session() as s:
            questions, configs = hrdb.bank_revision(s)
            assert questions >= 2 and configs >= 2
            latest = {r.item_id: r.version for r in hrdb.latest_hr_configs(s)}
            assert latest == {"python": 2}
            assert [r.deleted for r in hrdb.hr_question_versions(s, question_id="hr-pg-one")] == [False, True]
        assert _start(c, "python")[2]["state"]["questions_total"] == 5
        assert "hr-pg-one" not in bank.questions


def _upgraded_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, applied: int) -> Database:
    """A database that had only the first `applied` migrations, opened by this version (not
    migrated yet)."""
    from interviewer.store import db as store_db

    url = f"sqlite:///{tmp_path / 'old.db'}"
    monkeypatch.setattr(store_db, "MIGRATIONS", store_db.MIGRATIONS[:applied])
    old = Database(url)
    assert old.migrate()[-1] == store_db.MIGRATIONS[applied - 1][0]
    old.dispose()
    monkeypatch.undo()
    return Database(url)


def test_migration_0003_upgrades_an_existing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    upgraded = _upgraded_from(tmp_path, monkeypatch, 2)
    assert "hr_questions" not in upgraded.tables()
    assert "0003_hr_bank" in upgraded.migrate()
    assert {"hr_questions", "hr_configs"} <= set(upgraded.tables()) and upgraded.migrate() == []
    with upgraded.session() as s:
        assert hrdb.bank_revision(s) == (0, 0) and hrdb.latest_hr_questions(s) == []
    upgraded.dispose()


def test_migration_0004_upgrades_an_existing_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, bank: Bank
) -> None:
    """A database from before question revisions: the table is added, and a state saved then
    (no `revision`) still reads, with nothing stale to look up."""
    upgraded = _upgraded_from(tmp_path, monkeypatch, 3)
    assert "question_versions" not in upgraded.tables()
    assert upgraded.migrate()[0] == "0004_question_versions"  # and any later ones
    assert "question_versions" in upgraded.tables()
    question = bank.questions["py-decorators"]
    with upgraded.session() as s:
        assert repo.question_versions(s, ["nope"]) == {}
        stored = repo.keep_question_versions(s, [question, question])
        assert len(set(stored)) == 1 and repo.question_versions(s, stored) == {stored[0]: question}
    upgraded.dispose()
    before = {
        "plan_id": "python",
        "mode": "practice",
        "seed": 1,
        "tracks": [
            {
                "track": "python",
                "difficulty": 2,
                "questions": [{"question_id": "gone", "difficulty": 2, "prompt": "?"}],
            }
        ],
    }
    assert SessionState.model_validate(before).stale_revisions(bank.questions) == {}


def test_scorer_cache_follows_an_edited_question(offline_scorer: Any) -> None:
    """The offline scorer prepares each question once per process; an edit (same id, new
    content) must be scored against its new text, not the cached vectors of the old one."""
    q = load_bank(KNOWLEDGE).questions["py-asyncio-blocking-cancellation"]
    rubric = load_bank(KNOWLEDGE).tracks["python"].rubric
    answer = q.key_points[0].text
    before = offline_scorer.assess(q, answer, rubric)
    assert q.key_points[0].id in before.covered
    points = [q.key_points[0].model_copy(update={"text": "Sourdough needs a long cold proof in the fridge."})]
    edited = q.model_copy(update={"key_points": points + q.key_points[1:]})
    after = offline_scorer.assess(edited, answer, rubric)
    assert q.key_points[0].id in after.missed
