"""The candidate pages in a real browser (Chromium via Playwright) against a real server.

A whole practice interview is taken through the page — start on the landing page, answer in the
textarea, reload in the middle, finish, read the report — and candidate text that looks like HTML
or script must show literally and never run."""

from __future__ import annotations

import re
from typing import Any

from browserkit import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402

MAX_ANSWERS = 20  # a safety net: the python plan has 4 main questions plus a few follow-ups
REAL_ANSWER = (
    "Python's data model maps operators and built-ins to special methods: len(x) calls\n"
    "type(x).__len__ and a + b calls __add__, returning NotImplemented if it cannot handle the\n"
    "other operand so Python tries the reflected __radd__. __repr__ is for developers, __str__\n"
    "for end users."
)


def start_interview(page: Any, base: str, plan: str) -> str:
    """From the landing page: choose the plan, start, land on the chat page; returns the session id."""
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Mock interview")
    option = page.locator(f"#plan-{plan}")
    expect(option).to_be_attached()
    option.check()
    page.get_by_role("button", name="Start interview").click()
    page.wait_for_url(re.compile(r"/interview/[^/]+$"))
    expect(page.locator("#transcript .msg-interviewer").first).to_be_visible()
    session_id: str = page.url.rstrip("/").rsplit("/", 1)[1]
    token = page.evaluate("id => localStorage.getItem('interviewer:token:' + id)", session_id)
    assert token, "the token is kept in localStorage"
    return session_id


def wait_for_turn(page: Any) -> None:
    """Until the interviewer has answered: the answer box is usable again, or the interview is over."""
    page.wait_for_function(
        "() => (!document.querySelector('#answer').disabled && !document.querySelector('#composer').hidden)"
        " || !document.querySelector('#completed').hidden",
        timeout=30_000,
    )


def send(page: Any, text: str) -> Any:
    """Type an answer and press Send; returns the locator of the candidate's bubble."""
    before = page.locator("#transcript .msg-candidate").count()
    box = page.get_by_label("Your answer")
    expect(box).to_be_enabled()
    box.fill(text)
    page.get_by_role("button", name="Send").click()
    bubble = page.locator("#transcript .msg-candidate").nth(before)
    expect(bubble).to_be_visible()
    wait_for_turn(page)
    return bubble


def finished(page: Any) -> bool:
    return bool(page.locator("#completed").is_visible())


def test_practice_interview_with_reload_then_report(live_server: str, page: Any, problems: Any) -> None:
    start_interview(page, live_server, "python")
    position = page.locator("#position")
    expect(position).to_contain_text("question 1 of 4")
    expect(page.locator("#track-steps li")).to_have_count(1)
    expect(page.locator("#track-steps li").first).to_contain_text("Python")
    expect(page.get_by_label("Your answer")).to_be_focused()

    # A real answer: it shows (line breaks kept), is marked sent, and the interviewer replies.
    interviewer_before = page.locator("#transcript .msg-interviewer").count()
    first = send(page, REAL_ANSWER)
    expect(first.locator(".msg-body")).to_have_text(REAL_ANSWER)
    expect(first.locator(".msg-status")).to_have_text("sent ✓")
    assert page.locator("#transcript .msg-interviewer").count() > interviewer_before
    expect(page.get_by_label("Your answer")).to_be_focused()  # focus returns to the textarea
    expect(page.get_by_label("Your answer")).to_have_value("")

    # Move on until the second main question, then reload in the middle of the interview.
    answers = 1
    while "question 1 of" in (position.text_content() or "") and answers < MAX_ANSWERS:
        send(page, "I don't know")
        answers += 1
    expect(position).to_contain_text("question 2 of 4")
    transcript = page.locator("#transcript .msg-body").all_text_contents()

    page.reload()
    expect(page.locator("#transcript .msg").first).to_be_visible()
    expect(page.locator("#transcript .msg-body")).to_have_count(len(transcript))
    assert page.locator("#transcript .msg-body").all_text_contents() == transcript
    expect(page.locator("#transcript .msg-candidate .msg-body").first).to_have_text(REAL_ANSWER)
    expect(position).to_contain_text("question 2 of 4")

    # Continue in the reloaded page until the interview ends.
    while not finished(page) and answers < MAX_ANSWERS:
        send(page, "I don't know")
        answers += 1
    assert finished(page), f"the interview did not end after {answers} answers"
    expect(position).to_have_text("Interview complete")
    expect(page.locator("#composer")).to_be_hidden()
    expect(page.locator("#track-steps li.done")).to_have_count(1)

    # The report.
    page.get_by_role("link", name="See your report").click()
    page.wait_for_url(re.compile(r"/interview/[^/]+/report$"))
    expect(page.locator("#overall-score")).to_have_text(re.compile(r"^[1-5]\.\d$"))
    expect(page.locator("#recommendation")).to_have_text(re.compile(r"^(Strong|Pass|Not yet)"))
    track = page.locator("section.track-report")
    expect(track).to_have_count(1)
    expect(track.get_by_role("heading", level=2)).to_have_text("Python proficiency")
    expect(track.locator(".score-number")).to_have_text(re.compile(r"^[1-5]\.\d$"))
    expect(track.locator(".badge")).to_have_text(re.compile(r"^(Passed|Not passed)$"))
    expect(track.locator("svg.chart rect.chart-bar").first).to_be_attached()
    assert track.locator("table tbody tr").count() >= 1  # the chart's data, for screen readers
    # A weak interview has gaps and something to study; every study link opens its article.
    expect(track.locator(".gaps li").first).to_be_visible()
    study = track.locator(".study a")
    expect(study.first).to_be_visible()
    href = study.first.get_attribute("href")
    assert href and href.startswith("/articles/")
    response = page.request.get(f"{live_server}{href}")
    assert response.status == 200
    assert "<script" not in response.text().lower()
    problems.check()


