"""API v1 (DESIGN.md): candidate sessions, turns (JSON or server-sent events), transcript, report;
staff login and invites. Handlers are thin: input checks, auth, then the service."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from interviewer.errors import ServiceError
from interviewer.services.errors import storage_problem
from interviewer.services.replies import Reply
from interviewer.web.deps import (
    Context,
    bearer,
    clear_staff_cookies,
    client_address,
    get_context,
    rate_limit,
    staff,
    staff_token,
)
from interviewer.web.input import Answer, BadInput, CreateInvite, Login, StartSession, parse_body
from interviewer.web.login import log_in
from interviewer.web.openapi_doc import doc, errors

router = APIRouter(prefix="/api/v1")
Ctx = Annotated[Context, Depends(get_context)]
CHUNK = 24


@router.get("/plans", summary="Interview plans a candidate can start")
async def plans(ctx: Ctx) -> dict[str, Any]:
    return ctx.service.plans()


@router.post(
    "/sessions",
    status_code=201,
    responses=errors(400, 403, 413, 422, 429, 503),
    openapi_extra=doc(body=StartSession, body_required=False),
    summary="Start an interview",
    description='Body `{"plan": str?, "invite_code": str?}`. Returns the session id, its bearer '
    "token (shown once) and the interviewer's opening messages.",
)
async def start_session(request: Request, ctx: Ctx) -> dict[str, Any]:
    wait = ctx.new_sessions.check(client_address(request, ctx.proxies))
    if wait:
        raise BadInput(
            429, f"too many new interviews from this address; retry in {wait:.0f} s", retry_after=int(wait)
        )
    body = await parse_body(request, StartSession, allow_empty=True)
    session_id, token, messages, state = await ctx.service.start(
        plan=body.plan,
        invite_code=body.invite_code,
        client_address=client_address(request, ctx.proxies),
    )
    return {"session_id": session_id, "token": token, "messages": messages, "state": state}


@router.get(
    "/sessions/{session_id}",
    responses=errors(401, 404, 429),
    openapi_extra=doc(security="candidate"),
    summary="The whole transcript so far and the session state",
)
async def get_session(
    session_id: str, request: Request, ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    token = bearer(authorization)
    rate_limit(ctx, request)
    messages, state = await ctx.service.transcript(session_id=session_id, token=token)
    return {"session_id": session_id, "state": state, "messages": messages}


@router.get(
    "/sessions/{session_id}/report",
    responses=errors(401, 403, 404, 409, 429),
    openapi_extra=doc(security="candidate"),
    summary="The report once the interview has ended (409 before)",
)
async def get_report(
    session_id: str, request: Request, ctx: Ctx, authorization: Annotated[str | None, Header()] = None
) -> dict[str, Any]:
    token = bearer(authorization)
    rate_limit(ctx, request)
    return await ctx.service.report(session_id=session_id, token=token)


def _events(reply: Reply, after: int = -1) -> list[tuple[str, str, dict[str, Any]]]:
    """The reply as (id, event, data) triples; ids are `<turn>-<n>` so a reconnect can resume."""
    out: list[tuple[str, dict[str, Any]]] = []
    for message in reply.messages:
        text = message["content"]
        for i in range(0, len(text), CHUNK):
            out.append(("delta", {"message_id": message["id"], "text": text[i : i + CHUNK]}))
        out.append(("message", message))
    out.append(("state", reply.state))
    out.append(("done", {}))
    return [(f"{reply.turn_seq}-{n}", event, data) for n, (event, data) in enumerate(out) if n > after]


def _public_error(exc: Exception) -> str:
    """What a client may read of a failure (a driver error's text holds the statement and its
    parameters — candidate text — so it is never shown)."""
    if isinstance(exc, ServiceError):
        return str(exc)
    reason = storage_problem(exc)
    if reason is not None:
        return f"storage unavailable: {reason}; try again later"
    return "the interviewer failed on this answer; retry shortly"


def _sse(event_id: str | None, event: str, data: dict[str, Any]) -> bytes:
    head = f"id: {event_id}\n" if event_id else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


def _after(last_event_id: str | None, turn_seq: int) -> int:
    """The last event the client has of this turn's reply; -1 (send all) for an id of another
    turn — a client that kept an id across answers must not lose the new turn's events."""
    if last_event_id and "-" in last_event_id:
        turn, tail = last_event_id.rsplit("-", 1)
        if turn == str(turn_seq) and tail.isascii() and tail.isdigit() and len(tail) <= 9:  # "²".isdigit()
            return int(tail)
    return -1


