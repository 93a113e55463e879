"""What the commands that start things show: the bank's validation, the ingest's progress and the
`ready` line of `interviewer serve`.

`serve --prepare` (what `make run` uses) validates and ingests in the serving process: the heavy
imports (chromadb, onnxruntime, the openai SDK) are paid once instead of once per command. The
progress of an ingest is a bar on a terminal and plain periodic lines otherwise (a log file or a
CI console shows nothing of a bar until it ends). The `ready` line is printed once `/readyz`
answers 200 — the database and the index are reachable and the warm-up is done — not when the
socket opens, which on a cold start comes long before.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from interviewer.config import Settings
from interviewer.domain import TRACKS
from interviewer.services import setup
from interviewer.services.setup import Bank, IngestReport

PLAIN_PROGRESS_EVERY_S = 2.0
"""At most one plain progress line this often (and the first and the last)."""


def report_validation(root: Path, out: Console) -> Bank | None:
    """Print every problem of the knowledge folder and a summary; the bank when it has none."""
    check = setup.check_knowledge(root)
    bank, problems = check.bank, check.problems
    for problem in problems:
        out.print(f"[red]✗[/red] {problem}", highlight=False, soft_wrap=True)
    counts = ", ".join(f"{len(bank.questions_for(t))} {t}" for t in TRACKS)
    summary = (
        f"{len(bank.questions)} questions ({counts}), {len(bank.articles)} articles, "
        f"{len(bank.tracks)} tracks, {len(bank.plans)} plans"
    )
    if problems:
        out.print(f"[red]{len(problems)} problem(s)[/red] in {root} — {summary}", highlight=False)
        return None
    out.print(f"[green]ok[/green] {root} — {summary}", highlight=False)
    return bank


def ingest_with_progress(settings: Settings, bank: Bank, *, err: Console) -> IngestReport:
    """Embed what changed into the index, showing progress on `err`."""
    if err.is_terminal:
        with Progress(
            TextColumn("embedding"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task("embed", total=None)

            def show(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return setup.ingest(settings, bank, progress=show)
    last = [0.0]

    def plain(done: int, total: int) -> None:
        now = time.monotonic()
        if total and (done in (0, total) or now - last[0] >= PLAIN_PROGRESS_EVERY_S):
            last[0] = now
            err.print(f"ingest: {done}/{total} vectors", highlight=False, soft_wrap=True)

    return setup.ingest(settings, bank, progress=plain)


def _probe_url(host: str, port: int) -> str:
    """Where this machine reaches a server listening on `host` (any-address binds: loopback)."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def announce_when_ready(
    host: str, port: int, out: Console, *, timeout_s: float = 3600.0, poll_s: float = 0.25
) -> threading.Thread:
    """Print `ready: http://HOST:PORT` once the server's `/readyz` answers 200 (a daemon thread:
    it ends with the process, and gives up silently after `timeout_s`)."""
    url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"
    readyz = _probe_url(host, port) + "/readyz"

    def wait() -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(readyz, timeout=5) as response:  # noqa: S310  # our own server
                    if response.status == 200:
                        out.print(f"ready: {url}", highlight=False, soft_wrap=True)
                        return
            except (OSError, urllib.error.URLError):
                pass  # not listening yet, or 503 while warming up
            time.sleep(poll_s)

    thread = threading.Thread(target=wait, name="ready-announcer", daemon=True)
    thread.start()
    return thread


def prepare(settings: Settings, *, out: Console, err: Console) -> bool:
    """`serve --prepare`: validate the bank, then ingest what changed. False (nothing ingested)
    when the bank has problems."""
    bank = report_validation(settings.knowledge_dir, out)
    if bank is None:
        return False
    out.print(ingest_with_progress(settings, bank, err=err).summary(), highlight=False)
    return True
