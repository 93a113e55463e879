"""HR API (`/api/v1/hr`): track configs, interview plans, questions and coding exercises — each
save a new version, validated with the rules of the knowledge files, problems keyed by field; an
exercise only when its reference solution passes its tests in the sandbox — the whole bank as a
zip of the file format (export and import), and the invites with their status.

HR only: an evaluator is 403; no login, a wrong token or a candidate's session token is 401.
Handlers are thin: auth, parse, then the bank edits service (`services/bank_edits.py`) off the
event loop. Every change is audited. Saving brings this process's bank and the vector index up to
date before the response; other workers pick the change up before their next new session.
Running sessions keep the track configs they started with, and the revisions of the questions
they asked and the exercises they were given.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from interviewer.services.bank_edits import BankEdits, Current, Item
from interviewer.web.deps import Context, get_context, staff
from interviewer.web.input import MAX_BODY_BYTES, BadInput, parse_body
from interviewer.web.openapi_doc import doc, errors

router = APIRouter(prefix="/api/v1/hr", tags=["hr"], responses=errors(401, 403, 429))
STAFF = doc(security="staff")
Ctx = Annotated[Context, Depends(get_context)]
IMPORT_MAX_BYTES = 8 * 1024 * 1024
EXERCISE_MAX_BYTES = 256 * 1024
LARGE_BODIES = {
    "/api/v1/hr/bank/import": IMPORT_MAX_BYTES,
    "/api/v1/hr/exercises": EXERCISE_MAX_BYTES,
    "/api/v1/hr/exercises/": EXERCISE_MAX_BYTES,
}
"""Paths allowed a larger body than the app-wide limit: a zip of the whole bank; an exercise (four
code fields of up to 20,000 characters each)."""
NO_STORE = {"Cache-Control": "no-store"}
Kind = Literal["track", "plan", "question", "exercise"]
EXERCISE_CHECK = (
    " An exercise is saved only when its reference solution passes all its tests in the sandbox: "
    "a failing one is a 422 naming each failing test (field `solution`); no sandbox here is a 503."
)


class Document(BaseModel):
    """A question, track config, plan or exercise as in the files; checked by the bank's own rules."""

    model_config = ConfigDict(extra="allow")


async def _fresh(request: Request) -> BankEdits:
    """The bank edits after catching up with edits saved by other workers (a cheap check)."""
    edits = get_context(request).bank_edits
    await edits.catch_up()
    return edits


def _item(item: Item) -> dict[str, Any]:
    return {
        item.kind: item.document,
        "origin": item.origin,
        "version": item.version,
        "versions": [
            {"version": v.version, "author": v.author, "created_at": v.created_at, "deleted": v.deleted}
            for v in item.versions
        ],
    }


def _listed(current: Current[Any]) -> dict[str, Any]:
    return {**current.document, "origin": current.origin, "version": current.version}


# --- tracks and plans ------------------------------------------------------------------------


@router.get("/tracks", openapi_extra=STAFF, summary="HR: track configs (the current version of each)")
async def list_tracks(request: Request, ctx: Ctx) -> dict[str, Any]:
    await staff(ctx, request, "hr")
    tracks = await asyncio.to_thread(ctx.bank_edits.tracks)
    return {"tracks": [_listed(t) for t in tracks]}


@router.get("/plans", openapi_extra=STAFF, summary="HR: interview plans (the current version of each)")
async def list_plans(request: Request, ctx: Ctx) -> dict[str, Any]:
    await staff(ctx, request, "hr")
    plans = await asyncio.to_thread(ctx.bank_edits.plans)
    return {"plans": [_listed(p) for p in plans]}


@router.get(
    "/{kind}s/{item_id}",
    responses=errors(404, 422),
    openapi_extra=STAFF,
    summary="HR: one track config, plan, question or exercise with its versions",
)
async def get_item(
    kind: Kind, item_id: str, request: Request, response: Response, ctx: Ctx
) -> dict[str, Any]:
    await staff(ctx, request, "hr")
    item = await asyncio.to_thread(ctx.bank_edits.item, kind, item_id)
    response.headers["ETag"] = f'"{item.version}"'  # send it back as If-Match when saving
    return _item(item)