@router.post(
    "/sessions/{session_id}/messages",
    responses=errors(400, 401, 404, 409, 413, 422, 429, 503),
    openapi_extra=doc(body=Answer, security="candidate"),
    summary="Send an answer; get the interviewer's reply",
    description='Body `{"content": str, "client_msg_id": str}`. The answer is committed before '
    "anything else happens. The same client_msg_id and content again returns the original "
    "result; another content under the same id, or a second answer while one is being "
    "processed, is 409. With `Accept: text/event-stream` the reply streams as server-sent "
    "events (`accepted`, `delta`, `message`, `state`, `done`) with ids; `Last-Event-ID` on "
    "a retry resumes after that event.",
)
async def post_message(
    session_id: str,
    request: Request,
    ctx: Ctx,
    authorization: Annotated[str | None, Header()] = None,
    accept: Annotated[str | None, Header()] = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> Response:
    token = bearer(authorization)
    body = await parse_body(request, Answer)
    rate_limit(ctx, request, token=token)
    if not accept or "text/event-stream" not in accept:
        reply = await ctx.service.answer(
            session_id=session_id, token=token, content=body.content, client_msg_id=body.client_msg_id
        )
        return JSONResponse({"messages": reply.messages, "state": reply.state})

    queue: asyncio.Queue[bytes] = asyncio.Queue()
    streamed: set[int] = set()

    async def accepted(seq: int) -> None:
        await queue.put(_sse(f"{seq}-a", "accepted", {"turn": seq}))

    async def delta(message_id: int, text: str) -> None:
        # live and provisional: no event id (a resumed stream replays the stored reply instead);
        # the `message` event that follows carries the text that was kept
        streamed.add(message_id)
        await queue.put(_sse(None, "delta", {"message_id": message_id, "text": text}))

    task = asyncio.create_task(
        ctx.service.answer(
            session_id=session_id,
            token=token,
            content=body.content,
            client_msg_id=body.client_msg_id,
            on_accepted=accepted,
            on_delta=delta,
        )
    )
    first = asyncio.ensure_future(queue.get())
    done, _ = await asyncio.wait({task, first}, return_when=asyncio.FIRST_COMPLETED)
    if task in done and task.exception() is not None and first not in done:
        first.cancel()
        raise task.exception()  # type: ignore[misc]  # mapped to a 4xx/5xx before any byte is sent

    async def stream() -> AsyncIterator[bytes]:
        try:
            if first in done:
                yield first.result()
            else:
                first.cancel()
            while not task.done() or not queue.empty():
                if not queue.empty():
                    yield queue.get_nowait()
                    continue
                getter = asyncio.ensure_future(queue.get())
                ready, _ = await asyncio.wait({task, getter}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
                if getter in ready:
                    yield getter.result()
                else:
                    getter.cancel()
                    if not ready:
                        yield b": working\n\n"  # keeps proxies from timing out; ignored by clients
            try:
                reply = task.result()
            except Exception as exc:  # noqa: BLE001  # already answered with 200: report in-band
                yield _sse(None, "error", {"detail": _public_error(exc)})
                return
            for event_id, event, data in _events(reply, _after(last_event_id, reply.turn_seq)):
                if event == "delta" and data["message_id"] in streamed:
                    continue  # the client has this text live; its `message` event follows
                yield _sse(event_id, event, data)
        finally:
            if not task.done():  # the client went away: the turn still completes and is stored
                ctx.background.add(task)
                task.add_done_callback(ctx.background.discard)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


# --- staff -----------------------------------------------------------------------------------


@router.post(
    "/auth/login",
    responses=errors(400, 401, 403, 413, 415, 422, 429),
    openapi_extra=doc(body=Login),
    summary="HR / evaluator login: returns a bearer token, and sets the staff pages' cookies",
)
async def login(request: Request, response: Response, ctx: Ctx) -> dict[str, Any]:
    return await log_in(request, response, ctx)


@router.post(
    "/invites",
    status_code=201,
    responses=errors(400, 401, 403, 413, 422, 429),
    openapi_extra=doc(body=CreateInvite, security="staff"),
    summary="HR: create a one-time invite code bound to a plan",
    description='Body `{"plan", "mode"?, "show_report"?, "ttl_hours"?, "candidate_label"?}`. The '
    "label (who the invite is for: trimmed, at most 200 characters, one line) is shown to staff "
    "wherever they see the interview, never to the candidate.",
)
async def create_invite(request: Request, ctx: Ctx) -> dict[str, Any]:
    user = await staff(ctx, request, "hr")
    body = await parse_body(request, CreateInvite)
    invite = await ctx.staff.create_invite(
        by=user,
        plan=body.plan,
        mode=body.mode,
        show_report=body.show_report,
        ttl_hours=body.ttl_hours,
        label=body.candidate_label,
    )
    return {
        "code": invite.code,
        "plan": invite.plan,
        "mode": invite.mode,
        "expires_at": invite.expires_at.isoformat(),
        "candidate_label": invite.candidate_label,
    }


@router.post(
    "/auth/logout",
    status_code=204,
    responses=errors(401, 403),
    openapi_extra=doc(security="staff"),
    summary="Revoke the current staff token (header or cookie)",
)
async def logout(request: Request, ctx: Ctx) -> Response:
    await ctx.staff.log_out(staff_token(request))
    response = Response(status_code=204)
    clear_staff_cookies(response)
    return response


@router.get(
    "/auth/me",
    responses=errors(401, 403, 429),
    openapi_extra=doc(security="staff"),
    summary="HR / evaluator: who is logged in (email and role)",
)
async def whoami(request: Request, ctx: Ctx) -> JSONResponse:
    user = await staff(ctx, request, "hr", "evaluator")
    return JSONResponse({"email": user.email, "role": user.role}, headers={"Cache-Control": "no-store"})
