"""The review document of one interview: what an evaluator needs to judge it, built from the
stored rows and the bank. The review page, the JSON export and the other exports all read it.

Effective scores: the latest override of a score wins. For a question, an override of "overall"
replaces the machine's score; otherwise overrides of rubric criteria move the machine's score by
their weighted difference (the track's rubric weights), kept within 1..5. A session's effective
score is computed as its machine score is: the mean of the track means once there is a report,
the mean of the question scores before.
"""

from __future__ import annotations

from collections import ChainMap, defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from interviewer.bank.loader import Bank
from interviewer.domain import Criterion, Question
from interviewer.engine.evidence import locate
from interviewer.engine.report import hiring_recommendation
from interviewer.engine.state import SessionState
from interviewer.store.tables import (
    AssessmentRow,
    AuditLog,
    InterviewSession,
    Override,
    Recommendation,
    ReportRow,
    TurnRow,
)

OVERALL = "overall"
INJECTION = "prompt_injection"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC (SQLite hands datetimes back without their zone)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _clamp(score: float) -> float:
    return round(max(1.0, min(5.0, score)), 2)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def latest_by_question(assessments: Sequence[AssessmentRow]) -> dict[str, AssessmentRow]:
    latest: dict[str, AssessmentRow] = {}
    for row in sorted(assessments, key=lambda r: r.id):
        latest[row.question_id] = row
    return latest


def latest_overrides(overrides: Sequence[Override]) -> dict[str, Override]:
    """Per criterion (or "overall"), the override that counts (the last one)."""
    out: dict[str, Override] = {}
    for row in sorted(overrides, key=lambda r: r.id):
        out[row.criterion] = row
    return out


def rubric(state: SessionState, bank: Bank, track: str) -> list[Criterion]:
    """The rubric the session ran with ([] if its track is no longer known at all)."""
    try:
        return list(state.config(track, bank).rubric)
    except KeyError:
        return []


def rubric_weights(state: SessionState, bank: Bank, track: str) -> dict[str, float]:
    return {c.id: c.weight for c in rubric(state, bank, track)}


def effective(
    assessment: dict[str, Any], overrides: Sequence[Override], weights: dict[str, float]
) -> tuple[float, dict[str, float]]:
    """(effective overall score, effective score per criterion) of one assessed question."""
    latest = latest_overrides(overrides)
    machine = {c["id"]: float(c["score"]) for c in assessment["criteria"]}
    per_criterion = {cid: latest[cid].new_score if cid in latest else s for cid, s in machine.items()}
    if OVERALL in latest:
        return _clamp(latest[OVERALL].new_score), per_criterion
    fallback = 1 / len(machine) if machine else 0.0
    delta = sum(weights.get(cid, fallback) * (per_criterion[cid] - s) for cid, s in machine.items())
    return _clamp(float(assessment["score"]) + delta), per_criterion


def session_scores(
    *,
    session: InterviewSession,
    assessments: Sequence[AssessmentRow],
    overrides: Sequence[Override],
    report: ReportRow | None,
    bank: Bank,
) -> tuple[float | None, float | None]:
    """(machine score, effective score) of a session."""
    latest = latest_by_question(assessments)
    if not latest:
        return (report.score if report else None), (report.score if report else None)
    state = SessionState.model_validate(session.state)
    by_question: dict[str, list[Override]] = defaultdict(list)
    for o in overrides:
        by_question[o.question_id].append(o)
    tracks: dict[str, list[float]] = defaultdict(list)
    for qid, row in latest.items():
        score, _ = effective(row.data, by_question[qid], rubric_weights(state, bank, row.track))
        tracks[row.track].append(score)
    if report is not None:
        track_means = [sum(v) / len(v) for v in tracks.values()]
        return report.score, round(sum(track_means) / len(track_means), 2)
    machine = _mean([r.score for r in latest.values()])
    eff = _mean([s for v in tracks.values() for s in v])
    return (
        round(machine, 2) if machine is not None else None,
        round(eff, 2) if eff is not None else None,
    )