HOSTILE = (
    "<script>alert(1)</script>\n"
    "<img src=x onerror=alert(1)>\n"
    '<a href="javascript:alert(1)">javascript:alert(1)</a>'
)


def test_candidate_text_that_looks_like_html_is_shown_as_text(
    live_server: str, page: Any, problems: Any
) -> None:
    start_interview(page, live_server, "python")
    bubble = send(page, HOSTILE)
    expect(bubble.locator(".msg-body")).to_have_text(HOSTILE)
    for literal in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "javascript:alert(1)"):
        expect(page.get_by_text(literal, exact=False).first).to_be_visible()
    transcript = page.locator("#transcript")
    expect(transcript.locator("script, img, a, iframe")).to_have_count(0)

    # Rendered again from the server after a reload: still text.
    page.reload()
    expect(page.locator("#transcript .msg-candidate .msg-body").first).to_have_text(HOSTILE)
    expect(transcript.locator("script, img, a, iframe")).to_have_count(0)
    page.wait_for_timeout(300)  # give an injected handler the chance to fire
    problems.check()


def test_keyboard_only_answer_and_accessible_controls(live_server: str, page: Any, problems: Any) -> None:
    start_interview(page, live_server, "python")
    expect(page.get_by_role("log", name="Interview transcript")).to_have_attribute("aria-live", "polite")
    box = page.get_by_label("Your answer")
    expect(box).to_be_focused()
    # Enter adds a new line; Ctrl+Enter sends.
    page.keyboard.type("I don't know this one.")
    page.keyboard.press("Enter")
    page.keyboard.type("Let's move on.")
    expect(box).to_have_value("I don't know this one.\nLet's move on.")
    page.keyboard.press("Control+Enter")
    bubble = page.locator("#transcript .msg-candidate").first
    expect(bubble.locator(".msg-body")).to_have_text("I don't know this one.\nLet's move on.")
    wait_for_turn(page)
    expect(bubble.locator(".msg-status")).to_have_text("sent ✓")
    expect(box).to_be_focused()
    # Sending nothing is refused in the page, with a message, and nothing is sent.
    page.keyboard.press("Control+Enter")
    expect(page.locator("#composer-error")).to_contain_text("Write an answer first")
    expect(page.locator("#transcript .msg-candidate")).to_have_count(1)
    problems.check()


def test_chat_page_without_a_token_explains_and_links_home(
    live_server: str, page: Any, problems: Any
) -> None:
    page.goto(f"{live_server}/interview/not-a-session-of-this-browser")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("does not hold the key")
    alert.get_by_role("link", name="Back to the start page").click()
    page.wait_for_url(f"{live_server}/")
    problems.check()


def test_lost_reply_is_retried_with_the_same_id_and_a_dead_network_offers_retry(
    live_server: str, page: Any, problems: Any
) -> None:
    start_interview(page, live_server, "python")
    posts: list[str] = []

    # 1. The server gets the answer but the reply is lost on the way back: the page retries with
    #    the same client_msg_id and shows the original reply, and nothing is duplicated.
    def lose_first_reply(route: Any) -> None:
        posts.append(route.request.post_data_json["client_msg_id"])
        if len(posts) == 1:
            route.fetch()  # reaches the server, which processes the answer
            route.abort()
        else:
            route.continue_()

    page.route("**/api/v1/sessions/*/messages", lose_first_reply)
    bubble = send(page, "Decorators wrap a function; functools.wraps copies its metadata.")
    expect(bubble.locator(".msg-status")).to_have_text("sent ✓")
    assert len(posts) >= 2 and len(set(posts)) == 1, posts
    page.unroute("**/api/v1/sessions/*/messages")
    page.reload()
    expect(page.locator("#transcript .msg-candidate")).to_have_count(1)

    # 2. The network is down: after the automatic retries the answer is marked failed with a
    #    retry button; once the network is back, retry sends it.
    page.route("**/api/v1/sessions/*/messages", lambda route: route.abort())
    box = page.get_by_label("Your answer")
    box.fill("I don't know")
    page.get_by_role("button", name="Send").click()
    failed = page.locator("#transcript .msg-candidate").nth(1)
    expect(failed.locator(".msg-status")).to_contain_text("failed", timeout=10_000)
    retry = failed.get_by_role("button", name=re.compile("retry", re.I))
    expect(retry).to_be_focused()
    expect(box).to_be_disabled()
    page.unroute("**/api/v1/sessions/*/messages")
    retry.press("Enter")
    expect(failed.locator(".msg-status")).to_have_text("sent ✓")
    wait_for_turn(page)
    expect(box).to_be_focused()
    page.reload()
    expect(page.locator("#transcript .msg-candidate")).to_have_count(2)
    problems.check()
