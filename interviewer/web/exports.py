"""Exports of a review document (`services/review_doc.ReviewDocument`): JSON, CSV, Markdown and a
print-friendly HTML report. Pure functions from the document to text. They read the document's
JSON form (`model_dump(mode="json")`, what the review page reads): a model is turned into it
first, and a mapping in that form is taken as it is.

Everything a candidate (or an evaluator) wrote is untrusted: in HTML every dynamic string goes
through `html.escape` and the page carries no script and no style attribute; its one stylesheet
is inside the file (a download has no server to fetch one from), allowed by the file's own
Content-Security-Policy by its hash, with nothing else allowed. In Markdown it is escaped so that
no raw HTML, link or image can come out of it, not even GFM's autolinks of bare URLs and e-mail
addresses (`://` and `www.` get a backslash escape, `@` an invisible word joiner before it: both
render as written). In CSV a cell that a spreadsheet would read as a formula (starting with
= + - @, tab or carriage return) gets a leading apostrophe.
"""

from __future__ import annotations

import base64
import csv
import functools
import hashlib
import html
import io
import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from interviewer.services.review_doc import ReviewDocument

Document = ReviewDocument | Mapping[str, Any]
"""A review document, or its JSON form."""

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#!|~])")
_MD_AUTOLINK = re.compile(r":(?=//)|(?<=www)\.", re.IGNORECASE)
_WORD_JOINER = "&#8288;"  # U+2060: invisible, no line break; GFM links no e-mail across it
_EXPORT_CSS = Path(__file__).parent / "static" / "export.css"


def _num(value: Any) -> str:
    return "" if value is None else f"{float(value):g}"


def _plain(doc: Document) -> Mapping[str, Any]:
    return doc.model_dump(mode="json") if isinstance(doc, ReviewDocument) else doc


# --- JSON -------------------------------------------------------------------------------------


def to_json(document: Document) -> str:
    return json.dumps({"format": "interviewer.review/1", **_plain(document)}, ensure_ascii=False, indent=2)


# --- CSV --------------------------------------------------------------------------------------