def locate_in_turns(quote: str, turns: Sequence[tuple[int, str]]) -> list[dict[str, int]]:
    """Spans of a quote inside the candidate's turns ({turn, start, end}, offsets into that
    turn's content). The turns are searched as one text, as the scorer saw them; [] if absent."""
    joined = ""
    bounds: list[tuple[int, int, int]] = []
    for seq, content in turns:
        if joined:
            joined += "\n\n"
        bounds.append((seq, len(joined), len(joined) + len(content)))
        joined += content
    found = locate(quote, joined) or []
    spans: list[dict[str, int]] = []
    for start, end in found:
        for seq, lo, hi in bounds:
            a, b = max(start, lo), min(end, hi)
            if a < b:
                spans.append({"turn": seq, "start": a - lo, "end": b - lo})
    return spans


def _override_json(row: Override) -> dict[str, Any]:
    return {
        "id": row.id,
        "question_id": row.question_id,
        "track": row.track,
        "criterion": row.criterion,
        "machine_score": row.machine_score,
        "old_score": row.old_score,
        "new_score": row.new_score,
        "reason": row.reason,
        "evaluator": row.actor,
        "created_at": iso(row.created_at),
    }


def _recommendation_json(row: Recommendation) -> dict[str, Any]:
    return {
        "recommendation": row.recommendation,
        "note": row.note,
        "evaluator": row.actor,
        "created_at": iso(row.created_at),
    }


def _transcript(turns: Sequence[TurnRow], questions: Mapping[str, Question]) -> list[dict[str, Any]]:
    """Every turn in order; a candidate turn gets the question it answers (the last interviewer
    turn that named one) and a follow-up the text of the key point it probes (why it was asked)."""
    out: list[dict[str, Any]] = []
    track: str | None = None
    question_id: str | None = None
    for t in turns:
        if t.role == "interviewer" and t.question_id:
            track, question_id = t.track, t.question_id
        item: dict[str, Any] = {
            "seq": t.seq,
            "role": t.role,
            "kind": t.kind,
            "track": t.track if t.role == "interviewer" else track,
            "question_id": t.question_id if t.role == "interviewer" else question_id,
            "key_point": t.key_point,
            "key_point_text": None,
            "content": t.content,
            "status": t.status,
            "created_at": iso(t.created_at),
        }
        question = questions.get(t.question_id or "")
        if t.key_point and question is not None:
            item["key_point_text"] = next(
                (kp.text for kp in question.key_points if kp.id == t.key_point), None
            )
        out.append(item)
    return out


def _assessment_json(
    row: AssessmentRow,
    *,
    versions: int,
    overrides: Sequence[Override],
    weights: dict[str, float],
    titles: dict[str, str],
    answers: Sequence[tuple[int, str]],
) -> dict[str, Any]:
    data = row.data
    score, per_criterion = effective(data, overrides, weights)
    offline = data.get("offline_score")
    criteria = []
    for c in data["criteria"]:
        criteria.append(
            {
                "id": c["id"],
                "title": titles.get(c["id"], c["id"]),
                "weight": weights.get(c["id"]),
                "score": c["score"],
                "effective_score": per_criterion[c["id"]],
                "overridden": any(o.criterion == c["id"] for o in overrides),
                "unsupported": c.get("unsupported", False),
                "rationale": c.get("rationale", ""),
                "evidence": [
                    {"quote": q, "spans": (spans := locate_in_turns(q, answers)), "found": bool(spans)}
                    for q in c.get("evidence", [])
                ],
            }
        )
    return {
        "score": data["score"],
        "effective_score": score,
        "overridden": bool(overrides),
        "scorer": data.get("scorer", row.scorer),
        "offline_score": offline,
        "disagreement": round(abs(data["score"] - offline), 2) if offline is not None else None,
        "criteria": criteria,
        "covered": data.get("covered", []),
        "missed": data.get("missed", []),
        "pitfalls": data.get("pitfalls", []),
        "misconceptions": data.get("misconceptions", []),
        "confidence": data.get("confidence"),
        "flags": data.get("flags", []),
        "notes": data.get("notes", []),
        "dropped_quotes": data.get("dropped_quotes", 0),
        "turn_seq": row.turn_seq,
        "versions": versions,
        "assessed_at": iso(row.created_at),
    }


