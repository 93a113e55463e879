"""`interviewer interview`, `interviewer score` and `interviewer eval`: the engine from the terminal.

interview   a whole mock interview in the terminal (the conversation itself: cli_interview.py)
score       JSON lines in -> JSON lines out (DESIGN.md contract)
eval        agreement of the scorer with a labelled file, beside keyword and length baselines
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Annotated, Any, Optional, TextIO

import typer
from pydantic import ValidationError
from rich.table import Table

from interviewer.bank import Retriever, load_bank, open_index
from interviewer.config import Settings
from interviewer.engine import make_model, make_model_scorer
from interviewer.engine.adhoc import ScoreInput, resolve
from interviewer.engine.evaluation import Half
from interviewer.engine.metrics import Agreement, LabelledAnswer, agreement, keyword_baseline, length_baseline
from interviewer.engine.offline_scorer import OfflineScorer
from interviewer.engine.prompts import load_prompts
from interviewer.engine.scoring import Assessor, Exchange
from interviewer.llm.tokens import TokenCounter


def register(app: typer.Typer, settings_factory: object, out: object, err: object) -> None:
    """Attach the engine commands to the main app (kept apart to keep modules small)."""
    from rich.console import Console

    assert isinstance(out, Console) and isinstance(err, Console)
    get_settings = settings_factory  # a callable returning Settings

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

        settings: Settings = get_settings()  # type: ignore[operator]
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
        settings: Settings = get_settings()  # type: ignore[operator]
        stream: TextIO = file.open(encoding="utf-8") if file else sys.stdin
        assessor, retriever = _assessor(settings, offline=offline)
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
            result = asyncio.run(_score_one(assessor, retriever, item, settings))
            sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
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
        settings: Settings = get_settings()  # type: ignore[operator]
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
            halves: tuple[Half, ...] = ("tune", "test") if half is None else (half,)  # type: ignore[assignment]
            assessor, retriever = _assessor(settings, offline=offline)
            try:
                cli_eval.run(
                    assessor, retriever.bank, corpus, out, as_json=as_json, halves_wanted=halves, limit=limit
                )
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
        assessor, retriever = _assessor(settings, offline=offline)
        started = time.perf_counter()
        scores = asyncio.run(_score_all(assessor, retriever, items, settings))
        rate = len(items) / (time.perf_counter() - started)
        _print_agreement(items, scores, rate, out)


def _assessor(settings: Settings, *, offline: bool) -> tuple[Assessor, Retriever]:
    bank = load_bank(settings.knowledge_dir)
    index = open_index(settings)
    if index.count("questions") == 0:
        index.ingest(bank)
    retriever = Retriever(bank, index)
    model = None if offline else make_model(settings)
    model_scorer = None
    if model is not None:
        model_scorer = make_model_scorer(
            model,
            load_prompts(settings.prompts_dir),
            form=settings.model_scorer,
            counter=TokenCounter(settings.tokenizer_encoding),
            budget=settings.prompt_token_budget,
        )
    scorer = OfflineScorer(index.embedder, cache_dir=settings.data_dir / "vectors")
    return Assessor(scorer, model_scorer=model_scorer, retriever=retriever), retriever


async def _score_one(
    assessor: Assessor, retriever: Retriever, item: ScoreInput, settings: Settings
) -> dict[str, Any]:
    question = resolve(item, retriever)
    track = retriever.bank.tracks[question.track]
    a = await assessor.assess(
        question, [Exchange(question.question, item.answer)], track.rubric, track_title=track.title
    )
    return {
        "id": item.id,
        "score": a.score,
        "criteria": [{"name": c.id, "score": c.score, "evidence": c.evidence} for c in a.criteria],
        "flags": a.flags,
        "covered": a.covered,
        "missed": a.missed,
        "scorer": a.scorer,
        "notes": a.notes,
    }


async def _score_all(
    assessor: Assessor, retriever: Retriever, items: list[LabelledAnswer], settings: Settings
) -> list[float]:
    inputs = [
        ScoreInput(
            id=i.id,
            question=i.question,
            key_points=i.key_points,
            answer=i.answer,
            track=i.track,
            question_id=i.question_id,
        )
        for i in items
    ]
    if not assessor.uses_model:  # batched: one embedding call for every answer
        questions = [resolve(si, retriever) for si in inputs]
        batch = [
            (q, si.answer, retriever.bank.tracks[q.track].rubric)
            for q, si in zip(questions, inputs, strict=True)
        ]
        return [a.score for a in assessor.assess_offline_many(batch)]
    return [(await _score_one(assessor, retriever, si, settings))["score"] for si in inputs]


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _print_agreement(items: list[LabelledAnswer], scores: list[float], rate: float, out: object) -> None:
    groups: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups["all"].append(i)
        groups[item.track or "?"].append(i)
    table = Table(title=f"Scorer agreement with labels ({len(items)} answers, {rate:.1f} answers/s)")
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
    for name, idx in groups.items():
        rows: list[tuple[str, Agreement]] = [
            ("interviewer", agreement([(items[i], scores[i]) for i in idx])),
            ("keyword overlap", agreement([(items[i], keyword_baseline(items[i])) for i in idx])),
            ("length only", agreement([(items[i], length_baseline(items[i])) for i in idx])),
        ]
        for label, a in rows:
            table.add_row(
                f"{name} (n={a.n})",
                label,
                _fmt(a.spearman),
                _fmt(a.pairwise),
                _fmt(a.within_range),
                _fmt(a.short_over_long_wrong),
                _fmt(a.adequate_over_confident_wrong),
            )
    out.print(table)  # type: ignore[attr-defined]
