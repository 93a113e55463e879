"""`interviewer eval --corpus DIR`: every judgement figure of the corpus, per half.

The corpus answers (offline batched, or through the model scorer when one is configured), the
style rewrites, the attacks with their clean twins and the honest-but-tricky answers are scored
by `services/evaluation.py`; this prints one table per half beside the targets. Only the test
half's figures are results: the tuning half is what the scorer's numbers were fitted on.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

from interviewer.services.evaluation import HALVES, Figures, Half, Scoring

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


def run(
    scoring: Scoring,
    directory: Path,
    out: Console,
    *,
    as_json: bool = False,
    halves_wanted: Sequence[Half] = HALVES,
    limit: int | None = None,
) -> None:
    """`limit`: at most this many answers (and attacks, honest answers) per half, spread evenly
    over the questions and levels — for a slow model scorer."""
    halves = scoring.corpus_figures(directory, halves=halves_wanted, limit=limit)
    if as_json:
        out.print_json(json.dumps(halves))
        return
    scorer = "model scorer" if scoring.uses_model else "offline scorer"
    table = Table(title=f"Judgement on {directory} ({scorer}); the test half is the result")
    for col in ("figure", "tuning half", "test half", "target", "met (test)"):
        table.add_column(col)
    empty: Figures = {}
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


def _fmt(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.0f}" if float(x).is_integer() and abs(x) >= 2 else f"{x:.3f}"