@router.post(
    "/{kind}s",
    status_code=201,
    responses=errors(400, 409, 413, 422, 503),
    openapi_extra=doc(body=Document, security="staff"),
    summary="HR: create a plan, question or exercise (tracks are fixed)",
    description="The body is the item as in the knowledge files." + EXERCISE_CHECK,
)
async def create_item(kind: Kind, request: Request, ctx: Ctx) -> dict[str, Any]:
    user = await staff(ctx, request, "hr")
    body = await parse_body(request, Document, max_bytes=_max_bytes(kind))
    item = await asyncio.to_thread(ctx.bank_edits.save, kind, body.model_extra or {}, author=user.email)
    return _item(item)


@router.put(
    "/{kind}s/{item_id}",
    responses=errors(400, 404, 409, 412, 413, 422, 503),
    openapi_extra=doc(body=Document, security="staff"),
    summary="HR: save a new version of a track config, plan, question or exercise",
    description="With `If-Match: <version>` (the `version`/`ETag` the edit started from) the save is "
    "refused with 412 if someone saved another version meanwhile; without it the last save wins. "
    "Running interviews keep the version they had." + EXERCISE_CHECK,
)
async def update_item(
    kind: Kind, item_id: str, request: Request, response: Response, ctx: Ctx
) -> dict[str, Any]:
    user = await staff(ctx, request, "hr")
    based_on = _if_match(request)
    body = await parse_body(request, Document, max_bytes=_max_bytes(kind))
    doc = dict(body.model_extra or {})
    doc.setdefault("id", item_id)
    if doc["id"] != item_id:
        raise BadInput(
            422,
            [
                {
                    "loc": ["body", "id"],
                    "field": "id",
                    "msg": f"the body's id {str(doc['id'])[:80]!r} differs from the path's id "
                    f"{item_id[:80]!r}: to save under another id, create it (POST /api/v1/hr/{kind}s)",
                    "type": "id_mismatch",
                }
            ],
        )
    item = await asyncio.to_thread(
        ctx.bank_edits.save, kind, doc, author=user.email, item_id=item_id, based_on=based_on
    )
    response.headers["ETag"] = f'"{item.version}"'
    return _item(item)


def _max_bytes(kind: Kind) -> int:
    return EXERCISE_MAX_BYTES if kind == "exercise" else MAX_BODY_BYTES


