"""The coding exercise in the candidate's chat page, in a real browser against the real app.

The first test stubs the exercise endpoints with `page.route` (canned JSON, and the transcript's
`state` rewritten to name an open exercise) to drive every state of the panel — results, 409,
429, 503, a dropped connection — with the keyboard only: typing, Tab indenting, Escape-then-Tab
leaving it. The second runs a real exercise end to end: the real API, the real sandbox."""

from __future__ import annotations

import ast
import json
import os
import re
from typing import Any

import pytest
from browserkit import require_browser

require_browser()

from playwright.sync_api import expect  # noqa: E402
from staffkit import ROOT, create_staff, live_data_dir, login_on_page  # noqa: E402
from test_candidate_flow import finished, send, start_interview  # noqa: E402

from interviewer.bank.exercises import load_exercises  # noqa: E402
from interviewer.sandbox import BubblewrapSandbox  # noqa: E402

EXERCISE_REF = {"id": "ex-sort", "title": "Sort the <b>items</b>"}
EXERCISE = {
    **EXERCISE_REF,
    "statement": "Return the items in ascending order.\n<script>window.pwned = 1</script>",
    "starter_code": "def solve(items):\n    pass\n",
    "examples": [{"name": "basic", "code": "assert solve([3, 1, 2]) == [1, 2, 3]"}],
    "time_limit_s": 900,
}
EXAMPLES_RUN = {
    "id": "run-1",
    "kind": "examples",
    "passed": 1,
    "failed": 1,
    "errors": 0,
    "timed_out": False,
    "tests": [
        {"name": "basic", "ok": True, "message": ""},
        {"name": "empty", "ok": False, "message": "AssertionError: <None> != []"},
    ],
    "duration_ms": 12,
    "stdout_truncated": True,
}
FOLLOW_UP = "Your solution fails when the list is empty — walk me through that case."


class ExerciseStub:
    """Routes the exercise endpoints of one page to canned answers; records the run requests."""

    def __init__(self, page: Any) -> None:
        self.runs: list[dict[str, Any]] = []
        self.outcomes: list[str] = []  # what the next runs get instead of a result: 409, 429, 503, abort
        page.route(re.compile(r"/api/v1/sessions/[^/]+$"), self.transcript)
        page.route(re.compile(r"/api/v1/sessions/[^/]+/exercise$"), self.exercise)
        page.route(re.compile(r"/api/v1/sessions/[^/]+/exercise/runs$"), self.run)

    def transcript(self, route: Any) -> None:
        response = route.fetch()
        body = response.json()
        self.state = {**body["state"], "exercise": EXERCISE_REF}
        route.fulfill(response=response, json={**body, "state": self.state})

    def exercise(self, route: Any) -> None:
        route.fulfill(json={"exercise": EXERCISE, "runs": []})

    def run(self, route: Any) -> None:
        assert route.request.method == "POST"
        assert route.request.headers["authorization"].startswith("Bearer ")
        body = json.loads(route.request.post_data or "{}")
        self.runs.append(body)
        outcome = self.outcomes.pop(0) if self.outcomes else "ok"
        if outcome == "abort":  # the network dropped: the page retries with the same client_msg_id
            route.abort("connectionreset")
            return
        if outcome == "409":
            route.fulfill(status=409, json={"detail": "a run is pending for this exercise"})
            return
        if outcome in ("429", "503"):
            detail = "slow down" if outcome == "429" else "the sandbox is busy"
            route.fulfill(status=int(outcome), headers={"Retry-After": "5"}, json={"detail": detail})
            return
        if body["kind"] == "examples":
            route.fulfill(json={"run": EXAMPLES_RUN, "messages": [], "state": self.state})
            return
        run = {**EXAMPLES_RUN, "id": "run-2", "kind": "submit", "stdout_truncated": False}
        message = {
            "id": 100_000,
            "role": "interviewer",
            "kind": "follow_up",
            "content": FOLLOW_UP,
            "created_at": "2026-12-05T16:00:00Z",
        }
        route.fulfill(json={"run": run, "messages": [message], "state": self.state})


def draft(page: Any, session_id: str) -> str | None:
    key = f"interviewer:code:{session_id}:{EXERCISE['id']}"
    value: str | None = page.evaluate("k => sessionStorage.getItem(k)", key)
    return value


