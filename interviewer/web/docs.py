"""The API docs page (`/docs`): Swagger UI served by the app itself, under the app's strict CSP.

FastAPI's own docs page loads Swagger UI from a CDN and starts it with an inline script; the app's
Content-Security-Policy (`script-src 'self'`) blocks both, so `/docs` was a blank page (and off
the internet it has no CDN anyway). Here the Swagger UI files come from the `fastapi-offline`
package (Swagger UI's dist files, shipped on PyPI), and the page starts Swagger UI with an
external script (`static/docs.js`), so the CSP needs no exception for this page.

ReDoc is not offered: it injects inline styles (styled-components), which the CSP forbids."""

from __future__ import annotations

import html
import importlib.util
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

router = APIRouter(include_in_schema=False)

ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
}
"""The Swagger UI files the page needs (the package's other files are not served)."""


@cache
def assets_dir() -> Path:
    """The folder of Swagger UI's files inside the installed `fastapi_offline` package (found
    without importing it)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError("the fastapi-offline package (Swagger UI's files) is not installed")
    return Path(spec.origin).parent / "static"


@router.get("/docs")
async def docs(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    title = html.escape(f"{request.app.title} — API docs")
    openapi = html.escape(f"{root}{request.app.openapi_url or '/openapi.json'}", quote=True)
    base = html.escape(root, quote=True)
    return HTMLResponse(
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="{base}/static/favicon.svg" type="image/svg+xml">'
        f'<link rel="stylesheet" href="{base}/docs/assets/swagger-ui.css"></head>'
        f'<body><div id="swagger-ui" data-openapi-url="{openapi}"></div>'
        f'<script src="{base}/docs/assets/swagger-ui-bundle.js"></script>'
        f'<script src="{base}/static/docs.js"></script></body></html>'
    )


@router.get("/docs/assets/{name}")
async def docs_asset(name: str) -> FileResponse:
    media_type = ASSETS.get(name)
    if media_type is None:
        raise HTTPException(404, "no such file")
    return FileResponse(
        assets_dir() / name, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
    )
