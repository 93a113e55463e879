"""The real app on a `TestClient` (offline engine, the given bank and index, a database URL or
the SQLite file in `tmp`), and the candidate API's calls on it: start a session, send an answer,
read the transcript."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.config import Settings
from interviewer.web.app import create_app
from tests.conftest import KNOWLEDGE, ROOT


def make_client(
    tmp: Path, bank: Bank, index: VectorIndex, database_url: str | None = None, **overrides: Any
) -> TestClient:
    settings = Settings(
        _env_file=None,
        data_dir=tmp,
        knowledge_dir=KNOWLEDGE,
        prompts_dir=ROOT / "prompts",
        database_url=database_url,
        **({"max_loop_lag_ms": 0} | overrides),  # see conftest.make_settings
    )
    return TestClient(create_app(settings, bank=bank, index=index, offline_only=True))


def start(client: TestClient, plan: str = "python") -> tuple[str, dict[str, str], dict[str, Any]]:
    r = client.post("/api/v1/sessions", json={"plan": plan})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}, body


def send(client: TestClient, sid: str, auth: dict[str, str], content: str, cid: str | None = None) -> Any:
    return client.post(
        f"/api/v1/sessions/{sid}/messages",
        headers=auth,
        json={"content": content, "client_msg_id": cid or str(uuid.uuid4())},
    )


def transcript(client: TestClient, sid: str, auth: dict[str, str]) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/sessions/{sid}", headers=auth)
    assert r.status_code == 200
    return r.json()["messages"]  # type: ignore[no-any-return]
