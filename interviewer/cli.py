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
interviewer serve                  the web app
interviewer exercise list|run      coding exercises; run a solution in the sandbox (cli_exercise.py)

The composition root of the command line: the commands here wire the bank, the store and the web
app directly; the other `cli_*` modules reach the application through `services/` only.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from interviewer.bank import Bank, BankError, Retriever, load_bank, open_index
from interviewer.config import Settings, load_settings
from interviewer.domain import TRACKS, TrackId

if TYPE_CHECKING:
    from interviewer.services.bank_edits import BankEdits
    from interviewer.services.exercises import ExerciseService
    from interviewer.store.db import Database

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


def _load(settings: Settings) -> Bank:
    try:
        return load_bank(settings.knowledge_dir)
    except BankError as exc:
        err.print(f"[red]{exc}[/red]\nrun `interviewer bank validate` for the full list")
        raise typer.Exit(1) from exc


@bank_app.command("validate")
def bank_validate(
    path: Annotated[Optional[Path], typer.Argument(help="knowledge folder")] = None,  # noqa: UP045
) -> None:
    """Check every file of the knowledge base, then (when they are valid) run every exercise's
    reference solution against its tests in the sandbox; exit non-zero if anything is wrong."""
    from interviewer.cli_exercise import report_exercises
    from interviewer.cli_startup import report_validation

    root = path or _settings().knowledge_dir
    # the files' problems, exercises' included, are listed once; the references run when none
    if not (report_validation(root, out) is not None and report_exercises(root, out)):
        raise typer.Exit(1)


def _bank_with_edits(settings: Settings) -> Bank:
    """Seed files + HR's edits in the database (no index: servers re-index when they notice);
    with no database yet, the files alone (nothing is created)."""
    from interviewer.cli_db import open_database

    db = open_database(settings, create=False, err=err, missing_ok=True)
    if db is None:
        err.print("no database yet: the shipped files only")
        return _load(settings)
    return _synced(settings, db).bank


def _synced(settings: Settings, db: Database, *, exercises: ExerciseService | None = None) -> BankEdits:
    """The bank with HR's edits in `db` applied, ready to take more (exercises only with a sandbox
    to check them: `exercises`)."""
    from interviewer.services.bank_edits import BankEdits

    sync = BankEdits(bank=_load(settings), db=db, index=None, exercises=exercises)
    sync.refresh()
    return sync


