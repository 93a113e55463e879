"""The `interviewer` command.

interviewer bank validate [PATH]   check the knowledge base, report every problem
interviewer bank export PATH       the bank (files + HR's edits) as a knowledge folder or .zip
interviewer bank import PATH       save a knowledge folder or .zip as HR's edits
interviewer ingest                 embed questions and articles into the vector index
interviewer search TEXT            find questions (and passages) in the index
interviewer explore                interactive search of the bank in the terminal
interviewer interview              a mock interview in the terminal
interviewer score [FILE]           score answers (JSON lines in and out)
interviewer eval --labels FILE     agreement of the scorer with labelled answers
interviewer exercise list|run      coding exercises; run a solution in the sandbox (cli_exercise.py)
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.table import Table

from interviewer.bank import BankError, Retriever, load_bank, open_index
from interviewer.config import Settings, load_settings
from interviewer.domain import TRACKS, TrackId

app = typer.Typer(
    help="An AI mock interviewer for Senior Python Developer roles.",
    no_args_is_help=True,
    add_completion=False,
)
bank_app = typer.Typer(help="Work with the question bank.", no_args_is_help=True)
app.add_typer(bank_app, name="bank")

out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 160)
err = Console(stderr=True, soft_wrap=True)


def _settings() -> Settings:
    try:
        return load_settings()
    except ValueError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _load(settings: Settings) -> object:
    try:
        return load_bank(settings.knowledge_dir)
    except BankError as exc:
        err.print(f"[red]{exc}[/red]\nrun `interviewer bank validate` for the full list")
        raise typer.Exit(1) from exc


@bank_app.command("validate")
def bank_validate(
    path: Annotated[Optional[Path], typer.Argument(help="knowledge folder")] = None,  # noqa: UP045
) -> None:
    """Check every file of the knowledge base, and run every exercise's reference solution
    against its tests in the sandbox; exit non-zero if anything is wrong."""
    from interviewer.cli_exercise import report_exercises
    from interviewer.cli_startup import report_validation

    root = path or _settings().knowledge_dir
    bank_ok = report_validation(root, out) is not None
    if not (report_exercises(root, out) and bank_ok):
        raise typer.Exit(1)


def _bank_sync(settings: Settings, *, create_db: bool = False, missing_ok: bool = False) -> object:
    """Seed files + HR's edits in the database (no index: servers re-index when they notice).
    With `missing_ok` and no database yet: the files alone (nothing is created)."""
    from interviewer.bank.sync import BankSync
    from interviewer.cli_db import open_database

    db = open_database(settings, create=create_db, err=err, missing_ok=missing_ok)
    if db is None:
        err.print("no database yet: the shipped files only")
        return SimpleNamespace(bank=_load(settings))
    sync = BankSync(bank=_load(settings), db=db, index=None)  # type: ignore[arg-type]
    sync.refresh()
    return sync


@bank_app.command("export")
def bank_export(
    path: Annotated[Path, typer.Argument(help="an empty or new folder, or a file name ending in .zip")],
) -> None:
    """Write the whole bank (shipped files + HR's edits) in the knowledge/ format."""
    from interviewer.bank.archive import ArchiveError, export_folder, export_zip

    sync: Any = _bank_sync(_settings(), missing_ok=True)
    try:
        if path.suffix == ".zip":
            path.write_bytes(export_zip(sync.bank))
            out.print(f"wrote {path}", highlight=False)
        else:
            n = export_folder(sync.bank, path)
            out.print(f"wrote {n} files to {path}", highlight=False)
    except (ArchiveError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@bank_app.command("import")
def bank_import(
    path: Annotated[Path, typer.Argument(help="a knowledge folder or a .zip of one", exists=True)],
    create_db: Annotated[bool, typer.Option(help="create the database if it does not exist yet")] = False,
) -> None:
    """Save every question, track and plan of PATH that differs from the bank as a new version in
    the database (HR's edits; nothing is deleted, articles are not imported)."""
    from interviewer.bank.archive import ArchiveError, read_bank
    from interviewer.bank.sync import EditError, Invalid

    settings = _settings()
    sync: Any = _bank_sync(settings, create_db=create_db)
    try:
        source = path.read_bytes() if path.is_file() else path
        incoming, problems = read_bank(source, articles_from=settings.knowledge_dir / "articles")
        if problems:
            for problem in problems:
                out.print(f"[red]✗[/red] {problem}", highlight=False)
            raise typer.Exit(1)
        counts = sync.import_bank(incoming, author="cli")
    except Invalid as exc:
        for problem in exc.problems:
            out.print(f"[red]✗[/red] {problem}", highlight=False)
        raise typer.Exit(1) from exc
    except (ArchiveError, EditError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    summary = "; ".join(f"{k}: " + ", ".join(f"{n} {s}" for s, n in v.items()) for k, v in counts.items())
    out.print(f"[green]imported[/green] {summary}", highlight=False)


@app.command()
def ingest() -> None:
    """Embed the question bank and the reference articles into the vector index (only changes)."""
    from interviewer.cli_startup import ingest_with_progress

    settings = _settings()
    report = ingest_with_progress(settings, _load(settings), err=err)  # type: ignore[arg-type]
    out.print(report.summary(), highlight=False)


def _retriever(settings: Settings) -> Retriever:
    bank = _load(settings)
    index = open_index(settings)
    if index.count("questions") == 0:
        err.print("the index is empty: run `interviewer ingest` first")
        raise typer.Exit(1)
    return Retriever(bank, index)  # type: ignore[arg-type]


def _show(
    retriever: Retriever,
    text: str,
    *,
    track: TrackId | None,
    topic: str | None,
    difficulty: int | None,
    limit: int,
) -> None:
    hits = retriever.find_questions(
        text, track=track, topics={topic} if topic else None, difficulty=difficulty, limit=limit
    )
    table = Table(title=f"questions for {text!r}", show_lines=False)
    for col in ("score", "id", "track", "topic", "diff"):
        table.add_column(col, no_wrap=True)
    table.add_column("question", ratio=1)
    for hit in hits:
        q = hit.question
        table.add_row(f"{hit.score:.2f}", q.id, q.track, q.topic, str(q.difficulty), q.question)
    out.print(table)
    passages = retriever.find_passages(text, limit=2)
    for p in passages:
        out.print(
            f"[bold]{p.score:.2f} {p.chunk.title} — {p.chunk.heading}[/bold] "
            f"(knowledge/articles/{p.chunk.article}.md)",
            highlight=False,
        )


@app.command()
def search(
    text: Annotated[str, typer.Argument(help="free text: a question, a topic, an answer")],
    track: Annotated[Optional[str], typer.Option(help="architecture|python|problem_solving")] = None,  # noqa: UP045
    topic: Annotated[Optional[str], typer.Option()] = None,  # noqa: UP045
    difficulty: Annotated[Optional[int], typer.Option(min=1, max=3)] = None,  # noqa: UP045
    limit: Annotated[int, typer.Option(min=1, max=50)] = 5,
) -> None:
    """Find the questions and reference passages closest to TEXT."""
    if track is not None and track not in TRACKS:
        err.print(f"unknown track {track!r}; use one of {', '.join(TRACKS)}")
        raise typer.Exit(2)
    retriever = _retriever(_settings())
    _show(retriever, text, track=track, topic=topic, difficulty=difficulty, limit=limit)


@app.command()
def explore() -> None:
    """Interactive search of the bank: type a query, get questions and passages (Ctrl-D quits)."""
    retriever = _retriever(_settings())
    bank = retriever.bank
    out.print(
        f"{len(bank.questions)} questions, {len(bank.articles)} articles. Type a query "
        "(prefix with 'python:', 'architecture:' or 'problem_solving:' to filter by track); "
        "Ctrl-D to quit."
    )
    while True:
        try:
            line = input("search> ").strip()
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if not line:
            continue
        track: TrackId | None = None
        head, sep, rest = line.partition(":")
        if sep and head.strip() in TRACKS:
            track, line = head.strip(), rest.strip()  # type: ignore[assignment]
        _show(retriever, line, track=track, topic=None, difficulty=None, limit=5)


def _register_engine_commands() -> None:
    from interviewer import cli_engine, cli_exercise, cli_web

    cli_engine.register(app, _settings, out, err)
    cli_web.register(app, _settings, out, err)
    cli_exercise.register(app, _settings, out, err)


_register_engine_commands()


def main() -> None:
    from interviewer.store.faults import describe

    try:
        app()
    except BrokenPipeError:  # `interviewer search ... | head`
        sys.stderr.close()
    except Exception as exc:
        reason = describe(exc)  # storage an operator must fix: one line, not a traceback
        if reason is None:
            raise
        err.print(f"interviewer: {reason}", highlight=False, markup=False)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
