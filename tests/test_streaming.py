"""Token streaming from the model to the candidate: what may be shown before a reply is complete
(`LiveRelease`), the orchestrator's listener, and — at the real edge — server-sent events from a
real `interviewer serve` pointed at the fake OpenAI-compatible server over HTTP."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import BaseMessage

from interviewer.bank import Bank, Retriever
from interviewer.engine.messages import LiveRelease, acceptable
from interviewer.llm.fakes import FunctionModel
from tests.conftest import ROOT, free_port, make_orchestrator, running_server


def feed_all(release: LiveRelease, pieces: Sequence[str]) -> list[str]:
    text, out = "", []
    for piece in pieces:
        text += piece
        out.append(release.feed(text))
    return out


# --- what may be shown while a reply streams ---------------------------------------------------


def test_clean_text_is_released_as_it_comes() -> None:
    pieces = ["Good", " —", " how", " would", " you", " scale", " that", " across", " regions", "?"]
    shown = feed_all(LiveRelease(None), pieces)
    assert "".join(shown) == "".join(pieces)
    assert all(shown), "a clean token waited"


def test_grading_talk_is_withheld_and_blocks_the_rest() -> None:
    release = LiveRelease(None)
    shown = feed_all(release, ["That", " answer", " deserves", " a", " sc", "ore", " of", " 5", "."])
    assert "sc" not in "".join(shown) and release.blocked
    assert "".join(shown).strip() == "That answer deserves a"
    release = LiveRelease(None)
    assert "4" not in "".join(feed_all(release, ["I'd", " say", " 4", "/5", " overall"]))


def test_a_key_point_run_is_cut_before_its_sixth_word(bank: Bank) -> None:
    question = next(iter(bank.questions.values()))
    words = question.key_points[0].text.split()
    assert len(words) >= 7
    pieces = ["So", ",", *(" " + w for w in words)]
    release = LiveRelease(question)
    shown = "".join(feed_all(release, pieces))
    assert release.blocked
    assert len(shown.split()) < 1 + 6, "six words of a key point were shown"
    assert not acceptable("So, " + " ".join(words), question=question, already_said=set())


def test_reports_may_talk_about_scores() -> None:
    pieces = ["Your", " score", " was", " 3.5", "/5", " overall", "."]
    assert "".join(feed_all(LiveRelease(None, report=True), pieces)) == "".join(pieces)


# --- the orchestrator's listener ------------------------------------------------------------


class _Replies:
    """A model: JSON for the scoring call, `text` for everything it phrases."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self, messages: Sequence[BaseMessage]) -> str:
        if "json" in " ".join(m.text for m in messages).casefold()[-4000:]:
            return "not json"  # the scorer falls back to the offline scorer (recorded)
        return self.text


def _run_turn(
    bank: Bank, retriever: Retriever, offline_scorer: Any, prompts: Any, reply: str
) -> tuple[list[tuple[int, str]], Any]:
    engine = make_orchestrator(bank, retriever, offline_scorer, prompts, model=FunctionModel(_Replies(reply)))
    heard: list[tuple[int, str]] = []

    async def listener(index: int, text: str) -> None:
        heard.append((index, text))

    async def go() -> Any:
        started = await engine.start("python", seed=3)
        return await engine.answer(started.state, "I don't know.", listener=listener)

    return heard, asyncio.run(go())


def test_listener_hears_the_reply_that_is_kept(
    bank: Bank, retriever: Retriever, offline_scorer: Any, prompts: Any
) -> None:
    reply = "Thanks for that. Let's look at something different: how would you approach it?"
    heard, result = _run_turn(bank, retriever, offline_scorer, prompts, reply)
    assert heard, "nothing streamed"
    index = heard[0][0]
    assert {i for i, _ in heard} == {index}
    streamed = "".join(t for _, t in heard)
    assert result.messages[index].content == streamed == reply
    assert len(heard) > 1, "the reply came in one piece, not streamed"


def test_a_rejected_reply_is_replaced_by_the_fallback(
    bank: Bank, retriever: Retriever, offline_scorer: Any, prompts: Any
) -> None:
    reply = "Nice try. I would grade that answer 2/5, to be honest, but let's move on."
    heard, result = _run_turn(bank, retriever, offline_scorer, prompts, reply)
    streamed = "".join(t for _, t in heard)
    assert "2/5" not in streamed and "grade" not in streamed
    index = heard[0][0]
    assert result.messages[index].content != reply and "/5" not in result.messages[index].content


# --- at the real edge: SSE from a real server and a real (fake) model over HTTP ---------------


