"""The API docs page (`/docs`) in a real browser against a real server.

Swagger UI must render the operations from assets the app serves itself (no CDN: users behind a
firewall, and this machine, have none), under the app's strict Content-Security-Policy with no
violation logged, and the page must not reach any other origin."""

from __future__ import annotations

from typing import Any

from browserkit import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402


def test_docs_render_the_operations_under_the_strict_csp(live_server: str, page: Any, problems: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(f"{live_server}/docs")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    expect(page.locator(".opblock").first).to_be_visible(timeout=30_000)
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/sessions").first).to_be_visible()
    # one operation opens (the UI works, not only its first paint)
    page.locator(".opblock-summary").first.click()
    expect(page.locator(".opblock-body").first).to_be_visible()
    foreign = [url for url in requested if not url.startswith(live_server) and not url.startswith("data:")]
    assert not foreign, f"the docs page reached other origins: {foreign}"
    problems.check()


def test_redoc_is_not_served_half_broken(live_server: str, page: Any) -> None:
    """ReDoc needs inline styles (styled-components), which the CSP forbids: it is not offered."""
    response = page.goto(f"{live_server}/redoc")
    assert response is not None and response.status == 404
