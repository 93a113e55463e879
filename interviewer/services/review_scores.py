"""Effective scores: the machine's scores with the evaluators' overrides applied. The review
document, the sessions list and an override's own answer all compute them here, the same way.

The latest override of a score wins. For a question, an override of "overall" replaces the
machine's score; otherwise overrides of rubric criteria move the machine's score by their
weighted difference (the track's rubric weights), kept within 1..5. A session's effective score
is computed as its machine score is: the mean of the track means once there is a report, the mean
of the question scores before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from interviewer.bank.loader import Bank
from interviewer.domain import Criterion
from interviewer.engine.state import SessionState
from interviewer.store.tables import AssessmentRow, InterviewSession, Override, ReportRow

OVERALL = "overall"


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC (the store gives every moment back in UTC, `store.tables.UtcDateTime`;
    a moment made elsewhere without a zone is taken as UTC)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _clamp(score: float) -> float:
    return round(max(1.0, min(5.0, score)), 2)


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def latest_by_question(assessments: Sequence[AssessmentRow]) -> dict[str, AssessmentRow]:
    """Per question, the assessment that counts (the last one)."""
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
