"""/metrics in Prometheus text format and JSON logs with request and session ids (never
candidate text)."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from interviewer.bank import Bank, VectorIndex
from interviewer.web.observability import JsonFormatter
from tests.kit.client import make_client, send, start


def test_metrics_endpoint(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> None:
    token = "scrape-token-0123456789"  # /metrics needs one (tests/test_security_limits.py)
    with make_client(tmp_path, bank, full_index, metrics_token=token) as c:
        sid, auth, _ = start(c)
        assert send(c, sid, auth, "Generators yield values lazily.").status_code == 200
        r = c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = r.text
        assert (
            'interviewer_http_requests_total{method="POST",route="/api/v1/sessions/{session_id}/messages",status="200"}'
            in text
        )
        assert "interviewer_turn_seconds_bucket" in text
        assert "interviewer_active_sessions" in text
        assert sid not in text  # routes are templates, never raw paths


def test_json_logs_carry_ids_not_candidate_text(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, caplog: pytest.LogCaptureFixture
) -> None:
    secret = f"my-secret-answer-{uuid.uuid4().hex}"
    with caplog.at_level(logging.INFO, logger="interviewer"), make_client(tmp_path, bank, full_index) as c:
        sid, auth, _ = start(c)
        r = send(c, sid, auth, f"Generators are lazy. {secret}")
        assert r.status_code == 200 and r.headers["x-request-id"]
    formatter = JsonFormatter()
    lines = [json.loads(formatter.format(rec)) for rec in caplog.records if rec.name == "interviewer.access"]
    turn = [line for line in lines if line.get("route") == "/api/v1/sessions/{session_id}/messages"]
    assert turn and turn[0]["session_id"] == sid and turn[0]["request_id"] != "-"
    assert all(secret not in json.dumps(line) for line in lines)
    assert all(secret not in rec.getMessage() for rec in caplog.records)


def test_request_id_is_propagated(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    assert client.get("/healthz", headers={"X-Request-ID": "<bad>"}).headers["x-request-id"] != "<bad>"


@pytest.fixture
def client(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> TestClient:
    with make_client(tmp_path, bank, full_index) as c:
        yield c  # type: ignore[misc]
