"""The three roles end to end in a real browser (issue 5's "done when"):

HR logs in and edits the architecture track to 3 main questions and 1 follow-up per question on
the HR page → a candidate's new interview on the architecture plan follows it (the candidate's
first answer carries `<script>`, `<img onerror>` and a `javascript:` link) → an evaluator opens the
transcript, sees the evidence highlighted, overrides a score with a reason, exports JSON and CSV,
and the calibration page counts the override. The track is put back afterwards (the live server
is shared by the browser tests)."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from collections.abc import Iterator
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
    live_data_dir,
    login_on_page,
    next_answer,
)

HR = "hr-flow@example.com"
EVALUATOR = "ev-flow@example.com"
TRACK = "architecture"  # its own plan; the other browser tests use the python plan
REASON = f"Overrated: the trade-offs are only named. {PAYLOAD}"
MAX_ANSWERS = 20


@pytest.fixture(scope="module")
def base(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The live server with this module's staff accounts; the track's config restored after."""
    data = live_data_dir(tmp_path_factory)
    create_staff(data, HR, "hr")
    create_staff(data, EVALUATOR, "evaluator")
    hr = api_login(live_server, HR)
    original = call(live_server, f"/hr/tracks/{TRACK}", token=hr)["track"]
    yield live_server
    call(live_server, f"/hr/tracks/{TRACK}", original, token=api_login(live_server, HR), method="PUT")


def wait_for_turn(page: Any) -> None:
    page.wait_for_function(
        "() => (!document.querySelector('#answer').disabled && !document.querySelector('#composer').hidden)"
        " || !document.querySelector('#completed').hidden",
        timeout=30_000,
    )


def answer(page: Any, text: str) -> None:
    before = page.locator("#transcript .msg-candidate").count()
    page.get_by_label("Your answer").fill(text)
    page.get_by_role("button", name="Send").click()
    expect(page.locator("#transcript .msg-candidate").nth(before)).to_be_visible()
    wait_for_turn(page)


def test_hr_edits_a_track_a_candidate_follows_it_an_evaluator_reviews(
    base: str, page: Any, problems: Any
) -> None:
    requests = Requests(page)

    # 1. HR: the track to 3 main questions and 1 follow-up, on the HR page
    login_on_page(page, base, HR)
    assert page.url == f"{base}/hr"  # HR's home
    track_row = page.locator(f"#tracks-body tr[data-track='{TRACK}']")
    track_row.get_by_role("button", name=re.compile(r"^Edit\b")).click()
    editor = page.locator("#editor")
    expect(editor).to_be_visible()
    editor.get_by_label("Main questions (3–5)").fill("3")
    editor.get_by_label("Follow-ups per question (0–3)").fill("1")
    editor.get_by_role("button", name="Save new version").click()
    expect(page.locator("#editor-status")).to_contain_text("Saved as version")
    row = page.locator(f"#tracks-body tr[data-track='{TRACK}']")
    expect(row.locator("td").nth(0)).to_have_text("3")
    expect(row.locator("td").nth(1)).to_have_text("1")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/staff/login")
    problems.check()

    # 2. the candidate: a new interview on the architecture plan follows the new config
    page.goto(f"{base}/")
    page.locator(f"#plan-{TRACK}").check()
    page.get_by_role("button", name="Start interview").click()
    page.wait_for_url(re.compile(r"/interview/[^/]+$"))
    sid = page.url.rstrip("/").rsplit("/", 1)[1]
    expect(page.locator("#position")).to_contain_text("question 1 of 3")
    evaluator = api_login(base, EVALUATOR)
    answers = 0
    while page.locator("#completed").is_hidden() and answers < MAX_ANSWERS:
        answer(page, next_answer(base, sid, evaluator, prefix=PAYLOAD if answers == 0 else ""))
        answers += 1
    expect(page.locator("#completed")).to_be_visible()
    doc = call(base, f"/review/sessions/{sid}", token=evaluator)
    assert len(doc["questions"]) == 3
    assert all(len(q["follow_ups"]) <= 1 for q in doc["questions"])
    assert sum(len(q["follow_ups"]) for q in doc["questions"]) >= 1
    assert requests.to_x() == []
    problems.check()

    # 3. the evaluator: the transcript, evidence highlighted, an override with a reason
    login_on_page(page, base, EVALUATOR, next_path="/review")
    page.get_by_label("Plan").select_option(TRACK)
    page.get_by_role("button", name="Apply").click()
    listed = page.locator(f"#sessions-body tr[data-session='{sid}']")
    expect(listed.locator(".preview")).to_contain_text("<script>alert(1)</script>")
    listed.get_by_role("link", name="Review").click()
    page.wait_for_url(f"{base}/review/{sid}")
    card = page.locator(".question-card").first
    expect(card.locator(".turn-candidate .turn-body").first).to_contain_text(PAYLOAD)
    assert card.locator(".turn-candidate mark.evidence").count() >= 1
    expect(page.locator(".question-card")).to_have_count(3)

    overall = card.locator(".criteria-table tr[data-criterion='overall']")
    overall.locator("input[name='score']").fill("2")
    overall.get_by_role("button", name="Override").click()
    expect(overall.locator(".form-status")).to_contain_text("A reason is required")
    overall.locator("input[name='reason']").fill(REASON)
    overall.get_by_role("button", name="Override").click()
    overall = page.locator(".question-card").first.locator(".criteria-table tr[data-criterion='overall']")
    expect(overall.locator(".form-status")).to_have_text("Override saved.")
    expect(overall.locator(".effective-score")).to_contain_text("2.00")
    expect(page.locator("#audit li[data-action='review.override']")).to_contain_text(REASON)

    # exports: JSON and CSV downloads with the override in them
    with page.expect_download() as info:
        page.locator("#exports a[data-format='json']").click()
    exported = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert [(o["criterion"], o["new_score"], o["reason"]) for o in exported["overrides"]] == [
        ("overall", 2.0, REASON)
    ]
    with page.expect_download() as info:
        page.locator("#exports a[data-format='csv']").click()
    rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))
    assert len(rows) == 3 and REASON in rows[0]["override_reasons"]
    assert float(rows[0]["effective_score"]) == 2.0

    # calibration: the override is counted for the track
    page.get_by_role("link", name="Calibration").click()
    page.wait_for_url(f"{base}/calibration")
    page.get_by_label("Figures from n ≥").fill("1")
    page.get_by_role("button", name="Update").click()
    counted = page.locator(f"#groups-body tr[data-track='{TRACK}'][data-criterion='overall'] td.n")
    expect(counted).to_have_text(re.compile(r"^[1-9]\d*$"))
    assert requests.to_x() == []
    assert page.locator("a[href^='javascript'], main script").count() == 0
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/staff/login")
    problems.check()


def test_evaluators_cannot_edit_tracks(base: str, page: Any, problems: Any) -> None:
    """Not even with a logged-in page's cookie and CSRF token: the HR API is 403 for them."""
    login_on_page(page, base, EVALUATOR)
    assert page.url == f"{base}/review"
    assert page.locator(".staff-nav a").all_text_contents() == ["Sessions", "Calibration"]
    csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "interviewer_csrf")
    r = page.request.put(
        f"{base}/api/v1/hr/tracks/{TRACK}",
        data={"questions": 5, "id": str(uuid.uuid4())},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status == 403
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{base}/staff/login")
    problems.check()
