"""The coding exercise through API v1 (real SQLite, the real bubblewrap sandbox): a problem-solving
interview reaches the exercise, runs its examples, submits a wrong solution and gets a follow-up
naming the failing case, retries idempotently, is refused while a run is pending, submits a fix,
discusses the follow-up and gets the combined score (hostile code through the API:
tests/test_exercise_sandbox_api.py)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.store import exercises as run_store
from interviewer.store.tables import AssessmentRow
from interviewer.web.exports import to_csv, to_html, to_json, to_markdown
from tests.conftest import KNOWLEDGE
from tests.kit.client import make_client, send, start
from tests.kit.exercise import (
    EXERCISE,
    WRONG,
    one_exercise_bank,
    reach_exercise,
    require_sandbox,
    run_code,
)

FIXED = yaml.safe_load((KNOWLEDGE / "exercises" / f"{EXERCISE}.yaml").read_text())["solution"]


@pytest.fixture(scope="module")
def sandbox_ok() -> None:
    require_sandbox()


@pytest.fixture
def client(tmp_path: Path, bank: Bank, full_index: VectorIndex, sandbox_ok: None) -> Iterator[TestClient]:
    """The problem-solving track with one exercise (merge-intervals) after three main questions
    and no follow-ups."""
    # a whole track of answers and a handful of runs in one minute
    with make_client(tmp_path, one_exercise_bank(bank), full_index, answers_per_minute=120) as c:
        yield c


def test_exercise_from_presentation_to_combined_score(client: TestClient) -> None:
    sid, auth, reply = reach_exercise(client)
    assert "Merge overlapping intervals" in reply["messages"][-1]["content"]
    assert reply["state"]["exercise"] == {"id": EXERCISE, "title": "Merge overlapping intervals"}

    r = client.get(f"/api/v1/sessions/{sid}/exercise", headers=auth)
    assert r.status_code == 200, r.text
    shown, runs = r.json()["exercise"], r.json()["runs"]
    assert shown["id"] == EXERCISE and "def merge" in shown["starter_code"] and runs == []
    assert shown["examples"] and all(
        e["name"].startswith("test_") and "def " in e["code"] for e in shown["examples"]
    )
    assert shown["time_limit_s"] > 0

    # the examples of a wrong solution: only the visible tests, no interviewer message
    r = run_code(client, sid, auth, WRONG, "examples")
    assert r.status_code == 200, r.text
    examples = r.json()
    assert examples["messages"] == []
    assert examples["run"]["kind"] == "examples" and examples["run"]["passed"] == 2
    assert {t["name"] for t in examples["run"]["tests"]} == {"test_example", "test_touching_intervals_merge"}

    # a plain answer while the exercise is open: a nudge toward the editor
    r = send(client, sid, auth, "I think I would sort the intervals first and then sweep once.")
    assert r.status_code == 200
    assert "editor" in r.json()["messages"][-1]["content"]

    # the submission: the follow-up names the failing case
    cid = str(uuid.uuid4())
    r = run_code(client, sid, auth, WRONG, "submit", cid)
    assert r.status_code == 200, r.text
    submitted = r.json()
    failing = [t for t in submitted["run"]["tests"] if not t["ok"]]
    assert failing and submitted["run"]["failed"] + submitted["run"]["errors"] == len(failing)
    follow_up = submitted["messages"][-1]
    assert follow_up["role"] == "interviewer" and follow_up["kind"] == "follow_up"
    assert failing[0]["name"] in follow_up["content"]

    # idempotent retry: the stored run and the stored reply; other code under the id: 409
    again = run_code(client, sid, auth, WRONG, "submit", cid)
    assert again.status_code == 200
    assert again.json()["run"]["id"] == submitted["run"]["id"]
    assert again.json()["messages"] == submitted["messages"]
    assert run_code(client, sid, auth, WRONG + "\n# changed\n", "submit", cid).status_code == 409

    # a run pending for the session: 409
    ctx = client.app.state.ctx  # type: ignore[attr-defined]
    with ctx.db.session() as db:
        pending = run_store.take_run(
            db,
            session_id=sid,
            exercise_id=EXERCISE,
            kind="examples",
            client_msg_id="p",
            body_hash="h",
            code="x",
        )
        assert pending.outcome == "accepted" and pending.run is not None
    busy = run_code(client, sid, auth, WRONG, "examples")
    assert busy.status_code == 409 and "pending" in busy.json()["detail"]
    with ctx.db.session() as db:
        run_store.drop_run(db, run_id=pending.run.id)

    # instead of answering, the candidate may fix the code and submit again: the wrong code a
    # second time, then the fix; each gets its own follow-up; a fourth submission is refused
    assert follow_up["content"].endswith("change the code and submit again.")
    second = run_code(client, sid, auth, WRONG, "submit").json()
    assert (
        second["messages"][-1]["kind"] == "follow_up"
        and failing[0]["name"] in second["messages"][-1]["content"]
    )
    shown = client.get(f"/api/v1/sessions/{sid}/exercise", headers=auth).json()["exercise"]
    assert (shown["submissions"], shown["max_submissions"]) == (2, 3)
    fixed = run_code(client, sid, auth, FIXED, "submit")
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["run"]["failed"] == fixed.json()["run"]["errors"] == 0
    assert fixed.json()["messages"][-1]["content"].startswith("All the tests pass.")
    refused = run_code(client, sid, auth, FIXED, "submit")
    assert refused.status_code == 409 and "3 submissions" in refused.json()["detail"]

    # the discussion of the follow-up closes the exercise with the combined score
    r = send(
        client,
        sid,
        auth,
        "With an empty list there is no first interval, so ordered[0] raises an IndexError. I should "
        "return an empty list first. Sorting by start is O(n log n) and the single pass is O(n).",
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"]["exercise"] is None
    with ctx.db.session() as db:
        rows = db.query(AssessmentRow).filter_by(session_id=sid, question_id=EXERCISE).all()
    assert len(rows) == 1
    notes = rows[0].data["notes"]
    assert any(n.startswith("exercise: ") and "tests passed in the last of 3 submissions" in n for n in notes)
    assert any(n.startswith("exercise: code quality 1 (0 ruff findings)") for n in notes)
    assert 3.0 < rows[0].score < 5.0
    assert client.get(f"/api/v1/sessions/{sid}/exercise", headers=auth).status_code == 404
    assert run_code(client, sid, auth, WRONG, "examples").status_code == 409

    # the problem-solving plan has ended: the report counts the exercise
    report = client.get(f"/api/v1/sessions/{sid}/report", headers=auth)
    assert report.status_code == 200, report.text
    assert "Coding exercise Merge overlapping intervals" in json.dumps(report.json())

    # evaluators see the runs (code, results), and the exports carry them
    document = ctx.review.document(sid)
    assert [(r.kind, r.passed) for r in document.exercise_runs] == [
        ("examples", 2),
        ("submit", submitted["run"]["passed"]),
        ("submit", submitted["run"]["passed"]),
        ("submit", fixed.json()["run"]["passed"]),
    ]
    markdown = to_markdown(document)
    assert "~~~python" in markdown and "ordered = sorted(intervals)" in markdown
    assert '"exercise_runs"' in to_json(document)
    html = to_html(document)
    assert "ordered = sorted(intervals)" in html and "<pre><code>" in html
    assert to_csv(document)  # the runs are not rows of the per-question CSV


def test_bad_bodies_and_no_exercise(client: TestClient) -> None:
    sid, auth, _ = start(client, "problem_solving")
    assert run_code(client, sid, auth, "x = 1\n", "examples").status_code == 409
    assert client.get(f"/api/v1/sessions/{sid}/exercise", headers=auth).status_code == 404
    assert run_code(client, sid, auth, "x = 1\n", "lint").status_code == 422
    assert run_code(client, sid, auth, "x" * 20001, "examples").status_code == 422
    assert run_code(client, sid, {"Authorization": "Bearer nope"}, "x = 1\n", "examples").status_code == 404


def test_giving_up_closes_the_exercise_with_the_floor_score(client: TestClient) -> None:
    """A client without an editor is never stuck: saying so skips the exercise."""
    sid, auth, _ = reach_exercise(client)
    r = send(client, sid, auth, "I give up")
    assert r.status_code == 200, r.text
    assert r.json()["state"]["exercise"] is None and r.json()["state"]["status"] == "completed"
    report = client.get(f"/api/v1/sessions/{sid}/report", headers=auth).json()
    assert "Coding exercise Merge overlapping intervals: 1.0/5" in json.dumps(report)
