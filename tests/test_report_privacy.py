"""What a candidate can see of the results, through the real app (TestClient, the real index, a
SQLite file), with the offline engine and with a fake model that would repeat every result it is
given.

In assessment mode the candidate never sees a score, a verdict, the bank's key points or
corrections, or the reading list: not in any answer's response (JSON or server-sent events), not
in the transcript; with the report hidden by HR the interview ends with a neutral thank-you, and
a shown report names topics to work on instead of the key points. Practice mode still gives all
of it (which is what makes these checks able to fail)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langchain_core.messages import BaseMessage

from interviewer.bank import Bank, VectorIndex
from interviewer.config import Settings
from interviewer.engine.text import normalize
from interviewer.llm.fakes import FunctionModel
from interviewer.services.credentials import hash_password
from interviewer.store import staff as staff_store
from interviewer.web.app import create_app
from tests.conftest import KNOWLEDGE, ROOT

PASSWORD = "correct horse 1"
MAX_ANSWERS = 30
SCORE = re.compile(r"\b\d(?:\.\d+)?\s*/\s*(?:5|10)\b|\bout of (?:5|five)\b", re.IGNORECASE)
VERDICT = re.compile(r"\b(?:passed|not passed|pass mark)\b", re.IGNORECASE)


def _leaky_model(messages: Sequence[BaseMessage]) -> str:
    """A model that does whatever it can to leak: the scoring call gets no JSON (the offline
    scorer scores), the report's narrative repeats every result it was given verbatim."""
    text = " ".join(m.text for m in messages)
    if "json" in text.casefold()[-4000:]:
        return "not json"
    if "report" in messages[0].text.casefold():
        return messages[-1].text
    return "Thanks. Could you say a bit more about how you would approach that?"


