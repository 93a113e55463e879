"""Pure decisions of the interview, table-tested: after an assessed answer, follow up (on the most
important key point still missing, within the budget, never twice), ask the next main question
(harder after strong answers, easier after weak ones), or close the track."""

from __future__ import annotations

from dataclasses import dataclass

from interviewer.domain import Assessment, DifficultyRange, KeyPoint, Question, TrackConfig

STRONG = 4.0
WEAK = 2.5
GOOD_ENOUGH = 4.5  # an answer this strong moves on without follow-ups


@dataclass(frozen=True)
class FollowUp:
    key_point: str
    seed: str


@dataclass(frozen=True)
class NextQuestion:
    difficulty: int


@dataclass(frozen=True)
class CloseTrack:
    pass


Decision = FollowUp | NextQuestion | CloseTrack


def next_difficulty(current: int, score: float, bounds: DifficultyRange) -> int:
    if score >= STRONG:
        current += 1
    elif score <= WEAK:
        current -= 1
    return max(bounds.min, min(bounds.max, current))


def worth_adding(question: Question, assessment: Assessment, *, most: int = 2) -> list[KeyPoint]:
    """Practice feedback's "worth adding": the heaviest key points the answer clearly missed.

    Only `missed` counts (the scorer puts a point it is unsure of in neither list), so a point the
    answer stated is never presented as missing."""
    missed = [kp for kp in question.key_points if kp.id in assessment.missed]
    return sorted(missed, key=lambda kp: -kp.weight)[:most]


def corrections(question: Question, assessment: Assessment, *, most: int = 2) -> list[str]:
    """Each misconception the answer asserted: the candidate's own sentence and why it is wrong
    (practice feedback and the report; never in assessment mode before the end)."""
    why = {p.id: p.why.strip() for p in question.pitfalls}
    out = []
    for m in assessment.misconceptions[:most]:
        if m.id in why:
            quote = m.quote if len(m.quote) <= 200 else m.quote[:197].rstrip() + "…"
            out.append(f"To correct: you said “{quote}” — {why[m.id]}")
    return out


def pick_follow_up(question: Question, assessment: Assessment, asked: list[str]) -> FollowUp | None:
    """The follow-up for the heaviest missed key point not probed yet (bank order breaks ties)."""
    order = {kp.id: (-kp.weight, i) for i, kp in enumerate(question.key_points)}
    for kp_id in sorted((k for k in assessment.missed if k in order), key=order.__getitem__):
        if kp_id in asked:
            continue
        for fu in question.follow_ups:
            if fu.key_point == kp_id:
                return FollowUp(kp_id, fu.text)
    return None


def decide(
    config: TrackConfig,
    *,
    question: Question,
    assessment: Assessment,
    follow_ups_asked: list[str],
    questions_asked: int,
    difficulty: int,
    skipped: bool = False,
) -> Decision:
    if not skipped and len(follow_ups_asked) < config.follow_up_budget and assessment.score < GOOD_ENOUGH:
        follow_up = pick_follow_up(question, assessment, follow_ups_asked)
        if follow_up is not None:
            return follow_up
    if questions_asked < config.questions:
        return NextQuestion(next_difficulty(difficulty, assessment.score, config.difficulty))
    return CloseTrack()
