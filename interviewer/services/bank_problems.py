"""The bank's problems (`bank.loader.Problem`: file, field, message) as `Invalid` errors whose
`problems` are the 422's detail the HR pages read: each problem keyed by its field, so that the
page shows it next to the field; an archive's problems capped, so that a few KB of zip holding
thousands of bad questions still gets a small answer."""

from __future__ import annotations

from typing import Any

from interviewer.bank.archive import reported
from interviewer.bank.loader import Problem
from interviewer.bank.overlay import field_path
from interviewer.errors import Invalid


def edit_invalid(problems: list[Problem], *, item: str) -> Invalid:
    """The problems of an edit of `item`, each keyed by its field. A problem of another item (a
    track the edit leaves short of questions) has no field there and names its item in the
    message."""
    detail = []
    for p in problems:
        if p.file == item:
            field, message = field_path(p.field), p.message
        else:
            where = p.file.removeprefix("hr/").replace("/", " ", 1)
            field, message = "", f"{where}: {field_path(p.field) or '-'}: {p.message}"
        detail.append(
            {"loc": ["body", *filter(None, field.split("."))], "field": field, "msg": message, "type": "bank"}
        )
    summary = f"{len(problems)} problem(s): " + "; ".join(str(p) for p in problems[:5])
    return Invalid(summary, detail)


def archive_invalid(problems: list[Problem]) -> Invalid:
    """An archive's problems, each with its file and field: the first `archive.MAX_REPORTED`,
    then one entry counting the rest."""
    shown, more = reported(problems)
    detail: list[dict[str, Any]] = [
        {
            "loc": ["body", p.file],
            "file": p.file,
            "field": field_path(p.field),
            "msg": p.message,
            "type": "bank",
        }
        for p in shown
    ]
    if more:
        detail.append(
            {
                "loc": ["body"],
                "file": "",
                "field": "",
                "msg": f"... and {more} more problems not shown (fix the ones above first)",
                "type": "bank.more",
                "more": more,
            }
        )
    return Invalid(f"{len(problems)} problem(s) in the archive", detail)