@pytest.fixture(params=["offline", "model"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path,
        knowledge_dir=KNOWLEDGE,  # type: ignore[call-arg]
        prompts_dir=ROOT / "prompts",
        database_url=f"sqlite:///{tmp_path / 'test.db'}",
        max_loop_lag_ms=0,  # a busy test machine must not shed these answers
        requests_per_minute=100_000,
        answers_per_minute=10_000,
        sessions_per_minute=10_000,
    )
    model = FunctionModel(_leaky_model) if request.param == "model" else None
    app = create_app(settings, bank=bank, index=full_index, model=model, offline_only=model is None)
    with TestClient(app) as c:
        with c.app.state.ctx.db.session() as s:  # type: ignore[attr-defined]
            staff_store.create_user(
                s, email="hr@example.com", role="hr", password_hash=hash_password(PASSWORD)
            )
            s.commit()
        yield c


def invite(client: TestClient, *, mode: str, show_report: bool, plan: str = "python") -> str:
    hr = client.post("/api/v1/auth/login", json={"email": "hr@example.com", "password": PASSWORD}).json()
    client.cookies.clear()
    r = client.post(
        "/api/v1/invites",
        json={"plan": plan, "mode": mode, "show_report": show_report},
        headers={"Authorization": f"Bearer {hr['token']}"},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["code"])


def _events(raw: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for block in raw.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
        if "event" in fields:
            out.append((fields["event"], json.loads(fields["data"])))
    return out


def _answer_for(bank: Bank, question_text: str, n: int) -> str:
    """The first main question is answered with every key point of the closest bank question
    (a strong answer: strengths, covered points); every other turn is "I don't know" (gaps)."""
    if n == 0:
        for q in bank.questions.values():
            if normalize(q.question.strip()) in normalize(question_text):
                return " ".join(kp.text for kp in q.key_points)
    return "I don't know"


def run_interview(client: TestClient, bank: Bank, body: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """A whole interview; returns every text the candidate was sent by the interviewer (start,
    each answer as server-sent events and again as JSON, the transcript) and the session."""
    started = client.post("/api/v1/sessions", json=body)
    assert started.status_code == 201, started.text
    session = started.json()
    sid, auth = session["session_id"], {"Authorization": f"Bearer {session['token']}"}
    seen = [m["content"] for m in session["messages"]]
    state, last = session["state"], seen[-1]
    for n in range(MAX_ANSWERS):
        if state["status"] != "active":
            break
        cid, content = str(uuid.uuid4()), _answer_for(bank, last, n)
        url = f"/api/v1/sessions/{sid}/messages"
        with client.stream(
            "POST",
            url,
            headers={**auth, "Accept": "text/event-stream"},
            json={"content": content, "client_msg_id": cid},
        ) as r:
            assert r.status_code == 200
            for event, data in _events(r.read().decode()):
                if event == "delta":
                    seen.append(data["text"])
                elif event == "message" and data["role"] == "interviewer":
                    seen.append(data["content"])
        again = client.post(url, headers=auth, json={"content": content, "client_msg_id": cid})
        assert again.status_code == 200
        replies = [m["content"] for m in again.json()["messages"] if m["role"] == "interviewer"]
        seen += replies
        state, last = again.json()["state"], (replies[-1] if replies else last)
    assert state["status"] == "completed", state
    whole = client.get(f"/api/v1/sessions/{sid}", headers=auth).json()
    seen += [m["content"] for m in whole["messages"] if m["role"] == "interviewer"]
    return seen, {"id": sid, "auth": auth, "state": whole["state"], "messages": whole["messages"]}


def answer_key(bank: Bank, track: str) -> list[str]:
    """Everything of the bank's answer key a candidate must not be shown: key points and the
    corrections of pitfalls, normalised for comparison."""
    out = []
    for q in bank.questions_for(track):  # type: ignore[arg-type]
        out += [normalize(kp.text).casefold().rstrip(".") for kp in q.key_points]
        out += [normalize(p.why).casefold().rstrip(".") for p in q.pitfalls]
    return out


def leaks(texts: list[str], bank: Bank, track: str = "python") -> list[str]:
    key = answer_key(bank, track)
    titles = [a.title.casefold() for a in bank.articles.values()]
    found = []
    for text in texts:
        low = normalize(text).casefold()
        found += [f"score {m.group(0)!r}" for m in [SCORE.search(text)] if m]
        found += [f"verdict {m.group(0)!r}" for m in [VERDICT.search(text)] if m]
        found += [f"key point {k[:50]!r}" for k in key if k in low]
        found += [f"reading {t!r}" for t in titles if t in low]
    return found


def test_hidden_report_leaks_nothing_and_ends_with_a_neutral_thank_you(
    client: TestClient, bank: Bank
) -> None:
    seen, session = run_interview(
        client, bank, {"invite_code": invite(client, mode="assessment", show_report=False)}
    )
    assert session["state"]["mode"] == "assessment"
    assert leaks(seen, bank) == []
    kinds = [m["kind"] for m in session["messages"]]
    assert "feedback" not in kinds
    closing = session["messages"][-1]
    assert closing["role"] == "interviewer" and "thank you" in closing["content"].casefold()
    assert "report" not in closing["content"].casefold()  # none to look for
    assert session["state"]["show_report"] is False
    assert client.get(f"/api/v1/sessions/{session['id']}/report", headers=session["auth"]).status_code == 403


def test_assessment_report_shown_names_topics_not_the_answer_key(client: TestClient, bank: Bank) -> None:
    seen, session = run_interview(
        client, bank, {"invite_code": invite(client, mode="assessment", show_report=True)}
    )
    assert leaks(seen, bank) == []
    assert session["state"]["show_report"] is True
    r = client.get(f"/api/v1/sessions/{session['id']}/report", headers=session["auth"])
    assert r.status_code == 200
    report = r.json()
    assert report["mode"] == "assessment"
    key = answer_key(bank, "python")
    gaps = [normalize(g).casefold() for t in report["tracks"] for g in t["gaps"]]
    assert gaps, "a weak interview has something to work on"
    assert not [k for k in key for g in gaps if k in g]
    assert not [k for k in key if k in normalize(report["narrative"]).casefold()]


def test_practice_mode_still_gives_scores_key_points_and_reading(client: TestClient, bank: Bank) -> None:
    seen, session = run_interview(client, bank, {"plan": "python"})
    found = leaks(seen, bank)
    assert any(f.startswith("score") for f in found), found
    assert any(f.startswith("key point") for f in found), found
    assert any(f.startswith("reading") for f in found), found
    assert "feedback" in [m["kind"] for m in session["messages"]]


def test_assessment_greeting_and_close_do_not_call_it_practice(client: TestClient, bank: Bank) -> None:
    _, session = run_interview(
        client, bank, {"invite_code": invite(client, mode="assessment", show_report=True)}
    )
    said = [
        m["content"].casefold() for m in session["messages"] if m["kind"] in ("greeting", "summary", "report")
    ]
    assert len(said) >= 2
    assert not [s for s in said if "mock interview" in s or "practis" in s or "practice" in s]
    _, practice = run_interview(client, bank, {"plan": "python"})
    assert "mock interview" in practice["messages"][0]["content"].casefold()
