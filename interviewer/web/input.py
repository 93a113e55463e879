"""Strict request bodies. FastAPI's defaults accept NaN/Infinity, duplicate JSON keys and NUL
bytes, and its 422 handler echoes input (a lone surrogate then turns into a 500). Bodies here are
parsed by hand: UTF-8 strictly, JSON without duplicate keys or non-finite numbers, no lone
surrogates, then a pydantic model with `extra="forbid"`. Every failure is a 4xx that names the
problem and never repeats the input.

Hostile JSON is a 400 too, before anything recurses through it: nesting deeper than
`MAX_DEPTH` (the parser itself raises `RecursionError` near 1,000 levels), numbers longer than
`MAX_NUMBER_CHARS` (Python refuses integers over 4,300 digits with a `ValueError`) and floats
that overflow to infinity (`1e999`)."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal, TypeVar

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from interviewer import candidate_label
from interviewer.domain import HiringRecommendation

MAX_BODY_BYTES = 64 * 1024
MAX_ANSWER_CHARS = 8000
MAX_DEPTH = 32
"""Nesting levels a body may have (our bodies need 3; an HR question document about 4)."""
MAX_NUMBER_CHARS = 100
M = TypeVar("M", bound=BaseModel)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class BadInput(Exception):
    def __init__(self, status: int, detail: Any, *, retry_after: int | None = None) -> None:
        super().__init__(str(detail))
        self.status = status
        self.detail = detail
        self.retry_after = retry_after


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise BadInput(400, f"duplicate key {key!r} in the JSON body")
        out[key] = value
    return out


def _no_constants(name: str) -> Any:
    raise BadInput(400, f"{name} is not a valid JSON number here")


def _int(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise BadInput(400, f"a number in the JSON body is longer than {MAX_NUMBER_CHARS} characters")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise BadInput(400, f"a number in the JSON body is longer than {MAX_NUMBER_CHARS} characters")
    value = float(text)
    if not math.isfinite(value):
        raise BadInput(400, "a number in the JSON body is too large")
    return value


def _check_strings(value: Any, path: str = "body", depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        raise BadInput(400, f"the JSON body is nested deeper than {MAX_DEPTH} levels")
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput(422, f"{path}: contains an unpaired surrogate escape") from None
    elif isinstance(value, dict):
        for k, v in value.items():
            _check_strings(k, path, depth + 1)
            _check_strings(v, f"{path}.{k}", depth + 1)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_strings(v, f"{path}[{i}]", depth + 1)


def _errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": ["body", *e["loc"]], "msg": e["msg"], "type": e["type"]}
        for e in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


async def parse_body(
    request: Request, model: type[M], *, allow_empty: bool = False, max_bytes: int = MAX_BODY_BYTES
) -> M:
    raw = await request.body()
    if len(raw) > max_bytes:
        raise BadInput(413, f"request body larger than {max_bytes} bytes")
    if not raw.strip():
        if allow_empty:
            raw = b"{}"
        else:
            raise BadInput(400, "a JSON body is required")
    try:
        text = raw.decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise BadInput(400, "the request body is not valid UTF-8") from None
    try:
        data = json.loads(
            text,
            object_pairs_hook=_no_duplicates,
            parse_constant=_no_constants,
            parse_int=_int,
            parse_float=_float,
        )
    except json.JSONDecodeError as exc:
        raise BadInput(400, f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise BadInput(400, f"the JSON body is nested deeper than {MAX_DEPTH} levels") from None
    if not isinstance(data, dict):
        raise BadInput(422, "the JSON body must be an object")
    _check_strings(data)
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        raise BadInput(422, _errors(exc)) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class StartSession(_Strict):
    plan: str | None = Field(default=None, min_length=1, max_length=80, pattern=r"^[a-z0-9_-]+$")
    invite_code: str | None = Field(default=None, min_length=4, max_length=100)


class Answer(_Strict):
    content: str = Field(max_length=MAX_ANSWER_CHARS)
    client_msg_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        if _CONTROL.search(value):
            raise ValueError("must not contain NUL or control characters")
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class ExerciseRunBody(_Strict):
    code: str = Field(min_length=1, max_length=20000)
    kind: Literal["examples", "submit"]
    client_msg_id: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError("must not contain NUL characters")
        if not value.strip():
            raise ValueError("must not be empty")
        return value


class Login(_Strict):
    email: str = Field(min_length=3, max_length=254)
    password: str = Field(min_length=1, max_length=1000)

    @field_validator("email")
    @classmethod
    def _no_control(cls, value: str) -> str:
        if _CONTROL.search(value):  # PostgreSQL refuses NUL in a query (a 500 before this check)
            raise ValueError("must not contain NUL or control characters")
        return value


class CreateInvite(_Strict):
    plan: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_-]+$")
    mode: str = Field(default="assessment", pattern=r"^(practice|assessment)$")
    show_report: bool = True
    ttl_hours: int = Field(default=72, ge=1, le=24 * 90)
    candidate_label: str | None = Field(
        default=None, description="who the invite is for (staff only; trimmed, 200 characters, one line)"
    )

    @field_validator("candidate_label")
    @classmethod
    def _label(cls, value: str | None) -> str | None:
        return candidate_label.clean(value)


def _free_text(value: str, *, min_chars: int) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain NUL or control characters")
    if len(value.strip()) < min_chars:
        raise ValueError(f"needs at least {min_chars} characters besides spaces")
    return value.strip()


class ScoreOverride(_Strict):
    question_id: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
    criterion: str = Field(min_length=1, max_length=80, pattern=r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
    score: float = Field(ge=1, le=5, allow_inf_nan=False)
    reason: str = Field(min_length=5, max_length=2000)

    @field_validator("reason")
    @classmethod
    def _reason(cls, value: str) -> str:
        return _free_text(value, min_chars=5)


class FinalRecommendation(_Strict):
    recommendation: HiringRecommendation
    note: str | None = Field(default=None, max_length=2000)

    @field_validator("note")
    @classmethod
    def _note(cls, value: str | None) -> str | None:
        return None if value is None or not value.strip() else _free_text(value, min_chars=1)
