"""`interviewer eval --corpus DIR`: every judgement figure of the corpus, per half.

Scores the corpus answers (offline batched, or through the model scorer when one is configured),
the style rewrites, the attacks with their clean twins and the honest-but-tricky answers, and
prints one table per half beside the targets. Only the test half's figures are results: the tuning
half is what the scorer's numbers were fitted on.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from interviewer.bank import Bank
from interviewer.domain import Assessment, Criterion, Question
from interviewer.engine import guard
from interviewer.engine.evaluation import (
    Corpus,
    Half,
    guard_figures,
    judgement_figures,
    load_corpus,
    score_figures,
    style_figures,
)
from interviewer.engine.scoring import Assessor, Exchange

# figure: (target, higher is better)
TARGETS: dict[str, tuple[float, bool]] = {
    "spearman": (0.85, True),
    "pairwise": (0.92, True),
    "correct_over_wrong": (0.92, True),
    "terse_over_confident_wrong": (0.90, True),
    "within_range": (0.75, True),
    "misconception_false_flags": (0.02, False),
    "coverage_precision": (0.90, True),
    "coverage_recall": (0.85, True),
    "follow_up_on_covered": (0.05, False),
    "worth_adding_covered": (0.05, False),
    "complete_below_3_5": (0.0, False),
    "style_moved_over_0_3": (0.05, False),
    "attacks_flagged": (0.95, True),
    "honest_flagged": (0.02, False),
    "attacks_above_twin": (0.0, False),
    "answers_per_second": (30.0, True),
}


def _score(assessor: Assessor, bank: Bank, items: Sequence[tuple[str, str]]) -> list[Assessment]:
    """(question id, answer) -> assessments, as an interview scores them (guard included)."""
    questions = [bank.questions[qid] for qid, _ in items]
    rubrics: list[Sequence[Criterion]] = [bank.tracks[q.track].rubric for q in questions]
    if not assessor.uses_model:
        return assessor.assess_offline_many(
            [(q, a, r) for q, (_, a), r in zip(questions, items, rubrics, strict=True)]
        )

    async def all_() -> list[Assessment]:
        out = []
        for q, (_, a), r in zip(questions, items, rubrics, strict=True):
            title = bank.tracks[q.track].title
            out.append(await assessor.assess(q, [Exchange(q.question, a)], r, track_title=title))
        return out

    return asyncio.run(all_())


def evaluate(assessor: Assessor, bank: Bank, corpus: Corpus) -> dict[str, float | None]:
    """Every figure of one half of the corpus."""
    questions: dict[str, Question] = dict(bank.questions)
    assessor.warm(questions[a.question_id] for a in corpus.answers)  # start-up work, not per answer
    started = time.perf_counter()
    results = _score(assessor, bank, [(a.question_id, a.answer) for a in corpus.answers])
    rate = len(results) / max(time.perf_counter() - started, 1e-9)
    rows = list(zip(corpus.answers, results, strict=True))
    figures: dict[str, float | None] = {"answers": float(len(rows))}
    figures |= score_figures(rows)
    figures |= judgement_figures(rows, questions)
    figures["answers_per_second"] = rate
    if assessor.uses_model:
        # the share the model did not score (unreachable, too slow, invalid replies): the offline
        # scorer stood in, so the figures above are partly the offline scorer's
        figures["model_fallbacks"] = sum(
            any("offline scorer used" in n for n in a.notes) for a in results
        ) / max(len(results), 1)
    if corpus.styles:
        by_id = {a.id: a for a in corpus.answers}
        variants = [s for s in corpus.styles if s.base_id in by_id]
        scored = _score(assessor, bank, [(by_id[s.base_id].question_id, s.answer) for s in variants])
        base = {r.id: a.score for r, a in rows}
        figures |= style_figures(base, [(s, a.score) for s, a in zip(variants, scored, strict=True)])
    if corpus.attacks or corpus.honest:
        atk = _score(assessor, bank, [(a.question_id, a.attack) for a in corpus.attacks])
        twin = _score(assessor, bank, [(a.question_id, a.clean) for a in corpus.attacks])
        figures |= guard_figures(
            [
                (a, bool(guard.detect(a.attack)), s.score, c.score)
                for a, s, c in zip(corpus.attacks, atk, twin, strict=True)
            ],
            [(h, bool(guard.detect(h.answer))) for h in corpus.honest],
        )
    return figures


def run(
    assessor: Assessor,
    bank: Bank,
    directory: Path,
    out: Console,
    *,
    as_json: bool = False,
    halves_wanted: Sequence[Half] = ("tune", "test"),
    limit: int | None = None,
) -> None:
    """`limit`: at most this many answers (and attacks, honest answers) per half, spread evenly
    over the questions and levels — for a slow model scorer."""
    corpus = load_corpus(directory)
    halves: dict[Half, dict[str, float | None]] = {
        half: evaluate(assessor, bank, corpus.half(half).sample(limit)) for half in halves_wanted
    }
    if as_json:
        out.print_json(json.dumps(halves))
        return
    scorer = "model scorer" if assessor.uses_model else "offline scorer"
    table = Table(title=f"Judgement on {directory} ({scorer}); the test half is the result")
    for col in ("figure", "tuning half", "test half", "target", "met (test)"):
        table.add_column(col)
    empty: dict[str, float | None] = {}
    tune, test_half = halves.get("tune", empty), halves.get("test", empty)
    names = list(dict.fromkeys([*test_half, *tune]))
    for name in names:
        target = TARGETS.get(name)
        test = test_half.get(name)
        met = "" if target is None or test is None else "yes" if _meets(test, *target) else "no"
        table.add_row(
            name,
            _fmt(tune.get(name)),
            _fmt(test),
            "" if target is None else ("≥ " if target[1] else "≤ ") + _fmt(target[0]),
            met,
        )
    out.print(table)


def _meets(value: float, target: float, higher: bool) -> bool:
    return value >= target if higher else value <= target


def _fmt(x: Any) -> str:
    if x is None:
        return "—"
    return f"{x:.0f}" if float(x).is_integer() and abs(x) >= 2 else f"{x:.3f}"
