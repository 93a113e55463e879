"""End to end against a real model (`make test-real-model`: Qwen2.5-Coder-1.5B-Instruct served by
llama.cpp's `llama-server`, see benchmarks/real_model/run.sh). Skipped unless
INTERVIEWER_REAL_MODEL and OPENAI_BASE_URL are set, so `make test` never needs a model.

What a fake cannot show: that the prompts, the JSON schema of the checklist and the streaming work
with a real server and a real (small) model — a whole interview through the HTTP API, the replies
streamed, every answer scored by the checklist scorer with quotes that are really in the answer,
and the report produced. The model is not a judge: the figures are printed, and only the order of
a good and a confidently wrong answer is asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.config import Settings
from interviewer.domain import Assessment
from interviewer.engine import make_model_scorer
from interviewer.engine.scoring import Exchange
from interviewer.llm.openai_model import OpenAIChatModel
from interviewer.llm.tokens import TokenCounter
from interviewer.services.credentials import hash_password
from interviewer.store import staff as staff_store
from interviewer.web.app import create_app
from tests.conftest import KNOWLEDGE, ROOT

pytestmark = [
    pytest.mark.real_model,
    pytest.mark.skipif(
        not (os.environ.get("INTERVIEWER_REAL_MODEL") and os.environ.get("OPENAI_BASE_URL")),
        reason="needs a real model server: run `make test-real-model` (sets INTERVIEWER_REAL_MODEL "
        "and OPENAI_BASE_URL)",
    ),
]

MAX_TURNS = 16
PASSWORD = "correct horse battery"


def real_settings(tmp: Path) -> Settings:
    """The model from the environment (OPENAI_BASE_URL, INTERVIEWER_MODEL); a CPU model is slow,
    so generous timeouts; the checklist form whatever the environment says."""
    return Settings(
        _env_file=None,
        data_dir=tmp,
        knowledge_dir=KNOWLEDGE,  # type: ignore[call-arg]
        prompts_dir=ROOT / "prompts",
        model=os.environ.get("INTERVIEWER_MODEL", "qwen2.5-coder-1.5b-instruct"),
        model_scorer="checklist",
        llm_timeout_s=600,
        llm_max_retries=0,
        second_opinion="inline",
    )


@pytest.fixture()
def client(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> Iterator[TestClient]:
    settings = real_settings(tmp_path)
    assert settings.uses_model, "OPENAI_BASE_URL and INTERVIEWER_MODEL must name the real model"
    with TestClient(create_app(settings, bank=bank, index=full_index)) as c:
        yield c


def evaluator(c: TestClient) -> dict[str, str]:
    with c.app.state.ctx.db.session() as s:  # type: ignore[attr-defined]
        staff_store.create_user(
            s, email="ev@example.com", role="evaluator", password_hash=hash_password(PASSWORD)
        )
        s.commit()
    r = c.post("/api/v1/auth/login", json={"email": "ev@example.com", "password": PASSWORD})
    assert r.status_code == 200, r.text
    c.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def events(c: TestClient, sid: str, auth: dict[str, str], content: str) -> list[tuple[str, dict[str, Any]]]:
    """One answer with `Accept: text/event-stream`: the events as they arrived."""
    headers = {**auth, "Accept": "text/event-stream"}
    body = {"content": content, "client_msg_id": str(uuid.uuid4())}
    out: list[tuple[str, dict[str, Any]]] = []
    with c.stream("POST", f"/api/v1/sessions/{sid}/messages", headers=headers, json=body) as r:
        assert r.status_code == 200, r.read()
        buf = ""
        for chunk in r.iter_text():
            buf += chunk
            while "\n\n" in buf:
                block, buf = buf.split("\n\n", 1)
                fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
                if "event" in fields:
                    out.append((fields["event"], json.loads(fields["data"])))
    return out


def next_answer(doc: dict[str, Any], bank: Bank) -> str:
    """A strong candidate: the model answer to a main question, the key point to a follow-up."""
    interviewer = [t for t in doc["transcript"] if t["role"] == "interviewer"]
    question_id = next(t["question_id"] for t in reversed(interviewer) if t["question_id"])
    question = bank.questions[question_id]
    last = interviewer[-1]
    if last["kind"] == "follow_up" and last["key_point"]:
        return " ".join(question.key_point(last["key_point"]).text.split())
    return " ".join(question.model_answer.split())


def test_a_whole_interview_against_the_real_model(client: TestClient, bank: Bank) -> None:
    ev = evaluator(client)
    started = client.post("/api/v1/sessions", json={"plan": "python"})
    assert started.status_code == 201, started.text
    sid, state = started.json()["session_id"], started.json()["state"]
    auth = {"Authorization": f"Bearer {started.json()['token']}"}
    assert [m["role"] for m in started.json()["messages"]][-1] == "interviewer"

    streamed = 0
    turn_seconds = []
    for _ in range(MAX_TURNS):
        if state["status"] == "completed":
            break
        doc = client.get(f"/api/v1/review/sessions/{sid}", headers=ev).json()
        t0 = time.monotonic()
        timeline = events(client, sid, auth, next_answer(doc, bank))
        turn_seconds.append(time.monotonic() - t0)
        kinds = [k for k, _ in timeline]
        assert kinds[0] == "accepted" and kinds[-1] == "done", kinds
        messages = {d["id"]: d for k, d in timeline if k == "message"}
        assert messages and all(
            m["role"] == "interviewer" and m["content"].strip() for m in messages.values()
        )
        for mid, message in messages.items():
            pieces = "".join(d["text"] for k, d in timeline if k == "delta" and d["message_id"] == mid)
            # live deltas are provisional: the `message` event carries the text that was kept (a
            # phrasing the checks refuse, or a report with its figures, differs from the stream)
            if pieces and pieces == message["content"]:
                streamed += 1
        state = next(d for k, d in reversed(timeline) if k == "state")
    assert state["status"] == "completed", f"not finished after {MAX_TURNS} answers"
    assert streamed > 0, "no interviewer message streamed and kept as streamed"

    report = client.get(f"/api/v1/sessions/{sid}/report", headers=auth)
    assert report.status_code == 200, report.text
    assert report.json()["tracks"] and 1.0 <= report.json()["score"] <= 5.0

    doc = client.get(f"/api/v1/review/sessions/{sid}", headers=ev).json()
    assessments = [q["assessment"] for q in doc["questions"] if q["assessment"]]
    assert assessments
    for a in assessments:
        assert a["scorer"] == "model", a["notes"]  # the checklist reply validated
        for c in a["criteria"]:
            assert all(e["found"] for e in c["evidence"]), c  # every quote is in the answer
    assert any(a["covered"] for a in assessments), "the model credited no key point of a model answer"
    print(
        "\nreal model interview:",
        f"{len(turn_seconds)} answers, {sum(turn_seconds):.0f} s",
        f"(per answer {min(turn_seconds):.0f}-{max(turn_seconds):.0f} s);",
        "scores",
        [a["score"] for a in assessments],
        "covered",
        [f"{len(a['covered'])}/{len(a['covered']) + len(a['missed'])}" for a in assessments],
        "dropped quotes",
        sum(a.get("dropped_quotes", 0) for a in assessments),
        f"report {report.json()['score']}",
    )


GOOD_GIL = (
    "The GIL means only one thread executes Python bytecode at a time, so threads give no speedup "
    "for pure-Python CPU-bound loops. It is released during blocking I/O, so threads do help when "
    "you download many URLs. For CPU-bound work I use multiprocessing or a ProcessPoolExecutor, "
    "paying for pickling and process start-up. The GIL does not make my code thread-safe: "
    "counter += 1 from two threads can still lose updates, so I use a threading.Lock."
)
WRONG_GIL = (
    "The GIL is the global interpreter lock, and it makes Python code thread-safe, so you never "
    "need locks around shared counters. Python threads are green threads simulated inside the "
    "interpreter, so they cannot overlap even while waiting on the network. For CPU-heavy work, "
    "asyncio works around the GIL: moving the code into coroutines runs it in parallel on all cores."
)


def test_the_checklist_tells_a_good_answer_from_a_confidently_wrong_one(
    tmp_path: Path, bank: Bank, prompts: Any
) -> None:
    question = bank.questions["py-gil-cpu-io-bound"]
    rubric = bank.tracks[question.track].rubric

    async def both() -> tuple[Assessment, Assessment]:
        # one event loop, and the client closed in it (its connections belong to that loop)
        async with httpx.AsyncClient() as http:
            model = OpenAIChatModel.from_settings(real_settings(tmp_path), http_client=http)
            scorer = make_model_scorer(model, prompts, form="checklist", counter=TokenCounter(), budget=4000)
            scored = []
            for answer in (GOOD_GIL, WRONG_GIL):
                a, _ = await scorer.assess(
                    question,
                    [Exchange(question.question, answer)],
                    rubric,
                    track_title="Python",
                    references=[],
                    pitfalls=[],
                )
                scored.append(a)
            return scored[0], scored[1]

    good, wrong = asyncio.run(both())
    print(
        f"\nGIL: good {good.score} (covered {good.covered}, pitfalls {good.pitfalls}); "
        f"wrong {wrong.score} (covered {wrong.covered}, pitfalls {wrong.pitfalls})"
    )
    assert good.score > wrong.score