def test_exercise_editor_runs_submits_and_keeps_the_draft(live_server: str, page: Any, problems: Any) -> None:
    stub = ExerciseStub(page)
    session_id = start_interview(page, live_server, "python")

    panel = page.locator("#exercise")
    expect(panel).to_be_visible()
    # Bank text is text: markup shows literally and never runs.
    expect(panel.get_by_role("heading", level=2)).to_have_text("Sort the <b>items</b>")
    expect(page.locator("#exercise-statement")).to_contain_text("<script>window.pwned = 1</script>")
    assert page.evaluate("() => window.pwned") is None
    expect(page.locator("#exercise-limit")).to_have_text("Suggested time: about 15 minutes.")
    expect(page.locator(".exercise-example code")).to_have_text(EXERCISE["examples"][0]["code"])

    # The editor holds the starter code, highlighted as Python by CodeMirror's styles (adopted
    # stylesheets, so the strict CSP does not block them).
    lines = page.locator("#editor .cm-line")
    expect(lines.first).to_have_text("def solve(items):")
    keyword = page.locator("#editor .cm-line span", has_text=re.compile(r"^def$")).first
    expect(keyword).to_be_attached()
    assert keyword.evaluate("n => getComputedStyle(n).color") == "rgb(119, 0, 136)"  # #708, keywords
    assert page.locator("#editor .cm-gutters").evaluate("n => getComputedStyle(n).display") == "flex"
    editor = page.get_by_role("textbox", name="Your code")
    expect(editor).to_have_attribute("aria-describedby", "editor-help")

    # Keyboard only: replace the code; Enter indents the body, Tab indents more, Shift+Tab less.
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.type("def solve(items):")
    page.keyboard.press("Enter")
    page.keyboard.type("return sorted(items)")
    assert draft(page, session_id) == "def solve(items):\n    return sorted(items)"
    page.keyboard.press("Home")
    page.keyboard.press("Tab")
    assert draft(page, session_id) == "def solve(items):\n        return sorted(items)"
    expect(editor).to_be_focused()  # Tab indented instead of leaving the editor
    page.keyboard.press("Shift+Tab")
    code = "def solve(items):\n    return sorted(items)"
    assert draft(page, session_id) == code
    # Escape, then Tab, is the way out for keyboard users.
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Run examples")).to_be_focused()

    # Run examples: results inline.
    page.keyboard.press("Enter")
    results = page.locator("#exercise-results")
    expect(results.locator(".run-summary")).to_have_text("Examples: 1 test passed, 1 failed — ran in 12 ms")
    expect(results.locator("li")).to_have_count(2)
    expect(results.locator("li.test-ok")).to_contain_text("✓passed: basic")
    expect(results.locator("li.test-bad")).to_contain_text("✗failed: empty")
    expect(results.locator("li.test-bad .test-message")).to_have_text("AssertionError: <None> != []")
    expect(results).to_contain_text("The output was too long and was cut off.")
    expect(page.get_by_role("button", name="Run examples")).to_be_enabled()
    assert stub.runs[0]["kind"] == "examples" and stub.runs[0]["code"] == code

    # Submit: the interviewer's follow-up appears in the chat.
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#transcript .msg-interviewer").last).to_contain_text(FOLLOW_UP)
    expect(results.locator(".run-summary")).to_contain_text("Submission: 1 test passed, 1 failed")
    assert [r["kind"] for r in stub.runs] == ["examples", "submit"]
    ids = {r["client_msg_id"] for r in stub.runs}
    assert len(ids) == 2 and all(isinstance(i, str) and i for i in ids), "a fresh client_msg_id per click"

    # 409 while a run is pending, 429, 503: clear messages, the buttons usable again.
    error = page.locator("#exercise-error")
    stub.outcomes = ["409"]
    page.get_by_role("button", name="Submit").click()
    expect(error).to_contain_text("Your code is already being run")
    expect(error).to_contain_text("a run is pending for this exercise")
    expect(page.get_by_role("button", name="Submit")).to_be_enabled()
    stub.outcomes = ["429"]
    page.get_by_role("button", name="Run examples").click()
    expect(error).to_have_text("Too many runs in a short time. Try again in 5 seconds.")
    stub.outcomes = ["503"]
    page.get_by_role("button", name="Run examples").click()
    expect(error).to_have_text("The code runner is unavailable or busy right now. Try again in 5 seconds.")

    # A dropped connection is retried automatically with the same client_msg_id.
    stub.outcomes = ["abort"]
    before = len(stub.runs)
    page.get_by_role("button", name="Run examples").click()
    expect(error).to_have_text("")
    expect(results.locator(".run-summary")).to_contain_text("Examples: 1 test passed")
    retried = stub.runs[before:]
    assert len(retried) == 2 and retried[0]["client_msg_id"] == retried[1]["client_msg_id"]
    assert len({r["client_msg_id"] for r in stub.runs}) == len(stub.runs) - 1  # otherwise one per click

    # A reload keeps the draft, not the starter code.
    page.reload()
    expect(panel).to_be_visible()
    expect(lines).to_have_count(2)
    assert lines.all_text_contents() == ["def solve(items):", "    return sorted(items)"]

    problems.check()


