"""Evaluator API (`/api/v1/review`): the sessions list, the review of one interview (transcript,
evidence located in the answers, key points, flags, scorer disagreement), score overrides and the
final recommendation (both audited), exports, and calibration of the machine against evaluators.

Roles: evaluators read and write; HR reads (list, review, exports, calibration) but may not
override scores or recommend (403). Anyone else, a candidate's session token included, is 401.
An unknown session id is 404. Bodies are parsed strictly (web/input.py); a refused request
changes nothing.

The use cases are `services/review.py`'s (`ctx.review`); this module parses and checks the
request, checks the role, calls the service off the event loop and shapes the HTTP answer. The
list's cursor is the web's encoding of the service's keyset.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from interviewer import candidate_label
from interviewer.services.review import CalibrationReport, OverrideCreated, ReviewFilters, SessionSummary
from interviewer.services.review_doc import RecommendationRecord, ReviewDocument
from interviewer.web import exports
from interviewer.web.deps import Context, get_context, staff
from interviewer.web.input import BadInput, FinalRecommendation, ScoreOverride, parse_body
from interviewer.web.openapi_doc import doc, errors

router = APIRouter(prefix="/api/v1/review", tags=["review"], responses=errors(401, 403, 429))
STAFF = doc(security="staff")
Ctx = Annotated[Context, Depends(get_context)]
Auth = Annotated[str | None, Header()]
READ = ("evaluator", "hr")
WRITE = ("evaluator",)
NO_STORE = {"Cache-Control": "no-store"}
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("application/json", "json"),
    "csv": ("text/csv; charset=utf-8", "csv"),
    "md": ("text/markdown; charset=utf-8", "md"),
    "html": ("text/html; charset=utf-8", "html"),
}


class SessionsPage(BaseModel):
    """A page of the list. `offset` is null when paging by cursor; `next_cursor` is null on the
    last page."""

    items: list[SessionSummary]
    total: int
    limit: int
    offset: int | None
    next_cursor: str | None


def _cursor(after: tuple[datetime, str]) -> str:
    at, sid = after
    raw = json.dumps([at.isoformat(), sid]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        at, sid = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(sid, str) or "\x00" in sid:  # PostgreSQL refuses NUL in text (a 500)
            raise ValueError("not an id")
        return datetime.fromisoformat(at), sid
    except (ValueError, TypeError, binascii.Error):
        raise BadInput(400, "invalid cursor: pass back the next_cursor of a previous page") from None


@router.get(
    "/sessions",
    responses=errors(400, 422),
    response_model=SessionsPage,
    openapi_extra=STAFF,
    summary="Evaluator: interviews, newest first, with filters and paging",
)
async def list_sessions(
    request: Request,
    ctx: Ctx,
    authorization: Auth = None,
    plan: Annotated[str | None, Query(min_length=1, max_length=80, pattern=r"^[a-z0-9_-]+$")] = None,
    status: Annotated[Literal["active", "completed"] | None, Query()] = None,
    min_score: Annotated[float | None, Query(ge=1, le=5, allow_inf_nan=False)] = None,
    max_score: Annotated[float | None, Query(ge=1, le=5, allow_inf_nan=False)] = None,
    flagged: Annotated[bool | None, Query()] = None,
    needs_review: Annotated[
        bool | None, Query(description="an answer was scored with low confidence (offline scorer)")
    ] = None,
    date_from: Annotated[date | None, Query(alias="from", description="created on or after (UTC)")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="created on or before (UTC)")] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=candidate_label.MAX_CHARS,
            pattern=r"^[^\x00-\x1f\x7f]+$",
            description="the candidate label contains this (case-insensitive)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    cursor: Annotated[str | None, Query(min_length=1, max_length=300)] = None,
) -> JSONResponse:
    await staff(ctx, request, *READ)
    if cursor is not None and offset:
        raise BadInput(400, "use either a cursor or an offset, not both")
    after = _decode_cursor(cursor) if cursor is not None else None
    filters = ReviewFilters(
        plan_id=plan,
        status=status,
        min_score=min_score,
        max_score=max_score,
        flagged=flagged,
        needs_review=needs_review,
        created_from=date_from,
        created_to=date_to,
        label_contains=q,
    )
    page = await asyncio.to_thread(ctx.review.list_sessions, filters, limit=limit, offset=offset, after=after)
    body = SessionsPage(
        items=page.items,
        total=page.total,
        limit=limit,
        offset=offset if after is None else None,
        next_cursor=_cursor(page.next_after) if page.next_after else None,
    )
    return JSONResponse(body.model_dump(mode="json"), headers=NO_STORE)


@router.get(
    "/sessions/{session_id}",
    responses=errors(404),
    response_model=ReviewDocument,
    openapi_extra=STAFF,
    summary="Evaluator: the whole interview for review",
    description="Transcript (with the question each answer belongs to and the key point each follow-up "
    "probes), per main question the bank's key points, the latest assessment with per-criterion "
    "scores, evidence quotes located in the answers (`spans`: turn, start, end), covered and missed "
    "key points, pitfalls, flags, the offline second opinion and the disagreement, overrides and the "
    "effective scores; the report, the recommendations and the audit trail.",
)
async def get_review(session_id: str, request: Request, ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    await staff(ctx, request, *READ)
    document = await asyncio.to_thread(ctx.review.document, session_id)
    return JSONResponse(document.model_dump(mode="json"), headers=NO_STORE)


@router.post(
    "/sessions/{session_id}/overrides",
    responses=errors(400, 404, 413, 422),
    response_model=OverrideCreated,
    openapi_extra=doc(body=ScoreOverride, security="staff"),
    status_code=201,
    summary="Evaluator: override a score with a reason (audited)",
    description='Body `{"question_id", "criterion" (a rubric criterion id or "overall"), "score" (1-5), '
    '"reason" (5-2000 characters)}`. The latest override of a score wins.',
)
async def override(session_id: str, request: Request, ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    user = await staff(ctx, request, *WRITE)
    body = await parse_body(request, ScoreOverride)
    created = await asyncio.to_thread(
        ctx.review.add_override,
        session_id,
        question_id=body.question_id,
        criterion=body.criterion,
        score=body.score,
        reason=body.reason,
        user_id=user.id,
        actor=user.email,
    )
    return JSONResponse(created.model_dump(mode="json"), status_code=201, headers=NO_STORE)


@router.post(
    "/sessions/{session_id}/recommendation",
    responses=errors(400, 404, 409, 413, 422),
    response_model=RecommendationRecord,
    openapi_extra=doc(body=FinalRecommendation, security="staff"),
    status_code=201,
    summary="Evaluator: the final recommendation for an ended interview (audited)",
    description='Body `{"recommendation": "strong hire" | "hire" | "no hire" | "strong no hire", '
    '"note": str?}`. The latest one counts; 409 while the interview is still running.',
)
async def recommend(session_id: str, request: Request, ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    user = await staff(ctx, request, *WRITE)
    body = await parse_body(request, FinalRecommendation)
    row = await asyncio.to_thread(
        ctx.review.add_recommendation,
        session_id,
        recommendation=body.recommendation,
        note=body.note,
        user_id=user.id,
        actor=user.email,
    )
    return JSONResponse(row.model_dump(mode="json"), status_code=201, headers=NO_STORE)


@router.get(
    "/sessions/{session_id}/export",
    responses=errors(404, 422),
    openapi_extra=STAFF,
    summary="Evaluator: export an interview (json, csv, md, html)",
    description="`json`: the complete review document; `csv`: one row per answered question with "
    "machine, effective and per-criterion scores (formula-like cells neutralised with a leading '); "
    "`md`: Markdown with every candidate string escaped; `html`: a print-friendly report, escaped, "
    "no scripts.",
)
async def export(
    session_id: str,
    request: Request,
    ctx: Ctx,
    authorization: Auth = None,
    format: Annotated[Literal["json", "csv", "md", "html"], Query()] = "json",  # noqa: A002
) -> Response:
    await staff(ctx, request, *READ)
    document = await asyncio.to_thread(ctx.review.document, session_id)
    match format:
        case "json":
            text = exports.to_json(document)
        case "csv":
            text = exports.to_csv(document)
        case "md":
            text = exports.to_markdown(document)
        case "html":
            text = exports.to_html(document)
    media_type, ext = FORMATS[format]
    filename = f"interview-{document.session_id}.{ext}"
    return Response(
        content=text.encode("utf-8"),
        media_type=media_type,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/calibration",
    responses=errors(422),
    response_model=CalibrationReport,
    openapi_extra=STAFF,
    summary="Evaluator: agreement between machine scores and evaluators' overrides",
    description="Per track and criterion (and the overall score), then over all tracks: n, mean "
    "absolute difference, bias (evaluator minus machine), Spearman, quadratic-weighted kappa (scores "
    "rounded to 1-5), the 5x5 agreement matrix, and `warning` where kappa falls below "
    "`INTERVIEWER_CALIBRATION_MIN_KAPPA`. Figures need at least `min_pairs` pairs. The latest "
    "override of each score is one pair; an override with the machine's own score records agreement.",
)
async def calibration(
    request: Request,
    ctx: Ctx,
    authorization: Auth = None,
    min_pairs: Annotated[int, Query(ge=1, le=100_000)] = 3,
) -> JSONResponse:
    await staff(ctx, request, *READ)
    report = await asyncio.to_thread(ctx.review.calibration, min_pairs=min_pairs)
    return JSONResponse(report.model_dump(mode="json"), headers=NO_STORE)
