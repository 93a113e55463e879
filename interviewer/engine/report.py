"""The report: per track and overall, per-criterion averages, strengths, gaps and what to study.

After the interview the key points may be said: gaps are the missed key points of the weaker
answers, and the study list is the reference articles of those questions."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping

from interviewer.bank.loader import Bank
from interviewer.domain import Question
from interviewer.engine.policy import corrections
from interviewer.engine.state import Report, SessionState, TrackReport

STRONG = 3.8


def build_report(
    state: SessionState, bank: Bank, *, narrative: str = "", questions: Mapping[str, Question] | None = None
) -> Report:
    """`questions`: the bank's questions as this session sees them (the revisions it asked win);
    the bank's own by default."""
    lookup = bank.questions if questions is None else questions
    tracks: list[TrackReport] = []
    for ts in state.tracks:
        config = state.config(ts.track, bank)
        assessed = [(q, q.assessment) for q in ts.questions if q.assessment is not None]
        if not assessed:
            continue
        score = sum(a.score for _, a in assessed) / len(assessed)
        crit: dict[str, list[float]] = defaultdict(list)
        for _, a in assessed:
            for c in a.criteria:
                crit[c.id].append(c.score)
        strengths, gaps, study, flags = [], [], [], []
        for qs, a in assessed:
            question = lookup.get(qs.question_id)
            if question is None:  # withdrawn, and asked before revisions were kept
                flags += [f for f in a.flags if f not in flags]
                continue
            if a.score >= STRONG:
                strengths.append(f"{question.topic.replace('-', ' ')}: strong answer ({a.score:.1f}/5)")
            gaps += corrections(question, a)
            for kp in question.key_points:
                if kp.id in a.missed and kp.weight >= 2 and a.score < STRONG:
                    gaps.append(kp.text)
            if a.score < config.pass_threshold:
                # below the pass mark the points not clearly stated are gaps too (the scorer was
                # unsure of them: "go deeper", never "you did not mention")
                unsure = [
                    kp for kp in question.key_points if kp.id not in a.covered and kp.id not in a.missed
                ]
                gaps += [
                    f"Go deeper on: {kp.text.strip()}" for kp in sorted(unsure, key=lambda k: -k.weight)[:1]
                ]
            if a.score < STRONG:
                study += [r for r in question.references if r not in study]
            flags += [f for f in a.flags if f not in flags]
        if not gaps and score < config.pass_threshold:
            gaps.append(
                f"The answers in this track averaged {score:.1f}/5, below the pass mark of "
                f"{config.pass_threshold:.1f}: state the mechanisms and trade-offs more fully."
            )
        tracks.append(
            TrackReport(
                track=ts.track,
                title=config.title,
                score=round(score, 2),
                passed=score >= config.pass_threshold,
                pass_threshold=config.pass_threshold,
                criteria={k: round(sum(v) / len(v), 2) for k, v in crit.items()},
                strengths=strengths,
                gaps=gaps[:8],
                study=study[:4],
                questions=[q.question_id for q, _ in assessed],
                flags=flags,
            )
        )
    overall = sum(t.score for t in tracks) / len(tracks) if tracks else 1.0
    recommendation = (
        "strong"
        if overall >= STRONG and all(t.passed for t in tracks)
        else "pass"
        if all(t.passed for t in tracks) and tracks
        else "not yet"
    )
    return Report(
        plan_id=state.plan_id,
        score=round(overall, 2),
        recommendation=recommendation,
        tracks=tracks,
        narrative=narrative or offline_narrative(tracks, bank),
        flags=sorted({f for t in tracks for f in t.flags}),
    )


def offline_narrative(tracks: list[TrackReport], bank: Bank) -> str:
    lines = []
    for t in tracks:
        verdict = "passed" if t.passed else "not passed yet"
        lines.append(f"{t.title}: {t.score:.1f}/5 ({verdict}).")
        if t.strengths:
            lines.append("  Strengths: " + "; ".join(t.strengths[:3]) + ".")
        if t.gaps:
            lines.append("  To work on: " + t.gaps[0].strip())
        if t.study:
            lines.append(
                "  Read: " + "; ".join(bank.articles[s].title for s in t.study if s in bank.articles) + "."
            )
    return "\n".join(lines)


def results_text(tracks: list[TrackReport]) -> str:
    """The facts the model's narrative is written from."""
    out = []
    for t in tracks:
        out.append(
            f"{t.title}: score {t.score}/5, {'passed' if t.passed else 'not passed'}; "
            f"criteria {t.criteria}; strengths: {t.strengths}; gaps: {t.gaps[:4]}; "
            f"articles: {t.study}"
        )
    return "\n".join(out)