def csv_cell(value: Any) -> str:
    """A cell as text; one a spreadsheet would evaluate as a formula is neutralised with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _criteria_ids(doc: Mapping[str, Any]) -> list[str]:
    ids: list[str] = []
    for q in doc["questions"]:
        for c in (q["assessment"] or {}).get("criteria", []):
            if c["id"] not in ids:
                ids.append(c["id"])
    return ids


def to_csv(document: Document) -> str:
    """One row per answered main question (the candidate's turns on it joined)."""
    doc = _plain(document)
    criteria = _criteria_ids(doc)
    head = [
        "session_id",
        "candidate_label",
        "plan_id",
        "track",
        "question_id",
        "question",
        "answer",
        "machine_score",
        "effective_score",
        "offline_score",
        "scorer",
        *[f"{c}" for c in criteria],
        *[f"{c} (effective)" for c in criteria],
        "flags",
        "override_reasons",
        "evaluator",
        "recommendation",
    ]
    evaluator_rec = doc["recommendation"]["evaluator"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(head)
    for q in doc["questions"]:
        a = q["assessment"]
        if a is None and not q["answers"]:
            continue
        by_id = {c["id"]: c for c in (a or {}).get("criteria", [])}
        row = [
            doc["session_id"],
            doc["candidate_label"],
            doc["plan_id"],
            q["track"],
            q["question_id"],
            q["question"] or q["asked"],
            q["answer_text"],
            _num(a["score"]) if a else "",
            _num(a["effective_score"]) if a else "",
            _num(a["offline_score"]) if a else "",
            a["scorer"] if a else "",
            *[_num(by_id[c]["score"]) if c in by_id else "" for c in criteria],
            *[_num(by_id[c]["effective_score"]) if c in by_id else "" for c in criteria],
            "; ".join(a["flags"]) if a else "",
            " | ".join(f"{o['criterion']}: {o['reason']}" for o in q["overrides"]),
            "; ".join(dict.fromkeys(o["evaluator"] for o in q["overrides"])),
            evaluator_rec["recommendation"] if evaluator_rec else "",
        ]
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


# --- Markdown ---------------------------------------------------------------------------------


def md_escape(text: str) -> str:
    """Inert Markdown: HTML special characters as entities, Markdown syntax backslash-escaped,
    and nothing GFM would turn into a link (bare URLs, `www.` names, e-mail addresses)."""
    escaped = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return _MD_AUTOLINK.sub(lambda m: "\\" + m.group(0), escaped).replace("@", _WORD_JOINER + "@")


def _md_quote(text: str) -> str:
    return "\n".join(f"> {md_escape(line)}" if line.strip() else ">" for line in text.splitlines())


def to_markdown(document: Document) -> str:
    doc = _plain(document)
    lines = [
        f"# Interview review {md_escape(doc['session_id'])}",
        "",
        f"- Candidate: {md_escape(doc['candidate_label'] or '—')}",
        f"- Plan: {md_escape(doc['plan_title'] or doc['plan_id'])}",
        f"- Status: {doc['status']}; started {doc['created_at']}",
        f"- Score: machine {_num(doc['score']) or '—'}, effective {_num(doc['effective_score']) or '—'}",
        f"- Injection flagged: {'yes' if doc['flagged'] else 'no'}",
    ]
    rec = doc["recommendation"]
    if rec["machine"]:
        lines.append(f"- Machine recommendation: {md_escape(rec['machine'])}")
    if rec["evaluator"]:
        e = rec["evaluator"]
        note = f" — {md_escape(e['note'])}" if e["note"] else ""
        lines.append(
            f"- Evaluator recommendation: **{e['recommendation']}** ({md_escape(e['evaluator'])}){note}"
        )
    for n, q in enumerate(doc["questions"], start=1):
        a = q["assessment"]
        lines += ["", f"## {n}. {md_escape(q['track'])} — {md_escape(q['question_id'])}", ""]
        lines += [md_escape(q["question"] or q["asked"]), "", "**Answer**", ""]
        lines.append(_md_quote(q["answer_text"]) if q["answer_text"] else "_no answer_")
        if a is None:
            continue
        disagreement = f", disagreement {_num(a['disagreement'])}" if a["disagreement"] is not None else ""
        lines += [
            "",
            f"Score: machine {_num(a['score'])} ({a['scorer']}), effective {_num(a['effective_score'])}; "
            f"offline {_num(a['offline_score']) or '—'}{disagreement}",
            "",
            "| criterion | machine | effective | evidence |",
            "| --- | --- | --- | --- |",
        ]
        for c in a["criteria"]:
            evidence = "; ".join(f"“{md_escape(' '.join(e['quote'].split()))}”" for e in c["evidence"])
            lines.append(
                f"| {md_escape(c['title'])} | {_num(c['score'])} | {_num(c['effective_score'])} | {evidence} |"
            )
        if a["flags"]:
            lines += ["", "Flags: " + ", ".join(md_escape(f) for f in a["flags"])]
        statuses = [kp for kp in q["key_points"] if kp["status"]]
        if statuses:
            lines += ["", "Key points:"]
            lines += [
                f"- [{'x' if kp['status'] == 'covered' else ' '}] {md_escape(kp['text'])}" for kp in statuses
            ]
        for o in q["overrides"]:
            lines.append(
                f"- Override {md_escape(o['criterion'])}: {_num(o['old_score'])} → {_num(o['new_score'])} "
                f"by {md_escape(o['evaluator'])} ({o['created_at']}): {md_escape(o['reason'])}"
            )
    for r in doc.get("exercise_runs", []):
        lines += _md_run(r)
    return "\n".join(lines) + "\n"


def _md_run(r: Mapping[str, Any]) -> list[str]:
    """A coding-exercise run: its code, results and timing curve."""
    tests = len(r["tests"])
    lines = [
        "",
        f"## Run {r['id']}: {md_escape(r['exercise_id'])} ({r['kind']}, {r['created_at']})",
        "",
        f"{r['passed']} of {tests} tests passed; timed out: {'yes' if r['timed_out'] else 'no'}; "
        f"{_num(r['duration_ms'])} ms" + (f"; {md_escape(r['crash'])}" if r["crash"] else ""),
        "",
        "~~~python",
        r["code"].replace("~~~", "~ ~ ~"),
        "~~~",
    ]
    lines += [
        f"- [{'x' if t['ok'] else ' '}] {md_escape(t['name'])} {md_escape(t['message'])}" for t in r["tests"]
    ]
    if r["timings"]:
        lines.append("- Timing: " + ", ".join(f"n={t['n']}: {_num(t['cpu_ms'])} ms" for t in r["timings"]))
    return lines


# --- HTML -------------------------------------------------------------------------------------


def _e(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def _merged(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def highlighted(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """The text escaped, with the evidence spans inside <mark>."""
    parts: list[str] = []
    pos = 0
    for start, end in _merged(spans):
        parts += [_e(text[pos:start]), "<mark>", _e(text[start:end]), "</mark>"]
        pos = end
    parts.append(_e(text[pos:]))
    return "".join(parts)


def _html_question(n: int, q: dict[str, Any], turns: dict[int, str]) -> list[str]:
    a = q["assessment"]
    spans: dict[int, list[tuple[int, int]]] = {}
    for c in (a or {}).get("criteria", []):
        for ev in c["evidence"]:
            for s in ev["spans"]:
                spans.setdefault(s["turn"], []).append((s["start"], s["end"]))
    out = [
        "<section>",
        f"<h2>{n}. {_e(q['track'])} — {_e(q['question_id'])}</h2>",
        f"<p class=question>{_e(q['question'] or q['asked'])}</p>",
    ]
    for seq in q["answers"]:
        out.append(f"<blockquote>{highlighted(turns.get(seq, ''), spans.get(seq, []))}</blockquote>")
    if a is not None:
        disagreement = (
            f"; disagreement {_e(_num(a['disagreement']))}" if a["disagreement"] is not None else ""
        )
        out += [
            f"<p>Score: machine {_e(_num(a['score']))} ({_e(a['scorer'])}), effective "
            f"<strong>{_e(_num(a['effective_score']))}</strong>; offline "
            f"{_e(_num(a['offline_score']) or '—')}{disagreement}</p>",
            "<table><thead><tr><th>criterion</th><th>machine</th><th>effective</th><th>evidence</th>"
            "</tr></thead><tbody>",
        ]
        for c in a["criteria"]:
            evidence = "<br>".join(f"“{_e(ev['quote'])}”" for ev in c["evidence"])
            out.append(
                f"<tr><td>{_e(c['title'])}</td><td>{_e(_num(c['score']))}</td>"
                f"<td>{_e(_num(c['effective_score']))}</td><td>{evidence}</td></tr>"
            )
        out.append("</tbody></table>")
        if a["flags"]:
            out.append(f"<p>Flags: {_e(', '.join(a['flags']))}</p>")
        marked = [kp for kp in q["key_points"] if kp["status"]]
        if marked:
            out.append("<ul>")
            out += [f"<li>{_e(kp['status'])}: {_e(kp['text'])}</li>" for kp in marked]
            out.append("</ul>")
    for o in q["overrides"]:
        out.append(
            f"<p>Override {_e(o['criterion'])}: {_e(_num(o['old_score']))} → {_e(_num(o['new_score']))} "
            f"by {_e(o['evaluator'])} ({_e(o['created_at'])}): {_e(o['reason'])}</p>"
        )
    out.append("</section>")
    return out


def to_html(document: Document) -> str:
    doc = _plain(document)
    turns = {t["seq"]: t["content"] for t in doc["transcript"]}
    rec = doc["recommendation"]
    evaluator = rec["evaluator"]
    body = [
        f"<h1>Interview review — {_e(doc['plan_title'] or doc['plan_id'])}</h1>",
        "<dl>",
        f"<dt>Candidate</dt><dd>{_e(doc['candidate_label'] or '—')}</dd>",
        f"<dt>Session</dt><dd>{_e(doc['session_id'])}</dd>",
        f"<dt>Status</dt><dd>{_e(doc['status'])}, started {_e(doc['created_at'])}</dd>",
        f"<dt>Score</dt><dd>machine {_e(_num(doc['score']) or '—')}, effective "
        f"<strong>{_e(_num(doc['effective_score']) or '—')}</strong></dd>",
        f"<dt>Injection flagged</dt><dd>{'yes' if doc['flagged'] else 'no'}</dd>",
        f"<dt>Machine recommendation</dt><dd>{_e(rec['machine'] or '—')}</dd>",
        "<dt>Evaluator recommendation</dt><dd>"
        + (
            f"<strong>{_e(evaluator['recommendation'])}</strong> by {_e(evaluator['evaluator'])}"
            + (f": {_e(evaluator['note'])}" if evaluator["note"] else "")
            if evaluator
            else "—"
        )
        + "</dd>",
        "</dl>",
    ]
    for n, q in enumerate(doc["questions"], start=1):
        body += _html_question(n, q, turns)
    for r in doc.get("exercise_runs", []):
        body += _html_run(r)
    css, digest = _stylesheet()
    policy = f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">'
        f"<title>Interview review {_e(doc['session_id'])}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<style>{css}</style></head>\n<body class="print-report">\n' + "\n".join(body) + "\n</body></html>\n"
    )


def _html_run(r: Mapping[str, Any]) -> list[str]:
    """A coding-exercise run: its code (escaped, as text), results and timing curve."""
    out = [
        f"<section><h2>Run {r['id']}: {_e(r['exercise_id'])} ({_e(r['kind'])}, {_e(r['created_at'])})</h2>",
        f"<p>{r['passed']} of {len(r['tests'])} tests passed; timed out: {'yes' if r['timed_out'] else 'no'}; "
        f"{_e(_num(r['duration_ms']))} ms{'; ' + _e(r['crash']) if r['crash'] else ''}</p>",
        f"<pre><code>{_e(r['code'])}</code></pre>",
        "<ul>",
    ]
    out += [f"<li>{'✓' if t['ok'] else '✗'} {_e(t['name'])} {_e(t['message'])}</li>" for t in r["tests"]]
    out.append("</ul>")
    if r["timings"]:
        curve = ", ".join(f"n={t['n']}: {_num(t['cpu_ms'])} ms" for t in r["timings"])
        out.append(f"<p>Timing: {_e(curve)}</p>")
    return [*out, "</section>"]


@functools.cache
def _stylesheet() -> tuple[str, str]:
    """The export's stylesheet (static/export.css) and its CSP hash (base64 SHA-256)."""
    css = _EXPORT_CSS.read_text(encoding="utf-8").strip()
    return css, base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
