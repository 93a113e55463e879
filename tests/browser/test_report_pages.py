"""The report, the article pages, the calibration chart and the HTML export in a real browser
(Chromium via Playwright) against the live server: what a new user saw wrong, each pinned.

The report names everything as people know it (the track's rubric criteria as HR titled them,
topics by their titles, articles by their own headings), repeats no card in a plain-text summary,
fits a phone's width; assessment mode speaks of an interview, not practice, and a report HR hides
is not offered; an article's inline code is code; the calibration chart draws no bar where there
is no figure; the HTML export is styled when opened from disk."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from browserkit import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402
from staffkit import ROOT, api_login, call, create_staff, live_data_dir  # noqa: E402

EVALUATOR = "ev-report@example.com"
HR = "hr-report@example.com"
MAX_ANSWERS = 30


@dataclass(frozen=True)
class Finished:
    base: str
    session_id: str
    token: str


def _track(track: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "knowledge" / "tracks" / f"{track}.yaml").read_text())
    return data


def _article_titles() -> dict[str, str]:
    out = {}
    for path in (ROOT / "knowledge" / "articles").glob("*.md"):
        out[path.stem] = path.read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
    return out


def finish(base: str, reviewer: str, body: dict[str, Any]) -> Finished:
    """A whole interview through the candidate API: the first main question gets its key points
    (a strong answer), everything else "I don't know" (gaps and reading)."""
    started = call(base, "/sessions", body)
    sid, token, state = started["session_id"], started["token"], started["state"]
    for n in range(MAX_ANSWERS):
        if state["status"] != "active":
            break
        content = "I don't know"
        if n == 0:
            doc = call(base, f"/review/sessions/{sid}", token=reviewer)
            content = " ".join(k["text"] for k in doc["questions"][0]["key_points"])
        body = {"content": content, "client_msg_id": str(uuid.uuid4())}
        state = call(base, f"/sessions/{sid}/messages", body, token=token)["state"]
    assert state["status"] == "completed", state
    return Finished(base, sid, token)


@pytest.fixture(scope="module")
def staff(live_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data = live_data_dir(tmp_path_factory)
    create_staff(data, EVALUATOR, "evaluator")
    create_staff(data, HR, "hr")
    yield {"evaluator": api_login(live_server, EVALUATOR), "hr": api_login(live_server, HR)}


@pytest.fixture(scope="module")
def practice(live_server: str, staff: dict[str, str]) -> Finished:
    return finish(live_server, staff["evaluator"], {"plan": "python"})


def _invited(live_server: str, staff: dict[str, str], *, show_report: bool) -> Finished:
    body = {"plan": "python", "mode": "assessment", "show_report": show_report}
    code = call(live_server, "/invites", body, token=staff["hr"])["code"]
    return finish(live_server, staff["evaluator"], {"invite_code": code})


def open_as_candidate(page: Any, f: Finished, path: str) -> None:
    page.goto(f"{f.base}/")
    page.evaluate("([id, t]) => localStorage.setItem('interviewer:token:' + id, t)", [f.session_id, f.token])
    page.goto(f"{f.base}{path}")


def test_report_names_criteria_topics_and_articles_as_configured(
    practice: Finished, page: Any, problems: Any
) -> None:
    open_as_candidate(page, practice, f"/interview/{practice.session_id}/report")
    track = page.locator("section.track-report")
    expect(track).to_have_count(1)
    config = _track("python")
    rubric = [c["title"] for c in config["rubric"]]
    labels = track.locator("table tbody th").all_text_contents()
    assert labels and set(labels) <= set(rubric), labels
    chart_labels = track.locator("svg.chart .chart-label").all_text_contents()
    assert chart_labels == labels
    titles = set(config["topic_titles"].values())
    strengths = track.locator(".strengths li").all_text_contents()
    assert strengths, "the first answer gave every key point"
    assert all(s.split(":")[0] in titles for s in strengths), strengths
    study = track.locator(".study a").all_text_contents()
    assert study and set(study) <= set(_article_titles().values()), study
    # no plain-text summary repeating the cards
    assert page.locator("#narrative-section:visible").count() == 0
    assert page.get_by_text("Strengths:").count() == 0
    problems.check()


def test_report_fits_a_phone_without_sideways_scrolling(practice: Finished, page: Any, problems: Any) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    open_as_candidate(page, practice, f"/interview/{practice.session_id}/report")
    expect(page.locator("section.track-report")).to_have_count(1)
    width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert width <= 390, f"the page is {width}px wide at a 390px viewport"
    problems.check()


def test_assessment_speaks_of_an_interview_and_a_hidden_report_is_not_offered(
    live_server: str, staff: dict[str, str], page: Any, problems: Any
) -> None:
    shown = _invited(live_server, staff, show_report=True)
    open_as_candidate(page, shown, f"/interview/{shown.session_id}/report")
    expect(page.locator("#recommendation")).not_to_be_empty()
    text = page.locator("main").inner_text().casefold()
    assert "practis" not in text and "mock" not in text
    hidden = _invited(live_server, staff, show_report=False)
    open_as_candidate(page, hidden, f"/interview/{hidden.session_id}")
    done = page.locator("#completed")
    expect(done).to_be_visible()
    expect(done).not_to_contain_text("report is ready")
    expect(page.get_by_role("link", name="See your report")).to_have_count(0)
    problems.check()


def test_article_inline_code_is_code(live_server: str, page: Any, problems: Any) -> None:
    page.goto(f"{live_server}/articles/python-language-idioms")
    expect(page.locator("main h1")).to_have_text(_article_titles()["python-language-idioms"])
    assert page.locator("main p code, main li code").count() > 0
    prose = " ".join(page.locator("main p, main li").all_text_contents())
    assert "`" not in prose
    problems.check()


def test_calibration_chart_draws_no_bar_where_there_is_no_figure(
    practice: Finished, staff: dict[str, str], page: Any, problems: Any
) -> None:
    from staffkit import login_on_page

    doc = call(practice.base, f"/review/sessions/{practice.session_id}", token=staff["evaluator"])
    question = doc["questions"][0]["question_id"]
    body = {"question_id": question, "criterion": "overall", "score": 3, "reason": "calibration chart"}
    call(practice.base, f"/review/sessions/{practice.session_id}/overrides", body, token=staff["evaluator"])
    login_on_page(page, practice.base, EVALUATOR, next_path="/calibration?min_pairs=1000")
    page.goto(f"{practice.base}/calibration?min_pairs=1000")
    chart = page.locator("#chart svg")
    expect(chart).to_be_visible()
    rows = page.locator("#groups-body tr").count()
    assert rows > 0
    assert chart.locator("rect.chart-bar").count() == 0, "a bar was drawn for a group without a figure"
    expect(chart.locator("text.chart-value").first).to_contain_text("no data")
    problems.check()


def test_html_export_is_styled_when_opened_from_disk(
    practice: Finished, staff: dict[str, str], page: Any, problems: Any, tmp_path: Path
) -> None:
    import urllib.request

    request = urllib.request.Request(
        f"{practice.base}/api/v1/review/sessions/{practice.session_id}/export?format=html",
        headers={"Authorization": f"Bearer {staff['evaluator']}"},
    )
    with urllib.request.urlopen(request, timeout=60) as r:  # noqa: S310  # loopback test server
        exported = r.read().decode()
    path = tmp_path / "interview.html"
    path.write_text(exported, encoding="utf-8")
    page.goto(path.as_uri())
    expect(page.locator("h1")).to_contain_text("Interview review")
    collapse = page.evaluate("() => getComputedStyle(document.querySelector('table')).borderCollapse")
    font = page.evaluate("() => getComputedStyle(document.body).fontFamily")
    assert collapse == "collapse" and "Times" not in font, (collapse, font)
    assert re.search(r"system-ui|sans-serif", font)
    problems.check()
