"""The whole bank in the file format of `knowledge/` — as a folder or a zip archive — and back.

Export writes `questions/<track>/<id>.yaml`, `tracks/<id>.yaml` (track configs),
`tracks/plan-<id>.yaml` (plans), `exercises/<id>.yaml` (coding exercises; code as YAML block text)
and the reference articles, so an export is a knowledge folder that `interviewer bank validate`
accepts. Import reads such a folder or zip and validates it with
the loader's own rules (`validate_bank`), against the *shipped* articles: articles are not edited
through the bank (an archive's articles are ignored).

A zip comes from outside: members are read only when their path fits the layout above (no
absolute paths, no `..`, one optional top folder), with a cap on their count, on each one's size
and on the total; a damaged member (bad CRC, truncated, encrypted) refuses the archive with an
`ArchiveError`. A few KB of zip can unpack to thousands of bad questions: `reported` keeps the
first `MAX_REPORTED` problems and counts the rest, so that the answer stays small.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from interviewer.bank.exercises import FOLDER as EXERCISES
from interviewer.bank.loader import Bank, Problem, validate_bank
from interviewer.bank.overlay import document
from interviewer.domain import TRACKS

MAX_MEMBERS = 2000
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_MEMBER_BYTES = 1024 * 1024
"""One bank file (a shipped question file is about 10 KB)."""
MAX_REPORTED = 100


class ArchiveError(ValueError):
    """Not a usable archive (not a zip, too large, nothing of the bank in it)."""


class _Dumper(yaml.SafeDumper):
    """Multi-line text (an exercise's code, a long answer) as a `|` block, as people write it;
    the emitter falls back to a quoted scalar where a block cannot hold the text exactly."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def _yaml(doc: dict[str, Any]) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def bank_files(bank: Bank) -> dict[str, str]:
    """Relative path -> text of every file of the bank in the knowledge format."""
    files: dict[str, str] = {}
    for q in sorted(bank.questions.values(), key=lambda q: (q.track, q.id)):
        files[f"questions/{q.track}/{q.id}.yaml"] = _yaml(document(q))
    for t in bank.tracks.values():
        files[f"tracks/{t.id}.yaml"] = _yaml(document(t))
    for p in bank.plans.values():
        files[f"tracks/plan-{p.id}.yaml"] = _yaml(document(p))
    for e in bank.exercises.values():
        files[f"{EXERCISES}/{e.id}.yaml"] = _yaml(document(e))
    for slug in bank.articles:
        path = bank.root / "articles" / f"{slug}.md"
        if path.is_file():
            files[f"articles/{slug}.md"] = path.read_text(encoding="utf-8")
    return files


def export_zip(bank: Bank) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in sorted(bank_files(bank).items()):
            archive.writestr(name, text)
    return buffer.getvalue()


def export_folder(bank: Bank, target: Path) -> int:
    if target.exists() and any(target.iterdir()):
        raise ArchiveError(f"{target} is not empty")
    files = bank_files(bank)
    for name, text in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return len(files)


def _member_path(name: str) -> str | None:
    """The member's path inside the knowledge layout, or None when it is not a bank file."""
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if not parts or name.startswith("/") or ".." in parts:
        return None
    if parts[0] not in ("questions", "tracks", "articles", EXERCISES) and len(parts) > 1:
        parts = parts[1:]  # one top folder ("knowledge/...")
    if (
        len(parts) == 3
        and parts[0] == "questions"
        and parts[1] in TRACKS
        and parts[2].endswith((".yaml", ".yml"))
    ):
        return "/".join(parts)
    if len(parts) == 2 and parts[0] in ("tracks", EXERCISES) and parts[1].endswith((".yaml", ".yml")):
        return "/".join(parts)
    return None


UNREADABLE = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,
    ValueError,
    NotImplementedError,
    RuntimeError,
)
"""What reading a damaged zip raises: bad CRC (BadZipFile), broken deflate data (zlib.error), a
truncated member (EOFError), an unsupported compression method (NotImplementedError), an
encrypted member (RuntimeError), impossible offsets (OSError, ValueError)."""


def _unpack_zip(data: bytes, target: Path) -> int:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except UNREADABLE as exc:
        raise ArchiveError("not a zip archive") from exc
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ArchiveError(f"more than {MAX_MEMBERS} files in the archive")
        total = 0
        written = 0
        for info in members:
            path = _member_path(info.filename)
            if info.is_dir() or path is None:
                continue
            name = repr(path[:120])
            if info.file_size > MAX_MEMBER_BYTES:
                raise ArchiveError(
                    f"{name} is larger than {MAX_MEMBER_BYTES} bytes unpacked (the limit per file)"
                )
            total += info.file_size
            if total > MAX_UNPACKED_BYTES:
                raise ArchiveError(f"the archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")
            try:
                with archive.open(info) as member:
                    content = member.read(MAX_MEMBER_BYTES + 1)
            except UNREADABLE as exc:
                raise ArchiveError(
                    f"{name} is corrupt in the archive ({type(exc).__name__}: {str(exc)[:120]}); "
                    "make the zip again (an export from here imports as it is)"
                ) from exc
            if len(content) > info.file_size:  # the header lied about the size
                raise ArchiveError(f"{name} is larger than its header says")
            out = target / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(content)
            written += 1
    return written


def read_bank(source: bytes | Path, *, articles_from: Path) -> tuple[Bank, list[Problem]]:
    """Validate a zip (bytes) or a knowledge folder (Path) with the shipped articles."""
    with tempfile.TemporaryDirectory(prefix="interviewer-import-") as tmp:
        root = Path(tmp) / "knowledge"
        root.mkdir()
        if isinstance(source, Path):
            for sub in ("questions", "tracks", EXERCISES):
                if (source / sub).is_dir():
                    shutil.copytree(source / sub, root / sub)
            if not any((root / sub).is_dir() for sub in ("questions", "tracks", EXERCISES)):
                raise ArchiveError(f"{source} has no questions/, tracks/ or {EXERCISES}/ folder")
        elif _unpack_zip(source, root) == 0:
            raise ArchiveError(
                f"the archive holds no question, track or exercise files (questions/, tracks/, {EXERCISES}/)"
            )
        shutil.copytree(articles_from, root / "articles")
        bank, problems = validate_bank(root)
    return bank, problems


def reported(problems: list[Problem], *, limit: int = MAX_REPORTED) -> tuple[list[Problem], int]:
    """The first `limit` problems, and how many more there are (not shown)."""
    return problems[:limit], max(0, len(problems) - limit)
