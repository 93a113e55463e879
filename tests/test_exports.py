"""The review exports as documents (pure functions of a review document): the Markdown export
rendered by GitHub's own renderer (cmark-gfm) makes no link out of candidate text, and the HTML
export carries its own stylesheet, allowed by its own Content-Security-Policy and nothing else."""

from __future__ import annotations

import base64
import hashlib
import html
import re
from typing import Any

import cmarkgfm
import pytest

from interviewer.web.exports import md_escape, to_html, to_markdown

AUTOLINKED = [
    "see http://evil.example/x for details",
    "HTTPS://EVIL.EXAMPLE/Path?q=1",
    "ftp://files.evil.example",
    "www.evil.example",
    "(www.evil.example)",
    "write to first.last@evil.example today",
    "mailto:a@evil.example",
    "xmpp:a@evil.example/home",
    "a_b@c.example",
    "<http://evil.example>",
    "<a@evil.example>",
]


def _rendered_text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup)).strip()


@pytest.mark.parametrize("text", AUTOLINKED)
def test_markdown_escape_is_never_a_link_in_gfm(text: str) -> None:
    before = cmarkgfm.github_flavored_markdown_to_html(text)
    assert "<a " in before  # GFM links it as written: the escape is what stops it
    out = cmarkgfm.github_flavored_markdown_to_html(md_escape(text))
    assert "<a " not in out, out
    assert _rendered_text(out).replace("\u2060", "") == text  # reads as written


def _doc(answer: str) -> dict[str, Any]:
    return {
        "session_id": "s-1",
        "plan_id": "python",
        "plan_title": "Python proficiency only",
        "status": "completed",
        "created_at": "2026-11-01T10:00:00+00:00",
        "candidate_label": None,
        "score": 2.5,
        "effective_score": 2.5,
        "flagged": False,
        "recommendation": {"machine": "no hire", "evaluator": None, "history": []},
        "transcript": [{"seq": 2, "content": answer}],
        "questions": [
            {
                "track": "python",
                "question_id": "py-gil",
                "question": "Explain the GIL.",
                "asked": "Explain the GIL.",
                "answers": [2],
                "answer_text": answer,
                "assessment": None,
                "key_points": [],
                "overrides": [],
            }
        ],
    }


def test_markdown_export_links_nothing_the_candidate_wrote() -> None:
    answer = "See https://evil.example/gil and www.evil.example, or mail me@evil.example"
    out = cmarkgfm.github_flavored_markdown_to_html(to_markdown(_doc(answer)))
    assert "<a " not in out
    assert "https://evil.example/gil" in _rendered_text(out)


def test_html_export_is_styled_by_its_own_hashed_stylesheet() -> None:
    page = to_html(_doc("<script>alert(1)</script> plain answer"))
    styles = re.findall(r"<style>(.*?)</style>", page, re.DOTALL)
    assert len(styles) == 1 and "border-collapse" in styles[0]
    assert "/static/app.css" not in page  # not there when the file is opened from disk
    digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
    policy = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', page)
    assert policy is not None
    assert "default-src 'none'" in policy.group(1) and f"style-src 'sha256-{digest}'" in policy.group(1)
    assert "<script" not in page.lower() and " style=" not in page.lower()
