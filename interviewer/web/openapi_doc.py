"""What the OpenAPI schema says that FastAPI cannot see by itself, so that generated clients and
body fuzzers have the whole contract.

Bodies are parsed by hand (web/input.py: strict JSON, no echo of the input), so no route declares
a body parameter and FastAPI would document none: `doc(body=Model)` adds the request body as a
`$ref` to the model's schema, `doc(security=...)` the login a route needs, and `install(app)`
puts the body models and the security schemes into `components`. `errors(...)` lists the 4xx
(and 503) answers a route can give, all in the one error shape, `{"detail": str | [item]}`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict

from interviewer.web.deps import CSRF_COOKIE, CSRF_HEADER, STAFF_COOKIE


class ErrorItem(BaseModel):
    """One problem of a request, keyed by where it is (`loc`, e.g. `["body", "content"]`);
    bank documents add `field` (and for imports `file`)."""

    model_config = ConfigDict(extra="allow")
    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: a sentence, or a list of problems for a body that failed its checks.
    The input is never repeated."""

    detail: str | list[ErrorItem]


SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "candidateToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "The candidate's session token, as `POST /api/v1/sessions` returned it (shown once). "
        "It expires INTERVIEWER_CANDIDATE_TOKEN_DAYS after the interview started.",
    },
    "staffToken": {
        "type": "http",
        "scheme": "bearer",
        "description": "An HR or evaluator token, as `POST /api/v1/auth/login` returned it.",
    },
    "staffCookie": {
        "type": "apiKey",
        "in": "cookie",
        "name": STAFF_COOKIE,
        "description": f"The staff pages' login cookie (set by `POST /api/v1/auth/login`). A request "
        f"that changes anything must also send the `{CSRF_COOKIE}` cookie's value in `{CSRF_HEADER}`.",
    },
}

REASONS: dict[int, str] = {
    400: "Malformed request: the body is not UTF-8 or not JSON, has duplicate keys, NaN, numbers too "
    "long or nesting too deep; or a malformed cursor or header",
    401: "Not logged in: no token, a wrong or expired one",
    403: "Logged in, but this role may not do this (or a cookie login without its CSRF token)",
    404: "No such item, or not yours to see",
    409: "Conflicts with the current state",
    412: "If-Match names a version that is no longer the current one",
    408: "The request's body did not arrive in time",
    413: "Request body too large",
    415: "The body is not of a type this route takes (login: application/json only)",
    422: "The body or a parameter failed its checks (each problem keyed by where it is)",
    429: "Too many requests; retry after `Retry-After` seconds",
    503: "Busy or unavailable for a moment; retry after `Retry-After` seconds",
}

_BODIES: dict[str, type[BaseModel]] = {}
"""Request body models named by `doc(body=...)`; `install` adds their schemas to components."""


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each code with its reason and the error shape."""
    return {code: {"model": ErrorBody, "description": REASONS[code]} for code in codes}


def doc(
    *,
    body: type[BaseModel] | None = None,
    body_required: bool = True,
    media_type: str | None = None,
    security: Literal["candidate", "staff"] | None = None,
) -> dict[str, Any]:
    """`openapi_extra=` for a route: its JSON body (a model), or a raw body of `media_type`, and the
    login it needs (the staff bearer token or the staff cookie; or the candidate's token)."""
    extra: dict[str, Any] = {}
    if body is not None:
        _BODIES[body.__name__] = body
        schema = {"$ref": f"#/components/schemas/{body.__name__}"}
        extra["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": schema}},
        }
    elif media_type is not None:
        extra["requestBody"] = {
            "required": True,
            "content": {media_type: {"schema": {"type": "string", "format": "binary"}}},
        }
    if security == "staff":
        extra["security"] = [{"staffToken": []}, {"staffCookie": []}]
    elif security == "candidate":
        extra["security"] = [{"candidateToken": []}]
    return extra


def install(app: FastAPI) -> None:
    """Build the app's schema with the body models and security schemes in `components`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            components = schema.setdefault("components", {})
            schemas = components.setdefault("schemas", {})
            for name, model in sorted(_BODIES.items()):
                body = model.model_json_schema(ref_template="#/components/schemas/{model}")
                schemas.update(body.pop("$defs", {}))
                schemas[name] = body
            components["securitySchemes"] = SECURITY_SCHEMES
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
