"""`Last-Event-ID` on the answer stream (server-sent events) resumes only the turn it names: an id
left over from an earlier turn — a client that kept it across answers — must not suppress the new
turn's events. The real app (TestClient) on a SQLite file, the offline engine, a small bank."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from interviewer.config import Settings
from interviewer.web.app import create_app
from tests.conftest import ROOT, sse_events
from tests.minibank import write_mini_bank

ANSWERS = (
    "A cache-aside read checks the cache first, falls back to the database on a miss, then stores it.",
    "I would put a time to live on every entry and invalidate on writes to keep it fresh enough.",
)


def test_last_event_id_of_another_turn_is_ignored(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        data_dir=tmp_path / "data",
        knowledge_dir=write_mini_bank(tmp_path / "knowledge"),  # type: ignore[call-arg]
        prompts_dir=ROOT / "prompts",
    )
    with TestClient(create_app(settings, offline_only=True)) as client:
        r = client.post("/api/v1/sessions", json={"plan": "full"})
        sid, token = r.json()["session_id"], r.json()["token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
        url = f"/api/v1/sessions/{sid}/messages"

        def answer(content: str, last_event_id: str | None = None) -> list[tuple[str, str, dict[str, Any]]]:
            extra = {"Last-Event-ID": last_event_id} if last_event_id else {}
            body = {"content": content, "client_msg_id": str(uuid.uuid4())}
            with client.stream("POST", url, headers={**headers, **extra}, json=body) as r:
                assert r.status_code == 200
                return sse_events(r.read().decode())

        first = answer(ANSWERS[0])
        last_id = first[-1][0]  # the `done` event of the first turn
        second = answer(ANSWERS[1], last_event_id=last_id)
    kinds = [kind for _, kind, _ in second]
    assert kinds[0] == "accepted" and "message" in kinds and kinds[-2:] == ["state", "done"]
    turn = second[0][2]["turn"]
    assert all(event_id.startswith(f"{turn}-") for event_id, kind, _ in second if kind != "accepted")
    text = "".join(d["text"] for _, kind, d in second if kind == "delta")
    assert text and text == "".join(d["content"] for _, kind, d in second if kind == "message")