class _Proc:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.proc = subprocess.Popen(argv, env=env, stdout=self._out, stderr=self._out, cwd=str(log.parent))

    def wait_ready(self, url: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{url} did not come up: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._out.close()


@pytest.fixture(scope="module")
def model_server(
    tmp_path_factory: pytest.TempPathFactory, full_data_dir: Path, full_index: Any
) -> Iterator[str]:
    """`interviewer serve` (one worker, SQLite, the session's index copied) pointed at the fake
    model server: 300 ms to the first token, 50 tokens/s."""
    root = tmp_path_factory.mktemp("streaming")
    fake_port = free_port()
    fake = _Proc(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "fake_llm_server.py"),
            "--port",
            str(fake_port),
            "--ttft-ms",
            "300",
            "--tps",
            "50",
            "--reply-tokens",
            "20",
        ],
        dict(os.environ),
        root / "fake.log",
    )
    fake.wait_ready(f"http://127.0.0.1:{fake_port}/v1/models")
    data = root / "data"
    data.mkdir()
    shutil.copytree(full_data_dir / "chroma", data / "chroma")
    model = {
        "OPENAI_BASE_URL": f"http://127.0.0.1:{fake_port}/v1",
        "OPENAI_API_KEY": "test",
        "INTERVIEWER_MODEL": "fake",
    }
    try:
        with running_server(data, env=model) as base:
            yield base, data
    finally:
        fake.stop()


def _sse_timeline(
    response: httpx.Response, sent: float
) -> list[tuple[float, str, str | None, dict[str, Any]]]:
    """(seconds since sent, event, id, data) for every event, as it arrived."""
    out: list[tuple[float, str, str | None, dict[str, Any]]] = []
    buf = ""
    for chunk in response.iter_text():
        buf += chunk
        while "\n\n" in buf:
            block, buf = buf.split("\n\n", 1)
            fields = dict(line.split(": ", 1) for line in block.splitlines() if not line.startswith(":"))
            if "event" in fields:
                out.append(
                    (time.monotonic() - sent, fields["event"], fields.get("id"), json.loads(fields["data"]))
                )
    return out


def test_replies_stream_token_by_token_from_the_model(model_server: tuple[str, Path]) -> None:
    with httpx.Client(base_url=model_server[0], timeout=60) as http:
        started = http.post("/api/v1/sessions", json={"plan": "python"})
        assert started.status_code == 201, started.text
        sid, token = started.json()["session_id"], started.json()["token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        body = {"content": "I don't know this one, sorry.", "client_msg_id": str(uuid.uuid4())}
        sent = time.monotonic()
        with http.stream("POST", f"/api/v1/sessions/{sid}/messages", headers=headers, json=body) as r:
            assert r.status_code == 200
            timeline = _sse_timeline(r, sent)
    kinds = [kind for _, kind, _, _ in timeline]
    assert kinds[0] == "accepted" and kinds[-1] == "done"
    deltas = [(t, data) for t, kind, _, data in timeline if kind == "delta"]
    messages = {data["id"]: (t, data) for t, kind, _, data in timeline if kind == "message"}
    assert len(deltas) >= 5, "the reply did not stream in pieces"
    live = [(t, d) for t, d in deltas if d["message_id"] in messages]
    first_delta, kept_at = live[0][0], messages[live[0][1]["message_id"]][0]
    # 20 words at 50 tokens/s: the first piece is shown ~0.4 s before the reply is complete
    assert kept_at - first_delta > 0.25, (first_delta, kept_at)
    for mid, (_, message) in messages.items():
        streamed = "".join(d["text"] for _, d in deltas if d["message_id"] == mid)
        if streamed:
            assert streamed == message["content"]
    # the live deltas carry no event id; the stored events do (Last-Event-ID resumes from those),
    # including the chunks of a message that was not phrased live (practice feedback, say)
    live_ids = {d["message_id"] for _, kind, eid, d in timeline if kind == "delta" and eid is None}
    assert live_ids and all(
        d["message_id"] not in live_ids for _, kind, eid, d in timeline if kind == "delta" and eid is not None
    )
    assert all(eid for _, kind, eid, _ in timeline if kind in ("message", "state", "done"))


def test_the_second_opinion_is_stored_after_the_reply(model_server: tuple[str, Path]) -> None:
    """With a model, the offline scorer's opinion is not computed on the turn's path: the reply
    comes first, the assessment gets its `offline_score` shortly after (deferred, one thread)."""
    base, data = model_server
    with httpx.Client(base_url=base, timeout=60) as http:
        started = http.post("/api/v1/sessions", json={"plan": "python"}).json()
        auth = {"Authorization": f"Bearer {started['token']}"}
        answer = "A generator is a lazy iterator: it yields values one at a time and keeps its frame."
        r = http.post(
            f"/api/v1/sessions/{started['session_id']}/messages",
            headers=auth,
            json={"content": answer, "client_msg_id": str(uuid.uuid4())},
        )
        assert r.status_code == 200, r.text
    deadline = time.monotonic() + 180  # the deferred child embeds on one thread: slow on a busy machine
    while True:
        with sqlite3.connect(data / "interviewer.db") as db:
            rows = db.execute(
                "SELECT scorer, data FROM assessments WHERE session_id = ?", (started["session_id"],)
            ).fetchall()
        assert len(rows) == 1
        scorer, stored = rows[0][0], json.loads(rows[0][1])
        if stored.get("offline_score") is not None or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert scorer == "model"  # so the offline score came from the deferred second opinion
    assert 1.0 <= stored["offline_score"] <= 5.0
