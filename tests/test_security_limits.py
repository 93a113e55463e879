"""The limits around login, client addresses and /metrics (issue 12: High 2, High 3 and the low
items on /metrics and login CSRF), driven through the HTTP API of a real app (SQLite file, the
real index). The server's own socket limits (slowloris, connections per address) are in
tests/test_server_limits.py.

- Password checks are bounded: beyond the checks running at once (and the few allowed to wait)
  a login is refused with 429 + Retry-After at once, without waiting for a check; a global and a
  per-address login rate bound them further.
- Repeated failures on one account back it off (429, even with the right password) while other
  accounts still log in; every failed login writes an audit row with the e-mail hashed and no
  password.
- X-Forwarded-For is read right to left: the right-most hop that is not a trusted proxy is the
  client, so spoofed left hops do not make new clients; a peer that is not a trusted proxy is
  never believed.
- The rate-limit table is capped, and a flood of new keys cannot evict (and so reset) a client's
  depleted bucket.
- /metrics needs a bearer token (404 when none is set, unless made public on purpose).
- Login takes only `application/json` (415 otherwise) and refuses a foreign `Origin` (403).
"""

from __future__ import annotations

import base64
import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from interviewer.bank import Bank, VectorIndex
from interviewer.config import Settings
from interviewer.services.credentials import hash_password
from interviewer.services.rate_limit import RateLimiter
from interviewer.store import repo
from interviewer.store import staff as staff_store
from interviewer.store.tables import AuditLog
from interviewer.web.app import create_app

ROOT = Path(__file__).resolve().parent.parent
LOGIN = "/api/v1/auth/login"
PASSWORD = "correct horse battery"
# A well-formed argon2id hash whose parameters make one check take seconds: verifying it costs
# the full computation (and fails), which holds a password-check slot long enough to see the
# logins beyond the bound refused while it runs.
_b64 = base64.b64encode
SLOW_HASH = (
    "$argon2id$v=19$m=65536,t=8,p=1$"
    + _b64(os.urandom(16)).decode().rstrip("=")
    + "$"
    + _b64(os.urandom(32)).decode().rstrip("=")
)


@contextmanager
def app_client(
    tmp: Path, bank: Bank, index: VectorIndex, *, peer: str = "testclient", **overrides: Any
) -> Iterator[TestClient]:
    settings = Settings(
        _env_file=None,
        data_dir=tmp,
        knowledge_dir=ROOT / "knowledge",  # type: ignore[call-arg]
        prompts_dir=ROOT / "prompts",
        **overrides,
    )
    app = create_app(settings, bank=bank, index=index, offline_only=True)
    with TestClient(app, client=(peer, 50000)) as c:
        yield c


def add_user(c: TestClient, email: str, *, password_hash: str | None = None, role: str = "hr") -> None:
    db = c.app.state.ctx.db  # type: ignore[attr-defined]
    with db.session() as s:
        staff_store.create_user(
            s, email=email, role=role, password_hash=password_hash or hash_password(PASSWORD)
        )
        s.commit()


def login(c: TestClient, email: str, password: str = PASSWORD, **headers: str) -> Any:
    return c.post(LOGIN, json={"email": email, "password": password}, headers=headers)


# --- High 2: password checks are bounded ------------------------------------------------------


