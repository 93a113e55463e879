"""The evaluator's pages in a real browser (Chromium via Playwright) against the live server.

An evaluator logs in on the login page, opens a finished interview whose first answer carries
`<script>`, `<img onerror>` and a `javascript:` link, sees the evidence highlighted, overrides a
score (refused without a reason), recommends, downloads the JSON, CSV, Markdown and HTML exports,
and finds the override on the calibration page. The payload shows as text on every page and in
the HTML export: no dialog, no request it would make. HR reads the same pages without the write
forms; logging out sends every page back to the login."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browserkit import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402
from staffkit import (  # noqa: E402
    PAYLOAD,
    Requests,
    api_login,
    call,
    create_staff,
    finish_interview,
    live_data_dir,
    login_on_page,
)

EVALUATOR = "ev-pages@example.com"
HR = "hr-pages@example.com"
REASON = "Names the key ideas but <b>no</b> example; one point lower."
NOTE = f"Solid overall. {PAYLOAD}"


@dataclass(frozen=True)
class Setup:
    base: str
    session_id: str


@pytest.fixture(scope="module")
def setup(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    data = live_data_dir(tmp_path_factory)
    create_staff(data, EVALUATOR, "evaluator")
    create_staff(data, HR, "hr")
    token = api_login(live_server, EVALUATOR)
    sid = finish_interview(live_server, "python", token, prefix=PAYLOAD)
    yield Setup(base=live_server, session_id=sid)


def assert_inert(page: Any, requests: Requests) -> None:
    """The payload left no element, no handler, no link and made no request."""
    assert page.locator("main script, main img[src='x'], main [onerror], a[href^='javascript']").count() == 0
    assert requests.to_x() == [], requests.to_x()


def download(page: Any, fmt: str) -> tuple[str, str]:
    """Click an export button; returns (suggested file name, content)."""
    with page.expect_download() as info:
        page.locator(f"#exports a[data-format='{fmt}']").click()
    d = info.value
    return d.suggested_filename, Path(d.path()).read_text(encoding="utf-8")


def test_logged_out_pages_send_to_the_login(setup: Setup, page: Any, problems: Any) -> None:
    for path in ("/review", f"/review/{setup.session_id}", "/calibration"):
        page.goto(setup.base + path)
        page.wait_for_url(re.compile(r"/staff/login\?next="))
        assert page.url.endswith("next=" + re.sub("/", "%2F", path))
    # a wrong password: an error on the page, still on the login
    page.get_by_label("Email").fill(EVALUATOR)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("#login-status")).to_have_text("Wrong email or password.")
    problems.check()


def test_login_refuses_an_offsite_next(setup: Setup, page: Any, problems: Any) -> None:
    login_on_page(page, setup.base, EVALUATOR, next_path="//evil.example/x")
    assert page.url == f"{setup.base}/review"  # the evaluator's home, not the other site
    problems.check()


def test_evaluator_reviews_overrides_recommends_and_exports(setup: Setup, page: Any, problems: Any) -> None:
    base, sid = setup.base, setup.session_id
    requests = Requests(page)
    login_on_page(page, base, EVALUATOR, next_path=f"/review/{sid}")
    assert page.url == f"{base}/review/{sid}"

    # the transcript: the payload as text, the evidence highlighted inside the answer
    first = page.locator(".question-card").first
    answer = first.locator(".turn-candidate .turn-body").first
    expect(answer).to_contain_text(PAYLOAD)
    marks = answer.locator("mark.evidence")
    assert marks.count() >= 1
    assert all(text.strip() for text in marks.all_text_contents())
    first.locator(".criteria-table .show-evidence").first.click()  # from a quote to its place
    expect(first.locator("mark.evidence.active").first).to_be_in_viewport()
    expect(page.locator(".followup-reason").first).to_contain_text("key point")  # why a follow-up came
    expect(first.locator(".keypoints")).to_contain_text("Key points covered")
    expect(first.locator(".keypoints")).to_contain_text("Key points missed")
    expect(first.locator(".assessment")).to_contain_text("Offline scorer")
    assert_inert(page, requests)

    # an override without a reason: refused on the page, nothing saved
    row = first.locator(".criteria-table tbody tr").nth(1)  # the first rubric criterion
    criterion = row.get_attribute("data-criterion")
    form = row.locator("form.override-form")
    form.locator("input[name='score']").fill("1")
    form.get_by_role("button", name="Override").click()
    expect(form.locator(".form-status")).to_contain_text("A reason is required")
    assert call(base, f"/review/sessions/{sid}", token=api_login(base, EVALUATOR))["overrides"] == []
    # the server refuses it too (the page's check is a courtesy): 422 with the cookie and CSRF
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "interviewer_csrf")
    question_id = first.get_attribute("data-question")
    body = {"question_id": question_id, "criterion": criterion, "score": 1, "reason": ""}
    r = page.request.post(
        f"{base}/api/v1/review/sessions/{sid}/overrides", data=body, headers={"X-CSRF-Token": csrf}
    )
    assert r.status == 422
    r = page.request.post(f"{base}/api/v1/review/sessions/{sid}/overrides", data={**body, "reason": REASON})
    assert r.status == 403  # the cookie without the CSRF header

    # with a reason: saved, the effective score moves, the audit trail shows who and why
    form.locator("input[name='reason']").fill(REASON)
    form.get_by_role("button", name="Override").click()
    row = page.locator(f".question-card >> nth=0 >> .criteria-table tr[data-criterion='{criterion}']")
    expect(row.locator(".form-status")).to_have_text("Override saved.")
    expect(row.locator(".effective-score")).to_contain_text("1.00")
    expect(row.locator(".effective-score")).to_contain_text("overridden")
    audit = page.locator("#audit li[data-action='review.override']")
    expect(audit).to_have_count(1)
    expect(audit).to_contain_text(EVALUATOR)
    expect(audit).to_contain_text(REASON)  # the tags in the reason are text
    expect(page.locator(".question-card").first.locator(".overrides")).to_contain_text(REASON)

    # the recommendation: required choice, then saved with the note as text
    page.get_by_role("button", name="Save recommendation").click()
    expect(page.locator("#rec-status")).to_have_text("Choose a recommendation.")
    page.get_by_label("Your recommendation").select_option("hire")
    page.get_by_label("Note (optional)").fill(NOTE)
    page.get_by_role("button", name="Save recommendation").click()
    expect(page.locator("#rec-status")).to_have_text("Recommendation saved.")
    expect(page.locator("#current-recommendation")).to_have_text("hire")
    expect(page.locator("#evaluator-recommendation")).to_contain_text(NOTE)
    assert_inert(page, requests)

    # the exports, as attachments
    name, text = download(page, "json")
    assert name == f"interview-{sid}.json"
    doc = json.loads(text)
    assert doc["session_id"] == sid
    assert [(o["criterion"], o["new_score"], o["reason"], o["evaluator"]) for o in doc["overrides"]] == [
        (criterion, 1.0, REASON, EVALUATOR)
    ]
    assert doc["recommendation"]["evaluator"]["recommendation"] == "hire"
    assert any(PAYLOAD in t["content"] for t in doc["transcript"] if t["role"] == "candidate")

    name, text = download(page, "csv")
    assert name == f"interview-{sid}.csv"
    rows = list(csv.DictReader(io.StringIO(text)))
    mine = next(r for r in rows if r["question_id"] == question_id)
    assert float(mine[f"{criterion} (effective)"]) == 1.0
    assert REASON in mine["override_reasons"] and mine["recommendation"] == "hire"
    assert PAYLOAD in mine["answer"]

    name, text = download(page, "md")
    assert name == f"interview-{sid}.md" and "<script>" not in text

    name, html = download(page, "html")
    assert name == f"interview-{sid}.html"
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    r = page.request.get(f"{base}/api/v1/review/sessions/{sid}/export?format=html")
    assert r.headers["content-disposition"].startswith("attachment")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    problems.check()

    # the HTML export opened as a page (escaping alone, no CSP here): the payload is text
    export_page = page.context.new_page()
    try:
        export_requests = Requests(export_page)
        export_page.on("dialog", lambda d: (problems.dialogs.append(d.message), d.dismiss()))
        export_page.set_content(html)
        expect(export_page.locator("body")).to_contain_text("<script>alert(1)</script>")
        assert export_page.locator("script, img, a[href^='javascript']").count() == 0
        assert export_requests.to_x() == []
    finally:
        export_page.close()
    problems.check()


def test_calibration_and_list_reflect_the_override(setup: Setup, page: Any, problems: Any) -> None:
    base, sid = setup.base, setup.session_id
    requests = Requests(page)
    login_on_page(page, base, EVALUATOR, next_path="/calibration?min_pairs=1")
    expect(page.locator("#summary")).to_contain_text("overridden score")
    rows = page.locator("#groups-body tr[data-track='python']")
    assert rows.count() >= 1
    ns = [int(t) for t in rows.locator("td.n").all_text_contents()]
    assert max(ns) >= 1
    expect(page.locator("#chart svg.calibration-chart")).to_be_visible()
    # a row each: a bar where there is a figure, a "no data" label where there is none
    bars, gaps = (
        page.locator("#chart svg rect.chart-bar").count(),
        page.locator("#chart svg .chart-missing").count(),
    )
    assert bars + gaps == page.locator("#groups-body tr").count()
    assert_inert(page, requests)

    # the list: the payload as text in the preview; filters narrow it
    page.get_by_role("link", name="Sessions").click()
    page.wait_for_url(f"{base}/review")
    row = page.locator(f"#sessions-body tr[data-session='{sid}']")
    expect(row).to_be_visible()
    expect(row.locator(".preview")).to_contain_text("<script>alert(1)</script>")
    expect(row).to_contain_text("overridden")
    page.get_by_label("Plan").select_option("full")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"plan=full"))
    expect(row).to_have_count(0)
    page.get_by_label("Plan").select_option("python")
    page.get_by_label("Status").select_option("completed")
    page.get_by_role("button", name="Apply").click()
    expect(row).to_be_visible()
    page.get_by_label("Score from").fill("5")
    page.get_by_label("Score to").fill("1")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("#list-status")).to_contain_text("above")  # an impossible range, said so
    page.get_by_role("button", name="Reset").click()
    expect(row).to_be_visible()
    row.get_by_role("link", name="Review").click()
    page.wait_for_url(f"{base}/review/{sid}")
    expect(page.locator(".question-card").first).to_be_visible()
    assert_inert(page, requests)

    # logout: revoked, and every page goes back to the login
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/staff/login")
    for path in ("/review", f"/review/{sid}", "/calibration"):
        page.goto(base + path)
        page.wait_for_url(re.compile(r"/staff/login\?next="))
    assert page.request.get(f"{base}/api/v1/auth/me").status == 401
    problems.check()


def test_hr_reads_reviews_without_the_write_forms(setup: Setup, page: Any, problems: Any) -> None:
    base, sid = setup.base, setup.session_id
    requests = Requests(page)
    login_on_page(page, base, HR, next_path=f"/review/{sid}")
    expect(page.locator(".question-card").first).to_be_visible()
    expect(page.locator(".turn-candidate .turn-body").first).to_contain_text(PAYLOAD)
    assert page.locator("form.override-form").count() == 0
    expect(page.locator("#recommendation-form")).to_be_hidden()
    expect(page.locator(".read-only-note")).to_be_visible()
    expect(page.locator("#exports a")).to_have_count(4)
    nav = page.locator(".staff-nav a").all_text_contents()
    assert nav == ["Sessions", "Calibration", "Tracks", "Questions", "Exercises", "Invites"]
    assert_inert(page, requests)
    # the API refuses HR's writes whatever the page shows
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "interviewer_csrf")
    r = page.request.post(
        f"{base}/api/v1/review/sessions/{sid}/recommendation",
        data={"recommendation": "no hire"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status == 403
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/staff/login")
    problems.check()