def build(
    *,
    session: InterviewSession,
    turns: Sequence[TurnRow],
    assessments: Sequence[AssessmentRow],
    report: ReportRow | None,
    overrides: Sequence[Override],
    recommendations: Sequence[Recommendation],
    audit: Sequence[AuditLog],
    bank: Bank,
    pinned: Mapping[str, Question] | None = None,
) -> dict[str, Any]:
    """`pinned`: the revisions this session asked of questions the bank has changed since (by
    id; `SessionState.stale_revisions`): the review shows the key points that were scored."""
    state = SessionState.model_validate(session.state)
    asked: Mapping[str, Question] = ChainMap(dict(pinned or {}), bank.questions)
    transcript = _transcript(turns, asked)
    latest = latest_by_question(assessments)
    versions: dict[str, int] = defaultdict(int)
    for a in assessments:
        versions[a.question_id] += 1
    by_question: dict[str, list[Override]] = defaultdict(list)
    for o in overrides:
        by_question[o.question_id].append(o)
    questions: list[dict[str, Any]] = []
    for t in transcript:
        if t["role"] != "interviewer" or t["kind"] != "question" or not t["question_id"]:
            continue
        qid, track = t["question_id"], t["track"] or ""
        if any(q["question_id"] == qid for q in questions):
            continue
        question = asked.get(qid)
        answers = [
            (x["seq"], x["content"])
            for x in transcript
            if x["role"] == "candidate" and x["question_id"] == qid
        ]
        criteria = rubric(state, bank, track)
        row = latest.get(qid)
        assessment = (
            _assessment_json(
                row,
                versions=versions[qid],
                overrides=by_question[qid],
                weights=rubric_weights(state, bank, track),
                titles={c.id: c.title for c in criteria},
                answers=answers,
            )
            if row is not None
            else None
        )
        covered = set(assessment["covered"]) if assessment else set()
        missed = set(assessment["missed"]) if assessment else set()
        quotes = {m["id"]: m["quote"] for m in assessment["misconceptions"]} if assessment else {}
        questions.append(
            {
                "question_id": qid,
                "track": track,
                "topic": question.topic if question else None,
                "difficulty": question.difficulty if question else None,
                "question": question.question if question else None,
                "asked": t["content"],
                "asked_seq": t["seq"],
                "criteria": [c.id for c in criteria],
                "key_points": [
                    {
                        "id": kp.id,
                        "text": kp.text,
                        "weight": kp.weight,
                        "status": "covered" if kp.id in covered else "missed" if kp.id in missed else None,
                    }
                    for kp in (question.key_points if question else [])
                ],
                "pitfalls": [
                    {"id": p.id, "claim": p.claim, "why": p.why, "quote": quotes.get(p.id)}
                    for p in (question.pitfalls if question else [])
                    if assessment and p.id in assessment["pitfalls"]
                ],
                "follow_ups": [
                    {"seq": x["seq"], "key_point": x["key_point"], "reason": x["key_point_text"]}
                    for x in transcript
                    if x["kind"] == "follow_up" and x["question_id"] == qid
                ],
                "answers": [seq for seq, _ in answers],
                "answer_text": "\n\n".join(content for _, content in answers),
                "assessment": assessment,
                "overrides": [_override_json(o) for o in by_question[qid]],
            }
        )
    machine, eff = session_scores(
        session=session, assessments=assessments, overrides=overrides, report=report, bank=bank
    )
    return {
        "session_id": session.id,
        "plan_id": session.plan_id,
        "plan_title": state.plan_title,
        "candidate_label": session.candidate_label,
        "mode": session.mode,
        "status": session.status,
        "created_at": iso(session.created_at),
        "updated_at": iso(session.updated_at),
        "score": machine,
        "effective_score": eff,
        "flagged": any(INJECTION in (a.flags or []) for a in assessments),
        "answers": sum(t.role == "candidate" for t in turns),
        "transcript": transcript,
        "questions": questions,
        "report": report.data if report else None,
        "recommendation": {
            "machine": hiring_recommendation(report.recommendation, report.score) if report else None,
            "evaluator": _recommendation_json(recommendations[-1]) if recommendations else None,
            "history": [_recommendation_json(r) for r in recommendations],
        },
        "overrides": [_override_json(o) for o in overrides],
        "audit": [
            {
                "actor": a.actor,
                "action": a.action,
                "data": a.data,
                "created_at": iso(a.created_at),
            }
            for a in audit
        ],
    }