@bank_app.command("export")
def bank_export(
    path: Annotated[Path, typer.Argument(help="an empty or new folder, or a file name ending in .zip")],
) -> None:
    """Write the whole bank (shipped files + HR's edits) in the knowledge/ format."""
    from interviewer.bank.archive import ArchiveError, export_folder, export_zip

    bank = _bank_with_edits(_settings())
    try:
        if path.suffix == ".zip":
            path.write_bytes(export_zip(bank))
            out.print(f"wrote {path}", highlight=False)
        else:
            n = export_folder(bank, path)
            out.print(f"wrote {n} files to {path}", highlight=False)
    except (ArchiveError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@bank_app.command("import")
def bank_import(
    path: Annotated[Path, typer.Argument(help="a knowledge folder or a .zip of one", exists=True)],
    create_db: Annotated[bool, typer.Option(help="create the database if it does not exist yet")] = False,
) -> None:
    """Save every question, track, plan and exercise of PATH that differs from the bank as a new
    version in the database (HR's edits; nothing is deleted, articles are not imported; the
    reference solutions of new and changed exercises must pass their tests in the sandbox)."""
    from interviewer.bank.archive import ArchiveError, read_bank
    from interviewer.cli_db import require_database
    from interviewer.errors import Invalid, ServiceError
    from interviewer.services.exercises import open_exercises

    settings = _settings()
    # the sandbox checks the reference solutions of new and changed exercises
    checker = open_exercises(settings.knowledge_dir, workers=2, max_queued=1000)
    sync = _synced(settings, require_database(settings, create=create_db, err=err), exercises=checker)
    try:
        source = path.read_bytes() if path.is_file() else path
        incoming, problems = read_bank(source, articles_from=settings.knowledge_dir / "articles")
        if problems:
            for problem in problems:
                out.print(f"[red]✗[/red] {problem}", highlight=False)
            raise typer.Exit(1)
        counts = sync.import_bank(incoming, author="cli")
    except Invalid as exc:
        for entry in exc.problems or [{"msg": str(exc)}]:
            out.print(f"[red]✗[/red] {entry['msg']}", highlight=False)
        raise typer.Exit(1) from exc
    except (ArchiveError, ServiceError, OSError) as exc:
        err.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    finally:
        checker.close()
    summary = "; ".join(f"{k}: " + ", ".join(f"{n} {s}" for s, n in v.items()) for k, v in counts.items())
    out.print(f"[green]imported[/green] {summary}", highlight=False)


@app.command()
def ingest() -> None:
    """Embed the question bank and the reference articles into the vector index (only changes)."""
    from interviewer.cli_startup import ingest_with_progress

    settings = _settings()
    report = ingest_with_progress(settings, _load(settings), err=err)
    out.print(report.summary(), highlight=False)


def _retriever(settings: Settings) -> Retriever:
    bank = _load(settings)
    index = open_index(settings)
    if index.count("questions") == 0:
        err.print("the index is empty: run `interviewer ingest` first")
        raise typer.Exit(1)
    return Retriever(bank, index)


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
        head, sep, rest = line.partition(":")
        track: TrackId | None = next((t for t in TRACKS if sep and t == head.strip()), None)
        if track is not None:
            line = rest.strip()
        _show(retriever, line, track=track, topic=None, difficulty=None, limit=5)


def serve(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes")] = 1,
    log_level: Annotated[str, typer.Option()] = "info",
    log_format: Annotated[
        Optional[str],  # noqa: UP045  # typer reads the annotation
        typer.Option(help="text | json | auto; default INTERVIEWER_LOG_FORMAT (auto: text on a terminal)"),
    ] = None,
    prepare: Annotated[
        bool, typer.Option(help="validate the bank and ingest what changed first (`make run`)")
    ] = False,
) -> None:
    """Start the web app (API v1 and the candidate pages); logs go to stderr. Prints
    `ready: URL` once /readyz says ok (the warm-up is done)."""
    import uvicorn

    from interviewer.cli_startup import announce_when_ready
    from interviewer.cli_startup import prepare as prepare_bank
    from interviewer.services.setup import check_storage
    from interviewer.web.observability import configure_logging, resolve_log_format
    from interviewer.web.server import uvicorn_options

    settings = _settings()  # fail early, with a clear message, on a bad configuration
    check_storage(settings)  # and on storage it cannot use: one line, not a traceback (`main`)
    try:
        fmt = resolve_log_format(log_format or settings.log_format)
    except ValueError as exc:
        err.print(str(exc))
        raise typer.Exit(2) from exc
    if prepare and not prepare_bank(settings, out=out, err=err):
        raise typer.Exit(1)
    out.print(f"interviewer on http://{host}:{port}/  (API docs: http://{host}:{port}/docs)", highlight=False)
    announce_when_ready(host, port, out)
    uvicorn.run(
        "interviewer.web.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        log_config=configure_logging(level=log_level, fmt=fmt),
        proxy_headers=False,  # the app reads X-Forwarded-For itself, from trusted proxies only
        timeout_graceful_shutdown=10,
        # header and body timeouts, connections per address (slowloris): web/server.py
        **uvicorn_options(settings, workers=workers),
    )


def _register_engine_commands() -> None:
    """The other modules' commands, after the ones above: `--help` lists interview, score and
    eval, then serve (command groups come last)."""
    from interviewer import cli_engine, cli_exercise, cli_web

    cli_engine.register(app, _settings, out, err)
    cli_web.register(app, _settings, out, err)
    app.command()(serve)
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
