"""`/docs` is served from the app's own files under the strict CSP (the browser test,
tests/browser/test_docs_page.py, checks that Swagger UI renders there without a violation)."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from interviewer.web.app import create_app
from tests.conftest import make_settings


def test_docs_page_uses_only_own_assets_and_no_inline_script(tmp_path: Path) -> None:
    client = TestClient(create_app(make_settings(tmp_path)))  # no lifespan: the page needs none
    r = client.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, re.DOTALL)
    assert scripts and all(body.strip() == "" for _, body in scripts), "no inline script"
    urls = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    for url in urls:
        asset = client.get(url)
        assert asset.status_code == 200, url
    assert "SwaggerUIBundle" in client.get("/docs/assets/swagger-ui-bundle.js").text
    assert client.get("/docs/assets/../docs.py").status_code == 404
    assert client.get("/docs/assets/redoc.standalone.js").status_code == 404
    assert client.get("/redoc").status_code == 404  # ReDoc needs inline styles: not offered
    assert "/api/v1/sessions" in client.get("/openapi.json").json()["paths"]
