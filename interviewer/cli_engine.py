"""`interviewer interview`, `interviewer score` and `interviewer eval`: the engine from the terminal.

interview   a whole mock interview in the terminal (the conversation itself: cli_interview.py)
score       JSON lines in -> JSON lines out (DESIGN.md contract)
eval        agreement of the scorer with a labelled file, beside keyword and length baselines
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional, TextIO

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from interviewer.config import Settings
from interviewer.services.evaluation import (
    HALVES,
    AgreementRow,
    LabelledAnswer,
    ScoreInput,
    Scoring,
    agreement_rows,
)


def register(app: typer.Typer, get_settings: Callable[[], Settings], out: Console, err: Console) -> None:
    """Attach the engine commands to the main app (kept apart to keep modules small)."""

    @app.command()
    def interview(
        plan: Annotated[Optional[str], typer.Option(help="plan id (knowledge/tracks, kind: plan)")] = None,  # noqa: UP045
        offline: Annotated[
            bool, typer.Option(help="use the offline engine even if a model is configured")
        ] = False,
        seed: Annotated[Optional[int], typer.Option(help="question-selection seed (repeatable runs)")] = None,  # noqa: UP045
        save: Annotated[Optional[Path], typer.Option(help="where to save the transcript (JSON)")] = None,  # noqa: UP045
        resume: Annotated[
            Optional[Path],  # noqa: UP045
            typer.Option(help="go on with an interview that ended early (its saved transcript)", exists=True),
        ] = None,
    ) -> None:
        """Run a whole mock interview in the terminal, with HR's track settings from the database.
        Answers may span several lines: an empty line sends (inside ``` fences empty lines are
        kept); Ctrl-D ends early with a report of what was answered (`--resume` goes on)."""
        from interviewer import cli_interview

        settings = get_settings()
        if resume is not None and (plan is not None or seed is not None):
            err.print(
                "--resume goes on with the saved interview's plan and seed; leave out --plan and --seed"
            )
            raise typer.Exit(2)
        cli_interview.run(settings, out, err, plan=plan, offline=offline, seed=seed, save=save, resume=resume)

    @app.command()
    def score(
        file: Annotated[Optional[Path], typer.Argument(help="JSON lines; default: stdin")] = None,  # noqa: UP045
        offline: Annotated[bool, typer.Option(help="offline scorer even if a model is configured")] = False,
    ) -> None:
        """Score answers: reads {"id","question","key_points","answer","track"?} per line and writes
        {"id","score","criteria":[{"name","score","evidence"}],"flags"} per line."""
        settings = get_settings()
        stream: TextIO = file.open(encoding="utf-8") if file else sys.stdin
        scoring = Scoring.open(settings, offline=offline)
        bad = 0
        for n, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                item = ScoreInput.model_validate_json(line)
            except ValidationError as exc:
                bad += 1
                err.print(
                    f"line {n}: invalid input: {exc.errors(include_url=False, include_input=False)[0]['msg']}"
                )
                continue
            result = asyncio.run(scoring.score(item))
            sys.stdout.write(json.dumps(dataclasses.asdict(result), ensure_ascii=False) + "\n")
            sys.stdout.flush()
        if bad:
            raise typer.Exit(1)

    @app.command("eval")
    def eval_(
        labels: Annotated[
            Optional[Path],  # noqa: UP045
            typer.Option("--labels", help="labelled JSON lines (score input + label)"),
        ] = None,
        corpus: Annotated[
            Optional[Path],  # noqa: UP045
            typer.Option(
                "--corpus", help="a judgement corpus folder (tests/data/judgement): every figure, per half"
            ),
        ] = None,
        offline: Annotated[bool, typer.Option(help="offline scorer even if a model is configured")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print the corpus figures as JSON")] = False,
        half: Annotated[
            Optional[str],  # noqa: UP045
            typer.Option(help="with --corpus: only this half (tune or test)"),
        ] = None,
        limit: Annotated[
            Optional[int],  # noqa: UP045
            typer.Option(min=1, help="with --corpus: at most N items of each kind per half, spread evenly"),
        ] = None,
    ) -> None:
        """Agreement of the scorer with human labels, beside keyword-overlap and length baselines;
        with --corpus, every judgement figure of the corpus for its tuning and test halves."""
        settings = get_settings()
        if (labels is None) == (corpus is None):
            err.print("give one of --labels FILE or --corpus DIR")
            raise typer.Exit(2)
        if corpus is not None:
            from interviewer import cli_eval

            if not (corpus / "answers.jsonl").is_file():
                err.print(f"not a judgement corpus (no answers.jsonl): {corpus}")
                raise typer.Exit(2)
            if half not in (None, "tune", "test"):
                err.print("--half is tune or test")
                raise typer.Exit(2)
            halves = tuple(h for h in HALVES if half in (None, h))
            scoring = Scoring.open(settings, offline=offline)
            try:
                cli_eval.run(scoring, corpus, out, as_json=as_json, halves_wanted=halves, limit=limit)
            except (OSError, ValidationError, KeyError) as exc:
                err.print(f"cannot evaluate the corpus: {exc}")
                raise typer.Exit(2) from exc
            return
        assert labels is not None
        try:
            items = [
                LabelledAnswer.model_validate_json(line)
                for line in labels.read_text(encoding="utf-8").splitlines()
                if line.strip()
            ]
        except (OSError, ValidationError) as exc:
            err.print(f"cannot read labels: {exc}")
            raise typer.Exit(2) from exc
        scoring = Scoring.open(settings, offline=offline)
        started = time.perf_counter()
        scores = asyncio.run(scoring.score_labelled(items))
        rate = len(items) / (time.perf_counter() - started)
        _print_agreement(agreement_rows(items, scores), len(items), rate, out)


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _print_agreement(rows: list[AgreementRow], n: int, rate: float, out: Console) -> None:
    table = Table(title=f"Scorer agreement with labels ({n} answers, {rate:.1f} answers/s)")
    for col in (
        "set",
        "scorer",
        "spearman",
        "pairwise",
        "in range",
        "short>long-wrong",
        "adequate>conf-wrong",
    ):
        table.add_column(col)
    for row in rows:
        a = row.agreement
        table.add_row(
            f"{row.group} (n={a.n})",
            row.scorer,
            _fmt(a.spearman),
            _fmt(a.pairwise),
            _fmt(a.within_range),
            _fmt(a.short_over_long_wrong),
            _fmt(a.adequate_over_confident_wrong),
        )
    out.print(table)
