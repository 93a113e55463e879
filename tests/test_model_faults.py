"""A misbehaving model endpoint seen through the real app (TestClient, a SQLite file, a real
Chroma index of a small bank), the OpenAI client mocked at its HTTP boundary with respx: whatever the endpoint does, an
accepted answer is scored (by the offline scorer when the model fails), the interviewer replies
with the bank's text, and the interview goes on."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sqlalchemy import select

from interviewer.config import Settings
from interviewer.engine.prompts import load_prompts
from interviewer.llm.openai_model import OpenAIChatModel
from interviewer.store.db import Database
from interviewer.store.tables import AssessmentRow, TurnRow
from interviewer.web.app import create_app
from tests.conftest import ROOT
from tests.minibank import write_mini_bank

BASE = "http://llm.test/v1"
URL = f"{BASE}/chat/completions"
ANSWER = (
    "A generator function uses yield to produce values lazily, one at a time, so a large file "
    "can be streamed line by line without loading it all into memory."
)


def app_client(tmp: Path, **overrides: Any) -> TestClient:
    settings = Settings(
        _env_file=None,
        data_dir=tmp,
        knowledge_dir=write_mini_bank(tmp / "knowledge"),  # type: ignore[call-arg]
        prompts_dir=ROOT / "prompts",
        second_opinion="off",
        **overrides,
    )
    model = OpenAIChatModel(model="m", base_url=BASE, api_key="k", max_retries=2, timeout_s=60)
    return TestClient(create_app(settings, model=model))


def send(client: TestClient, sid: str, auth: dict[str, str], content: str) -> httpx.Response:
    return client.post(
        f"/api/v1/sessions/{sid}/messages",
        headers=auth,
        json={"content": content, "client_msg_id": str(uuid.uuid4())},
    )


def start(client: TestClient) -> tuple[str, dict[str, str]]:
    for _ in range(600):  # start-up warm-up done: it would take CPU from the turn under test
        if client.get("/readyz").status_code == 200:
            break
        time.sleep(0.1)
    r = client.post("/api/v1/sessions", json={"plan": "full"})
    assert r.status_code == 201, r.text
    return r.json()["session_id"], {"Authorization": f"Bearer {r.json()['token']}"}


def stored(tmp: Path, sid: str) -> tuple[list[TurnRow], list[AssessmentRow]]:
    db = Database(f"sqlite:///{tmp / 'interviewer.db'}")
    try:
        with db.session() as s:
            turns = list(s.scalars(select(TurnRow).where(TurnRow.session_id == sid).order_by(TurnRow.seq)))
            scored = list(
                s.scalars(
                    select(AssessmentRow)
                    .where(AssessmentRow.session_id == sid)
                    .order_by(AssessmentRow.turn_seq)
                )
            )
            return turns, scored
    finally:
        db.dispose()


@pytest.fixture
def html_endpoint(respx_mock: respx.MockRouter) -> Iterator[respx.Route]:
    """A proxy in front of the model answers every call with its own error page, status 200."""
    page = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
    yield respx_mock.post(URL).respond(200, text=page, headers={"content-type": "text/html"})


def test_html_page_with_status_200_is_a_model_error(tmp_path: Path, html_endpoint: respx.Route) -> None:
    with app_client(tmp_path) as client:
        sid, auth = start(client)
        first = send(client, sid, auth, ANSWER)
        assert first.status_code == 200, first.text
        assert first.json()["messages"] and first.json()["state"]["pending"] is False
        second = send(
            client, sid, auth, "Also, generator expressions are the lazy twin of list comprehensions."
        )
        assert second.status_code == 200, second.text
    assert html_endpoint.called
    prompts = load_prompts(ROOT / "prompts")
    bounds = {p.max_tokens for p in prompts}
    sent = [json.loads(call.request.content) for call in html_endpoint.calls]
    assert all(body["max_tokens"] in bounds for body in sent)  # every call bounded by its prompt
    assert prompts["score_checklist"].max_tokens in {body["max_tokens"] for body in sent}
    turns, scored = stored(tmp_path, sid)
    assert all(t.status == "done" for t in turns)
    assert scored and all(a.scorer == "offline" for a in scored)
    assert any("offline scorer used" in note for note in scored[0].data["notes"])


@pytest.fixture
def slow_endpoint(respx_mock: respx.MockRouter) -> Iterator[list[str]]:
    """A model that takes far longer than the turn's budget (and than any test should wait);
    yields the requests it began to answer (respx records a call only once it is answered)."""
    began: list[str] = []

    async def slow(request: httpx.Request) -> httpx.Response:
        began.append(request.content.decode())
        await asyncio.sleep(30)
        return httpx.Response(500)

    respx_mock.post(URL).mock(side_effect=slow)
    yield began
    respx_mock.assert_all_called = False  # cancelled calls are never recorded as made


def test_a_slow_model_costs_at_most_the_turn_budget(tmp_path: Path, slow_endpoint: list[str]) -> None:
    with app_client(tmp_path, turn_budget_s=1) as client:
        sid, auth = start(client)
        began = time.monotonic()
        r = send(client, sid, auth, ANSWER)
        took = time.monotonic() - began
        assert r.status_code == 200, r.text
        assert took < 10  # the model would take 30 s a call; the bank's text was used instead
        replies = r.json()["messages"]
        assert replies and all(m["role"] == "interviewer" and m["content"].strip() for m in replies)
    assert slow_endpoint  # the model was asked, and given up on
    turns, scored = stored(tmp_path, sid)
    answers = [t for t in turns if t.role == "candidate"]
    assert [t.content for t in answers] == [ANSWER] and answers[0].status == "done"
    assert scored and scored[0].scorer == "offline"
    assert any("offline scorer used" in note for note in scored[0].data["notes"])


def test_a_reply_streaming_past_the_turn_budget_is_given_up(
    tmp_path: Path, respx_mock: respx.MockRouter
) -> None:
    """The scorer fails at once (offline scorer); the next message's stream starts, then stalls:
    at the budget the bank's text is said instead, and stored."""
    streams: list[str] = []

    async def reply(request: httpx.Request) -> httpx.Response:
        if b'"stream":true' not in request.content.replace(b" ", b""):
            return httpx.Response(200, text="<html>proxy error</html>", headers={"content-type": "text/html"})
        streams.append(request.content.decode())
        await asyncio.sleep(30)
        return httpx.Response(500)

    respx_mock.post(URL).mock(side_effect=reply)
    with app_client(tmp_path, turn_budget_s=2) as client:
        sid, auth = start(client)
        headers = {**auth, "Accept": "text/event-stream"}
        body = {"content": ANSWER, "client_msg_id": str(uuid.uuid4())}
        began = time.monotonic()
        with client.stream("POST", f"/api/v1/sessions/{sid}/messages", headers=headers, json=body) as r:
            raw = r.read().decode()
        assert time.monotonic() - began < 15
        assert r.status_code == 200 and "event: done" in raw and "event: error" not in raw
    assert streams  # the reply was asked of the model, and given up on
    turns, scored = stored(tmp_path, sid)
    assert all(t.status == "done" for t in turns) and turns[-1].role == "interviewer"
    assert turns[-1].content.strip() and scored[0].scorer == "offline"
