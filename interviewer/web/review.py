"""Evaluator API (`/api/v1/review`): the sessions list, the review of one interview (transcript,
evidence located in the answers, key points, flags, scorer disagreement), score overrides and the
final recommendation (both audited), exports, and calibration of the machine against evaluators.

Roles: evaluators read and write; HR reads (list, review, exports, calibration) but may not
override scores or recommend (403). Anyone else, a candidate's session token included, is 401.
An unknown session id is 404. Bodies are parsed strictly (web/input.py); a refused request
changes nothing.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from dataclasses import asdict
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from interviewer import candidate_label
from interviewer.engine.calibration import Pair, calibrate
from interviewer.engine.state import SessionState
from interviewer.errors import Conflict, NotFound
from interviewer.store import repo
from interviewer.store.tables import InterviewSession, Override, TurnRow
from interviewer.web import exports, review_doc
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
PREVIEW_CHARS = 160


def _session(db: Any, session_id: str) -> InterviewSession:
    row = repo.get_session(db, session_id=session_id) if len(session_id) <= 36 else None
    if row is None:
        raise NotFound("no such interview")
    return row


def _first_answers(db: Session, session_ids: list[str]) -> dict[str, str]:
    """The start of each session's first answer: the list's preview of what the candidate wrote."""
    if not session_ids:
        return {}
    first = (
        select(TurnRow.session_id.label("sid"), func.min(TurnRow.seq).label("seq"))
        .where(TurnRow.session_id.in_(session_ids), TurnRow.role == "candidate")
        .group_by(TurnRow.session_id)
        .subquery()
    )
    rows = db.execute(
        select(TurnRow.session_id, TurnRow.content).join(
            first, (TurnRow.session_id == first.c.sid) & (TurnRow.seq == first.c.seq)
        )
    )
    return {sid: content[:PREVIEW_CHARS] for sid, content in rows}


def _cursor(row: InterviewSession) -> str:
    raw = json.dumps([row.created_at.isoformat(), row.id]).encode()
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

    def read() -> dict[str, Any]:
        with ctx.db.session() as db:
            rows, total = repo.list_review_sessions(
                db,
                plan_id=plan,
                status=status,
                min_score=min_score,
                max_score=max_score,
                flagged=flagged,
                needs_review=needs_review,
                created_from=datetime.combine(date_from, time.min, tzinfo=UTC) if date_from else None,
                created_before=(  # the calendar's last day bounds nothing (and has no next day)
                    datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=UTC)
                    if date_to and date_to < date.max
                    else None
                ),
                label_contains=q,
                after=after,
                limit=limit + 1,  # one more tells whether there is a next page
                offset=offset,
            )
            more = len(rows) > limit
            rows = rows[:limit]
            ids = [r.session.id for r in rows]
            overrides: dict[str, list[Override]] = {}
            for o in repo.list_overrides(db, session_ids=ids):
                overrides.setdefault(o.session_id, []).append(o)
            assessments = repo.list_assessments(db, session_ids=list(overrides))
            previews = _first_answers(db, ids)
            items = []
            for r in rows:
                effective = r.score
                if r.session.id in overrides:
                    _, effective = review_doc.session_scores(
                        session=r.session,
                        assessments=[a for a in assessments if a.session_id == r.session.id],
                        overrides=overrides[r.session.id],
                        report=repo.get_report(db, session_id=r.session.id),
                        bank=ctx.bank,
                    )
                items.append(
                    {
                        "session_id": r.session.id,
                        "plan_id": r.session.plan_id,
                        "mode": r.session.mode,
                        "status": r.session.status,
                        "candidate_label": r.session.candidate_label,
                        "created_at": review_doc.iso(r.session.created_at),
                        "score": round(r.score, 2) if r.score is not None else None,
                        "effective_score": round(effective, 2) if effective is not None else None,
                        "flagged": r.flagged,
                        "needs_review": r.needs_review,
                        "answers": r.answers,
                        "overridden": r.session.id in overrides,
                        "first_answer": previews.get(r.session.id),
                    }
                )
            return {
                "items": items,
                "total": total,
                "limit": limit,
                "offset": offset if after is None else None,
                "next_cursor": _cursor(rows[-1].session) if rows and more else None,
            }

    return JSONResponse(await asyncio.to_thread(read), headers=NO_STORE)


def _document(ctx: Context, session_id: str) -> dict[str, Any]:
    with ctx.db.session() as db:
        session = _session(db, session_id)
        stale = SessionState.model_validate(session.state).stale_revisions(ctx.bank.questions)
        stored = repo.question_versions(db, list(stale.values()))
        return review_doc.build(
            pinned={qid: stored[rev] for qid, rev in stale.items() if rev in stored},
            session=session,
            turns=repo.list_turns(db, session_id=session_id),
            assessments=repo.list_assessments(db, session_ids=[session_id]),
            report=repo.get_report(db, session_id=session_id),
            overrides=repo.list_overrides(db, session_ids=[session_id]),
            recommendations=repo.list_recommendations(db, session_id=session_id),
            audit=repo.audit_entries(db, subject=session_id),
            bank=ctx.bank,
        )


@router.get(
    "/sessions/{session_id}",
    responses=errors(404),
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
    return JSONResponse(await asyncio.to_thread(_document, ctx, session_id), headers=NO_STORE)


@router.post(
    "/sessions/{session_id}/overrides",
    responses=errors(400, 404, 413, 422),
    openapi_extra=doc(body=ScoreOverride, security="staff"),
    status_code=201,
    summary="Evaluator: override a score with a reason (audited)",
    description='Body `{"question_id", "criterion" (a rubric criterion id or "overall"), "score" (1-5), '
    '"reason" (5-2000 characters)}`. The latest override of a score wins.',
)
async def override(session_id: str, request: Request, ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    user = await staff(ctx, request, *WRITE)
    body = await parse_body(request, ScoreOverride)

    def write() -> dict[str, Any]:
        with ctx.db.session() as db:
            session = _session(db, session_id)
            latest = review_doc.latest_by_question(repo.list_assessments(db, session_ids=[session_id]))
            row = latest.get(body.question_id)
            if row is None:
                raise BadInput(422, "question_id: not an assessed question of this interview")
            machine = {c["id"]: float(c["score"]) for c in row.data["criteria"]}
            if body.criterion != review_doc.OVERALL and body.criterion not in machine:
                known = ", ".join([review_doc.OVERALL, *machine])
                raise BadInput(422, f"criterion: not a rubric criterion of this question (known: {known})")
            state = SessionState.model_validate(session.state)
            weights = review_doc.rubric_weights(state, ctx.bank, row.track)
            before = [
                o
                for o in repo.list_overrides(db, session_ids=[session_id])
                if o.question_id == row.question_id
            ]
            score, per_criterion = review_doc.effective(row.data, before, weights)
            overall = body.criterion == review_doc.OVERALL
            old = score if overall else per_criterion[body.criterion]
            new = round(body.score, 2)
            created = repo.add_override(
                db,
                session_id=session_id,
                question_id=row.question_id,
                track=row.track,
                criterion=body.criterion,
                machine_score=float(row.data["score"]) if overall else machine[body.criterion],
                old_score=old,
                new_score=new,
                reason=body.reason,
                user_id=user.id,
                actor=user.email,
            )
            repo.audit(
                db,
                actor=user.email,
                action="review.override",
                subject=session_id,
                data={
                    "override": created.id,
                    "question_id": row.question_id,
                    "criterion": body.criterion,
                    "old": old,
                    "new": new,
                    "reason": body.reason,
                },
            )
            db.commit()
            effective_now, _ = review_doc.effective(row.data, [*before, created], weights)
            return {
                "id": created.id,
                "question_id": row.question_id,
                "criterion": body.criterion,
                "machine_score": created.machine_score,
                "old_score": old,
                "new_score": new,
                "reason": body.reason,
                "evaluator": user.email,
                "created_at": review_doc.iso(created.created_at),
                "question_effective_score": effective_now,
            }

    return JSONResponse(await asyncio.to_thread(write), status_code=201, headers=NO_STORE)


@router.post(
    "/sessions/{session_id}/recommendation",
    responses=errors(400, 404, 409, 413, 422),
    openapi_extra=doc(body=FinalRecommendation, security="staff"),
    status_code=201,
    summary="Evaluator: the final recommendation for an ended interview (audited)",
    description='Body `{"recommendation": "strong hire" | "hire" | "no hire" | "strong no hire", '
    '"note": str?}`. The latest one counts; 409 while the interview is still running.',
)
async def recommend(session_id: str, request: Request, ctx: Ctx, authorization: Auth = None) -> JSONResponse:
    user = await staff(ctx, request, *WRITE)
    body = await parse_body(request, FinalRecommendation)

    def write() -> dict[str, Any]:
        with ctx.db.session() as db:
            session = _session(db, session_id)
            if session.status != "completed":
                raise Conflict("the recommendation is given once the interview has ended")
            row = repo.add_recommendation(
                db,
                session_id=session_id,
                recommendation=body.recommendation,
                note=body.note,
                user_id=user.id,
                actor=user.email,
            )
            repo.audit(
                db,
                actor=user.email,
                action="review.recommendation",
                subject=session_id,
                data={"recommendation": body.recommendation, "note": body.note},
            )
            db.commit()
            return {
                "recommendation": row.recommendation,
                "note": row.note,
                "evaluator": user.email,
                "created_at": review_doc.iso(row.created_at),
            }

    return JSONResponse(await asyncio.to_thread(write), status_code=201, headers=NO_STORE)


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
    doc = await asyncio.to_thread(_document, ctx, session_id)
    match format:
        case "json":
            text = exports.to_json(doc)
        case "csv":
            text = exports.to_csv(doc)
        case "md":
            text = exports.to_markdown(doc)
        case "html":
            text = exports.to_html(doc)
    media_type, ext = FORMATS[format]
    filename = f"interview-{doc['session_id']}.{ext}"
    return Response(
        content=text.encode("utf-8"),
        media_type=media_type,
        headers={**NO_STORE, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/calibration",
    responses=errors(422),
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

    def read() -> list[Override]:
        with ctx.db.session() as db:
            return repo.list_overrides(db)

    latest: dict[tuple[str, str, str], Override] = {}
    for o in await asyncio.to_thread(read):
        latest[(o.session_id, o.question_id, o.criterion)] = o
    pairs = [Pair(o.track, o.criterion, o.machine_score, o.new_score) for o in latest.values()]
    bar = ctx.settings.calibration_min_kappa
    groups = calibrate(pairs, min_pairs=min_pairs, min_kappa=bar)
    return JSONResponse(
        {
            "min_kappa": bar,
            "min_pairs": min_pairs,
            "pairs": len(pairs),
            "warnings": sum(g.warning for g in groups),
            "groups": [asdict(g) for g in groups],
        },
        headers=NO_STORE,
    )
