"""`interviewer interview`: a whole mock interview in the terminal.

- The same bank as the web app: the shipped files with HR's saved versions from the database on
  top (`services/terminal.py`), so HR's track settings (questions per track, follow-up budget,
  ...) apply here too. The database is read when it exists, never created
  (`cli_db.open_database`).
- Answers span several lines: an empty line sends. Code can be pasted: inside a ``` fence empty
  lines are part of the answer. Ctrl-D (end of input) sends what was typed, then ends the
  interview; Ctrl-C ends it and drops the unsent answer.
- Ended early, the interview prints a report of what was answered, saves its state and says how
  to go on with it (`--resume FILE`).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from interviewer.cli_db import open_database
from interviewer.config import Settings
from interviewer.domain import Turn
from interviewer.errors import Invalid
from interviewer.services.terminal import Database, Report, SessionState, TerminalInterview

HINT = (
    "Answer in as many lines as you like; an empty line sends the answer (inside ``` fences "
    "empty lines are kept, so code can be pasted). Ctrl-D ends the interview."
)
FENCE = "```"


def read_answer(read: Callable[[str], str] = input) -> str | None:
    """One answer: the lines up to an empty line outside a ``` fence (leading empty lines are
    skipped). At end of input the lines typed so far are the answer; None when there are none."""
    lines: list[str] = []
    fenced = False
    while True:
        try:
            line = read("you> " if not lines else "...  ")
        except EOFError:
            return "\n".join(lines) if lines else None
        if line.lstrip().startswith(FENCE):
            fenced = not fenced
        elif not line.strip() and not fenced:
            if lines:
                return "\n".join(lines)
            continue
        lines.append(line)


def _hr_database(settings: Settings, err: Console) -> Database | None:
    """The database with HR's edits when there is one (never created), after saying which it is."""
    db = open_database(settings, create=False, err=err, missing_ok=True)
    if db is None:
        err.print("no database yet: the shipped tracks and questions (knowledge/)", highlight=False)
    return db


def run(
    settings: Settings,
    out: Console,
    err: Console,
    *,
    plan: str | None,
    offline: bool,
    seed: int | None,
    save: Path | None,
    resume: Path | None,
) -> None:
    session = TerminalInterview.open(settings, offline=offline, database=lambda: _hr_database(settings, err))
    state: SessionState | None = None
    if resume is not None:
        state = _load(resume, session, err)
        save = save or resume
    else:
        if plan is None and sys.stdin.isatty():
            plan = _choose_plan(session, out)
        try:
            session.check_plan(plan)
        except Invalid as exc:
            err.print(str(exc))
            raise typer.Exit(2) from exc
    path = save or settings.data_dir / "interviews" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    state = _interview(session, state, plan, seed, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(state.model_dump_json(indent=2), encoding="utf-8")
    if state.report is not None:
        _print_report(state.report, out)
        out.print(f"transcript saved to {path}", highlight=False)
        return
    report = session.report_so_far(state)
    if report.tracks:
        out.print("Report so far (the questions answered before the interview ended):")
        _print_report(report, out)
    else:
        out.print("No question was answered: no report yet.")
    out.print(f"transcript saved to {path}", highlight=False)
    out.print(f"to go on with this interview: interviewer interview --resume {path}", highlight=False)


def _load(path: Path, session: TerminalInterview, err: Console) -> SessionState:
    try:
        state = SessionState.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError) as exc:
        err.print(f"cannot resume from {path}: not a saved interview ({type(exc).__name__})", highlight=False)
        raise typer.Exit(2) from exc
    missing = session.missing_question(state)
    if missing is not None:
        err.print(f"cannot resume: question {missing!r} is no longer in the bank", highlight=False)
        raise typer.Exit(1)
    return state


def _choose_plan(session: TerminalInterview, out: Console) -> str:
    plans = session.plans()
    for i, p in enumerate(plans, start=1):
        out.print(f"  {i}. {p.title} [{p.id}]", highlight=False, markup=False)
    choice = input("Choose an interview [1]: ").strip() or "1"
    if choice.isdigit() and 1 <= int(choice) <= len(plans):
        return plans[int(choice) - 1].id
    return choice


def _interview(
    session: TerminalInterview,
    state: SessionState | None,
    plan: str | None,
    seed: int | None,
    out: Console,
) -> SessionState:
    """The conversation. Input is read in this (the main) thread between turns, outside the event
    loop, so that Ctrl-C while typing ends the interview cleanly; one runner (one event loop)
    serves every turn, so a model client's connections stay on the loop that opened them."""
    with asyncio.Runner() as runner:
        if state is None:
            result = runner.run(session.start(plan, seed=seed))
            state = result.state
            _stream(result.messages)
        else:
            _stream([t for t in state.turns if t.role == "interviewer"][-1:])  # where it stopped
        if state.status == "active":
            out.print(f"[dim]{HINT}[/dim]")
        while state.status == "active":
            track = state.track
            if track is not None:
                total = session.questions_planned(state, track.track)  # the settings it started with
                out.print(f"[dim]({track.track} · question {len(track.questions)} of {total})[/dim]")
            try:
                answer = read_answer()
                if answer is None:
                    break
                result = runner.run(session.answer(state, answer))  # `state` is left as it was on Ctrl-C
            except KeyboardInterrupt:
                break
            state = result.state
            _stream(result.messages[1:])
        if state.status == "active":
            out.print("\n[interview ended early]", markup=False)
    return state


def _stream(turns: list[Turn]) -> None:
    """Print interviewer messages progressively (they are checked before anything is shown)."""
    tty = sys.stdout.isatty()
    for turn in turns:
        if turn.role != "interviewer":
            continue
        sys.stdout.write("\ninterviewer> ")
        for i in range(0, len(turn.content), 12):
            sys.stdout.write(turn.content[i : i + 12])
            sys.stdout.flush()
            if tty:
                time.sleep(0.01)
        sys.stdout.write("\n\n")
    sys.stdout.flush()


def _print_report(report: Report, out: Console) -> None:
    table = Table(title=f"Report — overall {report.score:.2f}/5 ({report.recommendation})")
    for col in ("track", "score", "passed", "criteria", "study"):
        table.add_column(col)
    for t in report.tracks:
        table.add_row(
            t.title,
            f"{t.score:.2f}",
            "yes" if t.passed else "no",
            ", ".join(f"{k} {v:.1f}" for k, v in t.criteria.items()),
            ", ".join(t.study),
        )
    out.print(table)
