"""The HR pages in a real browser (Chromium via Playwright) against a real server of their own
(its own data folder, so HR's edits here touch no other test; the index is a copy of the
session's whole-bank index). HR logs in, edits a track on the page, and a new candidate session
follows it; a refused question shows its problems next to the fields; question text that looks
like HTML or script shows literally and never runs."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browserkit import require_browser

from interviewer.bank import VectorIndex, load_bank
from tests.conftest import KNOWLEDGE, running_server

require_browser()

from playwright.sync_api import expect  # noqa: E402

HR_EMAIL = "hr@example.com"
PASSWORD = "correct horse battery"
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def hr_server(
    tmp_path_factory: pytest.TempPathFactory, full_index: VectorIndex, full_data_dir: Path
) -> Iterator[str]:
    """`interviewer serve` with an HR account, on a copy of the whole-bank index."""
    from interviewer.services.credentials import hash_password
    from interviewer.store import staff as staff_store
    from interviewer.store.db import Database

    data = tmp_path_factory.mktemp("hr-live") / "data"
    shutil.copytree(full_data_dir / "chroma", data / "chroma")
    db = Database(f"sqlite:///{data / 'interviewer.db'}")
    db.migrate()
    with db.session() as s:
        staff_store.create_user(s, email=HR_EMAIL, role="hr", password_hash=hash_password(PASSWORD))
        s.commit()
    db.dispose()
    with running_server(data) as base:
        yield base


def login(page: Any, base: str, target: str) -> None:
    """Log in as HR on the login page, landing on `target` (a logged-out visit to an HR page is
    sent to the login page: the first test checks that)."""
    page.goto(f"{base}/staff/login?next={target}")
    page.get_by_label("Email").fill(HR_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # the whole URL: the login page's own (…?next=/hr/questions) ends with the target too
    page.wait_for_url(re.compile("^" + re.escape(base + target) + "$"))


def post_json(page: Any, url: str, body: dict[str, Any], *, method: str = "POST", staff: bool = True) -> Any:
    headers = {"Content-Type": "application/json"}
    if staff:
        csrf = next(c["value"] for c in page.context.cookies() if c["name"] == "interviewer_csrf")
        headers["X-CSRF-Token"] = csrf
    return page.request.fetch(url, method=method, data=json.dumps(body), headers=headers)


def test_hr_edits_a_track_and_a_new_session_follows(hr_server: str, page: Any, problems: Any) -> None:
    page.goto(f"{hr_server}/hr")
    page.wait_for_url(re.compile(r"/staff/login\?next=%2Fhr$"))  # not logged in yet
    login(page, hr_server, "/hr")
    row = page.locator('#tracks-body tr[data-track="python"]')
    expect(row).to_contain_text("Python proficiency")
    row.get_by_role("button", name="Edit track python").click()
    editor = page.locator("#editor")
    expect(editor).to_be_visible()
    editor.get_by_label("Main questions (3–5)").fill("3")
    editor.get_by_label("Follow-ups per question (0–3)").fill("1")
    editor.get_by_role("button", name="Save new version").click()
    expect(page.locator("#editor-status")).to_contain_text("Saved as version 1")
    expect(page.locator("#versions li")).to_have_count(2)
    expect(row.locator("td").nth(0)).to_have_text("3")
    expect(row.locator("td").nth(1)).to_have_text("1")

    # a refused edit shows its problem next to the field, and saves nothing
    editor.get_by_label("Main questions (3–5)").fill("9")
    editor.get_by_role("button", name="Save new version").click()
    error = editor.locator('.field-error[data-error-for="questions"]')
    expect(error).to_be_visible()
    expect(error).to_contain_text("less than or equal to 5")
    expect(page.locator("#versions li")).to_have_count(2)

    # a new candidate session follows the edit: 3 main questions, 1 follow-up per question
    started = post_json(page, f"{hr_server}/api/v1/sessions", {"plan": "python"}, staff=False)
    assert started.status == 201
    session = started.json()
    assert session["state"]["questions_total"] == 3
    auth = {"Authorization": f"Bearer {session['token']}", "Content-Type": "application/json"}
    review = page.request.get(f"{hr_server}/api/v1/review/sessions/{session['session_id']}")  # HR may read
    assert review.status == 200, review.text()
    # each question answered with one of its key points: at most the one follow-up the track now
    # allows, then the next question (whether the offline scorer sees a given answer as partial
    # varies by question, so the budget is checked on every follow-up the session asks)
    bank = load_bank(KNOWLEDGE)
    kinds: list[str] = []
    state = session["state"]
    while state["status"] == "active" and len(kinds) < 12:
        review = page.request.get(f"{hr_server}/api/v1/review/sessions/{session['session_id']}")
        question_id = review.json()["questions"][-1]["question_id"]
        partial = "I think that " + bank.questions[question_id].key_points[0].text
        r = page.request.post(
            f"{hr_server}/api/v1/sessions/{session['session_id']}/messages",
            data=json.dumps({"content": partial, "client_msg_id": f"m{len(kinds)}"}),
            headers=auth,
        )
        assert r.status == 200, r.text()
        kinds.append(r.json()["messages"][-1]["kind"])
        state = r.json()["state"]
    assert state["status"] == "completed", kinds
    assert "follow_up" in kinds
    assert all(b != "follow_up" for a, b in zip(kinds, kinds[1:], strict=False) if a == "follow_up"), kinds
    problems.check()


def test_question_text_is_inert_and_problems_sit_next_to_fields(
    hr_server: str, page: Any, problems: Any
) -> None:
    login(page, hr_server, "/hr/questions")
    doc = load_bank(KNOWLEDGE).questions["py-asyncio-blocking-cancellation"].model_dump()
    doc.update(id="hr-xss", topic="xss", question=f"What does {SCRIPT} do in a page?")
    doc["key_points"][0]["text"] = f"An image tag like {IMG} runs its handler when the image fails."
    r = post_json(page, f"{hr_server}/api/v1/hr/questions", doc)
    assert r.status == 201, r.text()
    page.reload()
    row = page.locator('#questions-body tr[data-question="hr-xss"]')
    expect(row.locator(".question-text")).to_have_text(f"What does {SCRIPT} do in a page?")
    row.get_by_role("button", name="Edit").click()
    editor = page.locator("#editor")
    expect(editor.get_by_label("Question", exact=True)).to_have_value(f"What does {SCRIPT} do in a page?")
    kp = editor.locator('[data-path="key_points.0.text"]')
    expect(kp).to_have_value(re.compile(re.escape(IMG)))
    assert page.locator("#questions-body img, #editor img, #questions-body script").count() == 0

    # invalid fields: each problem next to its field
    editor.get_by_label("Difficulty (1–3)").fill("7")
    editor.locator('[data-path="follow_ups.0.key_point"]').fill("no-such-point")
    kp.fill(f"{IMG} {SCRIPT}")  # still valid text: saved as text
    editor.get_by_role("button", name="Save question").click()
    expect(editor.locator('.field-error[data-error-for="difficulty"]')).to_be_visible()
    expect(page.locator("#editor-status")).to_contain_text("Not saved")
    editor.get_by_label("Difficulty (1–3)").fill("2")
    editor.get_by_role("button", name="Save question").click()
    expect(editor.locator('.field-error[data-error-for="follow_ups.0.key_point"]')).to_contain_text(
        "not a key point"
    )
    editor.locator('[data-path="follow_ups.0.key_point"]').fill(doc["follow_ups"][0]["key_point"])
    editor.get_by_role("button", name="Save question").click()
    expect(page.locator("#editor-status")).to_contain_text("Saved as version 2")
    expect(editor.locator('[data-path="key_points.0.text"]')).to_have_value(f"{IMG} {SCRIPT}")
    assert page.locator("#editor img, #editor script:not([src])").count() == 0
    page.wait_for_timeout(300)  # an injected handler would have fired by now

    # a colleague saves meanwhile: this editor's save (based on version 2) is refused, not lost
    theirs = {**doc, "question": "What does a colleague's edit look like?"}
    theirs["key_points"][0]["text"] = f"{IMG} {SCRIPT}"
    r = post_json(page, f"{hr_server}/api/v1/hr/questions/hr-xss", theirs, method="PUT")
    assert r.status == 200 and r.json()["version"] == 3, r.text()
    editor.get_by_label("Question", exact=True).fill("What does my own edit look like?")
    editor.get_by_role("button", name="Save question").click()
    expect(page.locator("#editor-status")).to_contain_text("since you opened it")
    got = page.request.get(f"{hr_server}/api/v1/hr/questions/hr-xss").json()
    assert got["version"] == 3 and got["question"]["question"] == theirs["question"]
    problems.check()


def test_invites_page_creates_and_lists(hr_server: str, page: Any, problems: Any) -> None:
    login(page, hr_server, "/hr/invites")
    page.get_by_label("Plan").select_option("python")
    page.get_by_role("button", name="Create invite").click()
    code = page.locator("#invite-code")
    expect(code).not_to_be_empty()
    expect(page.locator('#invites-body tr[data-status="active"]')).to_have_count(1)
    started = post_json(page, f"{hr_server}/api/v1/sessions", {"invite_code": code.inner_text()}, staff=False)
    assert started.status == 201
    page.reload()
    expect(page.locator('#invites-body tr[data-status="used"]')).to_have_count(1)
    expect(page.locator("#invite-created")).to_be_hidden()  # the code was shown once
    problems.check()


def test_invite_label_and_link_reach_the_review_list(hr_server: str, page: Any, problems: Any) -> None:
    """HR names the candidate on the invite and copies its link; the candidate opens the link (the
    code is filled in, then dropped from the address bar) and never sees the label; HR finds the
    interview in the review list by that label, shown as text."""
    label = f"Jane Doe <jane@example.com> — backend role {IMG}"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=hr_server)
    candidate = page.context.new_page()
    try:
        login(page, hr_server, "/hr/invites")
        page.get_by_label("Plan").select_option("python")
        page.get_by_label("Candidate", exact=True).fill(label)
        page.get_by_role("button", name="Create invite").click()
        link = page.locator("#invite-link")
        expect(link).to_have_value(re.compile(r"/#invite=[A-Za-z0-9_-]{16}$"))
        expect(page.locator("#invite-created")).to_contain_text(f"New invite for {label}")
        page.get_by_role("button", name="Copy link").click()
        expect(page.locator("#copy-status")).to_have_text("Link copied.")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == link.input_value() and copied.startswith(hr_server + "/#invite=")
        expect(page.locator('#invites-body tr[data-status="active"] .candidate-label')).to_have_text(label)

        candidate.goto(copied)
        code = copied.rsplit("=", 1)[1]
        expect(candidate.locator("#invite-code")).to_have_value(code)
        assert "#" not in candidate.url
        candidate.get_by_role("button", name="Start with invite").click()
        candidate.wait_for_url(re.compile(r"/interview/[^/]+$"))
        expect(candidate.locator("#transcript .msg-interviewer").first).to_be_visible()
        assert "Jane" not in candidate.content()

        page.goto(f"{hr_server}/review")
        row = page.locator("#sessions-body tr").first
        expect(row.locator(".candidate-label")).to_have_text(label)
        page.get_by_label("Candidate").fill("JANE DOE")
        page.get_by_role("button", name="Apply").click()
        expect(page).to_have_url(re.compile(r"[?&]q=JANE\+DOE"))
        expect(page.locator("#sessions-body tr")).to_have_count(1)
        page.get_by_label("Candidate").fill("nobody")
        page.get_by_role("button", name="Apply").click()
        expect(page.locator("#sessions-body tr")).to_have_count(0)
        page.go_back()
        page.locator("#sessions-body tr .open-review").first.click()
        expect(page.locator('[data-fact="Candidate"]')).to_have_text(label)
        assert page.locator("img[src='x']").count() == 0  # the label stayed text
        problems.check()
    finally:
        candidate.close()
        page.context.clear_permissions()


PAIR_SUM_WRONG = "def pair_sum(xs, target):\n    return True\n"
PAIR_SUM = """def pair_sum(xs, target):
    seen = set()
    for x in xs:
        if target - x in seen:
            return True
        seen.add(x)
    return False
