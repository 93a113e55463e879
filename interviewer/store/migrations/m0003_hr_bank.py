"""0003_hr_bank: HR's versioned questions, track configs and plans (overlays on the seed bank), as
`store/tables.py` defined them when the step was written (commit 9e255e4). Frozen: never edit it;
a change to these tables is a new step."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

from interviewer.store.migrations.ops import create_tables

NAME = "0003_hr_bank"

metadata = MetaData()

hr_questions = Table(
    "hr_questions",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("question_id", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    Column("track", String(40), nullable=False),
    Column("document", JSON, nullable=False),
    Column("author", String(254), nullable=False),
    Column("deleted", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("question_id", "version"),
)

hr_configs = Table(
    "hr_configs",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(10), nullable=False),
    Column("item_id", String(80), nullable=False),
    Column("version", Integer, nullable=False),
    Column("document", JSON, nullable=False),
    Column("author", String(254), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("kind", "item_id", "version"),
)


def upgrade(conn: Connection) -> None:
    create_tables(conn, hr_questions, hr_configs)
