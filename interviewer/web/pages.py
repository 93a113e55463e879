"""Candidate pages (static files, no build step) and the reference articles as safe HTML."""

from __future__ import annotations

import asyncio
import functools
import html
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, HTMLResponse
from markdown_it import MarkdownIt

from interviewer.web.deps import Context, get_context

STATIC = Path(__file__).parent / "static"
router = APIRouter(include_in_schema=False)
Ctx = Annotated[Context, Depends(get_context)]


def _page(name: str) -> FileResponse:
    path = STATIC / name
    if not path.is_file():
        raise HTTPException(404, "page not found")
    return FileResponse(path, media_type="text/html; charset=utf-8")


@router.get("/")
async def landing() -> FileResponse:
    return _page("index.html")


@router.get("/interview/{session_id}")
async def interview(session_id: str) -> FileResponse:
    return _page("interview.html")


@router.get("/interview/{session_id}/report")
async def report(session_id: str) -> FileResponse:
    return _page("report.html")


# --- staff pages (HR and evaluator): the page is static, the data comes from the API with the
# login cookie, so the pages themselves need no auth; a logged-out visitor is sent to the login.


@router.get("/staff/login")
async def staff_login() -> FileResponse:
    return _page("staff-login.html")


@router.get("/review")
async def review_list() -> FileResponse:
    return _page("review.html")


@router.get("/review/{session_id}")
async def review_session(session_id: str) -> FileResponse:
    return _page("review-session.html")


@router.get("/calibration")
async def calibration() -> FileResponse:
    return _page("calibration.html")


@router.get("/hr")
async def hr_tracks() -> FileResponse:
    return _page("hr.html")


@router.get("/hr/questions")
async def hr_questions() -> FileResponse:
    return _page("hr-questions.html")


@router.get("/hr/exercises")
async def hr_exercises() -> FileResponse:
    return _page("hr-exercises.html")


@router.get("/hr/invites")
async def hr_invites() -> FileResponse:
    return _page("hr-invites.html")


@functools.cache
def _markdown() -> MarkdownIt:
    # CommonMark with raw HTML off: every `<` in an article comes out as text; link targets
    # such as javascript: are refused by the parser's own link validation
    return MarkdownIt("commonmark", {"html": False}).enable("table")


def render_markdown(text: str) -> str:
    """An article as HTML: CommonMark (headings, paragraphs, lists, inline and block code,
    emphasis, links, tables); no raw HTML passes."""
    rendered: str = _markdown().render(text)
    return rendered


@router.get("/articles/{slug}")
async def article(slug: str, ctx: Ctx) -> HTMLResponse:
    found = await asyncio.to_thread(ctx.service.article, slug)
    if found is None:
        raise HTTPException(404, "no such article")
    title, text = found
    body = render_markdown(text)
    title = html.escape(title)
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="/static/app.css"></head><body><main class="article">'
        f'<p><a href="/">← interviewer</a></p>{body}</main></body></html>'
    )
