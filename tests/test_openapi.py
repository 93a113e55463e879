"""The OpenAPI schema at `/openapi.json` is the whole contract, as a generated client or a body
fuzzer needs it: a valid OpenAPI 3 document (openapi-spec-validator) in which every route that
takes a body declares it, staff and candidate routes declare their login (security schemes for
the bearer tokens and the staff cookie), and every route lists the 4xx it can give, in the one
error shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from interviewer.bank import Bank
from interviewer.web.app import create_app
from tests.conftest import make_settings

STAFF = {"staffToken", "staffCookie"}
CANDIDATE = {"candidateToken"}
BODYLESS = {("post", "/api/v1/auth/logout")}
"""Writes that take no body (logout revokes the token it is sent with)."""

# (method, path): (the logins that open it, the 4xx it must list)
ROUTES: dict[tuple[str, str], tuple[set[str], set[int]]] = {
    ("get", "/api/v1/plans"): (set(), set()),
    ("post", "/api/v1/sessions"): (set(), {400, 403, 413, 422, 429}),
    ("get", "/api/v1/sessions/{session_id}"): (CANDIDATE, {401, 404, 429}),
    ("get", "/api/v1/sessions/{session_id}/report"): (CANDIDATE, {401, 403, 404, 409, 429}),
    ("post", "/api/v1/sessions/{session_id}/messages"): (CANDIDATE, {400, 401, 404, 409, 413, 422, 429}),
    ("get", "/api/v1/sessions/{session_id}/exercise"): (CANDIDATE, {401, 404, 429}),
    ("post", "/api/v1/sessions/{session_id}/exercise/runs"): (CANDIDATE, {400, 401, 404, 409, 413, 422, 429}),
    ("post", "/api/v1/auth/login"): (set(), {400, 401, 413, 422, 429}),
    ("post", "/api/v1/auth/logout"): (STAFF, {401, 403}),
    ("get", "/api/v1/auth/me"): (STAFF, {401, 403, 429}),
    ("post", "/api/v1/invites"): (STAFF, {400, 401, 403, 413, 422, 429}),
    ("get", "/api/v1/review/sessions"): (STAFF, {400, 401, 403, 422, 429}),
    ("get", "/api/v1/review/sessions/{session_id}"): (STAFF, {401, 403, 404, 429}),
    ("post", "/api/v1/review/sessions/{session_id}/overrides"): (STAFF, {400, 401, 403, 404, 413, 422, 429}),
    ("post", "/api/v1/review/sessions/{session_id}/recommendation"): (
        STAFF,
        {400, 401, 403, 404, 409, 413, 422, 429},
    ),
    ("get", "/api/v1/review/sessions/{session_id}/export"): (STAFF, {401, 403, 404, 422, 429}),
    ("get", "/api/v1/review/calibration"): (STAFF, {401, 403, 422, 429}),
    ("get", "/api/v1/hr/tracks"): (STAFF, {401, 403, 429}),
    ("get", "/api/v1/hr/plans"): (STAFF, {401, 403, 429}),
    ("get", "/api/v1/hr/questions"): (STAFF, {401, 403, 422, 429}),
    ("get", "/api/v1/hr/exercises"): (STAFF, {401, 403, 429}),
    ("get", "/api/v1/hr/{kind}s/{item_id}"): (STAFF, {401, 403, 404, 422, 429}),
    ("post", "/api/v1/hr/{kind}s"): (STAFF, {400, 401, 403, 409, 413, 422, 429}),
    ("put", "/api/v1/hr/{kind}s/{item_id}"): (STAFF, {400, 401, 403, 404, 409, 412, 413, 422, 429}),
    ("delete", "/api/v1/hr/questions/{question_id}"): (STAFF, {401, 403, 404, 409, 429}),
    ("get", "/api/v1/hr/bank/export"): (STAFF, {401, 403, 429}),
    ("post", "/api/v1/hr/bank/import"): (STAFF, {400, 401, 403, 409, 413, 422, 429}),
    ("get", "/api/v1/hr/invites"): (STAFF, {400, 401, 403, 422, 429}),
}


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory, bank: Bank) -> dict[str, Any]:
    app = create_app(make_settings(Path(tmp_path_factory.mktemp("openapi"))), bank=bank, offline_only=True)
    r = TestClient(app).get("/openapi.json")  # no start-up needed: the schema is static
    assert r.status_code == 200
    return r.json()  # type: ignore[no-any-return]


def _operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method, path): op
        for path, item in schema["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete")
    }


def _resolve(schema: dict[str, Any], ref: str) -> dict[str, Any]:
    assert ref.startswith("#/components/schemas/"), ref
    return schema["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


def test_the_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    validate(schema)


def test_every_api_route_is_in_the_table(schema: dict[str, Any]) -> None:
    api = {k for k in _operations(schema) if k[1].startswith("/api/")}
    assert api == set(ROUTES)


def test_security_schemes(schema: dict[str, Any]) -> None:
    schemes = schema["components"]["securitySchemes"]
    assert schemes["candidateToken"] == schemes["candidateToken"] | {"type": "http", "scheme": "bearer"}
    assert schemes["staffToken"] == schemes["staffToken"] | {"type": "http", "scheme": "bearer"}
    assert schemes["staffCookie"] == schemes["staffCookie"] | {
        "type": "apiKey",
        "in": "cookie",
        "name": "interviewer_staff",
    }


def test_every_write_declares_its_body(schema: dict[str, Any]) -> None:
    for (method, path), op in _operations(schema).items():
        if method not in ("post", "put", "patch") or (method, path) in BODYLESS:
            continue
        body = op.get("requestBody")
        assert body and body["content"], (method, path)
        for media_type, content in body["content"].items():
            if media_type == "application/json":
                model = _resolve(schema, content["schema"]["$ref"])
                assert model["type"] == "object" and (
                    "properties" in model or model.get("additionalProperties")
                )
            else:
                assert content["schema"] == {"type": "string", "format": "binary"}, (method, path)


def test_json_bodies_are_the_models_the_server_checks(schema: dict[str, Any]) -> None:
    ops = _operations(schema)

    def model(method: str, path: str) -> dict[str, Any]:
        return _resolve(
            schema, ops[(method, path)]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        )

    answer = model("post", "/api/v1/sessions/{session_id}/messages")
    assert set(answer["required"]) == {"content", "client_msg_id"} and answer["additionalProperties"] is False
    assert answer["properties"]["content"]["maxLength"] == 8000
    assert set(model("post", "/api/v1/auth/login")["required"]) == {"email", "password"}
    assert ops[("post", "/api/v1/sessions")]["requestBody"]["required"] is False  # no body: practice
    override = model("post", "/api/v1/review/sessions/{session_id}/overrides")
    assert override["properties"]["score"]["maximum"] == 5
    assert "application/zip" in ops[("post", "/api/v1/hr/bank/import")]["requestBody"]["content"]


def test_logins_and_errors_per_route(schema: dict[str, Any]) -> None:
    ops = _operations(schema)
    for key, (logins, codes) in ROUTES.items():
        op = ops[key]
        declared = {name for requirement in op.get("security", []) for name in requirement}
        assert declared == logins, key
        listed = {int(code) for code in op["responses"] if code.startswith("4")}
        assert codes <= listed, (key, sorted(codes - listed))
        for code in listed:
            content = op["responses"][str(code)]["content"]["application/json"]["schema"]
            assert _resolve(schema, content["$ref"])["properties"].keys() == {"detail"}, (key, code)
