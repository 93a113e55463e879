"""The report: per track and overall, per-criterion averages, strengths, gaps and what to study.

After a practice interview the key points may be said: gaps are the missed key points of the
weaker answers, and the study list is the reference articles of those questions. An assessment's
key points are the bank's answer key and never reach the candidate: `candidate_view` shows the
topics to work on instead (`TrackReport.focus`), and evaluators read the whole report.

Everything is named as people know it: topics by the track's `topic_titles`, criteria by the
track's rubric titles, articles by their own headings."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from interviewer.bank.loader import Bank
from interviewer.domain import HiringRecommendation, Question, Reading, Report, TrackConfig, TrackReport
from interviewer.engine.policy import corrections
from interviewer.engine.state import SessionState

STRONG = 3.8
STRONG_NO_HIRE_BELOW = 2.0


def topic_title(config: TrackConfig, topic: str) -> str:
    """A topic as people read it: the track's title for it, else its slug in words."""
    title = config.topic_titles.get(topic)
    if title:
        return title
    words = topic.replace("-", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def hiring_recommendation(verdict: str, score: float | None) -> HiringRecommendation:
    """The machine's verdict in the evaluator's words (the options of the review's form)."""
    if verdict == "strong":
        return "strong hire"
    if verdict == "pass":
        return "hire"
    return "strong no hire" if score is not None and score < STRONG_NO_HIRE_BELOW else "no hire"


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
        exercised = [(e.title, e.assessment) for e in ts.exercises if e.assessment is not None]
        scores = [a.score for _, a in assessed] + [a.score for _, a in exercised]
        score = sum(scores) / len(scores)
        crit: dict[str, list[float]] = defaultdict(list)
        for a in [a for _, a in assessed] + [a for _, a in exercised]:
            for c in a.criteria:
                crit[c.id].append(c.score)
        strengths, gaps, study, flags, focus = [], [], [], [], []
        for qs, a in assessed:
            question = lookup.get(qs.question_id)
            if question is None:  # withdrawn, and asked before revisions were kept
                flags += [f for f in a.flags if f not in flags]
                continue
            topic = topic_title(config, question.topic)
            if a.score >= STRONG:
                strengths.append(f"{topic}: strong answer ({a.score:.1f}/5)")
            elif topic not in focus:
                focus.append(topic)
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
        for title, a in exercised:  # coding exercises (tests, complexity, discussion) come first
            line = f"Coding exercise {title}: {a.score:.1f}/5"
            (strengths if a.score >= STRONG else gaps).insert(0, line)
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
                criteria_titles={c.id: c.title for c in config.rubric if c.id in crit},
                reading=[
                    Reading(slug=s, title=bank.articles[s].title) for s in study[:4] if s in bank.articles
                ],
                focus=focus,
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
        mode=state.mode,
    )


def candidate_view(report: dict[str, Any]) -> dict[str, Any]:
    """The stored report as its candidate may read it. Assessment mode: the topics to work on in
    place of the gaps (which quote key points and corrections), no narrative (written from them)."""
    if report.get("mode") != "assessment":
        return report
    tracks = [
        {**t, "gaps": [f"{topic}: go deeper" for topic in t.get("focus", [])]}
        for t in report.get("tracks", [])
    ]
    return {**report, "tracks": tracks, "narrative": ""}


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