"""


def test_hr_adds_an_exercise_on_the_page(hr_server: str, page: Any, problems: Any) -> None:
    """HR adds a coding exercise through the form: a reference solution that fails its tests is
    refused with the failing test named next to the solution field; fixed, it is saved as version 1
    and listed; its title, shown as text, never runs."""
    from interviewer.sandbox import BubblewrapSandbox

    if reason := BubblewrapSandbox().unavailable():
        pytest.skip(f"bubblewrap cannot run here (saving an exercise runs its reference): {reason}")
    login(page, hr_server, "/hr/questions")
    page.get_by_role("link", name="Exercises").click()  # from the HR nav
    page.wait_for_url(re.compile(r"/hr/exercises$"))
    expect(page.locator('#exercises-body tr[data-exercise="merge-intervals"]')).to_contain_text(
        "shipped file"
    )

    page.get_by_role("button", name="New exercise").click()
    editor = page.locator("#editor")
    expect(editor).to_be_visible()
    title = f"Pair sum {SCRIPT}"
    editor.get_by_label("Id", exact=True).fill("hr-pair-sum")
    editor.get_by_label("Topic").fill("hashing")
    editor.get_by_label("Title").fill(title)
    editor.get_by_label("Statement").fill(
        "Write pair_sum(xs, target): whether two items of xs add up to target."
    )
    editor.locator('[data-path="starter"]').fill("def pair_sum(xs, target):\n    pass\n")
    editor.locator('[data-path="examples"]').fill(
        "from solution import pair_sum\n\n\ndef test_example():\n    assert pair_sum([1, 2, 3], 5)\n"
    )
    editor.locator('[data-path="hidden"]').fill(
        "from solution import pair_sum\n\n\ndef test_empty():\n    assert not pair_sum([], 1)\n"
    )
    editor.locator('[data-path="solution"]').fill(PAIR_SUM_WRONG)
    for i, (kp, text) in enumerate([("hash-set", "A set of seen values"), ("one-pass", "One pass, O(n)")]):
        editor.locator(f'[data-path="key_points.{i}.id"]').fill(kp)
        editor.locator(f'[data-path="key_points.{i}.text"]').fill(text)
    editor.locator('[data-path="follow_ups.0.text"]').fill("Walk me through the case that fails.")

    editor.get_by_role("button", name="Save exercise").click()
    error = editor.locator('.field-error[data-error-for="solution"]')
    expect(error).to_contain_text("test_empty", timeout=30_000)
    expect(page.locator("#editor-status")).to_contain_text("Not saved")
    assert page.request.get(f"{hr_server}/api/v1/hr/exercises/hr-pair-sum").status == 404

    editor.locator('[data-path="solution"]').fill(PAIR_SUM)
    editor.get_by_role("button", name="Save exercise").click()
    expect(page.locator("#editor-status")).to_contain_text("Saved as version 1", timeout=30_000)
    expect(page.locator("#versions li")).to_have_count(1)
    row = page.locator('#exercises-body tr[data-exercise="hr-pair-sum"]')
    expect(row.locator(".question-text")).to_have_text(title)
    expect(row).to_contain_text("v1 (HR)")
    expect(editor.get_by_label("Title")).to_have_value(title)
    got = page.request.get(f"{hr_server}/api/v1/hr/exercises/hr-pair-sum").json()
    assert got["exercise"]["solution"] == PAIR_SUM.strip() and got["exercise"]["title"] == title
    assert page.locator("#exercises-body script, #editor script").count() == 0
    problems.check()
