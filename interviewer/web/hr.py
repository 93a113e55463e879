"""HR API (`/api/v1/hr`): track configs, interview plans and questions — each save a new version,
validated with the rules of the knowledge files, problems keyed by field — the whole bank as a
zip of the file format (export and import), and the invites with their status.

HR only: an evaluator is 403; no login, a wrong token or a candidate's session token is 401.
Every change is audited. Saving brings this process's bank and the vector index up to date before
the response (`bank/sync.py`); other workers pick the change up before their next new session.
Running sessions keep the track configs they started with.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from interviewer.bank.archive import ArchiveError, export_zip, read_bank, reported
from interviewer.bank.loader import Bank
from interviewer.bank.overlay import document, field_path
from interviewer.bank.sync import BankSync, Invalid, Kind, Missing, Refused, Stale, history
from interviewer.domain import TRACKS, Plan, TrackConfig
from interviewer.store import repo
from interviewer.store.tables import utcnow
from interviewer.web.deps import Context, get_context, staff
from interviewer.web.input import BadInput, parse_body
from interviewer.web.openapi_doc import doc, errors

router = APIRouter(prefix="/api/v1/hr", tags=["hr"], responses=errors(401, 403, 429))
STAFF = doc(security="staff")
Ctx = Annotated[Context, Depends(get_context)]
IMPORT_MAX_BYTES = 8 * 1024 * 1024
LARGE_BODIES = {"/api/v1/hr/bank/import": IMPORT_MAX_BYTES}
"""Paths allowed a larger body than the app-wide limit (a zip of the whole bank)."""
NO_STORE = {"Cache-Control": "no-store"}


class Document(BaseModel):
    """A question, track config or plan as in the files; checked by the bank's own rules."""

    model_config = ConfigDict(extra="allow")


def _sync(request: Request) -> BankSync:
    sync: BankSync = request.app.state.bank_sync
    return sync


async def _fresh(request: Request) -> BankSync:
    """The bank sync after catching up with edits saved by other workers (a cheap check)."""
    sync = _sync(request)
    await asyncio.to_thread(sync.refresh)
    return sync


def _bank_error(exc: Exception) -> BadInput:
    if isinstance(exc, Invalid):
        return BadInput(
            422,
            [
                {
                    "loc": ["body", *filter(None, f["field"].split("."))],
                    "field": f["field"],
                    "msg": f["message"],
                    "type": "bank",
                }
                for f in exc.fields()
            ],
        )
    if isinstance(exc, Missing):
        return BadInput(404, str(exc))
    if isinstance(exc, Stale):
        return BadInput(412, str(exc))
    return BadInput(409, str(exc))