def test_logins_beyond_the_bound_get_429_without_waiting(
    tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    with app_client(tmp_path, bank, full_index, login_checks_at_once=1, login_queue=0) as c:
        add_user(c, "slow@example.com", password_hash=SLOW_HASH)
        finished: list[Any] = []
        lock = threading.Lock()
        go = threading.Barrier(4)

        def attempt() -> None:
            go.wait()
            r = login(c, "slow@example.com", "not the password")
            with lock:
                finished.append(r)

        threads = [threading.Thread(target=attempt) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    statuses = [r.status_code for r in finished]
    assert sorted(statuses) == [401, 429, 429, 429], statuses
    # the refused ones came back while the one admitted check was still running
    assert statuses[-1] == 401
    for r in finished[:-1]:
        assert int(r.headers["retry-after"]) >= 1 and "login" in r.json()["detail"]


def test_the_global_login_rate_bounds_checks(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> None:
    with app_client(tmp_path, bank, full_index, logins_per_minute=2) as c:
        for name in ("a", "b", "c"):
            add_user(c, f"{name}@example.com")
        assert login(c, "a@example.com").status_code == 200
        assert login(c, "b@example.com").status_code == 200
        third = login(c, "c@example.com")
        assert third.status_code == 429 and int(third.headers["retry-after"]) >= 1


def test_the_login_rate_per_address_leaves_other_addresses_alone(
    tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    with app_client(
        tmp_path,
        bank,
        full_index,
        peer="127.0.0.1",
        trust_proxy_headers=True,
        logins_per_minute_per_address=2,
    ) as c:
        add_user(c, "a@example.com")
        one = {"X-Forwarded-For": "203.0.113.1"}
        assert [login(c, "a@example.com", **one).status_code for _ in range(3)] == [200, 200, 429]
        assert login(c, "a@example.com", **{"X-Forwarded-For": "203.0.113.2"}).status_code == 200


def test_repeated_failures_back_one_account_off(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> None:
    with app_client(tmp_path, bank, full_index, login_failures_before_backoff=2) as c:
        add_user(c, "a@example.com")
        add_user(c, "b@example.com", role="evaluator")
        assert login(c, "a@example.com", "wrong one").status_code == 401
        assert login(c, "A@example.com ", "wrong two").status_code == 401  # the same account
        backed_off = login(c, "a@example.com")  # even the right password waits now
        assert backed_off.status_code == 429
        assert int(backed_off.headers["retry-after"]) >= 1
        assert "a@example.com" not in backed_off.text
        assert login(c, "b@example.com").status_code == 200  # another account is not affected
        # an unknown address backs off the same way (no hint of which accounts exist)
        assert [login(c, "nobody@example.com", "x").status_code for _ in range(3)] == [401, 401, 429]


def test_a_failed_login_is_audited_with_the_email_hashed(
    tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    secret = "hunter2-the-wrong-password"
    with app_client(tmp_path, bank, full_index) as c:
        add_user(c, "a@example.com")
        assert login(c, "a@example.com", secret).status_code == 401
        assert login(c, "ghost@example.com", secret).status_code == 401
        db = c.app.state.ctx.db  # type: ignore[attr-defined]
        with db.session() as s:
            rows = list(s.scalars(select(AuditLog).where(AuditLog.action == "staff.login_failed")))
            dumped = [json.dumps([r.actor, r.action, r.subject, r.data]) for r in rows]
    assert [r.subject for r in rows] == [repo.sha256("a@example.com"), repo.sha256("ghost@example.com")]
    for text in dumped:
        assert secret not in text and "@example.com" not in text
    assert rows[0].data["address"] == "testclient" and rows[0].data["failures"] == 1


# --- low: login CSRF -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None],
)
def test_login_takes_only_json(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, content_type: str | None
) -> None:
    body = json.dumps({"email": "a@example.com", "password": PASSWORD})
    with app_client(tmp_path, bank, full_index) as c:
        add_user(c, "a@example.com")
        headers = {"content-type": content_type} if content_type else {}
        r = c.post(LOGIN, content=body, headers=headers)
        assert r.status_code == 415 and "application/json" in r.json()["detail"]
        ok = c.post(LOGIN, content=body, headers={"content-type": "application/json; charset=utf-8"})
        assert ok.status_code == 200


@pytest.mark.parametrize(
    ("origin", "status"),
    [
        ("https://evil.example", 403),
        ("http://testserver.evil.example", 403),
        ("null", 403),
        ("http://testserver", 200),  # the app's own origin (the staff login page)
        (None, 200),  # no Origin: not a browser's cross-site request
    ],
)
def test_login_refuses_a_foreign_origin(
    tmp_path: Path, bank: Bank, full_index: VectorIndex, origin: str | None, status: int
) -> None:
    with app_client(tmp_path, bank, full_index) as c:
        add_user(c, "a@example.com")
        r = login(c, "a@example.com", **({"Origin": origin} if origin else {}))
        assert r.status_code == status, r.text


# --- High 3: X-Forwarded-For -------------------------------------------------------------------


def _starts(c: TestClient, forwarded: list[str]) -> list[int]:
    return [
        c.post("/api/v1/sessions", json={"plan": "python"}, headers={"X-Forwarded-For": f}).status_code
        for f in forwarded
    ]


def test_spoofed_left_hops_are_not_new_clients(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> None:
    with app_client(
        tmp_path, bank, full_index, peer="127.0.0.1", trust_proxy_headers=True, sessions_per_minute=3
    ) as c:
        statuses = _starts(c, [f"10.9.{n}.1, 203.0.113.7" for n in range(8)])
    assert statuses.count(201) == 3 and statuses.count(429) == 5


def test_the_rightmost_untrusted_hop_is_the_client(
    tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    with app_client(
        tmp_path,
        bank,
        full_index,
        peer="127.0.0.1",
        trust_proxy_headers=True,
        trusted_proxies="127.0.0.1/32, 10.0.0.0/8",
        sessions_per_minute=3,
    ) as c:
        # two proxies (10.0.0.N, then the peer); left of them whatever the client claimed
        same = _starts(c, [f"198.51.100.{n}, 203.0.113.7, 10.0.0.{n}" for n in range(5)])
        assert same == [201, 201, 201, 429, 429]
        assert _starts(c, ["203.0.113.8, 10.0.0.1"]) == [201]  # another client
        assert _starts(c, ["203.0.113.7"]) == [429]  # the same client through one proxy only


def test_a_peer_that_is_no_trusted_proxy_is_not_believed(
    tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    with app_client(
        tmp_path, bank, full_index, peer="198.51.100.5", trust_proxy_headers=True, sessions_per_minute=3
    ) as c:
        statuses = _starts(c, [f"203.0.113.{n}" for n in range(5)])
    assert statuses == [201, 201, 201, 429, 429]


def test_a_flood_of_new_keys_does_not_reset_a_depleted_bucket() -> None:
    limiter = RateLimiter(rate_per_minute=1, burst=3, max_keys=20)
    assert [limiter.check("real") for _ in range(3)] == [0, 0, 0]
    assert limiter.check("real") > 0
    for i in range(1000):
        limiter.check(f"spoofed-{i}")
    assert limiter.check("real") > 0  # still depleted: its bucket was not evicted
    assert limiter.size <= 20


def test_a_flood_through_a_trusted_proxy_keeps_a_real_clients_limit(
    tmp_path: Path, bank: Bank, full_index: VectorIndex
) -> None:
    with app_client(
        tmp_path,
        bank,
        full_index,
        peer="127.0.0.1",
        trust_proxy_headers=True,
        requests_per_minute=1,  # a burst of 10, then one a minute
        rate_limit_max_keys=20,
    ) as c:
        auth = {"Authorization": "Bearer not-a-session-token"}

        def get(client: str) -> int:
            return c.get("/api/v1/sessions/nope", headers={**auth, "X-Forwarded-For": client}).status_code

        assert [get("203.0.113.7") for _ in range(10)] == [404] * 10
        assert get("203.0.113.7") == 429
        flood = [get(f"198.18.{i // 250}.{i % 250}") for i in range(200)]
        assert get("203.0.113.7") == 429
        assert flood.count(429) > 0  # new keys beyond the table share one bucket


# --- low: /metrics -------------------------------------------------------------------------------


def test_metrics_are_off_without_a_token(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> None:
    with app_client(tmp_path, bank, full_index) as c:
        assert c.get("/metrics").status_code == 404
        assert c.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_metrics_need_the_token(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> None:
    token = "scrape-token-0123456789"
    with app_client(tmp_path, bank, full_index, metrics_token=token) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong-token-0123456"}).status_code == 401
        ok = c.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert ok.status_code == 200 and "interviewer_http_requests_total" in ok.text


def test_metrics_can_be_made_public_on_purpose(tmp_path: Path, bank: Bank, full_index: VectorIndex) -> None:
    with app_client(tmp_path, bank, full_index, metrics_public=True) as c:
        assert c.get("/metrics").status_code == 200