def _if_match(request: Request) -> int | None:
    """`If-Match: <version>` (as GET returns it in `version` and `ETag`; quotes and W/ allowed):
    the save must be based on the current version, else 412 and nothing is saved. Absent: the
    last save wins."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    if not (value.isascii() and value.isdigit()) or len(value) > 9:  # "²".isdigit(); int() refuses it
        raise BadInput(400, "If-Match must be the version number the edit is based on, e.g. If-Match: 3")
    return int(value)


# --- questions -------------------------------------------------------------------------------


@router.get(
    "/questions",
    responses=errors(422),
    openapi_extra=STAFF,
    summary="HR: the question bank (shipped and HR's questions)",
)
async def list_questions(
    request: Request, ctx: Ctx, track: Annotated[str | None, Query(max_length=40)] = None
) -> dict[str, Any]:
    await staff(ctx, request, "hr")
    questions = await asyncio.to_thread(ctx.bank_edits.questions, track=track)
    return {
        "questions": [
            {
                "id": q.record.id,
                "track": q.record.track,
                "topic": q.record.topic,
                "difficulty": q.record.difficulty,
                "question": q.record.question,
                "origin": q.origin,
                "version": q.version,
            }
            for q in questions
        ]
    }


@router.delete(
    "/questions/{question_id}",
    responses=errors(404, 409),
    openapi_extra=STAFF,
    summary="HR: delete HR's version of a question",
)
async def delete_question(question_id: str, request: Request, ctx: Ctx) -> dict[str, Any]:
    user = await staff(ctx, request, "hr")
    current = await asyncio.to_thread(ctx.bank_edits.delete_question, question_id, author=user.email)
    return {"deleted": question_id, "current": current or None}


# --- coding exercises ------------------------------------------------------------------------


@router.get("/exercises", openapi_extra=STAFF, summary="HR: the coding exercises (shipped and HR's)")
async def list_exercises(request: Request, ctx: Ctx) -> dict[str, Any]:
    await staff(ctx, request, "hr")
    exercises = await asyncio.to_thread(ctx.bank_edits.exercises)
    return {
        "exercises": [
            {
                "id": e.record.id,
                "track": e.record.track,
                "topic": e.record.topic,
                "difficulty": e.record.difficulty,
                "title": e.record.title,
                "tests": len(e.record.tests()),
                "origin": e.origin,
                "version": e.version,
            }
            for e in exercises
        ]
    }


# --- the bank as files -----------------------------------------------------------------------


@router.get(
    "/bank/export",
    openapi_extra=STAFF,
    summary="HR: the whole effective bank as a zip of the knowledge/ format",
)
async def export_bank(request: Request, ctx: Ctx) -> Response:
    user = await staff(ctx, request, "hr")
    data = await asyncio.to_thread(ctx.bank_edits.export_archive, author=user.email)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="knowledge-{stamp}.zip"', **NO_STORE},
    )


@router.post(
    "/bank/import",
    responses=errors(400, 409, 413, 422, 503),
    openapi_extra=doc(media_type="application/zip", security="staff"),
    summary="HR: import a zip of the knowledge/ format",
    description="The body is the zip itself (`Content-Type: application/zip`). Every question, "
    "track, plan and exercise that differs from the current bank is saved as a new version; nothing "
    "is deleted; articles are not imported. A problem anywhere, or a new or changed exercise whose "
    "reference solution fails its tests, refuses the whole import (422); no sandbox here is a 503.",
)
async def import_bank(request: Request, ctx: Ctx) -> dict[str, Any]:
    user = await staff(ctx, request, "hr")
    raw = await request.body()
    if len(raw) > IMPORT_MAX_BYTES:
        raise BadInput(413, f"archive larger than {IMPORT_MAX_BYTES} bytes")
    if not raw:
        raise BadInput(400, "send the zip archive as the request body")
    # unpacking, parsing, the problem list and the save all off the event loop
    counts = await asyncio.to_thread(ctx.bank_edits.import_archive, raw, author=user.email)
    return {"imported": counts}


# --- invites ---------------------------------------------------------------------------------


@router.get(
    "/invites",
    responses=errors(400, 422),
    openapi_extra=STAFF,
    summary="HR: invites and their status (the codes are not kept), newest first, paged",
    description="`limit` invites per page (1-200, default 100); pass `next_cursor` back as `cursor` for "
    "the next page (null after the last).",
)
async def list_invites(
    request: Request,
    ctx: Ctx,
    limit: Annotated[int, Query(ge=1, le=200)] = 100,
    cursor: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
) -> dict[str, Any]:
    await staff(ctx, request, "hr")
    before = _decode_invite_cursor(cursor) if cursor is not None else None
    page = await ctx.staff.invites(limit=limit, before=before)
    return {
        "invites": [
            {
                "id": inv.id,
                "status": inv.status,
                "plan": inv.plan,
                "plan_title": inv.plan_title,
                "mode": inv.mode,
                "show_report": inv.show_report,
                "created_at": inv.created_at.isoformat(),
                "expires_at": inv.expires_at.isoformat(),
                "used_at": inv.used_at.isoformat() if inv.used_at else None,
                "candidate_label": inv.candidate_label,
            }
            for inv in page.invites
        ],
        "total": page.total,
        "limit": limit,
        "next_cursor": _invite_cursor(page.next_before) if page.next_before is not None else None,
    }


def _invite_cursor(invite_id: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([invite_id]).encode()).decode().rstrip("=")


def _decode_invite_cursor(cursor: str) -> int:
    try:
        (invite_id,) = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if type(invite_id) is not int or not 0 < invite_id < 2**63:
            raise ValueError("not an invite id")
        return invite_id
    except (ValueError, TypeError, binascii.Error):
        raise BadInput(400, "invalid cursor: pass back the next_cursor of a previous page") from None