async def _run_edit(fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return await asyncio.to_thread(fn, *args, **kwargs)
    except (Invalid, Missing, Refused, Stale) as exc:
        raise _bank_error(exc) from None


def _versions(ctx: Context, kind: Kind) -> dict[str, int]:
    with ctx.db.session() as db:
        if kind == "question":
            return {r.question_id: r.version for r in repo.latest_hr_questions(db) if not r.deleted}
        return {r.item_id: r.version for r in repo.latest_hr_configs(db) if r.kind == kind}


async def _item(ctx: Context, sync: BankSync, kind: Kind, item_id: str) -> dict[str, Any]:
    bank = sync.bank
    pools: dict[str, dict[Any, Any]] = {"question": bank.questions, "track": bank.tracks, "plan": bank.plans}
    record = pools[kind].get(item_id)
    if record is None:
        raise BadInput(404, f"no {kind} {item_id!r}")
    versions = await asyncio.to_thread(history, ctx.db, kind, item_id)
    origin = sync.origin(kind, item_id)
    shipped = [
        {"version": 0, "author": "knowledge/ (the shipped files)", "created_at": None, "deleted": False}
    ]
    saved = [
        {"version": v.version, "author": v.author, "created_at": v.created_at, "deleted": v.deleted}
        for v in versions
    ]
    return {
        kind: document(record),
        "origin": origin,
        "version": versions[-1].version if origin == "hr" and versions else 0,
        "versions": (shipped if item_id in _seed_pool(sync, kind) else []) + saved,
    }


def _seed_pool(sync: BankSync, kind: Kind) -> dict[Any, Any]:
    seed = sync.seed
    pools: dict[str, dict[Any, Any]] = {"question": seed.questions, "track": seed.tracks, "plan": seed.plans}
    return pools[kind]


# --- tracks and plans ------------------------------------------------------------------------


async def _current(
    request: Request, ctx: Context, kind: Kind, pick: Callable[[Bank], Iterable[TrackConfig | Plan]]
) -> list[dict[str, Any]]:
    """The current version of each track config or plan `pick` chooses, with origin and version."""
    await staff(ctx, request, "hr")
    sync = await _fresh(request)
    versions = await asyncio.to_thread(_versions, ctx, kind)
    return [
        {**document(r), "origin": sync.origin(kind, r.id), "version": versions.get(r.id, 0)}
        for r in pick(sync.bank)
    ]


@router.get("/tracks", openapi_extra=STAFF, summary="HR: track configs (the current version of each)")
async def list_tracks(request: Request, ctx: Ctx) -> dict[str, Any]:
    tracks = await _current(
        request, ctx, "track", lambda bank: [bank.tracks[t] for t in TRACKS if t in bank.tracks]
    )
    return {"tracks": tracks}


@router.get("/plans", openapi_extra=STAFF, summary="HR: interview plans (the current version of each)")
async def list_plans(request: Request, ctx: Ctx) -> dict[str, Any]:
    plans = await _current(request, ctx, "plan", lambda bank: sorted(bank.plans.values(), key=lambda p: p.id))
    return {"plans": plans}


@router.get(
    "/{kind}s/{item_id}",
    responses=errors(404, 422),
    openapi_extra=STAFF,
    summary="HR: one track config, plan or question with its versions",
)
async def get_item(
    kind: Literal["track", "plan", "question"], item_id: str, request: Request, response: Response, ctx: Ctx
) -> dict[str, Any]:
    await staff(ctx, request, "hr")
    item = await _item(ctx, await _fresh(request), kind, item_id)
    response.headers["ETag"] = f'"{item["version"]}"'  # send it back as If-Match when saving
    return item


@router.post(
    "/{kind}s",
    status_code=201,
    responses=errors(400, 409, 413, 422),
    openapi_extra=doc(body=Document, security="staff"),
    summary="HR: create a plan or question (tracks are fixed)",
)
async def create_item(
    kind: Literal["track", "plan", "question"], request: Request, ctx: Ctx
) -> dict[str, Any]:
    user = await staff(ctx, request, "hr")
    body = await parse_body(request, Document)
    sync = _sync(request)
    record = await _run_edit(sync.save, kind, body.model_extra or {}, author=user.email)
    return await _item(ctx, sync, kind, record.id)


@router.put(
    "/{kind}s/{item_id}",
    responses=errors(400, 404, 409, 412, 413, 422),
    openapi_extra=doc(body=Document, security="staff"),
    summary="HR: save a new version of a track config, plan or question",
    description="With `If-Match: <version>` (the `version`/`ETag` the edit started from) the save is "
    "refused with 412 if someone saved another version meanwhile; without it the last save wins.",
)
async def update_item(
    kind: Literal["track", "plan", "question"], item_id: str, request: Request, response: Response, ctx: Ctx
) -> dict[str, Any]:
    user = await staff(ctx, request, "hr")
    based_on = _if_match(request)
    body = await parse_body(request, Document)
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
    sync = _sync(request)
    record = await _run_edit(sync.save, kind, doc, author=user.email, item_id=item_id, based_on=based_on)
    item = await _item(ctx, sync, kind, record.id)
    response.headers["ETag"] = f'"{item["version"]}"'
    return item


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
    sync = await _fresh(request)
    versions = await asyncio.to_thread(_versions, ctx, "question")
    questions = sorted(sync.bank.questions.values(), key=lambda q: (q.track, q.id))
    return {
        "questions": [
            {
                "id": q.id,
                "track": q.track,
                "topic": q.topic,
                "difficulty": q.difficulty,
                "question": q.question,
                "origin": sync.origin("question", q.id),
                "version": versions.get(q.id, 0),
            }
            for q in questions
            if track is None or q.track == track
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
    current = await _run_edit(_sync(request).delete_question, question_id, author=user.email)
    return {"deleted": question_id, "current": current or None}


# --- the bank as files -----------------------------------------------------------------------


@router.get(
    "/bank/export",
    openapi_extra=STAFF,
    summary="HR: the whole effective bank as a zip of the knowledge/ format",
)
async def export_bank(request: Request, ctx: Ctx) -> Response:
    user = await staff(ctx, request, "hr")
    sync = await _fresh(request)
    data = await asyncio.to_thread(export_zip, sync.bank)

    def audit() -> None:
        with ctx.db.session() as db:
            repo.audit(db, actor=user.email, action="bank.export", subject="bank")
            db.commit()

    await asyncio.to_thread(audit)
    stamp = utcnow().strftime("%Y%m%d-%H%M%S")
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="knowledge-{stamp}.zip"', **NO_STORE},
    )


@router.post(
    "/bank/import",
    responses=errors(400, 409, 413, 422),
    openapi_extra=doc(media_type="application/zip", security="staff"),
    summary="HR: import a zip of the knowledge/ format",
    description="The body is the zip itself (`Content-Type: application/zip`). Every question, "
    "track and plan that differs from the current bank is saved as a new version; nothing is "
    "deleted; articles are not imported. A problem anywhere refuses the whole import (422).",
)
async def import_bank(request: Request, ctx: Ctx) -> dict[str, Any]:
    user = await staff(ctx, request, "hr")
    raw = await request.body()
    if len(raw) > IMPORT_MAX_BYTES:
        raise BadInput(413, f"archive larger than {IMPORT_MAX_BYTES} bytes")
    if not raw:
        raise BadInput(400, "send the zip archive as the request body")
    sync = _sync(request)
    try:  # unpacking, parsing and the problem list all off the event loop
        incoming, problems = await asyncio.to_thread(_read_import, raw, sync.bank.root / "articles")
    except ArchiveError as exc:
        raise BadInput(422, str(exc)) from None
    if problems:
        raise BadInput(422, problems)
    counts = await _run_edit(sync.import_bank, incoming, author=user.email)
    return {"imported": counts}


def _read_import(raw: bytes, articles: Path) -> tuple[Bank, list[dict[str, Any]]]:
    """The archive's bank and its problems as the 422's detail: the first `MAX_REPORTED`, then
    one entry counting the rest (a few KB of zip can hold thousands of bad questions)."""
    incoming, problems = read_bank(raw, articles_from=articles)
    shown, more = reported(problems)
    detail: list[dict[str, Any]] = [
        {
            "loc": ["body", p.file],
            "file": p.file,
            "field": field_path(p.field),
            "msg": p.message,
            "type": "bank",
        }
        for p in shown
    ]
    if more:
        detail.append(
            {
                "loc": ["body"],
                "file": "",
                "field": "",
                "msg": f"... and {more} more problems not shown (fix the ones above first)",
                "type": "bank.more",
                "more": more,
            }
        )
    return incoming, detail


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
