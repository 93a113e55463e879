"""0005_candidate_labels: HR's free-text candidate label on invites, copied to the sessions they
start (commit e87ea32). Frozen: never edit it; a later change is a new step.

A column is added only where it is missing: before this package, step 0001 built the tables of
the day, so a database built then from `tables.py` already has both columns (and this step,
run on it, adds nothing)."""

from __future__ import annotations

from sqlalchemy import Column, Connection, String

from interviewer.store.migrations.ops import add_column

NAME = "0005_candidate_labels"


def upgrade(conn: Connection) -> None:
    add_column(conn, "invites", Column("candidate_label", String(200), nullable=True))
    add_column(conn, "sessions", Column("candidate_label", String(200), nullable=True))