def test_a_real_exercise_wrong_then_fixed_then_report_and_review(
    live_server: str, page: Any, problems: Any, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No stubs (the issue's done-when): a problem-solving interview reaches its coding exercise;
    the code runs against the examples in the sandbox; a wrong solution (the starter) is
    submitted and the interviewer follows up on the failing case; a fixed one (the reference
    solution, typed into the editor) is submitted and passes; the discussion closes the
    exercise and the interview; the candidate's report and the evaluator's review page show
    every run, its tests and its code."""
    reason = BubblewrapSandbox().unavailable()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"bubblewrap cannot run in CI: {reason}")
        pytest.skip(f"bubblewrap cannot run here: {reason}")
    session_id = start_interview(page, live_server, "problem_solving")
    panel = page.locator("#exercise")
    exercise_turn = page.locator("#transcript .msg-interviewer.kind-exercise")
    for _ in range(20):  # the main questions first: "I don't know" moves on
        if exercise_turn.count() or finished(page):
            break
        send(page, "I don't know this one, sorry.")
    expect(exercise_turn).to_have_count(1)
    expect(panel).to_be_visible(timeout=30_000)  # once the page has fetched the exercise
    title = page.locator("#exercise-title").inner_text()
    exercise = next(e for e in load_exercises(ROOT / "knowledge").values() if e.title == title)
    expect(page.locator("#editor .cm-line").first).to_be_visible()

    page.get_by_role("button", name="Run examples").click()
    results = page.locator("#exercise-results")
    expect(results.locator(".run-summary")).to_contain_text("Examples:", timeout=30_000)
    expect(results.locator("li").first).to_be_visible()  # each example test, passed or failed

    # 1. a wrong solution (the reference's names, every function returning None), typed in and
    # submitted: tests fail; the follow-up names the failing case and offers a resubmission
    type_code(page, wrong_solution(exercise.solution))
    transcript = page.locator("#transcript .msg-interviewer")
    before = transcript.count()
    page.get_by_role("button", name="Submit").click()
    expect(results.locator(".run-summary")).to_contain_text("Submission:", timeout=60_000)
    expect(results.locator(".run-summary")).to_have_class(re.compile("run-bad"))
    expect(transcript).to_have_count(before + 1, timeout=30_000)
    first_failing = results.locator("li.test-bad .test-name").first.inner_text()
    follow_up = transcript.last.inner_text()
    assert first_failing in follow_up, follow_up
    assert "submit again" in follow_up
    expect(page.locator("#exercise-submissions")).to_have_text("Submissions: 1 of 3 used.")

    # 2. the fix: the reference solution typed over the starter, submitted: every test passes
    type_code(page, exercise.solution)
    page.get_by_role("button", name="Submit").click()
    expect(transcript).to_have_count(before + 2, timeout=60_000)
    expect(results.locator(".run-summary")).to_have_class(re.compile("run-ok"))
    expect(results.locator("li.test-bad")).to_have_count(0)
    assert "All the tests pass." in transcript.last.inner_text()
    expect(page.locator("#exercise-submissions")).to_have_text("Submissions: 2 of 3 used.")

    # 3. the discussion closes the exercise; the track and the interview end
    send(
        page, "It is the standard approach; I kept it simple and the complexity is what the large test needs."
    )
    expect(panel).to_be_hidden(timeout=30_000)
    for _ in range(10):
        if finished(page):
            break
        send(page, "I don't know this one, sorry.")
    assert finished(page)

    # 4. the candidate's report shows the runs: examples, the wrong and the fixed submission
    page.get_by_role("link", name="See your report").click()
    page.wait_for_url(re.compile(r"/interview/[^/]+/report$"))
    runs = page.locator("#runs-section")
    expect(runs).to_be_visible()
    cards = runs.locator(".run-card h4")
    expect(cards).to_have_count(3)
    assert cards.nth(0).inner_text().startswith("Examples 1:")
    expect(cards.nth(1)).to_have_class(re.compile("run-bad"))
    expect(cards.nth(2)).to_have_class(re.compile("run-ok"))
    assert cards.nth(2).inner_text().startswith("Submission 2:")
    runs.locator(".run-card").nth(2).locator("summary", has_text="Code").click()
    code = runs.locator(".run-card").nth(2).locator(".run-code pre").inner_text()
    assert code.split() == exercise.solution.split()

    # 5. the evaluator's review page shows them too, with the tests and the timing curve
    create_staff(live_data_dir(tmp_path_factory), "runs-evaluator@example.com", "evaluator")
    login_on_page(page, live_server, "runs-evaluator@example.com", next_path=f"/review/{session_id}")
    page.goto(f"{live_server}/review/{session_id}")
    section = page.locator("#runs-section")
    expect(section).to_be_visible(timeout=30_000)
    expect(section.locator(".run-card")).to_have_count(3)
    last = section.locator(".run-card").nth(2)
    last.locator("summary", has_text="Test results").click()
    expect(last.locator("li.test-ok").first).to_be_visible()
    if exercise.scale_sizes:
        expect(last.locator("svg.timing-chart polyline.curve")).to_be_attached()
        expect(last.locator(".timing-table tr")).to_have_count(len(exercise.scale_sizes) + 1)
    problems.check()


def wrong_solution(solution: str) -> str:
    """The reference solution with every function's body replaced by `return None`."""
    tree = ast.parse(solution)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node.body = [ast.Return(value=ast.Constant(value=None))]
    return ast.unparse(tree) + "\n"


def type_code(page: Any, code: str) -> None:
    """Replace the editor's text with `code`, as a paste would (no auto-indent on the way)."""
    page.locator("#editor .cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(code)
    typed = page.evaluate("() => document.querySelector('#editor .cm-content').innerText")
    assert typed.split() == code.split(), "the editor holds the code as typed"
