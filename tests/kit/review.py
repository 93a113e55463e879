"""Staff on a test client's app: an HR and an evaluator account created in its database, logged
in through the API (bearer headers), and rate limits high enough for a test that runs whole
interviews (`FAST`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from interviewer.bank import Bank
from interviewer.services.credentials import hash_password
from interviewer.store import staff as staff_store
from interviewer.store.db import Database

FAST: dict[str, Any] = {
    "requests_per_minute": 100_000,
    "answers_per_minute": 10_000,
    "sessions_per_minute": 10_000,
}
PASSWORD = "correct horse battery"


@dataclass
class World:
    client: TestClient
    bank: Bank
    hr: dict[str, str]
    ev: dict[str, str]
    candidate: dict[str, str] = field(default_factory=dict)
    sessions: dict[str, str] = field(default_factory=dict)


def login(c: TestClient, email: str) -> dict[str, str]:
    r = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200
    c.cookies.clear()  # an API client: the bearer header only, not the staff pages' cookies
    return {"Authorization": f"Bearer {r.json()['token']}"}


def staff(c: TestClient) -> tuple[dict[str, str], dict[str, str]]:
    """hr@example.com and ev@example.com: their bearer headers (HR's, the evaluator's)."""
    db: Database = c.app.state.ctx.db  # type: ignore[attr-defined]
    with db.session() as s:
        for email, role in (("hr@example.com", "hr"), ("ev@example.com", "evaluator")):
            staff_store.create_user(s, email=email, role=role, password_hash=hash_password(PASSWORD))
        s.commit()
    return login(c, "hr@example.com"), login(c, "ev@example.com")
