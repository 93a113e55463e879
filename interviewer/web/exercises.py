"""API v1: the coding exercise of an interview — read the open exercise, run code on it (the
visible examples, or a submission of all the tests, which the interviewer follows up on).
Handlers are thin: the candidate's bearer token, strict input, the per-token rate limit, then
`services/exercise_runs.py`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request

from interviewer.errors import Unavailable
from interviewer.services.exercise_runs import ExerciseRuns
from interviewer.web.deps import Context, bearer, get_context, rate_limit
from interviewer.web.input import ExerciseRunBody, parse_body
from interviewer.web.openapi_doc import doc, errors

router = APIRouter(prefix="/api/v1")
Ctx = Annotated[Context, Depends(get_context)]


def _runs(ctx: Context) -> ExerciseRuns:
    if ctx.exercises is None:
        raise Unavailable("coding exercises are not available on this server")
    return ctx.exercises


@router.get(
    "/sessions/{session_id}/exercise",
    responses=errors(401, 404, 429),
    openapi_extra=doc(security="candidate"),
    summary="The open coding exercise (404 when none is open)",
    description="`{exercise: {id, title, statement, starter_code, examples: [{name, code}], "
    "time_limit_s, submitted, submissions, max_submissions}, runs: [...]}`: the statement, the "
    "starter code, the visible example tests (each test function's Python source), how many "
    "submissions were made of how many allowed, and the runs so far.",
)
async def get_exercise(
    session_id: str, request: Request, ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    token = bearer(authorization)
    rate_limit(ctx, request, token=token)
    return await _runs(ctx).current(session_id=session_id, token=token)


@router.post(
    "/sessions/{session_id}/exercise/runs",
    responses=errors(400, 401, 404, 409, 413, 422, 429, 503),
    openapi_extra=doc(body=ExerciseRunBody, security="candidate"),
    summary="Run code on the open exercise: its examples, or a submission",
    description='Body `{"code": str, "kind": "examples" | "submit", "client_msg_id": str}`. Returns '
    '`{"run": {id, kind, passed, failed, errors, timed_out, tests: [{name, ok, message}], '
    'duration_ms, stdout_truncated}, "messages": [...], "state": {...}}`; for a submission, '
    "`messages` holds the interviewer's follow-up on what the run showed (a fix may be submitted "
    "instead of answering it, up to `max_submissions` in all). The same `client_msg_id` and body "
    "again returns the stored run; another body under it, a run while another is pending, a "
    "submission past the last allowed, or no open exercise is a 409; a busy or missing sandbox a 503.",
)
async def post_run(
    session_id: str, request: Request, ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    token = bearer(authorization)
    body = await parse_body(request, ExerciseRunBody)
    rate_limit(ctx, request, token=token)
    reply = await _runs(ctx).run(
        session_id=session_id,
        token=token,
        code=body.code,
        kind=body.kind,
        client_msg_id=body.client_msg_id,
    )
    return {"run": reply.run, "messages": reply.messages, "state": reply.state}
